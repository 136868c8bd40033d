list(APPEND CS_CORE_SOURCES src/rubric/rubric.c)
