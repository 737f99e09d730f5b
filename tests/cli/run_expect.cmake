# Run CMD with ARGS; require exit code EXPECT_RC and EXPECT_ERR in stderr.
execute_process(COMMAND ${CMD} ${ARGS} RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_VARIABLE out)
if(NOT rc EQUAL EXPECT_RC)
  message(FATAL_ERROR "exit ${rc}, expected ${EXPECT_RC}\nstderr: ${err}")
endif()
string(FIND "${err}" "${EXPECT_ERR}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "stderr lacks '${EXPECT_ERR}':\n${err}")
endif()
