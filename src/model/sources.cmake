list(APPEND CS_CORE_SOURCES src/model/conv.c src/model/result.c
     src/model/scan.c)
