list(APPEND CS_CORE_SOURCES src/store/store.c src/store/cluster.c src/store/copy.c src/store/kpi_query.c src/store/results.c src/store/report_data.c src/store/conv_rows.c)
