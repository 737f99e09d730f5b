/*
 * VMSAv8-64 stage-1 geometry, descriptor codec and TCR_EL1 decoding, written
 * from the Arm ASL (docs/vmsa.md, /work/shared/spec/aarch64-vmsa.md). Pure:
 * no memory, no globals beyond constant tables.
 *
 * Stage-1 descriptors are 64 bits. g = granule shift (12, 14, 16),
 * stride = g - 3, n = leaf shift of the level = g + stride * (3 - level).
 *
 * Table descriptor (levels -1..2, bits[1:0] = 0b11):
 *  +-------+---------+--------+--------+---------+-------+------------+--------+---------+-----+
 *  |  63   |  62:61  |   60   |   59   |  58:52  | 51:48 |    47:g    | g-1:12 |  11:2   | 1:0 |
 *  |NSTable| APTable |UXNTable|PXNTable| ignored |  OA*  | next table |   lo*  | ignored | 11  |
 *  +-------+---------+--------+--------+---------+-------+------------+--------+---------+-----+
 *
 * Block (bits[1:0] = 0b01, levels per block_allowed) and page (0b11, level 3),
 * upper attributes:
 *  +---------+-------+-------+-----+-----+------+-----+----+-------+------------------+
 *  |   63    | 62:59 | 58:55 | 54  | 53  |  52  | 51  | 50 | 49:48 |       47:n       |
 *  | ignored | PBHA  |  SW   | UXN | PXN | Cont | DBM | GP |  OA*  | output address   |
 *  +---------+-------+-------+-----+-----+------+-----+----+-------+------------------+
 * lower attributes (for a page n = g: no RES0 gap and no nT, bit 16 is OA):
 *  +--------+----+--------+----+----+-----+---------+----+----------+-----+
 *  | n-1:17 | 16 | 15:12  | 11 | 10 | 9:8 |   7:6   | 5  |   4:2    | 1:0 |
 *  |  RES0  | nT |  lo*   | nG | AF | SH* | AP[2:1] | NS | AttrIndx | 01  |
 *  +--------+----+--------+----+----+-----+---------+----+----------+-----+
 *
 * The starred fields hold OA[51:48] when the format has 52 bits:
 *   48-bit            OA[47:n] only; desc[49:48] RES0; "lo" is OA (4K) or RES0
 *   DS=1 (4K/16K)     OA[49:48] = desc[49:48], OA[51:50] = desc[9:8]; SH then comes from TCR
 *   64K + FEAT_LPA    OA[51:48] = desc[15:12]
 *
 * TTBRn_EL1: ASID[63:48] | BADDR[47:1] | CnP[0]; with a 52-bit OA,
 * BADDR[51:48] = TTBR[5:2] and the table is at least 64-byte aligned.
 */
#include <mmsim/vmsa.h>

#include <stddef.h>

#define BIT(n) (1ULL << (n))
/* Bits hi..lo inclusive. */
#define BITS(hi, lo) ((~0ULL >> (63 - (hi))) & ~(BIT(lo) - 1ULL))

/* ---- geometry ---------------------------------------------------------- */

static unsigned stride_of(const struct mmsim_vmsa_regime *r)
{
    return r->granule_shift - 3u;
}

/* DS only changes the 4K/16K formats, FEAT_LPA's desc[15:12] only the 64K one. */
static bool uses_ds(const struct mmsim_vmsa_regime *r)
{
    return r->ds && r->granule_shift != MMSIM_GRANULE_64K;
}

static bool uses_lpa(const struct mmsim_vmsa_regime *r)
{
    return r->lpa && r->granule_shift == MMSIM_GRANULE_64K;
}

/* The highest level a table can exist at: the start level of the largest VA. */
static int top_level(const struct mmsim_vmsa_regime *r)
{
    switch (r->granule_shift) {
    case MMSIM_GRANULE_4K:
        return uses_ds(r) ? -1 : 0;
    case MMSIM_GRANULE_16K:
        return 0;
    default:
        return 1;
    }
}

/* Every walk starts here, so each granule divides by a constant stride. */
int mmsim_vmsa_start_level(const struct mmsim_vmsa_regime *r)
{
    if (r->va_bits <= r->granule_shift)
        return 3;
    unsigned table_bits = r->va_bits - r->granule_shift;
    switch (r->granule_shift) {
    case MMSIM_GRANULE_4K:
        return 4 - (int)((table_bits + 8u) / 9u);
    case MMSIM_GRANULE_16K:
        return 4 - (int)((table_bits + 10u) / 11u);
    default:
        return 4 - (int)((table_bits + 12u) / 13u);
    }
}

unsigned mmsim_vmsa_level_shift(const struct mmsim_vmsa_regime *r, int level)
{
    return r->granule_shift + stride_of(r) * (unsigned)(3 - level);
}

unsigned mmsim_vmsa_index_bits(const struct mmsim_vmsa_regime *r, int level)
{
    unsigned shift = mmsim_vmsa_level_shift(r, level);
    if (r->va_bits <= shift)
        return 0;
    unsigned bits = r->va_bits - shift;
    return bits < stride_of(r) ? bits : stride_of(r);
}

/* [S1 AArch64_BlockDescSupported]: 4K L0 and 16K L1 need DS, 64K L1 needs
 * FEAT_LPA (PAMax 52). QEMU 7.2 accepted the others; the ASL faults. */
bool mmsim_vmsa_block_allowed(const struct mmsim_vmsa_regime *r, int level)
{
    switch (r->granule_shift) {
    case MMSIM_GRANULE_4K:
        return level == 1 || level == 2 || (level == 0 && uses_ds(r));
    case MMSIM_GRANULE_16K:
        return level == 2 || (level == 1 && uses_ds(r));
    case MMSIM_GRANULE_64K:
        return level == 2 || (level == 1 && uses_lpa(r));
    default:
        return false;
    }
}

/* [S1 AArch64_ContiguousSize]; the hint does not exist for the DS/LPA-only
 * block levels. */
unsigned mmsim_vmsa_contig_entries(const struct mmsim_vmsa_regime *r, int level)
{
    switch (r->granule_shift) {
    case MMSIM_GRANULE_4K:
        return level >= 1 && level <= 3 ? 16u : 0u;
    case MMSIM_GRANULE_16K:
        return level == 2 ? 32u : level == 3 ? 128u : 0u;
    case MMSIM_GRANULE_64K:
        return level == 2 || level == 3 ? 32u : 0u;
    default:
        return 0;
    }
}

void mmsim_vmsa_regime_rt(struct mmsim_vmsa_regime *out, bool upper)
{
    *out = (struct mmsim_vmsa_regime){
        .granule_shift = MMSIM_GRANULE_4K,
        .va_bits = 48,
        .oa_bits = 48,
        .upper = upper,
        .sh = 3,
    };
}

/* ---- descriptors ------------------------------------------------------- */

/* Assemble the address held in `raw` whose low `align_shift` bits are not
 * part of the field (granule for a table, leaf size for a block/page). */
static uint64_t addr_from_desc(const struct mmsim_vmsa_regime *r, uint64_t raw,
                               unsigned align_shift)
{
    if (uses_ds(r))
        return (raw & BITS(49, align_shift)) | ((raw >> 8) & 3u) << 50;
    uint64_t addr = raw & BITS(47, align_shift);
    if (uses_lpa(r))
        addr |= ((raw >> 12) & 0xfu) << 48;
    return addr;
}

/* Inverse of addr_from_desc: false if misaligned or not representable. */
static bool addr_to_desc(const struct mmsim_vmsa_regime *r, uint64_t addr, unsigned align_shift,
                         uint64_t *raw)
{
    bool wide = uses_ds(r) || uses_lpa(r);
    if ((addr & (BIT(align_shift) - 1u)) != 0 || (addr >> (wide ? 52 : 48)) != 0)
        return false;
    if (uses_ds(r))
        *raw |= (addr & BITS(49, align_shift)) | ((addr >> 50) & 3u) << 8;
    else if (uses_lpa(r))
        *raw |= (addr & BITS(47, align_shift)) | ((addr >> 48) & 0xfu) << 12;
    else
        *raw |= addr;
    return true;
}

static enum mmsim_desc_kind desc_kind(const struct mmsim_vmsa_regime *r, int level, uint64_t raw)
{
    if ((raw & 1u) == 0 || level < top_level(r) || level > 3)
        return MMSIM_DESC_INVALID;
    if (raw & 2u)
        return level == 3 ? MMSIM_DESC_PAGE : MMSIM_DESC_TABLE;
    return mmsim_vmsa_block_allowed(r, level) ? MMSIM_DESC_BLOCK : MMSIM_DESC_INVALID;
}

static bool bit_of(uint64_t raw, unsigned n)
{
    return (raw >> n) & 1u;
}

static void decode_leaf(const struct mmsim_vmsa_regime *r, int level, uint64_t raw,
                        struct mmsim_desc *out)
{
    out->addr = addr_from_desc(r, raw, mmsim_vmsa_level_shift(r, level));
    out->attr_indx = (raw >> 2) & 7u;
    out->ns = bit_of(raw, 5);
    out->ap = (raw >> 6) & 3u;
    out->sh = uses_ds(r) ? 0 : (raw >> 8) & 3u;
    out->af = bit_of(raw, 10);
    out->ng = bit_of(raw, 11);
    out->nt = out->kind == MMSIM_DESC_BLOCK && bit_of(raw, 16);
    out->gp = bit_of(raw, 50);
    out->dbm = bit_of(raw, 51);
    out->contiguous = bit_of(raw, 52);
    out->pxn = bit_of(raw, 53);
    out->uxn = bit_of(raw, 54);
    out->sw = (raw >> 55) & 0xfu;
}

static void decode_table(const struct mmsim_vmsa_regime *r, uint64_t raw, struct mmsim_desc *out)
{
    out->addr = addr_from_desc(r, raw, r->granule_shift);
    out->pxn_table = bit_of(raw, 59);
    out->uxn_table = bit_of(raw, 60);
    out->ap_table = (raw >> 61) & 3u;
    out->ns_table = bit_of(raw, 63);
}

void mmsim_desc_decode(const struct mmsim_vmsa_regime *r, int level, uint64_t raw,
                       struct mmsim_desc *out)
{
    *out = (struct mmsim_desc){ .kind = desc_kind(r, level, raw) };
    if (out->kind == MMSIM_DESC_TABLE)
        decode_table(r, raw, out);
    else if (out->kind != MMSIM_DESC_INVALID)
        decode_leaf(r, level, raw, out);
}

/* Fields too wide for their bits, an nT on a page (bit 16 is OA there) or a
 * SH under DS (bits 9:8 are OA there) have no encoding. */
static bool leaf_fields_fit(const struct mmsim_vmsa_regime *r, const struct mmsim_desc *d)
{
    if (d->attr_indx > 7u || d->ap > 3u || d->sh > 3u || d->sw > 0xfu)
        return false;
    if (d->nt && d->kind != MMSIM_DESC_BLOCK)
        return false;
    return !(uses_ds(r) && d->sh != 0);
}

static uint64_t leaf_attr_bits(const struct mmsim_desc *d)
{
    return (uint64_t)d->attr_indx << 2 | (uint64_t)d->ns << 5 | (uint64_t)d->ap << 6 |
           (uint64_t)d->sh << 8 | (uint64_t)d->af << 10 | (uint64_t)d->ng << 11 |
           (uint64_t)d->nt << 16 | (uint64_t)d->gp << 50 | (uint64_t)d->dbm << 51 |
           (uint64_t)d->contiguous << 52 | (uint64_t)d->pxn << 53 | (uint64_t)d->uxn << 54 |
           (uint64_t)d->sw << 55;
}

static bool encode_leaf(const struct mmsim_vmsa_regime *r, int level, const struct mmsim_desc *d,
                        uint64_t *raw)
{
    bool level_ok = d->kind == MMSIM_DESC_PAGE ? level == 3 : mmsim_vmsa_block_allowed(r, level);
    if (!level_ok || !leaf_fields_fit(r, d))
        return false;
    uint64_t val = leaf_attr_bits(d) | (d->kind == MMSIM_DESC_PAGE ? 3u : 1u);
    if (!addr_to_desc(r, d->addr, mmsim_vmsa_level_shift(r, level), &val))
        return false;
    *raw = val;
    return true;
}

static bool encode_table(const struct mmsim_vmsa_regime *r, int level, const struct mmsim_desc *d,
                         uint64_t *raw)
{
    if (level < top_level(r) || level > 2 || d->ap_table > 3u)
        return false;
    uint64_t val = 3u | (uint64_t)d->pxn_table << 59 | (uint64_t)d->uxn_table << 60 |
                   (uint64_t)d->ap_table << 61 | (uint64_t)d->ns_table << 63;
    if (!addr_to_desc(r, d->addr, r->granule_shift, &val))
        return false;
    *raw = val;
    return true;
}

/* Only the fields meaningful for d->kind are encoded (as decode fills them). */
bool mmsim_desc_encode(const struct mmsim_vmsa_regime *r, int level, const struct mmsim_desc *d,
                       uint64_t *raw)
{
    switch (d->kind) {
    case MMSIM_DESC_INVALID:
        *raw = 0;
        return true;
    case MMSIM_DESC_TABLE:
        return encode_table(r, level, d, raw);
    case MMSIM_DESC_BLOCK:
    case MMSIM_DESC_PAGE:
        return encode_leaf(r, level, d, raw);
    default:
        return false;
    }
}

/* ---- registers --------------------------------------------------------- */

#define TCR_IRGN_WBWA 1u
#define TCR_ORGN_WBWA 1u
#define TCR_IPS_SHIFT 32
#define TCR_AS BIT(36)
#define TCR_HA BIT(39)
#define TCR_HD BIT(40)
#define TCR_DS BIT(59)
#define SCTLR_WXN BIT(19)
#define SCTLR_EPAN BIT(57)

/* Where each half's fields sit in TCR_EL1; TG0 and TG1 encode granules
 * differently, so each half maps its TG value to a granule shift (0: reserved). */
struct tcr_half_layout
{
    uint8_t txsz, epd, irgn, orgn, sh, tg, tbi, hpd, e0pd;
    uint8_t tg_granule[4];
};

static const struct tcr_half_layout k_tcr_half[2] = {
    { 0, 7, 8, 10, 12, 14, 37, 41, 55, { 12, 16, 14, 0 } },
    { 16, 23, 24, 26, 28, 30, 38, 42, 56, { 0, 14, 12, 16 } },
};

/* TCR.IPS encodings 0..6; 7 (56 bits) needs FEAT_D128 and is read as 52. */
static const uint8_t k_ips_bits[7] = { 32, 36, 40, 42, 44, 48, 52 };

/* The TxSZ limits without FEAT_TTST; 52-bit VAs need DS, or FEAT_LVA with 64K
 * (taken to come with FEAT_LPA). */
static bool txsz_valid(const struct mmsim_vmsa_regime *r)
{
    unsigned min_txsz = uses_ds(r) || uses_lpa(r) ? 12u : 16u;
    unsigned txsz = 64u - r->va_bits;
    return txsz >= min_txsz && txsz <= 39u;
}

/* [S1 AArch64_PhysicalAddressSize]: min(IPS, PARange), capped at 48 bits
 * unless the descriptor format can hold OA[51:48]. */
static uint8_t oa_bits_of(const struct mmsim_vmsa_regime *r, uint64_t tcr, unsigned pamax_bits)
{
    unsigned ips_field = (tcr >> TCR_IPS_SHIFT) & 7u;
    unsigned bits = k_ips_bits[ips_field < 6u ? ips_field : 6u];
    if (bits > pamax_bits)
        bits = pamax_bits;
    if (bits > 48u && !uses_ds(r) && !uses_lpa(r))
        bits = 48u;
    return (uint8_t)bits;
}

/* The start-level table is aligned to its own size (at least 64 bytes in
 * the 52-bit TTBR format, whose BADDR[51:48] sits in TTBR[5:2]); lower BADDR
 * bits are RES0 and do not take part. The format follows TCR.DS (or a 52-bit
 * OA with 64K/LPA), not the output size: with DS and a 48-bit IPS, a base
 * above 48 bits is an address-size fault (ASL AArch64.S1TTBaseAddress). */
static uint64_t ttbr_base(const struct mmsim_vmsa_regime *r, uint64_t ttbr)
{
    unsigned table_shift = mmsim_vmsa_index_bits(r, mmsim_vmsa_start_level(r)) + 3u;
    uint64_t base = ttbr & BITS(47, 1);
    if (r->ds || r->oa_bits > 48u) {
        table_shift = table_shift < 6u ? 6u : table_shift;
        base = (ttbr & BITS(47, 6)) | ((ttbr >> 2) & 0xfu) << 48;
    }
    return base & ~(BIT(table_shift) - 1u);
}

static bool tcr_bit(uint64_t tcr, unsigned n)
{
    return (tcr >> n) & 1u;
}

/* Decode one half; returns whether its TG and TxSZ are usable. */
static bool decode_half(struct mmsim_vmsa_regime *r, const struct mmsim_vmsa_regs *regs,
                        unsigned half)
{
    const struct tcr_half_layout *f = &k_tcr_half[half];
    uint64_t tcr = regs->tcr;
    unsigned pamax_bits = regs->parange_bits ? regs->parange_bits : 48u;
    uint8_t granule = f->tg_granule[(tcr >> f->tg) & 3u];

    *r = (struct mmsim_vmsa_regime){
        /* a reserved TG still gets a granule so the geometry stays defined */
        .granule_shift = granule ? granule : MMSIM_GRANULE_4K,
        .va_bits = (uint8_t)(64u - ((tcr >> f->txsz) & 0x3fu)),
        .ha = (tcr & TCR_HA) != 0,
        .hd = (tcr & TCR_HA) && (tcr & TCR_HD),
        .hpd = tcr_bit(tcr, f->hpd),
        .epd = tcr_bit(tcr, f->epd),
        .e0pd = tcr_bit(tcr, f->e0pd),
        .tbi = tcr_bit(tcr, f->tbi),
        .upper = half == 1,
        .sh = (tcr >> f->sh) & 3u,
    };
    r->ds = (tcr & TCR_DS) && r->granule_shift != MMSIM_GRANULE_64K;
    r->lpa = r->granule_shift == MMSIM_GRANULE_64K && pamax_bits >= 52u;
    r->oa_bits = oa_bits_of(r, tcr, pamax_bits);
    return granule != 0 && txsz_valid(r);
}

int mmsim_vmsa_ctx_init(struct mmsim_vmsa_ctx *ctx, const struct mmsim_vmsa_regs *regs)
{
    const uint64_t ttbr[2] = { regs->ttbr0, regs->ttbr1 };
    int ret = 0;

    ctx->regs = *regs;
    for (unsigned half = 0; half < 2; half++) {
        ctx->valid[half] = decode_half(&ctx->half[half], regs, half);
        ctx->root_pa[half] = ttbr_base(&ctx->half[half], ttbr[half]);
        /* a disabled half never walks, so its TG/TxSZ cannot be wrong */
        if (!ctx->valid[half] && !ctx->half[half].epd)
            ret = -1;
    }
    ctx->wxn = (regs->sctlr & SCTLR_WXN) != 0;
    ctx->epan = (regs->sctlr & SCTLR_EPAN) != 0;
    return ret;
}

static unsigned tg_field(unsigned half, unsigned granule_shift)
{
    for (unsigned tg = 0; tg < 4u; tg++)
        if (k_tcr_half[half].tg_granule[tg] == granule_shift)
            return tg;
    return 0;
}

/* IPS encoding of the largest size not above ips_bits (32 if none is). */
static unsigned ips_field(unsigned ips_bits)
{
    unsigned field = 0;
    for (unsigned i = 0; i < 7u; i++)
        if (k_ips_bits[i] <= ips_bits)
            field = i;
    return field;
}

/* Geometry and walk attributes of one half; `full` adds the per-half controls. */
static uint64_t tcr_half_bits(const struct mmsim_vmsa_regime *r, unsigned half, bool full)
{
    const struct tcr_half_layout *f = &k_tcr_half[half];
    uint64_t tcr = (uint64_t)(64u - r->va_bits) << f->txsz | (uint64_t)TCR_IRGN_WBWA << f->irgn |
                   (uint64_t)TCR_ORGN_WBWA << f->orgn | (uint64_t)(r->sh & 3u) << f->sh |
                   (uint64_t)tg_field(half, r->granule_shift) << f->tg;
    if (full)
        tcr |= (uint64_t)r->epd << f->epd | (uint64_t)r->tbi << f->tbi |
               (uint64_t)r->hpd << f->hpd | (uint64_t)r->e0pd << f->e0pd;
    return tcr;
}

/* SHx comes from each regime's `sh` (3 for regime_rt), so ctx_init gives
 * the regimes back. HA, HD and DS exist once in TCR: they come from `lo`. */
uint64_t mmsim_vmsa_tcr_build(const struct mmsim_vmsa_regime *lo,
                              const struct mmsim_vmsa_regime *hi, unsigned ips_bits)
{
    uint64_t tcr = tcr_half_bits(lo, 0, true) | TCR_AS |
                   (uint64_t)ips_field(ips_bits) << TCR_IPS_SHIFT;
    if (hi)
        tcr |= tcr_half_bits(hi, 1, true);
    else
        tcr |= tcr_half_bits(lo, 1, false) | BIT(k_tcr_half[1].epd);
    if (lo->ha)
        tcr |= TCR_HA;
    if (lo->hd)
        tcr |= TCR_HD;
    if (lo->ds)
        tcr |= TCR_DS;
    return tcr;
}
