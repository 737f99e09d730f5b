/*
 * The contract between the host driver (xcheck.c) and the bare-metal stub
 * (stub/stub.c): where the job blob sits in the guest's PA space and how it
 * and the result file are laid out. Every field is a little-endian uint64_t,
 * so the layout is the same on both sides without any packing rules.
 *
 * Guest physical map (qemu -M virt -m 1G: RAM at 0x4000_0000..0x8000_0000):
 *   0x4000_0000  DTB (QEMU's, 1 MiB)
 *   0x4020_0000  stub image (stub.ld)
 *   0x4400_0000  job blob: header, then `count` entries
 *   0x4800_0000  page-table image (tables.bin, at its own TABLES_BASE)
 *   0x6000_0000  result buffer the stub fills before writing it out
 */
#ifndef MMSIM_XCHECK_ABI_H
#define MMSIM_XCHECK_ABI_H

#define XC_JOB_PA 0x44000000ULL
#define XC_JOB_LIMIT_PA 0x48000000ULL
#define XC_TABLES_MIN_PA 0x48000000ULL
#define XC_TABLES_LIMIT_PA 0x60000000ULL
#define XC_RESULT_PA 0x60000000ULL
#define XC_RESULT_LIMIT_PA 0x80000000ULL

#define XC_JOB_MAGIC 0x314a4d4953434d58ULL    /* "XMCSIMJ1" read as LE bytes */
#define XC_RESULT_MAGIC 0x31524d4953434d58ULL /* "XMCSIMR1" */

/* Job header, in uint64_t words. */
enum xc_job_word
{
    XC_JOB_W_MAGIC = 0,
    XC_JOB_W_COUNT,   /* number of entries */
    XC_JOB_W_MAIR,
    XC_JOB_W_TCR,
    XC_JOB_W_SCTLR,
    XC_JOB_W_TTBR0,
    XC_JOB_W_TTBR1,
    XC_JOB_W_PATH_LEN, /* bytes of the result file name, without the NUL */
    XC_JOB_W_PATH,     /* XC_JOB_PATH_WORDS words: NUL-terminated host path */
};
#define XC_JOB_PATH_WORDS 56
#define XC_JOB_HEADER_WORDS (XC_JOB_W_PATH + XC_JOB_PATH_WORDS) /* 64 words */

/* Each entry: two words, VA then the AT flavour. */
enum xc_at_op
{
    XC_AT_S1E1R = 0,
    XC_AT_S1E1W = 1,
    XC_AT_S1E0R = 2,
    XC_AT_S1E0W = 3,
};
#define XC_ENTRY_WORDS 2

/* Result file: header, then per entry PAR_EL1 and the ESR_EL2 of the
 * synchronous exception the AT took instead (0 when it completed). */
enum xc_result_word
{
    XC_RES_W_MAGIC = 0,
    XC_RES_W_COUNT,
    XC_RES_W_MMFR0, /* ID_AA64MMFR0_EL1: PARange and granule support */
    XC_RES_W_MMFR1, /* ID_AA64MMFR1_EL1: HAFDBS, PAN, ... */
    XC_RES_W_MMFR2, /* ID_AA64MMFR2_EL1: E0PD, VARange, ... */
    XC_RES_W_EXCEPTIONS,
    XC_RES_W_CURRENT_EL,
    XC_RES_W_RESERVED,
};
#define XC_RES_HEADER_WORDS 8
#define XC_RES_ENTRY_WORDS 2

/* Stub exit codes (SYS_EXIT subcode, which QEMU returns as its status). */
#define XC_EXIT_OK 0
#define XC_EXIT_BAD_JOB 2
#define XC_EXIT_UNEXPECTED_EXCEPTION 3
#define XC_EXIT_IO 4

#endif /* MMSIM_XCHECK_ABI_H */
