list(APPEND CS_CORE_SOURCES src/ingest/reader.c src/ingest/arena.c src/ingest/ingest.c)
