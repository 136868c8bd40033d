# Rules evaluator, lexicon sentiment and agreement statistics, including
# the real-dev agreement check against baseline_agreement_dev.txt.
cs_add_test(test_score)
cs_add_test(test_scoring)
