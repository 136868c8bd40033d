list(APPEND CS_CORE_SOURCES src/net/http.c)
