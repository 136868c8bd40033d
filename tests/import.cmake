# Importers. The unit tests run as test_import; each directory of
# data/import/<format>/ is one more ctest (rule 29): `test_import --case
# DIR` converts DIR/input as <format> and compares with DIR/expected.
cs_add_test(test_import)
set_tests_properties(test_import PROPERTIES TIMEOUT 300)
file(GLOB cs_import_cases LIST_DIRECTORIES true CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_SOURCE_DIR}/data/import/*/*)
foreach(dir ${cs_import_cases})
  if(IS_DIRECTORY ${dir})
    get_filename_component(case ${dir} NAME)
    get_filename_component(fmtdir ${dir} DIRECTORY)
    get_filename_component(fmt ${fmtdir} NAME)
    add_test(NAME test_import/${fmt}/${case}
             COMMAND test_import --case ${dir})
    set_tests_properties(test_import/${fmt}/${case} PROPERTIES
                         ENVIRONMENT "CS_TEST=1")
  endif()
endforeach()
