# The PII redactor: defaults, checks, custom rules, the config's rules.
cs_add_test(test_redact)
