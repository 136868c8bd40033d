list(APPEND CS_CORE_SOURCES src/cli/cli.c src/cli/cmd_ingest.c src/cli/cmd_kpis.c src/cli/cmd_db.c src/cli/cmd_config.c src/cli/cmd_sample.c src/cli/cmd_nightly.c)
