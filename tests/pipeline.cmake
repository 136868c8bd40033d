cs_add_test(test_pipeline)
cs_add_test(test_lifecycle)
cs_add_test(test_secrets)
