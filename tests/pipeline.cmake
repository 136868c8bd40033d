cs_add_test(test_pipeline)
cs_add_test(test_lifecycle)
