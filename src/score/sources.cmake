# score/: the rules evaluator, lexicon sentiment and agreement statistics.
# (The redactor, src/score/redact.c, is listed by its owner in
# src/net/sources.cmake.)
list(APPEND CS_CORE_SOURCES src/score/rules.c src/score/sentiment.c
     src/score/calibrate.c)
