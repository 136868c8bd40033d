# The conversation record: the format's field table, validation of a line.
cs_add_test(test_model)
