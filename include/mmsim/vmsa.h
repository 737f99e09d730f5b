/*
 * mmsim/vmsa.h — AArch64 VMSAv8-64 stage-1 (EL1&0 regime) descriptors and
 * translation, written from the Arm architecture (see docs/vmsa.md).
 *
 * Everything here is pure: no globals, no simulated RAM. Descriptor memory is
 * reached through a caller-supplied mmsim_vmsa_mem, so the same walk runs
 * over mmsim's simulated RAM, over a test's hand-built array, or over an
 * exported image. Covers the 4 KiB, 16 KiB and 64 KiB granules, every VA size
 * TxSZ allows (levels derived from granule and TxSZ, level -1 with 4K+DS) and
 * 52-bit output addresses (DS=1 for 4K/16K, FEAT_LPA for 64K).
 */
#ifndef MMSIM_VMSA_H
#define MMSIM_VMSA_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Granule size as log2 of bytes. */
enum mmsim_granule
{
    MMSIM_GRANULE_4K = 12,
    MMSIM_GRANULE_16K = 14,
    MMSIM_GRANULE_64K = 16,
};

/* Parameters of one translation half (TTBR0 or TTBR1), decoded from TCR_EL1.
 * The descriptor format depends only on granule_shift, oa_bits, ds and lpa. */
struct mmsim_vmsa_regime
{
    uint8_t granule_shift; /* 12, 14 or 16 */
    uint8_t va_bits;       /* 64 - TxSZ */
    uint8_t oa_bits;       /* effective output size: min(IPS, PARange), capped at 48
                              unless ds (4K/16K) or lpa (64K) */
    bool ds;               /* TCR.DS (FEAT_LPA2): OA[51:50] in desc[9:8], OA[49:48] in
                              desc[49:48]; leaf shareability then comes from `sh` */
    bool lpa;              /* 64K with FEAT_LPA: OA[51:48] in desc[15:12] */
    bool ha;               /* TCR.HA: hardware sets AF instead of faulting */
    bool hd;               /* TCR.HD: with ha, DBM=1 makes AP[2]=1 pages writable-clean */
    bool hpd;              /* TCR.HPDx: APTable/UXNTable/PXNTable ignored */
    bool epd;              /* TCR.EPDx: walks disabled -> translation fault L0 */
    bool e0pd;             /* TCR.E0PDx: EL0 accesses -> translation fault L0 */
    bool tbi;              /* TCR.TBIx: top byte ignored */
    bool upper;            /* true for the TTBR1 half (VA top bits all ones) */
    uint8_t sh;            /* TCR.SHx (walk/leaf shareability when ds) */
};

/* The 4 KiB-granule, 48-bit regime of RT-Thread's aarch64 port (TTBR0 half). */
void mmsim_vmsa_regime_rt(struct mmsim_vmsa_regime *out, bool upper);

/* ---- geometry ---------------------------------------------------------- */

/* First level of the walk: 4 - ceil((va_bits - granule) / (granule - 3)); -1..3. */
int mmsim_vmsa_start_level(const struct mmsim_vmsa_regime *r);
/* Lowest VA bit indexed at `level` (granule_shift + stride * (3 - level)). */
unsigned mmsim_vmsa_level_shift(const struct mmsim_vmsa_regime *r, int level);
/* Number of VA bits indexed at `level` (the start level may index fewer than a stride). */
unsigned mmsim_vmsa_index_bits(const struct mmsim_vmsa_regime *r, int level);
/* Whether a block descriptor is valid at `level` (see docs/vmsa.md §2). */
bool mmsim_vmsa_block_allowed(const struct mmsim_vmsa_regime *r, int level);
/* Entries in a contiguous run at `level`, 0 where the hint does not exist. */
unsigned mmsim_vmsa_contig_entries(const struct mmsim_vmsa_regime *r, int level);

/* ---- descriptors ------------------------------------------------------- */

enum mmsim_desc_kind
{
    MMSIM_DESC_INVALID = 0, /* bit 0 clear, or a block where none is allowed, or L3 '01' */
    MMSIM_DESC_TABLE,
    MMSIM_DESC_BLOCK,
    MMSIM_DESC_PAGE,
};

/* One decoded descriptor. Leaf fields are meaningful for BLOCK/PAGE, table
 * fields for TABLE. `addr` is the next-level table address or the leaf output
 * address, already assembled from every OA field the format has. */
struct mmsim_desc
{
    enum mmsim_desc_kind kind;
    uint64_t addr;
    /* leaf attributes */
    uint8_t attr_indx; /* bits 4:2 */
    bool ns;           /* bit 5 */
    uint8_t ap;        /* AP[2:1], bits 7:6 */
    uint8_t sh;        /* bits 9:8 (0 when ds: those bits are OA) */
    bool af;           /* bit 10 */
    bool ng;           /* bit 11 */
    bool nt;           /* bit 16, blocks only */
    bool gp;           /* bit 50 */
    bool dbm;          /* bit 51 */
    bool contiguous;   /* bit 52 */
    bool pxn;          /* bit 53 */
    bool uxn;          /* bit 54 */
    uint8_t sw;        /* bits 58:55, ignored by hardware */
    /* table attributes */
    bool pxn_table;    /* bit 59 */
    bool uxn_table;    /* bit 60 */
    uint8_t ap_table;  /* bits 62:61 */
    bool ns_table;     /* bit 63 */
};

/* Decode `raw` found at `level` under regime `r`. Never fails: a descriptor
 * the architecture treats as invalid decodes as MMSIM_DESC_INVALID. */
void mmsim_desc_decode(const struct mmsim_vmsa_regime *r, int level, uint64_t raw,
                       struct mmsim_desc *out);

/* Encode `d` for `level`. Returns false, leaving *raw unchanged, when it cannot
 * be represented: a block where none is allowed, a table/page at the wrong
 * level, an address not aligned to its size or beyond 52 bits, or an address
 * that needs OA bits the format lacks. INVALID encodes as 0. */
bool mmsim_desc_encode(const struct mmsim_vmsa_regime *r, int level, const struct mmsim_desc *d,
                       uint64_t *raw);

/* ---- registers --------------------------------------------------------- */

/* The system-register state a walk depends on. */
struct mmsim_vmsa_regs
{
    uint64_t tcr;   /* TCR_EL1 */
    uint64_t mair;  /* MAIR_EL1 */
    uint64_t sctlr; /* SCTLR_EL1 (M, WXN, EPAN are used) */
    uint64_t ttbr0; /* TTBR0_EL1 (ASID[63:48], BADDR) */
    uint64_t ttbr1; /* TTBR1_EL1 */
    uint8_t parange_bits; /* ID_AA64MMFR0_EL1.PARange as bits: 32..52; 0 means 48 */
};

/* Both halves decoded, plus what the walk needs from the other registers. */
struct mmsim_vmsa_ctx
{
    struct mmsim_vmsa_regs regs;
    struct mmsim_vmsa_regime half[2]; /* [0] TTBR0, [1] TTBR1 */
    uint64_t root_pa[2];              /* table base from TTBRn, OA bits assembled */
    bool valid[2];                    /* false: TGn reserved or TxSZ out of range */
    bool wxn;                         /* SCTLR_EL1.WXN */
    bool epan;                        /* SCTLR_EL1.EPAN */
};

/* Decode `regs` into `ctx`. Returns 0, or -1 if TCR selects no valid granule
 * for either half (ctx is still filled; the invalid half faults at level 0). */
int mmsim_vmsa_ctx_init(struct mmsim_vmsa_ctx *ctx, const struct mmsim_vmsa_regs *regs);

/* Build a TCR_EL1 value: TTBR0 half from `lo`, TTBR1 half from `hi` (NULL sets
 * EPD1), IPS from `ips_bits` (32, 36, 40, 42, 44, 48 or 52), inner-shareable
 * write-back walks, 16-bit ASIDs. */
uint64_t mmsim_vmsa_tcr_build(const struct mmsim_vmsa_regime *lo, const struct mmsim_vmsa_regime *hi,
                              unsigned ips_bits);

/* RT-Thread's MAIR_EL1 value: Attr0 0x7f normal write-back, Attr1 0x44 normal
 * non-cacheable, Attr2 0x00 device nGnRnE. */
#define MMSIM_VMSA_MAIR_RT 0x00447fULL

/* ---- translation ------------------------------------------------------- */

enum mmsim_vmsa_op
{
    MMSIM_OP_READ = 0,
    MMSIM_OP_WRITE = 1,
    MMSIM_OP_EXEC = 2,
};

struct mmsim_vmsa_access
{
    enum mmsim_vmsa_op op;
    uint8_t el;     /* 0 or 1 */
    bool pan;       /* PSTATE.PAN, applied to EL1 data accesses */
    bool at;        /* an AT S1Exx probe: never updates AF/dirty, ignores pan */
};

/* Descriptor memory. read64 returns false for a PA that is not memory (an
 * external abort on the walk). write64 may be NULL: no hardware updates. */
struct mmsim_vmsa_mem
{
    bool (*read64)(void *ctx, uint64_t pa, uint64_t *val);
    bool (*write64)(void *ctx, uint64_t pa, uint64_t val);
    void *ctx;
};

enum mmsim_fault
{
    MMSIM_FAULT_NONE = 0,
    MMSIM_FAULT_ADDR_SIZE,   /* FSC 0x00-0x03 (0x29 at level -1) */
    MMSIM_FAULT_TRANSLATION, /* FSC 0x04-0x07 (0x2B at level -1) */
    MMSIM_FAULT_ACCESS_FLAG, /* FSC 0x08-0x0B */
    MMSIM_FAULT_PERMISSION,  /* FSC 0x0C-0x0F */
    MMSIM_FAULT_EXT_ABORT,   /* FSC 0x14-0x17 (0x13 at level -1): descriptor read failed */
};

/* Effective permission bits in mmsim_vmsa_result.perms. */
#define MMSIM_PERM_EL0_R 0x01u
#define MMSIM_PERM_EL0_W 0x02u
#define MMSIM_PERM_EL0_X 0x04u
#define MMSIM_PERM_EL1_R 0x08u
#define MMSIM_PERM_EL1_W 0x10u
#define MMSIM_PERM_EL1_X 0x20u

struct mmsim_vmsa_result
{
    enum mmsim_fault fault;
    int8_t level;        /* fault level, or the leaf's level on success */
    uint8_t fsc;         /* DFSC/IFSC/PAR.FST code; 0 with fault NONE */
    uint64_t pa;         /* output address including the offset within the leaf */
    uint64_t leaf_size;  /* bytes the leaf maps */
    uint64_t desc;       /* leaf descriptor as read (before any hardware update) */
    uint64_t desc_pa;    /* where the leaf (or the faulting) descriptor lives */
    uint8_t attr_indx;
    uint8_t mair_attr;   /* MAIR_EL1 byte AttrIndx selects */
    uint8_t sh;          /* effective shareability (from TCR.SHx when ds) */
    bool ng;
    bool contiguous;
    uint8_t perms;       /* MMSIM_PERM_* after table limits, WXN and implicit PXN */
    bool hw_updated;     /* the walk wrote AF or cleared AP[2] (dirty) back */
};

/* Translate `va` for `acc` under `ctx`, reading descriptors through `mem`.
 * Follows the architecture's fault priority; with ha/hd and a non-AT access
 * it performs the hardware update through mem->write64. Returns true when the
 * access is permitted (res->fault == MMSIM_FAULT_NONE). */
bool mmsim_vmsa_translate(const struct mmsim_vmsa_ctx *ctx, uint64_t va,
                          const struct mmsim_vmsa_access *acc, const struct mmsim_vmsa_mem *mem,
                          struct mmsim_vmsa_result *res);

/* The 6-bit fault status code for `fault` at `level`. */
uint8_t mmsim_vmsa_fsc(enum mmsim_fault fault, int level);

/* PAR_EL1 as an AT instruction leaves it: on success PA[51:12], ATTR[63:56],
 * SH[8:7] (0b10 for Device and Normal non-cacheable), bit 11 set, NS clear;
 * on a fault F=1, FST[6:1], bit 11 set. */
uint64_t mmsim_vmsa_par(const struct mmsim_vmsa_result *res);

/* Human-readable name of a fault kind ("translation", ...). */
const char *mmsim_vmsa_fault_name(enum mmsim_fault fault);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_VMSA_H */
