# Prompt building, request planning and answer validation. The unit tests
# run as test_llm; each directory of data/llm/ is one more ctest (rule 29):
# `test_llm --case DIR` renders DIR/input and compares it with DIR/expected.
cs_add_test(test_llm)
file(GLOB cs_llm_cases LIST_DIRECTORIES true CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/data/llm/*)
foreach(dir ${cs_llm_cases})
  if(IS_DIRECTORY ${dir})
    get_filename_component(case ${dir} NAME)
    add_test(NAME test_llm/${case} COMMAND test_llm --case ${dir})
    set_tests_properties(test_llm/${case} PROPERTIES ENVIRONMENT "CS_TEST=1")
  endif()
endforeach()
cs_add_test(test_llm_scoring)
