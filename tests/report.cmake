cs_add_test(test_report)
