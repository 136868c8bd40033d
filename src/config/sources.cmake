list(APPEND CS_CORE_SOURCES src/config/config.c src/config/alerts.c src/config/schema.c)
