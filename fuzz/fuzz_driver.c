/*
 * fuzz_driver: the fault-injection driver's interpreter (sim/driver,
 * docs/driver.md) fed by libFuzzer. The input is not a file format: byte 0
 * chooses the CPU count (1 + b0 % 4), byte 1 the TLB size and ASID width,
 * and every later byte is one choice of the driver's operation generator
 * (which operation, which CPU, process, page, offset, size, value, FSC,
 * injected allocation failure...), so every input is a valid operation
 * stream on the deterministic schedule, one operation after another until
 * the bytes run out (at most 128 operations). After each operation the
 * driver checks the byte model, the layout and the invariant checker; at the
 * end every process exits and nothing may be left allocated. Any problem
 * aborts, so libFuzzer keeps the input.
 *
 * Environment: FUZZ_DRIVER_TRACE=1 prints each operation with its result;
 * FUZZ_DRIVER_RECORD=FILE writes the run as a record (`mmsim replay FILE`
 * reproduces it without the fuzzer); FUZZ_DRIVER_POLICY=rt|ha|hafdbs|sw-af
 * chooses the simulated hardware's policy (default rt, RT-Thread's).
 */
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"
#include "fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mmsim_driver_config io;
    mmsim_driver_config_default(&io);
    io.trace = getenv("FUZZ_DRIVER_TRACE") != NULL;
    const char *policy = getenv("FUZZ_DRIVER_POLICY");
    if (policy && !mmsim_driver_policy_parse(policy, &io.policy)) {
        fprintf(stderr, "fuzz_driver: FUZZ_DRIVER_POLICY is rt, ha, hafdbs or sw-af, not '%s'\n", policy);
        abort();
    }
    const char *record = getenv("FUZZ_DRIVER_RECORD");
    FILE *rec = record ? fopen(record, "w") : NULL;
    io.record = rec;
    struct mmsim_driver_result res;
    int rc = mmsim_driver_run_bytes(data, size, &io, &res);
    if (rec)
        fclose(rec);
    if (rc != MMSIM_DRIVER_OK) {
        mmsim_driver_result_print(&res, stderr);
        abort();
    }
    return 0;
}
