list(APPEND CS_CORE_SOURCES src/pipeline/nightly.c src/pipeline/reports.c src/pipeline/client.c)
