/*
 * simwalk.h — the simulated CPU's own stage-1 translation-table walker
 * (VMSAv8-64, EL1&0 regime, 64-bit descriptors), written from the Arm
 * architecture independently of the library's decoder so that a bug in one
 * shows up as a disagreement with the other (mmsim_simwalk_crosscheck).
 *
 * Registers are decoded once into a context (mmsim_simwalk_ctx_init); each
 * TLB miss is then one mmsim_simwalk_translate call over caller-supplied
 * descriptor memory. See docs/simwalk.md.
 */
#ifndef MMSIM_SIMWALK_H
#define MMSIM_SIMWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The system-register state the EL1&0 stage-1 walk depends on. */
struct mmsim_simwalk_regs
{
    uint64_t ttbr0_el1; /* ASID[63:48], BADDR */
    uint64_t ttbr1_el1;
    uint64_t tcr_el1;
    uint64_t sctlr_el1; /* M, I, WXN, EPAN are used */
    uint64_t mair_el1;
    /* ID_AA64MMFR0_EL1.PARange as a size (32, 36, 40, 42, 44, 48, 52); 0 reads as 48.
     * 52 also stands for FEAT_LPA and FEAT_LVA, which the walk cannot see otherwise. */
    uint8_t parange_bits;
};

/* One translation half (TTBR0 or TTBR1), decoded for speed: everything the
 * walk would otherwise recompute from TCR_EL1 on every miss. */
struct mmsim_simwalk_half
{
    uint64_t root_pa;       /* start table, from TTBRn */
    uint64_t va_check_mask; /* VA bits [top:va_bits] that must all equal bit 55 */
    uint64_t va_check_want; /* 0 (TTBR0) or va_check_mask (TTBR1) */
    uint64_t addr_mask;     /* descriptor bits that are OA bits [47:0] or [49:0] (DS) */
    uint64_t hi_oa_mask;    /* descriptor bits moved up to OA[51:48] (DS: 9:8, LPA: 15:12) */
    uint64_t oa_over_mask;  /* OA bits at or above the output size */
    uint8_t hi_oa_shift;
    int8_t start_level;     /* -1..3 */
    uint8_t granule;        /* index into the walker's granule table */
    uint8_t flags;          /* usable / EPD / E0PD / HPD bits, private to simwalk.c */
    uint8_t block_levels;   /* bit (level + 1) set where a '01' descriptor is a block */
    uint8_t shift[5];       /* by level + 1: lowest VA bit the level indexes */
    uint16_t index_mask[5]; /* by level + 1: entries - 1 */
};

/* Registers decoded once; read-only during walks, so CPUs may share one. */
struct mmsim_simwalk_ctx
{
    struct mmsim_simwalk_regs regs;
    struct mmsim_simwalk_half half[2]; /* [0] TTBR0, [1] TTBR1 */
    uint16_t asid;                     /* TTBR selected by TCR.A1, 8 bits unless TCR.AS */
    uint8_t pamax_bits;                /* PARange as a size, for the MMU-off range check */
    bool mmu_on, wxn, epan, icache, ha, hd;
};

enum mmsim_simwalk_op
{
    MMSIM_SIMWALK_READ = 0,
    MMSIM_SIMWALK_WRITE = 1,
    MMSIM_SIMWALK_EXEC = 2,
};

/* One access. PAN is part of the access, not the entry, so a TLB can reuse
 * one walk for EL0 and EL1 and for either PSTATE.PAN. */
struct mmsim_simwalk_access
{
    enum mmsim_simwalk_op op;
    uint8_t el; /* 0 or 1; LDTR/STTR check as 0 */
    bool pan;   /* PSTATE.PAN; affects EL1 data accesses only */
};

/* Outcome of a hardware compare-and-swap on a descriptor. */
enum mmsim_simwalk_cas
{
    MMSIM_SIMWALK_CAS_DONE = 0, /* memory held `expected` and now holds `desired` */
    MMSIM_SIMWALK_CAS_CHANGED,  /* memory no longer held `expected`: the walk starts again */
    MMSIM_SIMWALK_CAS_ABORT,    /* not memory: external abort at the leaf's level */
};

/* Descriptor memory. read64 returning false is an external abort on the walk.
 * cas64 may be NULL: then hardware AF/dirty updates are architecturally
 * permitted but never written back, and hw_updated stays false. */
struct mmsim_simwalk_mem
{
    bool (*read64)(void *ctx, uint64_t pa, uint64_t *val);
    enum mmsim_simwalk_cas (*cas64)(void *ctx, uint64_t pa, uint64_t expected, uint64_t desired);
    void *ctx;
    /* Optional: [window_pa, window_pa + window_bytes) is host memory at
     * window_host, read directly (an atomic 8-byte load) instead of through
     * read64 — the TLB-miss path's hot loop; 0 bytes = no window. */
    const unsigned char *window_host;
    uint64_t window_pa, window_bytes;
};

enum mmsim_simwalk_fault
{
    MMSIM_SIMWALK_OK = 0,
    MMSIM_SIMWALK_FAULT_ADDR_SIZE,   /* FSC 0x00+level, 0x29 at level -1 */
    MMSIM_SIMWALK_FAULT_TRANSLATION, /* FSC 0x04+level, 0x2B at level -1 */
    MMSIM_SIMWALK_FAULT_ACCESS_FLAG, /* FSC 0x08+level */
    MMSIM_SIMWALK_FAULT_PERMISSION,  /* FSC 0x0C+level (always the leaf's level) */
    MMSIM_SIMWALK_FAULT_EXT_ABORT,   /* FSC 0x14+level, 0x13 at level -1 */
    MMSIM_SIMWALK_FAULT_ATOMIC_HW,   /* FSC 0x31: the AF/dirty update kept losing its CAS */
};

/* Permission bits: bit (3 * el + op), so a check is one shift. */
#define MMSIM_SIMWALK_PERM_EL0_R 0x01u
#define MMSIM_SIMWALK_PERM_EL0_W 0x02u
#define MMSIM_SIMWALK_PERM_EL0_X 0x04u
#define MMSIM_SIMWALK_PERM_EL1_R 0x08u
#define MMSIM_SIMWALK_PERM_EL1_W 0x10u
#define MMSIM_SIMWALK_PERM_EL1_X 0x20u
#define MMSIM_SIMWALK_PERM_BIT(el, op) (1u << (3u * (unsigned)(el) + (unsigned)(op)))

struct mmsim_simwalk_result
{
    enum mmsim_simwalk_fault fault;
    int8_t level;           /* fault level, or the leaf's level */
    uint8_t fsc;            /* DFSC/IFSC code; 0 on success */
    uint8_t mair_attr;      /* MAIR_EL1 byte the leaf's AttrIndx selects */
    uint8_t perms;          /* MMSIM_SIMWALK_PERM_*, no PAN: what a TLB may cache */
    uint8_t perms_clean;    /* write bits held back from perms: a writable-clean (DBM)
                               page this walk did not dirty; a store must re-walk */
    bool el0_data;          /* EL0 may read or write it: PAN denies EL1 data accesses */
    bool global;            /* nG = 0 */
    bool contiguous;        /* the hint, where the level has one */
    bool hw_updated;        /* this walk wrote AF and/or cleared AP[2] through cas64 */
    uint16_t asid;          /* the ASID a non-global entry belongs to; 0 when global */
    uint64_t pa;            /* output address, page offset included */
    uint64_t leaf_size_bytes;
    uint64_t contig_size_bytes; /* span of the contiguous run, 0 without the hint */
    uint64_t desc;          /* leaf (or faulting) descriptor as read, before any update */
    uint64_t desc_pa;       /* where it lives; 0 when no descriptor was read */
};

/* Decode `regs` once so each walk is table lookups and masks. Returns 0, or -1
 * when a half not disabled by EPDx has a reserved TGx or out-of-range TxSZ
 * (that half then faults at level 0 on every walk, as the walk must). */
int mmsim_simwalk_ctx_init(struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_regs *regs);

/* Translate `va` for `acc`, following the architecture's fault priority, and
 * perform a permitted access's AF/dirty update through mem->cas64. Returns
 * true when the access may proceed (res->fault == MMSIM_SIMWALK_OK). */
bool mmsim_simwalk_translate(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                             uint64_t va, struct mmsim_simwalk_access acc,
                             struct mmsim_simwalk_result *res);

/* Whether a TLB entry made from the successful walk `res` permits `acc`, with
 * PAN (and EPAN) applied now; false means a permission fault at res->level,
 * or, for a store to a writable-clean page, that the CPU must walk again. */
bool mmsim_simwalk_permits(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_result *res,
                           struct mmsim_simwalk_access acc);

/* The 6-bit fault status code, so the CPU can build ESR_EL1 for a fault it
 * finds at TLB-lookup time; 0xFF where the architecture has no code. */
uint8_t mmsim_simwalk_fsc(enum mmsim_simwalk_fault fault, int level);

/* Short name of a fault kind, for messages ("translation", ...). */
const char *mmsim_simwalk_fault_name(enum mmsim_simwalk_fault fault);

/* Walk `va` with the library's mmsim_vmsa_translate (hardware updates off)
 * and then with this walker (updates on, applied once), and compare fault,
 * level, FSC, PA, leaf size, descriptor, attributes, permissions and whether
 * an update was due. Returns true when they agree; otherwise writes a
 * readable account to msg (msg_size bytes). *res is this walker's result. */
bool mmsim_simwalk_crosscheck(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                              uint64_t va, struct mmsim_simwalk_access acc,
                              struct mmsim_simwalk_result *res, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_SIMWALK_H */
