/*
 * simwalk.c — the simulated CPU's stage-1 walk (VMSAv8-64, EL1&0 regime),
 * written from the Arm ARM (D8) and the ASL's AArch64.S1Translate/S1Walk.
 *
 * Shape: everything that depends only on registers is folded into the
 * context once (start level, per-level VA shifts and index masks, where
 * the OA bits sit in a descriptor, which levels may hold blocks), driven by
 * one row per granule in k_granule. The walk itself is then a loop of
 * "index, read, classify" with no per-granule branches, followed by the leaf
 * checks in the architecture's priority order:
 *
 *   translation L0 (TxSZ, VA range, EPD, E0PD) -> address size L0 (TTBR)
 *   -> per level: external abort -> invalid -> next-table address size
 *   -> leaf: reserved/illegal block -> OA address size -> access flag
 *   -> permission (PAN included) -> hardware AF/dirty update.
 */
#include <string.h>

#include "simwalk.h"

#define BIT(n) (1ULL << (n))
/* Bits hi..lo inclusive (hi <= 63, lo <= hi). */
#define BITS(hi, lo) ((~0ULL >> (63 - (hi))) & ~(BIT(lo) - 1))

/* Descriptor fields (Arm ARM D8, VMSAv8-64 descriptor formats). */
#define D_VALID BIT(0)
#define D_TABLE BIT(1) /* with D_VALID: table at levels < 3, page at level 3 */
#define D_AP2 BIT(7)   /* read-only */
#define D_AF BIT(10)
#define D_NG BIT(11)
#define D_DBM BIT(51)
#define D_CONT BIT(52)
#define D_PXN BIT(53)
#define D_UXN BIT(54)
#define T_PXN BIT(59) /* table limits, OR-ed down the walk */
#define T_UXN BIT(60)
#define T_AP_SHIFT 61

/* TCR_EL1 bits shared by both halves; half_init picks the per-half ones by offset. */
#define TCR_A1 BIT(22)
#define TCR_AS BIT(36)
#define TCR_HA BIT(39)
#define TCR_HD BIT(40)
#define TCR_DS BIT(59)

/* SCTLR_EL1 bits. */
#define SCTLR_M BIT(0)
#define SCTLR_I BIT(12)
#define SCTLR_WXN BIT(19)
#define SCTLR_EPAN BIT(57)

/* mmsim_simwalk_half.flags */
#define HALF_USABLE 0x01u
#define HALF_EPD 0x02u
#define HALF_E0PD 0x04u
#define HALF_HPD 0x08u

#define PERM_ALL 0x3fu
#define PERM_EL0_DATA (MMSIM_SIMWALK_PERM_EL0_R | MMSIM_SIMWALK_PERM_EL0_W)
#define PERM_W (MMSIM_SIMWALK_PERM_EL0_W | MMSIM_SIMWALK_PERM_EL1_W)

/* A CAS that keeps losing means another agent rewrites the descriptor as
 * fast as we walk; give up rather than spin forever. */
#define MAX_WALK_RESTARTS 64

/* When a '01' descriptor at a level is a block rather than invalid. */
enum block_rule
{
    BLK_NO = 0,
    BLK_YES,
    BLK_IF_DS,  /* FEAT_LPA2 with TCR.DS = 1 */
    BLK_IF_LPA, /* FEAT_LPA (PARange 52) */
};

/* One row per granule; columns indexed by level + 1 (levels -1..3). */
struct granule_row
{
    uint8_t shift;           /* log2 of the granule in bytes */
    uint8_t block[5];        /* enum block_rule */
    uint8_t contig_log2[5];  /* log2 of the entries in a contiguous run; 0: no hint */
};

enum { G4K, G16K, G64K, G_RESERVED };

static const struct granule_row k_granule[3] = {
    /* The contiguous bit is RES0 on the blocks that need DS or LPA. */
    [G4K] = { 12, { BLK_NO, BLK_IF_DS, BLK_YES, BLK_YES, BLK_NO }, { 0, 0, 4, 4, 4 } },
    [G16K] = { 14, { BLK_NO, BLK_NO, BLK_IF_DS, BLK_YES, BLK_NO }, { 0, 0, 0, 5, 7 } },
    [G64K] = { 16, { BLK_NO, BLK_NO, BLK_IF_LPA, BLK_YES, BLK_NO }, { 0, 0, 0, 5, 5 } },
};

/* TG0 and TG1 encode the granules differently. */
static const uint8_t k_tg0[4] = { G4K, G64K, G16K, G_RESERVED };
static const uint8_t k_tg1[4] = { G_RESERVED, G16K, G4K, G64K };

/* TCR.IPS -> bits. 0b111 means 56 only with FEAT_D128; without it the
 * encoding is reserved and we treat it as 0b110 (52) throughout. */
static const uint8_t k_ips_bits[8] = { 32, 36, 40, 42, 44, 48, 52, 52 };

/* Data permissions granted by AP[2:1] in the EL1&0 regime. */
static const uint8_t k_ap_data[4] = {
    MMSIM_SIMWALK_PERM_EL1_R | MMSIM_SIMWALK_PERM_EL1_W,
    MMSIM_SIMWALK_PERM_EL1_R | MMSIM_SIMWALK_PERM_EL1_W | PERM_EL0_DATA,
    MMSIM_SIMWALK_PERM_EL1_R,
    MMSIM_SIMWALK_PERM_EL1_R | MMSIM_SIMWALK_PERM_EL0_R,
};

/* What the accumulated APTable leaves of those: bit 0 takes EL0 away, bit 1 writes. */
static const uint8_t k_aptable_keep[4] = {
    PERM_ALL,
    PERM_ALL & ~PERM_EL0_DATA,
    PERM_ALL & ~PERM_W,
    PERM_ALL & ~(PERM_EL0_DATA | PERM_W),
};

static unsigned min_u(unsigned a, unsigned b)
{
    return a < b ? a : b;
}

/* ---- context ------------------------------------------------------------ */

static unsigned pamax_of(unsigned parange_bits)
{
    if (parange_bits == 0)
        return 48;
    if (parange_bits < 32)
        return 32;
    return min_u(parange_bits, 52);
}

/* Levels, shifts and index masks: level L indexes VA[shift + stride - 1 : shift]
 * with shift = granule + stride * (3 - L); the start level takes what is left. */
static void half_geometry(struct mmsim_simwalk_half *h, unsigned gshift, unsigned va_bits)
{
    unsigned stride = gshift - 3;
    unsigned levels = (va_bits - gshift + stride - 1) / stride;
    h->start_level = (int8_t)(4 - (int)levels);
    for (int level = h->start_level; level <= 3; level++) {
        unsigned shift = gshift + stride * (unsigned)(3 - level);
        unsigned bits = level == h->start_level ? va_bits - shift : stride;
        h->shift[level + 1] = (uint8_t)shift;
        h->index_mask[level + 1] = (uint16_t)((1u << bits) - 1);
    }
}

/* Where OA bits sit in descriptors and which levels hold blocks, for this
 * granule under DS (FEAT_LPA2) or FEAT_LPA. */
static void half_format(struct mmsim_simwalk_half *h, unsigned g, bool ds, bool lpa, unsigned oa_bits)
{
    h->addr_mask = ds ? BITS(49, 0) : BITS(47, 0);
    if (ds) {
        h->hi_oa_mask = BITS(9, 8); /* OA[51:50] */
        h->hi_oa_shift = 42;
    } else if (g == G64K && lpa) {
        h->hi_oa_mask = BITS(15, 12); /* OA[51:48] */
        h->hi_oa_shift = 36;
    }
    h->oa_over_mask = ~0ULL << oa_bits;
    for (int i = 0; i < 5; i++) {
        uint8_t rule = k_granule[g].block[i];
        if (rule == BLK_YES || (rule == BLK_IF_DS && ds) || (rule == BLK_IF_LPA && lpa))
            h->block_levels |= (uint8_t)(1u << i);
    }
}

/* TTBRn.BADDR, aligned to the start table's size. The 52-bit form puts
 * OA[51:48] in TTBR[5:2] (so the table is at least 64-byte aligned); it
 * applies with DS, or 64K with IPS = 52 (ASL AArch64.S1TTBaseAddress),
 * whatever the effective output size. */
static uint64_t root_of(const struct mmsim_simwalk_half *h, uint64_t ttbr, bool form52)
{
    unsigned table_log2 = 3 + (unsigned)__builtin_popcount(h->index_mask[h->start_level + 1]);
    uint64_t base = form52 ? ((ttbr >> 2) & 0xf) << 48 | (ttbr & BITS(47, 6)) : ttbr & BITS(47, 1);
    return base & ~(BIT(table_log2) - 1);
}

/* Decode one half; false when its TGx is reserved or TxSZ out of range. */
static bool half_init(struct mmsim_simwalk_half *h, const struct mmsim_simwalk_regs *r, unsigned upper,
                      unsigned pamax)
{
    uint64_t tcr = r->tcr_el1;
    unsigned txsz = (unsigned)(tcr >> (upper ? 16 : 0)) & 63;
    unsigned g = upper ? k_tg1[(tcr >> 30) & 3] : k_tg0[(tcr >> 14) & 3];
    unsigned ips_field = (unsigned)(tcr >> 32) & 7;
    if (ips_field == 7)
        ips_field = 6; /* see k_ips_bits */
    bool tbi = (tcr >> (37 + upper)) & 1;

    memset(h, 0, sizeof *h);
    h->flags = (uint8_t)(((tcr >> (upper ? 23 : 7)) & 1 ? HALF_EPD : 0) |
                         ((tcr >> (55 + upper)) & 1 ? HALF_E0PD : 0) |
                         ((tcr >> (41 + upper)) & 1 ? HALF_HPD : 0));
    if (g == G_RESERVED)
        return false;
    bool lpa = pamax == 52;
    bool ds = g != G64K && (tcr & TCR_DS);
    unsigned min_txsz = ((g == G64K && lpa) || ds) ? 12 : 16;
    if (txsz < min_txsz || txsz > 39)
        return false;

    unsigned va_bits = 64 - txsz;
    h->granule = (uint8_t)g;
    h->va_check_mask = BITS(tbi ? 55 : 63, va_bits);
    h->va_check_want = upper ? h->va_check_mask : 0;
    half_geometry(h, k_granule[g].shift, va_bits);
    half_format(h, g, ds, lpa, min_u(k_ips_bits[ips_field], pamax));
    h->root_pa = root_of(h, upper ? r->ttbr1_el1 : r->ttbr0_el1, ds || (g == G64K && lpa && ips_field == 6));
    h->flags |= HALF_USABLE;
    return true;
}

int mmsim_simwalk_ctx_init(struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_regs *regs)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->regs = *regs;
    ctx->pamax_bits = (uint8_t)pamax_of(regs->parange_bits);
    int rc = 0;
    for (unsigned i = 0; i < 2; i++) {
        if (!half_init(&ctx->half[i], regs, i, ctx->pamax_bits) && !(ctx->half[i].flags & HALF_EPD))
            rc = -1;
    }
    uint64_t tcr = regs->tcr_el1;
    uint64_t asid_ttbr = (tcr & TCR_A1) ? regs->ttbr1_el1 : regs->ttbr0_el1;
    ctx->asid = (uint16_t)((asid_ttbr >> 48) & ((tcr & TCR_AS) ? 0xffff : 0xff));
    ctx->mmu_on = regs->sctlr_el1 & SCTLR_M;
    ctx->icache = regs->sctlr_el1 & SCTLR_I;
    ctx->wxn = regs->sctlr_el1 & SCTLR_WXN;
    ctx->epan = regs->sctlr_el1 & SCTLR_EPAN;
    ctx->ha = tcr & TCR_HA;
    ctx->hd = ctx->ha && (tcr & TCR_HD); /* dirty state needs the access flag too */
    return rc;
}

/* ---- helpers ------------------------------------------------------------ */

uint8_t mmsim_simwalk_fsc(enum mmsim_simwalk_fault fault, int level)
{
    /* by fault kind: code at level 0, and at level -1 (0xff: none) */
    static const uint8_t at0[] = { 0x00, 0x00, 0x04, 0x08, 0x0c, 0x14, 0x31 };
    static const uint8_t at_minus1[] = { 0x00, 0x29, 0x2b, 0xff, 0xff, 0x13, 0x31 };
    if ((unsigned)fault >= sizeof at0)
        return 0xff;
    if (fault == MMSIM_SIMWALK_OK || fault == MMSIM_SIMWALK_FAULT_ATOMIC_HW)
        return at0[fault];
    if (level == -1)
        return at_minus1[fault];
    if (level < 0 || level > 3)
        return 0xff;
    return (uint8_t)(at0[fault] + level);
}

const char *mmsim_simwalk_fault_name(enum mmsim_simwalk_fault fault)
{
    static const char *const names[] = { "none", "address size", "translation", "access flag",
                                         "permission", "external abort", "atomic hw update" };
    return (unsigned)fault < sizeof names / sizeof names[0] ? names[fault] : "?";
}

/* Whether perms allow acc now. PAN stops EL1 data accesses to pages EL0 can
 * read or write, or (EPAN) execute; fetches never see PAN. */
static bool access_ok(unsigned perms, bool el0_data, bool epan, struct mmsim_simwalk_access acc)
{
    unsigned el = acc.el ? 1 : 0;
    if (!(perms & MMSIM_SIMWALK_PERM_BIT(el, acc.op)))
        return false;
    if (el == 1 && acc.pan && acc.op != MMSIM_SIMWALK_EXEC &&
        (el0_data || (epan && (perms & MMSIM_SIMWALK_PERM_EL0_X))))
        return false;
    return true;
}

bool mmsim_simwalk_permits(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_result *res,
                           struct mmsim_simwalk_access acc)
{
    return res->fault == MMSIM_SIMWALK_OK && access_ok(res->perms, res->el0_data, ctx->epan, acc);
}

static bool fault_at(struct mmsim_simwalk_result *res, enum mmsim_simwalk_fault fault, int level)
{
    res->fault = fault;
    res->level = (int8_t)level;
    res->fsc = mmsim_simwalk_fsc(fault, level);
    return false;
}

/* The address in a descriptor: OA[47:0] (or [49:0] with DS) plus the high OA
 * bits stored lower down, with the bits below `align_mask` dropped. */
static uint64_t desc_addr(const struct mmsim_simwalk_half *h, uint64_t d, uint64_t align_mask)
{
    return ((d & h->addr_mask) | ((d & h->hi_oa_mask) << h->hi_oa_shift)) & ~align_mask;
}

/* The six permissions of a leaf, without PAN. `writable_clean` is DBM with
 * HA+HD: AP[2] then counts as 0 for every rule (so also for implicit PXN). */
static unsigned leaf_perms(uint64_t d, uint64_t limits, bool writable_clean, bool wxn)
{
    unsigned ap = (unsigned)(d >> 6) & 3;
    if (writable_clean)
        ap &= 1;
    unsigned p = k_ap_data[ap] & k_aptable_keep[(limits >> T_AP_SHIFT) & 3];
    if (!(d & D_UXN) && !(limits & T_UXN))
        p |= MMSIM_SIMWALK_PERM_EL0_X;
    if (!(d & D_PXN) && !(limits & T_PXN) && !(p & MMSIM_SIMWALK_PERM_EL0_W))
        p |= MMSIM_SIMWALK_PERM_EL1_X; /* what EL0 may write, EL1 never executes */
    if (wxn) {
        if (p & MMSIM_SIMWALK_PERM_EL0_W)
            p &= ~MMSIM_SIMWALK_PERM_EL0_X;
        if (p & MMSIM_SIMWALK_PERM_EL1_W)
            p &= ~MMSIM_SIMWALK_PERM_EL1_X;
    }
    return p;
}

/* ---- the walk ----------------------------------------------------------- */

enum walk_end
{
    WALK_DONE,    /* res is final, fault or not */
    WALK_RESTART, /* the descriptor changed under the update: walk again */
};

/* SCTLR.M = 0: VA = PA. Data is Device-nGnRnE, fetches Normal (write-through
 * with SCTLR.I, else non-cacheable); VA bits between PAMax and the address
 * top (55 under TBI) must be zero. No permissions apply, so PAN cannot. */
static void walk_mmu_off(const struct mmsim_simwalk_ctx *ctx, uint64_t va, struct mmsim_simwalk_access acc,
                         struct mmsim_simwalk_result *res)
{
    unsigned upper = (unsigned)(va >> 55) & 1;
    bool tbi = (ctx->regs.tcr_el1 >> (37 + upper)) & 1;
    if (va & BITS(tbi ? 55 : 63, ctx->pamax_bits)) {
        fault_at(res, MMSIM_SIMWALK_FAULT_ADDR_SIZE, 0);
        return;
    }
    res->pa = va & (BIT(ctx->pamax_bits) - 1);
    res->mair_attr = acc.op != MMSIM_SIMWALK_EXEC ? 0x00 : ctx->icache ? 0xaa : 0x44;
    res->perms = PERM_ALL;
    res->global = true;
}

/* Checks that come before any descriptor is read. */
static bool walk_allowed(const struct mmsim_simwalk_half *h, uint64_t va, struct mmsim_simwalk_access acc,
                         struct mmsim_simwalk_result *res)
{
    if (!(h->flags & HALF_USABLE) || (va & h->va_check_mask) != h->va_check_want ||
        (h->flags & HALF_EPD) || (acc.el == 0 && (h->flags & HALF_E0PD)))
        return fault_at(res, MMSIM_SIMWALK_FAULT_TRANSLATION, 0);
    if (h->root_pa & h->oa_over_mask)
        return fault_at(res, MMSIM_SIMWALK_FAULT_ADDR_SIZE, 0);
    return true;
}

/* Table levels: follow table descriptors from the root down to a leaf
 * candidate, OR-ing their limits. Returns the leaf's level, or -2 on a fault. */
/* One descriptor: from the window when it holds it, else through read64. */
static inline bool read_desc(const struct mmsim_simwalk_mem *mem, uint64_t pa, uint64_t *d)
{
    uint64_t off = pa - mem->window_pa;
    if (off < mem->window_bytes && off + 8 <= mem->window_bytes) {
        *d = __atomic_load_n((const uint64_t *)(const void *)(mem->window_host + off), __ATOMIC_ACQUIRE);
        return true;
    }
    return mem->read64(mem->ctx, pa, d);
}

static int walk_tables(const struct mmsim_simwalk_half *h, const struct mmsim_simwalk_mem *mem, uint64_t va,
                       uint64_t *limits, struct mmsim_simwalk_result *res)
{
    uint64_t table = h->root_pa;
    uint64_t granule_mask = BIT(h->shift[4]) - 1;
    for (int level = h->start_level;; level++) {
        uint64_t pa = table + (((va >> h->shift[level + 1]) & h->index_mask[level + 1]) << 3);
        uint64_t d;
        res->desc_pa = pa;
        if (!read_desc(mem, pa, &d)) {
            res->desc = 0; /* nothing was read */
            fault_at(res, MMSIM_SIMWALK_FAULT_EXT_ABORT, level);
            return -2;
        }
        res->desc = d;
        if (!(d & D_VALID)) {
            fault_at(res, MMSIM_SIMWALK_FAULT_TRANSLATION, level);
            return -2;
        }
        if (level == 3 || !(d & D_TABLE))
            return level;
        table = desc_addr(h, d, granule_mask);
        if (table & h->oa_over_mask) {
            fault_at(res, MMSIM_SIMWALK_FAULT_ADDR_SIZE, level);
            return -2;
        }
        *limits |= d;
    }
}

/* Everything a TLB entry needs from the leaf, permissions included. */
static void leaf_fill(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_half *h, uint64_t va,
                      int level, uint64_t oa, uint64_t limits, struct mmsim_simwalk_result *res)
{
    uint64_t d = res->desc;
    unsigned contig_log2 = k_granule[h->granule].contig_log2[level + 1];
    bool writable_clean = ctx->hd && (d & D_DBM);
    unsigned p = leaf_perms(d, (h->flags & HALF_HPD) ? 0 : limits, writable_clean, ctx->wxn);

    res->level = (int8_t)level;
    res->leaf_size_bytes = BIT(h->shift[level + 1]);
    res->pa = oa | (va & (res->leaf_size_bytes - 1));
    res->mair_attr = (uint8_t)(ctx->regs.mair_el1 >> (8 * ((d >> 2) & 7)));
    res->global = !(d & D_NG);
    res->asid = res->global ? 0 : ctx->asid;
    res->contiguous = contig_log2 && (d & D_CONT);
    res->contig_size_bytes = res->contiguous ? res->leaf_size_bytes << contig_log2 : 0;
    res->perms = (uint8_t)p;
    res->el0_data = p & PERM_EL0_DATA;
}

/* The hardware update a permitted access makes: AF (HA), and for a store to
 * a writable-clean page AP[2] cleared (HD). Done once, atomically. */
static enum walk_end leaf_update(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                                 struct mmsim_simwalk_access acc, struct mmsim_simwalk_result *res)
{
    uint64_t d = res->desc;
    uint64_t nd = d;
    if (ctx->ha)
        nd |= D_AF;
    if (acc.op == MMSIM_SIMWALK_WRITE && ctx->hd && (d & D_DBM))
        nd &= ~D_AP2;
    if (nd != d && mem->cas64) {
        switch (mem->cas64(mem->ctx, res->desc_pa, d, nd)) {
        case MMSIM_SIMWALK_CAS_DONE:
            res->hw_updated = true;
            break;
        case MMSIM_SIMWALK_CAS_CHANGED:
            return WALK_RESTART;
        default:
            fault_at(res, MMSIM_SIMWALK_FAULT_EXT_ABORT, res->level);
            return WALK_DONE;
        }
    }
    /* A clean page stays unwritable in the cached entry until memory says dirty. */
    if (ctx->hd && (d & D_DBM) && (d & D_AP2) && !(res->hw_updated && !(nd & D_AP2))) {
        res->perms_clean = res->perms & PERM_W;
        res->perms &= (uint8_t)~PERM_W;
    }
    return WALK_DONE;
}

static enum walk_end walk_once(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                               uint64_t va, struct mmsim_simwalk_access acc, struct mmsim_simwalk_result *res)
{
    const struct mmsim_simwalk_half *h = &ctx->half[(va >> 55) & 1];
    uint64_t limits = 0;

    memset(res, 0, sizeof *res);
    if (!ctx->mmu_on) {
        walk_mmu_off(ctx, va, acc, res);
        return WALK_DONE;
    }
    if (!walk_allowed(h, va, acc, res))
        return WALK_DONE;
    int level = walk_tables(h, mem, va, &limits, res);
    if (level < -1)
        return WALK_DONE;
    uint64_t d = res->desc;
    bool legal = level == 3 ? (d & D_TABLE) != 0 : (h->block_levels >> (level + 1)) & 1;
    if (!legal) {
        fault_at(res, MMSIM_SIMWALK_FAULT_TRANSLATION, level);
        return WALK_DONE;
    }
    uint64_t oa = desc_addr(h, d, BIT(h->shift[level + 1]) - 1);
    if (oa & h->oa_over_mask) {
        fault_at(res, MMSIM_SIMWALK_FAULT_ADDR_SIZE, level);
        return WALK_DONE;
    }
    leaf_fill(ctx, h, va, level, oa, limits, res);
    if (!(d & D_AF) && !ctx->ha) {
        fault_at(res, MMSIM_SIMWALK_FAULT_ACCESS_FLAG, level);
        return WALK_DONE;
    }
    if (!access_ok(res->perms, res->el0_data, ctx->epan, acc)) {
        fault_at(res, MMSIM_SIMWALK_FAULT_PERMISSION, level);
        return WALK_DONE;
    }
    return leaf_update(ctx, mem, acc, res);
}

bool mmsim_simwalk_translate(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                             uint64_t va, struct mmsim_simwalk_access acc,
                             struct mmsim_simwalk_result *res)
{
    for (unsigned restarts = 0; walk_once(ctx, mem, va, acc, res) == WALK_RESTART; restarts++) {
        if (restarts == MAX_WALK_RESTARTS)
            return fault_at(res, MMSIM_SIMWALK_FAULT_ATOMIC_HW, res->level);
    }
    return res->fault == MMSIM_SIMWALK_OK;
}
