# The fuzz targets (tests/fuzz/targets, one line each), built two ways:
# cs_fuzz_targets() with libFuzzer (CS_FUZZ=ON, clang: callscope_core is
# then compiled with -fsanitize=fuzzer-no-link), cs_fuzz_replays() as
# replay_<name> with tests/fuzz/replay.c, and one ctest per target
# replaying its regressions/ (every build).
file(STRINGS ${CMAKE_SOURCE_DIR}/tests/fuzz/targets cs_fuzz_lines
     REGEX "^[a-z]")
set(CS_FUZZ_NAMES)
foreach(line ${cs_fuzz_lines})
  string(REGEX MATCH "^[a-z0-9_]+" name "${line}")
  list(APPEND CS_FUZZ_NAMES ${name})
endforeach()

function(cs_fuzz_common target)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz)
  target_compile_options(${target} PRIVATE ${CS_WARNINGS})
  target_compile_definitions(${target} PRIVATE
    CS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(${target} PRIVATE callscope_core)
endfunction()

function(cs_fuzz_targets)
  foreach(name ${CS_FUZZ_NAMES})
    add_executable(fuzz_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c)
    cs_fuzz_common(fuzz_${name})
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endforeach()
endfunction()

function(cs_fuzz_replays)
  foreach(name ${CS_FUZZ_NAMES})
    set(dir ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}/regressions)
    add_executable(replay_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c
                   ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
    cs_fuzz_common(replay_${name})
    add_test(NAME fuzz_replay/${name} COMMAND replay_${name} ${dir})
    set_tests_properties(fuzz_replay/${name} PROPERTIES ENVIRONMENT
                         "CS_TEST=1")
  endforeach()
endfunction()
