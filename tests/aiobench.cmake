# aiobench: doctest units of the tool's logic, and end-to-end runs of the
# real binary at small N that check the figures' outcomes (never timings).
add_executable(aiobench_tests
  main.cpp
  test_aiobench_units.cpp
  test_aiobench_scenarios.cpp
)
target_link_libraries(aiobench_tests PRIVATE aiobench_core doctest::doctest)
add_test(NAME aiobench_units COMMAND aiobench_tests)

find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  foreach(case cli bad_input failed_row vis_rounds cancel_storm write_visibility shutdown
               default_run plot interrupt schema_rejects sqpoll)
    add_test(NAME aiobench_e2e_${case}
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/aiobench_e2e.py
                     $<TARGET_FILE:aiobench> ${case})
  endforeach()
  # Where io_uring is denied (a container's seccomp profile): the uring rows
  # say unavailable with the reason, the rest is measured, exit 0.
  # deny_uring is declared after this file, so it is named by path.
  add_test(NAME aiobench_e2e_denied
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/aiobench_e2e.py
                   $<TARGET_FILE:aiobench> denied ${CMAKE_CURRENT_BINARY_DIR}/deny_uring)
endif()
