/*
 * mmsim/export.h — export a translation regime for hardware verification:
 * the page-table memory image, the register values and a vector file of
 * expected translations, in the plain formats of docs/export.md, so an RTL or
 * other MMU model can be checked against mmsim's walk.
 */
#ifndef MMSIM_EXPORT_H
#define MMSIM_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <mmsim/vmsa.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One translation to export: VA, exception level and data access (READ or
 * WRITE: what AT S1E{0,1}{R,W} can check). */
struct mmsim_export_vector
{
    uint64_t va;
    uint8_t el;
    enum mmsim_vmsa_op op;
};

struct mmsim_export_job
{
    struct mmsim_vmsa_regs regs;         /* TCR, MAIR, SCTLR, TTBR0/1 */
    const struct mmsim_vmsa_mem *mem;    /* where the tables live (read only) */
    const struct mmsim_export_vector *vectors;
    size_t nvectors;
};

/* Write regs.txt, tables.txt, tables.bin and vectors.txt into the existing
 * directory `dir`. Every table page reachable from the enabled TTBRs is
 * exported; expected results come from mmsim_vmsa_translate as an AT probe
 * (no hardware updates). Returns 0, or -RT_EINVAL for a bad job and -RT_EIO
 * when a file cannot be written (files already written are left in place). */
int mmsim_export_write(const char *dir, const struct mmsim_export_job *job);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_EXPORT_H */
