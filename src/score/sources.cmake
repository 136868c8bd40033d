# score/: the rules evaluator, lexicon sentiment, agreement statistics and
# scoring runs.
list(APPEND CS_CORE_SOURCES src/score/rules.c src/score/sentiment.c
     src/score/calibrate.c src/score/score.c src/score/rules_score.c
     src/score/llm_score.c src/score/llm_batch.c src/score/agent.c src/score/walk.c
     src/score/scorecard.c)
