list(APPEND CS_CORE_SOURCES src/base/err.c src/base/mem.c src/base/buf.c src/base/log.c src/base/parse.c src/base/hash.c src/base/fs.c src/base/csv.c src/base/fmt.c src/base/tmpl.c src/base/addr.c)
