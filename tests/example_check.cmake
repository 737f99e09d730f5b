# Install the build tree into a scratch prefix, then configure, build and run
# examples/${EXAMPLE} against it as a user would (find_package(mmsim), CMocka
# through pkg-config). CFLAGS carries the sanitizer flags the library was
# built with.
set(prefix ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SRC}/examples/${EXAMPLE} -B ${WORK}/build -G Ninja
                -DCMAKE_C_COMPILER=${CC} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_FLAGS=${CFLAGS}
                -DCMAKE_EXE_LINKER_FLAGS=${CFLAGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc)
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK}/build
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
endif()
if(rc)
  message(FATAL_ERROR "examples/${EXAMPLE} failed to build against the install:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_CTEST_COMMAND} --output-on-failure WORKING_DIRECTORY ${WORK}/build
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc)
  message(FATAL_ERROR "examples/${EXAMPLE} tests failed:\n${out}")
endif()
message(STATUS "examples/${EXAMPLE} builds and passes against the installed package")
