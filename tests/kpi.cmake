cs_add_test(test_kpi)
cs_add_test(test_rollup)
