# Run CMD with ARGS; print its output and then "exit status: N" (for
# PASS_REGULAR_EXPRESSION, which ignores the exit status by itself).
execute_process(COMMAND ${CMD} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}exit status: ${rc}")
