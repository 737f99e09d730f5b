/*
 * Bare-metal AT cross-check stub (aarch64, EL2, MMU off). It programs the
 * EL1&0 stage-1 registers from the job blob the host loaded, runs one AT per
 * job entry and writes every PAR_EL1 back to a host file via semihosting.
 * It runs at EL2 so that the tables under test translate only the probes,
 * never the stub; see ../xcheck_abi.h for the memory map and blob layout.
 */
#include <stddef.h>
#include <stdint.h>

#include "../xcheck_abi.h"

/* Arm semihosting operation numbers. */
#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE0 0x04
#define SYS_WRITE 0x05
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define SEMIHOST_MODE_WB 5 /* fopen "wb" */

#define HCR_EL2_RW (1ULL << 31)

void stub_main(void);
void stub_unexpected(uint64_t vector);

/* Set by the EL2 abort handler in start.S when an AT's walk aborts. */
volatile uint64_t g_at_esr;

/* GCC may turn loops into these calls even when freestanding. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

static long semihost(unsigned long op, const void *param)
{
    register unsigned long x0 __asm__("x0") = op;
    register const void *x1 __asm__("x1") = param;
    __asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
    return (long)x0;
}

static void __attribute__((noreturn)) stub_exit(unsigned code)
{
    const uint64_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, code };
    semihost(SYS_EXIT, block);
    for (;;)
        __asm__ volatile("wfi");
}

static void print(const char *s)
{
    semihost(SYS_WRITE0, s);
}

static void print_hex(const char *label, uint64_t v)
{
    char buf[20];
    buf[0] = '0';
    buf[1] = 'x';
    for (int i = 0; i < 16; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xfu];
    buf[18] = '\n';
    buf[19] = '\0';
    print(label);
    print(buf);
}

/* One accessor per system register read, so that no GNU statement
 * expression is needed. */
#define DEFINE_SYSREG_READ(name)                                                                   \
    static inline uint64_t read_##name(void)                                                       \
    {                                                                                              \
        uint64_t v;                                                                                \
        __asm__ volatile("mrs %0, " #name : "=r"(v));                                              \
        return v;                                                                                  \
    }
DEFINE_SYSREG_READ(esr_el2)
DEFINE_SYSREG_READ(elr_el2)
DEFINE_SYSREG_READ(far_el2)
DEFINE_SYSREG_READ(par_el1)
DEFINE_SYSREG_READ(id_aa64mmfr0_el1)
DEFINE_SYSREG_READ(id_aa64mmfr1_el1)
DEFINE_SYSREG_READ(id_aa64mmfr2_el1)
DEFINE_SYSREG_READ(currentel)
#define READ_SYSREG(name) read_##name()
#define WRITE_SYSREG(name, v) __asm__ volatile("msr " #name ", %0" ::"r"((uint64_t)(v)) : "memory")

void stub_unexpected(uint64_t vector)
{
    print("xcheck stub: unexpected exception\n");
    print_hex("vector ", vector);
    print_hex("ESR_EL2 ", READ_SYSREG(esr_el2));
    print_hex("ELR_EL2 ", READ_SYSREG(elr_el2));
    print_hex("FAR_EL2 ", READ_SYSREG(far_el2));
    stub_exit(XC_EXIT_UNEXPECTED_EXCEPTION);
}

/* HCR_EL2.RW makes EL1 AArch64 (QEMU resets it to 0, which would give the
 * 32-bit PAR format); every other HCR bit stays 0, so stage 2 is off and AT
 * S1E* reports the stage-1 output directly. */
static void program_regime(const volatile uint64_t *job)
{
    WRITE_SYSREG(hcr_el2, HCR_EL2_RW);
    __asm__ volatile("isb" ::: "memory");
    WRITE_SYSREG(mair_el1, job[XC_JOB_W_MAIR]);
    WRITE_SYSREG(tcr_el1, job[XC_JOB_W_TCR]);
    WRITE_SYSREG(ttbr0_el1, job[XC_JOB_W_TTBR0]);
    WRITE_SYSREG(ttbr1_el1, job[XC_JOB_W_TTBR1]);
    __asm__ volatile("isb" ::: "memory");
    WRITE_SYSREG(sctlr_el1, job[XC_JOB_W_SCTLR]);
    /* what real hardware needs before AT sees new tables; QEMU walks afresh */
    __asm__ volatile("dsb ish\n\ttlbi vmalle1\n\tdsb ish\n\tisb" ::: "memory");
}

/* The ISB makes PAR_EL1 reflect this AT before it is read. */
static uint64_t at_probe(uint64_t va, uint64_t op)
{
    switch (op) {
    case XC_AT_S1E1R:
        __asm__ volatile("at s1e1r, %0" ::"r"(va) : "memory");
        break;
    case XC_AT_S1E1W:
        __asm__ volatile("at s1e1w, %0" ::"r"(va) : "memory");
        break;
    case XC_AT_S1E0R:
        __asm__ volatile("at s1e0r, %0" ::"r"(va) : "memory");
        break;
    default:
        __asm__ volatile("at s1e0w, %0" ::"r"(va) : "memory");
        break;
    }
    __asm__ volatile("isb" ::: "memory");
    return READ_SYSREG(par_el1);
}

static uint64_t run_entries(const volatile uint64_t *entries, uint64_t count, volatile uint64_t *out)
{
    uint64_t exceptions = 0;
    for (uint64_t i = 0; i < count; i++) {
        g_at_esr = 0;
        uint64_t par = at_probe(entries[XC_ENTRY_WORDS * i], entries[XC_ENTRY_WORDS * i + 1]);
        uint64_t esr = g_at_esr;
        exceptions += esr != 0;
        out[XC_RES_ENTRY_WORDS * i] = par;
        out[XC_RES_ENTRY_WORDS * i + 1] = esr;
    }
    return exceptions;
}

static void write_results(const volatile uint64_t *job, const volatile uint64_t *res, uint64_t bytes)
{
    const char *path = (const char *)(uintptr_t)&job[XC_JOB_W_PATH];
    uint64_t open_args[3] = { (uintptr_t)path, SEMIHOST_MODE_WB, job[XC_JOB_W_PATH_LEN] };
    long fd = semihost(SYS_OPEN, open_args);
    if (fd < 0) {
        print("xcheck stub: cannot open the result file\n");
        stub_exit(XC_EXIT_IO);
    }
    uint64_t write_args[3] = { (uint64_t)fd, (uintptr_t)res, bytes };
    long unwritten = semihost(SYS_WRITE, write_args);
    uint64_t close_args[1] = { (uint64_t)fd };
    semihost(SYS_CLOSE, close_args);
    if (unwritten != 0) {
        print("xcheck stub: short write of the result file\n");
        stub_exit(XC_EXIT_IO);
    }
}

static int job_ok(const volatile uint64_t *job)
{
    uint64_t max_entries = (XC_JOB_LIMIT_PA - XC_JOB_PA) / 8u / XC_ENTRY_WORDS - XC_JOB_HEADER_WORDS;
    uint64_t max_results = (XC_RESULT_LIMIT_PA - XC_RESULT_PA) / 8u / XC_RES_ENTRY_WORDS - XC_RES_HEADER_WORDS;
    return job[XC_JOB_W_MAGIC] == XC_JOB_MAGIC && job[XC_JOB_W_COUNT] <= max_entries &&
           job[XC_JOB_W_COUNT] <= max_results && job[XC_JOB_W_PATH_LEN] > 0 &&
           job[XC_JOB_W_PATH_LEN] < 8u * XC_JOB_PATH_WORDS;
}

void stub_main(void)
{
    const volatile uint64_t *job = (const volatile uint64_t *)(uintptr_t)XC_JOB_PA;
    volatile uint64_t *res = (volatile uint64_t *)(uintptr_t)XC_RESULT_PA;
    if (!job_ok(job)) {
        print("xcheck stub: bad job blob\n");
        stub_exit(XC_EXIT_BAD_JOB);
    }
    uint64_t count = job[XC_JOB_W_COUNT];
    program_regime(job);
    uint64_t exceptions = run_entries(job + XC_JOB_HEADER_WORDS, count, res + XC_RES_HEADER_WORDS);
    res[XC_RES_W_MAGIC] = XC_RESULT_MAGIC;
    res[XC_RES_W_COUNT] = count;
    res[XC_RES_W_MMFR0] = READ_SYSREG(id_aa64mmfr0_el1);
    res[XC_RES_W_MMFR1] = READ_SYSREG(id_aa64mmfr1_el1);
    res[XC_RES_W_MMFR2] = READ_SYSREG(id_aa64mmfr2_el1);
    res[XC_RES_W_EXCEPTIONS] = exceptions;
    res[XC_RES_W_CURRENT_EL] = READ_SYSREG(currentel) >> 2;
    res[XC_RES_W_RESERVED] = 0;
    write_results(job, res, 8u * (XC_RES_HEADER_WORDS + XC_RES_ENTRY_WORDS * count));
    stub_exit(XC_EXIT_OK);
}
