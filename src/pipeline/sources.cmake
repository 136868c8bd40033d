list(APPEND CS_CORE_SOURCES src/pipeline/nightly.c src/pipeline/reports.c src/pipeline/client.c src/pipeline/mailing.c src/pipeline/metrics.c src/pipeline/monthly.c src/pipeline/lifecycle.c)
