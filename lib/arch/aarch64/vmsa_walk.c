/*
 * VMSAv8-64 stage-1 translation walk (EL1&0 regime), fault status codes and
 * PAR_EL1 encoding, following the Arm ASL's AArch64.S1Translate/S1Walk fault
 * priority (docs/vmsa.md). Descriptor layouts are drawn in vmsa_desc.c; leaf
 * descriptors are decoded there, while table descriptors are followed here
 * inline because they are the hot path of every walk.
 */
#include <mmsim/vmsa.h>

#include <stddef.h>

#define BIT(n) (1ULL << (n))
#define SCTLR_M BIT(0)
#define SCTLR_I BIT(12)
#define DESC_AP2 BIT(7)
#define DESC_AF BIT(10)
#define PERM_ALL 0x3fu

/* MAIR encodings the stage-1-disabled output reports. */
#define MAIR_DEVICE_NGNRNE 0x00u
#define MAIR_NORMAL_NC 0x44u
#define MAIR_NORMAL_WT_RA 0xaau
#define SH_OUTER 2u

static bool fail(struct mmsim_vmsa_result *res, enum mmsim_fault fault, int level)
{
    res->fault = fault;
    res->level = (int8_t)level;
    res->fsc = mmsim_vmsa_fsc(fault, level);
    return false;
}

/* A fault raised by the descriptor at desc_pa (raw as read, 0 if unread). */
static bool fail_at(struct mmsim_vmsa_result *res, enum mmsim_fault fault, int level,
                    uint64_t desc_pa, uint64_t raw)
{
    res->desc_pa = desc_pa;
    res->desc = raw;
    return fail(res, fault, level);
}

/* [S1 AArch64_S1DisabledOutput]: flat VA = PA, but a VA above PAMax (top
 * byte exempt under TBI) is an address size fault at level 0. Data is
 * Device-nGnRnE; fetches are Normal, write-through if SCTLR.I else NC. */
static bool stage_disabled(const struct mmsim_vmsa_ctx *ctx, uint64_t va,
                           const struct mmsim_vmsa_access *acc, struct mmsim_vmsa_result *res)
{
    unsigned top_bit = ctx->half[(va >> 55) & 1u].tbi ? 55u : 63u;
    unsigned pamax_bits = ctx->regs.parange_bits ? ctx->regs.parange_bits : 48u;
    uint64_t pa_mask = BIT(pamax_bits) - 1u;
    if ((va & ~pa_mask) << (63u - top_bit))
        return fail(res, MMSIM_FAULT_ADDR_SIZE, 0);
    res->pa = va & pa_mask;
    res->perms = PERM_ALL;
    res->sh = SH_OUTER;
    if (acc->op == MMSIM_OP_EXEC)
        res->mair_attr = (ctx->regs.sctlr & SCTLR_I) ? MAIR_NORMAL_WT_RA : MAIR_NORMAL_NC;
    else
        res->mair_attr = MAIR_DEVICE_NGNRNE;
    return true;
}

/* [S1 AArch64_VAIsOutOfRange]: bits [top:va_bits] must all equal the half's
 * selector (bit 55), the top byte being exempt under TBI. */
static bool va_in_range(const struct mmsim_vmsa_regime *r, uint64_t va, unsigned half)
{
    unsigned top_bit = r->tbi ? 55u : 63u;
    uint64_t range_mask = (~0ULL >> (63u - top_bit)) & ~(BIT(r->va_bits) - 1u);
    return (va & range_mask) == (half ? range_mask : 0u);
}

/* The level-0 translation faults that come before any descriptor fetch. */
static bool walk_enabled(const struct mmsim_vmsa_ctx *ctx, unsigned half, uint64_t va,
                         const struct mmsim_vmsa_access *acc)
{
    const struct mmsim_vmsa_regime *r = &ctx->half[half];
    return ctx->valid[half] && va_in_range(r, va, half) && !r->epd && !(r->e0pd && acc->el == 0);
}

/* DS only changes the 4K/16K formats, FEAT_LPA's desc[15:12] only the 64K
 * one (as in vmsa_desc.c). */
static bool format_has_ds(const struct mmsim_vmsa_regime *r)
{
    return r->ds && r->granule_shift != MMSIM_GRANULE_64K;
}

static bool format_has_lpa(const struct mmsim_vmsa_regime *r)
{
    return r->lpa && r->granule_shift == MMSIM_GRANULE_64K;
}

/* Where a table descriptor keeps its next-level address: desc & low_mask,
 * plus a high field moved from bit hi_from to bit 48 or 50. The same layout
 * as vmsa_desc.c's addr_from_desc, set up once per walk so that following
 * a table costs no call and no branch. */
struct table_addr_layout
{
    uint64_t low_mask;
    uint64_t hi_mask;
    unsigned hi_from, hi_to;
};

static struct table_addr_layout table_layout(const struct mmsim_vmsa_regime *r)
{
    uint64_t granule_mask = ~(BIT(r->granule_shift) - 1u);
    if (format_has_ds(r))
        return (struct table_addr_layout){ granule_mask & (BIT(50) - 1u), 3u, 8, 50 };
    if (format_has_lpa(r))
        return (struct table_addr_layout){ granule_mask & (BIT(48) - 1u), 0xfu, 12, 48 };
    return (struct table_addr_layout){ granule_mask & (BIT(48) - 1u), 0u, 0, 48 };
}

static uint64_t next_table_pa(const struct table_addr_layout *t, uint64_t raw)
{
    return (raw & t->low_mask) | ((raw >> t->hi_from) & t->hi_mask) << t->hi_to;
}

/* [S1 AArch64_S1DirectBasePermissions, S1ComputePermissions] for the EL1&0
 * regime: AP, then the accumulated APTable/XNTable limits (unless HPD), then
 * "EL0-writable => PXN", then WXN per EL. PAN is a property of the access,
 * not of the page, so it is applied in access_permitted. */
static uint8_t leaf_perms(const struct mmsim_vmsa_ctx *ctx, const struct mmsim_vmsa_regime *r,
                          const struct mmsim_desc *d, uint64_t table_bits, bool at)
{
    unsigned ap = d->ap;
    /* writable-clean: the first store will clear AP[2]; AT never updates dirty state */
    if (!at && r->ha && r->hd && d->dbm)
        ap &= 1u;
    unsigned ap_table = r->hpd ? 0u : (unsigned)(table_bits >> 61) & 3u;
    bool uxn_table = !r->hpd && ((table_bits >> 60) & 1u);
    bool pxn_table = !r->hpd && ((table_bits >> 59) & 1u);

    bool ur = (ap & 1u) && !(ap_table & 1u);
    bool uw = ap == 1u && ap_table == 0u;
    bool pw = !(ap & 2u) && !(ap_table & 2u);
    bool ux = !(d->uxn || uxn_table);
    bool px = !(d->pxn || pxn_table || uw);
    if (ctx->wxn) {
        ux = ux && !uw;
        px = px && !pw;
    }
    return (uint8_t)((ur ? MMSIM_PERM_EL0_R : 0u) | (uw ? MMSIM_PERM_EL0_W : 0u) |
                     (ux ? MMSIM_PERM_EL0_X : 0u) | MMSIM_PERM_EL1_R |
                     (pw ? MMSIM_PERM_EL1_W : 0u) | (px ? MMSIM_PERM_EL1_X : 0u));
}

static bool access_permitted(const struct mmsim_vmsa_ctx *ctx, uint8_t perms,
                             const struct mmsim_vmsa_access *acc)
{
    static const uint8_t k_needed[2][3] = {
        { MMSIM_PERM_EL0_R, MMSIM_PERM_EL0_W, MMSIM_PERM_EL0_X },
        { MMSIM_PERM_EL1_R, MMSIM_PERM_EL1_W, MMSIM_PERM_EL1_X },
    };
    unsigned el = acc->el ? 1u : 0u;
    if ((unsigned)acc->op > MMSIM_OP_EXEC || !(perms & k_needed[el][acc->op]))
        return false;
    if (el == 0 || acc->op == MMSIM_OP_EXEC || !acc->pan || acc->at)
        return true;
    /* PAN: privileged data accesses may not touch what EL0 can reach */
    unsigned el0_reach = MMSIM_PERM_EL0_R | MMSIM_PERM_EL0_W | (ctx->epan ? MMSIM_PERM_EL0_X : 0u);
    return !(perms & el0_reach);
}

/* Device memory and Normal Inner+Outer Non-cacheable (0x40 being the FEAT_XS
 * variant) are always Outer Shareable [ASL PAREncodeShareability]. */
static bool always_outer_shareable(uint8_t mair_attr)
{
    return (mair_attr & 0xf0u) == 0 || mair_attr == 0x44u || mair_attr == 0x40u;
}

static void describe_leaf(const struct mmsim_vmsa_ctx *ctx, const struct mmsim_vmsa_regime *r,
                          const struct mmsim_desc *d, unsigned leaf_shift, uint64_t va,
                          struct mmsim_vmsa_result *res)
{
    res->leaf_size = BIT(leaf_shift);
    res->pa = d->addr | (va & (res->leaf_size - 1u));
    res->attr_indx = d->attr_indx;
    res->mair_attr = (uint8_t)(ctx->regs.mair >> (8u * d->attr_indx));
    res->sh = always_outer_shareable(res->mair_attr) ? SH_OUTER : format_has_ds(r) ? r->sh : d->sh;
    res->ng = d->ng;
    /* the hint reads as 0 where the level has no contiguous run (4K L0,
     * 16K L1, 64K L1 blocks: ASL AArch64.ContiguousBit) */
    res->contiguous = d->contiguous && mmsim_vmsa_contig_entries(r, (int)res->level) != 0;
}

/* FEAT_HAFDBS: set AF, and clear AP[2] for a store to a writable-clean page.
 * Only after a successful access (setting AF on a faulting one is CONSTRAINED
 * UNPREDICTABLE; mmsim does not). A failed write is an external abort on the
 * walk, as a failed hardware update is architecturally. */
static bool hw_update(const struct mmsim_vmsa_regime *r, const struct mmsim_desc *d,
                      const struct mmsim_vmsa_access *acc, const struct mmsim_vmsa_mem *mem,
                      struct mmsim_vmsa_result *res)
{
    if (acc->at || mem->write64 == NULL)
        return true;
    uint64_t new_raw = res->desc | (r->ha ? DESC_AF : 0u);
    if (acc->op == MMSIM_OP_WRITE && r->ha && r->hd && d->dbm)
        new_raw &= ~DESC_AP2;
    if (new_raw == res->desc)
        return true;
    if (!mem->write64(mem->ctx, res->desc_pa, new_raw))
        return fail(res, MMSIM_FAULT_EXT_ABORT, res->level);
    res->hw_updated = true;
    return true;
}

/* Section 6 steps 3-5 for the descriptor that ended the table chain. */
static bool finish_leaf(const struct mmsim_vmsa_ctx *ctx, const struct mmsim_vmsa_regime *r,
                        uint64_t va, unsigned leaf_shift, uint64_t table_bits,
                        const struct mmsim_vmsa_access *acc, const struct mmsim_vmsa_mem *mem,
                        struct mmsim_vmsa_result *res)
{
    struct mmsim_desc d;
    mmsim_desc_decode(r, res->level, res->desc, &d);
    if (d.kind != MMSIM_DESC_BLOCK && d.kind != MMSIM_DESC_PAGE)
        return fail(res, MMSIM_FAULT_TRANSLATION, res->level);
    if (d.addr >> r->oa_bits)
        return fail(res, MMSIM_FAULT_ADDR_SIZE, res->level);
    describe_leaf(ctx, r, &d, leaf_shift, va, res);
    res->perms = leaf_perms(ctx, r, &d, table_bits, acc->at);
    if (!d.af && !r->ha)
        return fail(res, MMSIM_FAULT_ACCESS_FLAG, res->level);
    if (!access_permitted(ctx, res->perms, acc))
        return fail(res, MMSIM_FAULT_PERMISSION, res->level);
    return hw_update(r, &d, acc, mem, res);
}

bool mmsim_vmsa_translate(const struct mmsim_vmsa_ctx *ctx, uint64_t va,
                          const struct mmsim_vmsa_access *acc, const struct mmsim_vmsa_mem *mem,
                          struct mmsim_vmsa_result *res)
{
    *res = (struct mmsim_vmsa_result){ .fault = MMSIM_FAULT_NONE };
    if (!(ctx->regs.sctlr & SCTLR_M))
        return stage_disabled(ctx, va, acc, res);

    unsigned half = (va >> 55) & 1u;
    const struct mmsim_vmsa_regime *r = &ctx->half[half];
    if (!walk_enabled(ctx, half, va, acc))
        return fail(res, MMSIM_FAULT_TRANSLATION, 0);
    uint64_t table_pa = ctx->root_pa[half];
    if (table_pa >> r->oa_bits)
        return fail(res, MMSIM_FAULT_ADDR_SIZE, 0);

    /* Locals, not res/r/mem fields: read64 is opaque, so anything reached
     * through a pointer would be reloaded after every fetch. */
    const struct table_addr_layout layout = table_layout(r);
    bool (*const read64)(void *, uint64_t, uint64_t *) = mem->read64;
    void *const mem_ctx = mem->ctx;
    const unsigned stride = r->granule_shift - 3u;
    const unsigned oa_bits = r->oa_bits;
    int level = mmsim_vmsa_start_level(r);
    unsigned shift = mmsim_vmsa_level_shift(r, level);
    uint64_t index_mask = BIT(r->va_bits - shift) - 1u;
    uint64_t table_bits = 0; /* OR of every table descriptor on the way */
    uint64_t desc_pa, raw;
    for (;; level++) {
        desc_pa = table_pa + ((va >> shift) & index_mask) * 8u;
        if (!read64(mem_ctx, desc_pa, &raw))
            return fail_at(res, MMSIM_FAULT_EXT_ABORT, level, desc_pa, 0);
        if ((raw & 3u) != 3u || level == 3)
            break;
        table_pa = next_table_pa(&layout, raw);
        if (table_pa >> oa_bits)
            return fail_at(res, MMSIM_FAULT_ADDR_SIZE, level, desc_pa, raw);
        table_bits |= raw;
        shift -= stride;
        index_mask = BIT(stride) - 1u;
    }
    res->level = (int8_t)level;
    res->desc_pa = desc_pa;
    res->desc = raw;
    return finish_leaf(ctx, r, va, shift, table_bits, acc, mem, res);
}

/* [S1 EncodeLDFSC]: type in bits [5:2], level in [1:0]; level -1 (LPA2) has
 * its own codes, and only for the faults a level -1 descriptor can raise. */
uint8_t mmsim_vmsa_fsc(enum mmsim_fault fault, int level)
{
    static const struct
    {
        uint8_t base, level_m1;
    } k_codes[] = {
        [MMSIM_FAULT_ADDR_SIZE] = { 0x00, 0x29 },   [MMSIM_FAULT_TRANSLATION] = { 0x04, 0x2b },
        [MMSIM_FAULT_ACCESS_FLAG] = { 0x08, 0xff }, [MMSIM_FAULT_PERMISSION] = { 0x0c, 0xff },
        [MMSIM_FAULT_EXT_ABORT] = { 0x14, 0x13 },
    };
    if (fault == MMSIM_FAULT_NONE)
        return 0;
    if ((unsigned)fault >= sizeof k_codes / sizeof k_codes[0] || level < -1 || level > 3)
        return 0xff;
    return level < 0 ? k_codes[fault].level_m1 : (uint8_t)(k_codes[fault].base + level);
}

#define PAR_F BIT(0)
#define PAR_RES1 BIT(11)
#define PAR_PA_MASK (((BIT(52) - 1u)) & ~(BIT(12) - 1u))

uint64_t mmsim_vmsa_par(const struct mmsim_vmsa_result *res)
{
    if (res->fault != MMSIM_FAULT_NONE)
        return PAR_F | (uint64_t)(res->fsc & 0x3fu) << 1 | PAR_RES1;
    unsigned sh = always_outer_shareable(res->mair_attr) ? SH_OUTER : res->sh & 3u;
    return (res->pa & PAR_PA_MASK) | (uint64_t)res->mair_attr << 56 | (uint64_t)sh << 7 | PAR_RES1;
}

const char *mmsim_vmsa_fault_name(enum mmsim_fault fault)
{
    static const char *const k_names[] = {
        [MMSIM_FAULT_NONE] = "none",
        [MMSIM_FAULT_ADDR_SIZE] = "address size",
        [MMSIM_FAULT_TRANSLATION] = "translation",
        [MMSIM_FAULT_ACCESS_FLAG] = "access flag",
        [MMSIM_FAULT_PERMISSION] = "permission",
        [MMSIM_FAULT_EXT_ABORT] = "external abort",
    };
    if ((unsigned)fault >= sizeof k_names / sizeof k_names[0])
        return "unknown";
    return k_names[fault];
}
