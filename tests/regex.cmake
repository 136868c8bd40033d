# The PCRE2 wrapper: compiling, checking, matching, UTF-8 subjects.
cs_add_test(test_regex)
