cs_add_test(test_report)
cs_add_test(test_pdf)
cs_add_test(test_xlsx)
