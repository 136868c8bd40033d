cs_add_test(test_pipeline)
cs_add_test(test_lifecycle)
cs_add_test(test_secrets)
# Faults as tests: the database killed mid-run (a cluster of the test's
# own), the LLM endpoint, a full disk, SMTP refusing.
cs_add_test(test_faults)
set_tests_properties(test_faults PROPERTIES TIMEOUT 900)
