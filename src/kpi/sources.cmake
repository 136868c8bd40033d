list(APPEND CS_CORE_SOURCES src/kpi/kpi.c src/kpi/movers.c)
