# acp: unit tests of its logic (options, quoting) and end-to-end tests of the
# real binary against GNU cp. Included from tests/CMakeLists.txt.
add_executable(acp_tests
  ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acp_options.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/test_acp_progress.cpp
)
target_link_libraries(acp_tests PRIVATE acp_core aio::runtime doctest::doctest)
add_test(NAME acp_units COMMAND acp_tests)

add_test(NAME acp_e2e COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/acp_e2e.sh $<TARGET_FILE:acp>
                              ${CMAKE_CURRENT_SOURCE_DIR}/acp_signal.py)
set_tests_properties(acp_e2e PROPERTIES TIMEOUT 300)

# Faults, each asserting what is left on disk: ENOSPC (root: a small tmpfs),
# SIGINT/SIGKILL mid file and mid tree, unreadable entries (root: as nobody),
# sources removed/truncated, a destination directory removed mid copy, a
# destination's close failing.
# A close that fails (NFS, FUSE) is provoked by an LD_PRELOAD shim.
add_library(fail_close MODULE ${CMAKE_CURRENT_SOURCE_DIR}/programs/fail_close.cpp)
target_link_libraries(fail_close PRIVATE ${CMAKE_DL_LIBS})
# Preloaded into GNU cp too: built without the sanitizers.
set_target_properties(fail_close PROPERTIES COMPILE_OPTIONS "" LINK_OPTIONS "")
add_test(NAME acp_faults COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/acp_faults.py $<TARGET_FILE:acp>
                                 $<TARGET_FILE:fail_close>)
set_tests_properties(acp_faults PROPERTIES TIMEOUT 600 RUN_SERIAL ON)

# --progress: plain lines for scripts, the bar on a pty, no ANSI when piped or NO_COLOR.
add_test(NAME acp_progress COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/acp_progress.py $<TARGET_FILE:acp>)
set_tests_properties(acp_progress PROPERTIES TIMEOUT 300)

# --reflink on an XFS image (extents shared) and an ext4 image (always fails cleanly); root only.
add_test(NAME acp_reflink COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/acp_reflink.sh $<TARGET_FILE:acp>)
set_tests_properties(acp_reflink PROPERTIES TIMEOUT 300 RUN_SERIAL ON)

# Side by side with GNU cp on awkward operands: stdout, stderr, exit code and the tree left.
add_test(NAME acp_gnu_e2e COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/acp_gnu_e2e.sh $<TARGET_FILE:acp>)
set_tests_properties(acp_gnu_e2e PROPERTIES TIMEOUT 300)
