list(APPEND CS_CORE_SOURCES src/ingest/reader.c src/ingest/ingest.c)
