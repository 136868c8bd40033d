list(APPEND CS_CORE_SOURCES src/report/kpidefs.c src/report/model.c src/report/format.c src/report/render.c src/report/json.c src/report/csv.c src/report/txt.c src/report/xlsx.c)
