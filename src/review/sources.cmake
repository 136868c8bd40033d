# review/: conversations by their outcomes (list.c), one conversation
# whole (show.c), why a verdict (explain.c).
list(APPEND CS_CORE_SOURCES src/review/list.c src/review/show.c
     src/review/explain.c)
