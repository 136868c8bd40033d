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

# The source of target `name`: fuzz_<name>.c, or for <base>_<variant>
# without a file of its own, fuzz_<base>.c built with FUZZ_VARIANT.
function(cs_fuzz_source name src_out variant_out)
  set(dir ${CMAKE_SOURCE_DIR}/tests/fuzz)
  set(variant "")
  if(EXISTS ${dir}/fuzz_${name}.c)
    set(src ${dir}/fuzz_${name}.c)
  else()
    string(REGEX MATCH "^([a-z0-9]+)_(.+)$" m "${name}")
    set(src ${dir}/fuzz_${CMAKE_MATCH_1}.c)
    set(variant "${CMAKE_MATCH_2}")
  endif()
  set(${src_out} ${src} PARENT_SCOPE)
  set(${variant_out} "${variant}" PARENT_SCOPE)
endfunction()

function(cs_fuzz_common target)
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz)
  target_compile_options(${target} PRIVATE ${CS_WARNINGS})
  target_compile_definitions(${target} PRIVATE
    CS_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_link_libraries(${target} PRIVATE callscope_core)
endfunction()

function(cs_fuzz_targets)
  foreach(name ${CS_FUZZ_NAMES})
    cs_fuzz_source(${name} src variant)
    add_executable(fuzz_${name} ${src})
    cs_fuzz_common(fuzz_${name})
    if(variant)
      target_compile_definitions(fuzz_${name} PRIVATE
        FUZZ_VARIANT="${variant}")
    endif()
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endforeach()
endfunction()

function(cs_fuzz_replays)
  foreach(name ${CS_FUZZ_NAMES})
    set(dir ${CMAKE_SOURCE_DIR}/tests/fuzz/${name}/regressions)
    cs_fuzz_source(${name} src variant)
    add_executable(replay_${name} ${src}
                   ${CMAKE_SOURCE_DIR}/tests/fuzz/replay.c)
    cs_fuzz_common(replay_${name})
    if(variant)
      target_compile_definitions(replay_${name} PRIVATE
        FUZZ_VARIANT="${variant}")
    endif()
    add_test(NAME fuzz_replay/${name} COMMAND replay_${name} ${dir})
    set_tests_properties(fuzz_replay/${name} PROPERTIES ENVIRONMENT
                         "CS_TEST=1")
  endforeach()
endfunction()
