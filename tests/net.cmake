# net: the HTTP client (against tests/llm_double/server.py) and the PII
# redactor (src/score/redact.c, listed in src/net/sources.cmake).
cs_add_test(test_net)
cs_add_test(test_redact)
set_tests_properties(test_net PROPERTIES TIMEOUT 120)
