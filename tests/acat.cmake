# acat: unit tests of its logic and of the runtime pieces it added (sync,
# inotify, pidfd), and end-to-end tests of the real binary against GNU cat
# and tail. Included from tests/CMakeLists.txt.
add_executable(acat_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acat_display.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acat_options.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acat_output.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acat_quote.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acat_tail.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_follow_chain.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_sync.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_inotify.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_pidfd.cpp
)
target_link_libraries(acat_tests PRIVATE acat_core aio::runtime doctest::doctest)
add_test(NAME acat_units COMMAND acat_tests)

add_test(NAME acat_e2e COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/acat_e2e.sh $<TARGET_FILE:acat>)
set_tests_properties(acat_e2e PROPERTIES TIMEOUT 300)

add_test(NAME acat_gnu_e2e COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/acat_gnu_e2e.sh $<TARGET_FILE:acat>)
set_tests_properties(acat_gnu_e2e PROPERTIES TIMEOUT 120)

add_test(NAME acat_follow_name_e2e
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/acat_follow_name_e2e.sh $<TARGET_FILE:acat>)
set_tests_properties(acat_follow_name_e2e PROPERTIES TIMEOUT 300)
