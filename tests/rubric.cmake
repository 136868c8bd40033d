# Rubric loading, linting and versions. The unit tests run as test_rubric;
# each directory of data/rubric/ is one more ctest (rule 29): the binary
# lints <case>/input and compares the report with <case>/expected.
cs_add_test(test_rubric)
file(GLOB cs_rubric_lint_cases LIST_DIRECTORIES true CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/data/rubric/*)
foreach(dir ${cs_rubric_lint_cases})
  if(IS_DIRECTORY ${dir})
    get_filename_component(case ${dir} NAME)
    add_test(NAME test_rubric/lint/${case}
             COMMAND test_rubric --lint-case ${dir})
    set_tests_properties(test_rubric/lint/${case} PROPERTIES
                         ENVIRONMENT "CS_TEST=1")
  endif()
endforeach()
