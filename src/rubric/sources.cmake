# rubric/: loading and versions (load.c), the per-file lint (lint.c),
# dependencies (deps.c), names (naming.c), QA scorecards (scorecard.c).
list(APPEND CS_CORE_SOURCES src/rubric/load.c src/rubric/lint.c
     src/rubric/deps.c src/rubric/naming.c src/rubric/scorecard.c)
