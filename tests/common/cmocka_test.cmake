# tapir_cmocka_test(EXE SRC TEST LABEL LIBS...): one cmocka executable EXE
# from SRC, linked with LIBS (and tapir, cmocka), seeing core/'s private
# headers; ctest runs it as TEST with LABEL.
function(tapir_cmocka_test exe src test label)
  add_executable(${exe} ${src})
  target_link_libraries(${exe} PRIVATE ${ARGN} tapir PkgConfig::CMOCKA)
  target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/core
    ${PROJECT_SOURCE_DIR}/tests/common)
  add_test(NAME ${test} COMMAND ${exe})
  set_tests_properties(${test} PROPERTIES LABELS ${label})
endfunction()
