cs_add_test(test_base)
cs_add_test(test_tmpl)
