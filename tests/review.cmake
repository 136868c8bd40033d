cs_add_test(test_review)
