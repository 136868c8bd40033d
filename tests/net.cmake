# net: the HTTP client (against tests/llm_double/server.py).
cs_add_test(test_net)
set_tests_properties(test_net PROPERTIES TIMEOUT 120)
