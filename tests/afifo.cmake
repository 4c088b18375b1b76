# afifo: doctest units of its logic (tests/test_afifo_*.cpp) and end-to-end
# runs of the real binary with real processes (tests/afifo_*_e2e.py, one
# CTest test per file). Included from tests/CMakeLists.txt.
file(GLOB AFIFO_UNIT_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/test_afifo_*.cpp)
if(AFIFO_UNIT_TESTS)
  add_executable(afifo_tests ${CMAKE_CURRENT_SOURCE_DIR}/main.cpp ${AFIFO_UNIT_TESTS})
  target_link_libraries(afifo_tests PRIVATE afifo_core aio::runtime doctest::doctest)
  add_test(NAME afifo_units COMMAND afifo_tests)
endif()

find_package(Python3 COMPONENTS Interpreter)
file(GLOB AFIFO_E2E CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/afifo_*_e2e.py)
if(Python3_Interpreter_FOUND)
  foreach(script ${AFIFO_E2E})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${name} COMMAND ${Python3_EXECUTABLE} ${script} $<TARGET_FILE:afifo>)
    set_tests_properties(${name} PROPERTIES TIMEOUT 300)
  endforeach()
endif()
