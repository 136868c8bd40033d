list(APPEND CS_CORE_SOURCES src/import/field.c src/import/detect.c src/import/vapi.c src/import/retell.c src/import/polyai.c src/import/livekit.c src/import/run.c)
