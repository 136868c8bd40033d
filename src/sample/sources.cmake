list(APPEND CS_CORE_SOURCES src/sample/sample.c src/sample/builder.c
     src/sample/scripts.c)
