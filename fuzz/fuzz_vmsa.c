/*
 * fuzz_vmsa: the pure VMSAv8-64 model (mmsim_vmsa_translate, the descriptor
 * codec, TCR building and decoding) over a small fake RAM.
 *
 * An input chooses registers (a structured, valid configuration or raw
 * 64-bit values), a VA and an access, then one descriptor per walk level,
 * placed exactly where the walk will look (linked into a chain of table
 * pages, a leaf, or raw bytes), and finally raw descriptors sprinkled
 * anywhere in the fake RAM. Properties checked (abort on violation):
 *   - translate never reads outside the fake RAM (its reads that miss fail
 *     cleanly) and never issues an unaligned descriptor read;
 *   - return value <=> fault NONE; fsc == mmsim_vmsa_fsc(fault, level);
 *     level in -1..3; a failed read ends the walk with an external abort;
 *   - a described leaf (success, access flag or permission fault) has
 *     leaf_size == 2^level_shift, PA low bits == VA low bits, desc/desc_pa
 *     equal to the last read, and decodes to the PA and attributes reported;
 *   - success grants the permission bit the access needs;
 *   - hardware updates: at most one write, to the leaf, changing only AF and
 *     AP[2], never for AT or without HA, and reported in hw_updated;
 *   - stage 1 disabled: no reads, flat PA;
 *   - structured registers: mmsim_vmsa_ctx_init gives back the regimes
 *     mmsim_vmsa_tcr_build was given;
 *   - decode -> encode -> decode of every descriptor the decoder calls valid
 *     (at every level, under both halves' formats) round-trips.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mmsim/vmsa.h>

#include "fuzz_target.h"

#define BIT(n) (1ULL << (n))
#define NPAGES 8u              /* 2 roots + up to 5 chain levels (-1..3) + spare */
#define MAX_GRANULE 65536u
#define MAX_SPRINKLES 64u
#define MAX_READS 16u
#define DESC_AF BIT(10)
#define DESC_AP2 BIT(7)
#define SCTLR_M BIT(0)
#define SCTLR_I BIT(12)
#define SCTLR_WXN BIT(19)
#define SCTLR_EPAN BIT(57)
#define LOW_BASE 0x0000000040000000ULL
#define HIGH_BASE 0x000ffffffff00000ULL /* 2^52 - 1 MiB: needs a 52-bit OA */

static uint8_t g_ram[NPAGES * MAX_GRANULE] __attribute__((aligned(64)));

struct fake_mem
{
    uint64_t base_pa;
    size_t size;          /* bytes of g_ram in use: NPAGES granules */
    bool write_fails;
    unsigned nreads;
    uint64_t read_pa[MAX_READS];
    uint64_t read_val[MAX_READS];
    bool read_ok[MAX_READS];
    unsigned nwrites;
    uint64_t write_pa, write_val;
    bool write_ok;
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_vmsa: PROPERTY VIOLATED: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- fake RAM ------------------------------------------------------------- */

static bool in_ram(const struct fake_mem *m, uint64_t pa)
{
    return pa >= m->base_pa && pa - m->base_pa <= m->size - 8;
}

static bool mem_read64(void *ctx, uint64_t pa, uint64_t *val)
{
    struct fake_mem *m = ctx;
    if (pa & 7)
        fail("unaligned descriptor read at PA 0x%" PRIx64, pa);
    bool ok = in_ram(m, pa);
    if (ok)
        memcpy(val, g_ram + (pa - m->base_pa), 8);
    if (m->nreads == MAX_READS)
        fail("more than %u descriptor reads in one walk", MAX_READS);
    m->read_pa[m->nreads] = pa;
    m->read_val[m->nreads] = ok ? *val : 0;
    m->read_ok[m->nreads++] = ok;
    return ok;
}

static bool mem_write64(void *ctx, uint64_t pa, uint64_t val)
{
    struct fake_mem *m = ctx;
    m->nwrites++;
    m->write_pa = pa;
    m->write_val = val;
    m->write_ok = !m->write_fails && in_ram(m, pa) && !(pa & 7);
    if (m->write_ok)
        memcpy(g_ram + (pa - m->base_pa), &val, 8);
    return m->write_ok;
}

static void ram_put(const struct fake_mem *m, uint64_t pa, uint64_t raw)
{
    if (in_ram(m, pa) && !(pa & 7))
        memcpy(g_ram + (pa - m->base_pa), &raw, 8);
}

/* ---- configuration -------------------------------------------------------- */

enum mode_bits
{
    MODE_RAW_REGS = 0x01,   /* TCR from 8 raw bytes, TTBRs unaligned */
    MODE_WRITE64 = 0x02,    /* hardware updates possible */
    MODE_WRITE_FAILS = 0x04,
    MODE_MMU_OFF = 0x08,
    MODE_HIGH_BASE = 0x10,  /* tables above 2^48 */
    MODE_RAW_VA = 0x20,     /* do not canonicalise the VA */
    MODE_TTBR_JUNK = 0x40,  /* CnP and RES0 BADDR bits set */
};

struct config
{
    uint8_t mode;
    uint8_t gran[2], txsz[2];
    uint16_t flags;
    uint8_t ips, parange, sctlr_bits;
    uint16_t asid;
    uint32_t mair;
    struct mmsim_vmsa_regime want[2]; /* structured mode: what tcr_build was given */
};

enum flag_bits
{
    F_DS = 1u << 0, F_HA = 1u << 1, F_HD = 1u << 2, F_HPD0 = 1u << 3, F_HPD1 = 1u << 4,
    F_EPD0 = 1u << 5, F_EPD1 = 1u << 6, F_E0PD0 = 1u << 7, F_E0PD1 = 1u << 8,
    F_TBI0 = 1u << 9, F_TBI1 = 1u << 10, F_RAW_TXSZ = 1u << 15,
};

static const uint8_t k_granules[3] = { MMSIM_GRANULE_4K, MMSIM_GRANULE_16K, MMSIM_GRANULE_64K };
static const uint8_t k_ips[7] = { 32, 36, 40, 42, 44, 48, 52 };
static const uint8_t k_parange[8] = { 0, 32, 36, 40, 42, 44, 48, 52 };

static void decode_config(struct fuzz_reader *rd, struct config *c)
{
    memset(c, 0, sizeof *c);
    c->mode = fuzz_u8(rd);
    c->gran[0] = fuzz_u8(rd);
    c->gran[1] = fuzz_u8(rd);
    c->txsz[0] = fuzz_u8(rd);
    c->txsz[1] = fuzz_u8(rd);
    c->flags = fuzz_u16(rd);
    c->ips = fuzz_u8(rd);
    c->parange = fuzz_u8(rd);
    c->sctlr_bits = fuzz_u8(rd);
    c->asid = fuzz_u16(rd);
    c->mair = (uint32_t)fuzz_u16(rd) | (uint32_t)fuzz_u16(rd) << 16;
}

static unsigned parange_bits(const struct config *c)
{
    return k_parange[c->parange % 8u];
}

/* Whether the regime's format really uses DS (4K/16K only). */
static bool ds_of(const struct mmsim_vmsa_regime *r)
{
    return r->ds && r->granule_shift != MMSIM_GRANULE_64K;
}

/* TxSZ within the architecture's range for this granule (unless the input
 * asks for a raw one): 12 only with DS (4K/16K) or 64K+LPA. */
static void build_regime(const struct config *c, unsigned half, struct mmsim_vmsa_regime *r)
{
    unsigned pa_bits = parange_bits(c) ? parange_bits(c) : 48u;
    memset(r, 0, sizeof *r);
    r->granule_shift = k_granules[c->gran[half] % 3u];
    r->upper = half == 1;
    /* TCR.DS is one bit for both halves; a 64K half ignores it (see ds_of) */
    r->ds = (c->flags & F_DS) != 0;
    r->lpa = r->granule_shift == MMSIM_GRANULE_64K && pa_bits >= 52u;
    r->ha = (c->flags & F_HA) != 0;
    r->hd = r->ha && (c->flags & F_HD);
    r->hpd = (c->flags & (half ? F_HPD1 : F_HPD0)) != 0;
    r->epd = (c->flags & (half ? F_EPD1 : F_EPD0)) != 0;
    r->e0pd = (c->flags & (half ? F_E0PD1 : F_E0PD0)) != 0;
    r->tbi = (c->flags & (half ? F_TBI1 : F_TBI0)) != 0;
    r->sh = (uint8_t)((c->flags >> (half ? 13 : 11)) & 3u);
    unsigned min_txsz = ds_of(r) || r->lpa ? 12u : 16u;
    unsigned txsz = (c->flags & F_RAW_TXSZ) ? c->txsz[half] & 63u
                                            : min_txsz + c->txsz[half] % (40u - min_txsz);
    r->va_bits = (uint8_t)(64u - txsz);
}

/* Raw mode: the 8 config bytes after `mode` are TCR_EL1 verbatim. */
static uint64_t raw_tcr(const struct config *c)
{
    return (uint64_t)c->gran[0] | (uint64_t)c->gran[1] << 8 | (uint64_t)c->txsz[0] << 16 |
           (uint64_t)c->txsz[1] << 24 | (uint64_t)c->flags << 32 | (uint64_t)c->ips << 48 |
           (uint64_t)c->parange << 56;
}

static uint64_t sctlr_of(const struct config *c)
{
    uint64_t s = (c->mode & MODE_MMU_OFF) ? 0 : SCTLR_M;
    s |= (c->sctlr_bits & 1u) ? SCTLR_WXN : 0;
    s |= (c->sctlr_bits & 2u) ? SCTLR_EPAN : 0;
    s |= (c->sctlr_bits & 4u) ? SCTLR_I : 0;
    return s;
}

static uint64_t granule_bytes(const struct mmsim_vmsa_regime *r)
{
    return BIT(r->granule_shift);
}

/* TTBR naming `pa`: BADDR[47:1], or with a 52-bit OA BADDR[51:48] in [5:2]. */
static uint64_t ttbr_for(const struct config *c, const struct mmsim_vmsa_regime *r, uint64_t pa)
{
    uint64_t ttbr = (uint64_t)c->asid << 48;
    if (r->oa_bits > 48)
        ttbr |= (pa & (BIT(48) - 1u) & ~0x3fULL) | ((pa >> 48) & 0xfu) << 2;
    else
        ttbr |= pa & (BIT(48) - 1u);
    if (c->mode & (MODE_TTBR_JUNK | MODE_RAW_REGS))
        ttbr |= (c->asid & 0x3u) | ((uint64_t)(c->asid >> 2) & 0x7u) << 6;
    return ttbr;
}

/* Structured registers must decode back to the regimes they came from. */
static void check_ctx_matches(const struct config *c, const struct mmsim_vmsa_ctx *ctx, int rc)
{
    if (c->flags & F_RAW_TXSZ)
        return;
    for (unsigned h = 0; h < 2; h++) {
        const struct mmsim_vmsa_regime *w = &c->want[h], *got = &ctx->half[h];
        if (!ctx->valid[h] || got->granule_shift != w->granule_shift || got->va_bits != w->va_bits ||
            got->ds != ds_of(w) || got->lpa != w->lpa || got->ha != w->ha || got->hd != w->hd ||
            got->hpd != w->hpd || got->epd != w->epd || got->e0pd != w->e0pd ||
            got->tbi != w->tbi || got->sh != w->sh || got->upper != w->upper)
            fail("TCR 0x%016" PRIx64 " half %u decodes to granule %u va_bits %u ds %d lpa %d; "
                 "built from granule %u va_bits %u ds %d lpa %d", ctx->regs.tcr, h,
                 got->granule_shift, got->va_bits, got->ds, got->lpa, w->granule_shift, w->va_bits,
                 w->ds, w->lpa);
    }
    if (rc != 0)
        fail("mmsim_vmsa_ctx_init rejected a TCR built from valid regimes");
}

static void make_ctx(struct config *c, const struct fake_mem *m, struct mmsim_vmsa_ctx *ctx)
{
    struct mmsim_vmsa_regs regs = { .mair = (uint64_t)c->mair * 0x100000001ULL,
                                    .sctlr = sctlr_of(c), .parange_bits = (uint8_t)parange_bits(c) };
    if (c->mode & MODE_RAW_REGS) {
        regs.tcr = raw_tcr(c);
    } else {
        build_regime(c, 0, &c->want[0]);
        build_regime(c, 1, &c->want[1]);
        regs.tcr = mmsim_vmsa_tcr_build(&c->want[0], &c->want[1], k_ips[c->ips % 7u]);
    }
    /* Decode once to learn each half's OA size, which decides the TTBR layout. */
    mmsim_vmsa_ctx_init(ctx, &regs);
    for (unsigned h = 0; h < 2; h++) {
        uint64_t root = m->base_pa + h * granule_bytes(&ctx->half[h]);
        uint64_t ttbr = ttbr_for(c, &ctx->half[h], root);
        if (h == 0)
            regs.ttbr0 = ttbr;
        else
            regs.ttbr1 = ttbr;
    }
    int rc = mmsim_vmsa_ctx_init(ctx, &regs);
    if (!(c->mode & MODE_RAW_REGS))
        check_ctx_matches(c, ctx, rc);
}

/* ---- building the walk ----------------------------------------------------- */

static uint64_t chain_page_pa(const struct fake_mem *m, const struct mmsim_vmsa_regime *r, int level)
{
    return m->base_pa + (uint64_t)(3 + level) * granule_bytes(r); /* level -1 -> page 2 */
}

static uint64_t desc_index(const struct mmsim_vmsa_regime *r, int level, uint64_t va)
{
    unsigned bits = mmsim_vmsa_index_bits(r, level);
    return (va >> mmsim_vmsa_level_shift(r, level)) & (BIT(bits) - 1u);
}

/* A table descriptor to `next_pa`, its table attributes taken from raw. */
static uint64_t make_table(const struct mmsim_vmsa_regime *r, int level, uint64_t raw, uint64_t next_pa)
{
    struct mmsim_desc d = { .kind = MMSIM_DESC_TABLE, .addr = next_pa,
                            .pxn_table = (raw >> 59) & 1u, .uxn_table = (raw >> 60) & 1u,
                            .ap_table = (raw >> 61) & 3u, .ns_table = (raw >> 63) & 1u };
    uint64_t out = raw;
    mmsim_desc_encode(r, level, &d, &out);
    return out;
}

/* A leaf with attributes from raw and an output address inside oa_bits. */
static uint64_t make_leaf(const struct mmsim_vmsa_regime *r, int level, uint64_t raw)
{
    unsigned shift = mmsim_vmsa_level_shift(r, level);
    unsigned oa = r->oa_bits ? r->oa_bits : 48u;
    struct mmsim_desc d = {
        .kind = level == 3 ? MMSIM_DESC_PAGE : MMSIM_DESC_BLOCK,
        .addr = (raw * 0x9e3779b97f4a7c15ULL) & (BIT(oa) - 1u) & ~(BIT(shift) - 1u),
        .attr_indx = (raw >> 2) & 7u, .ns = (raw >> 5) & 1u, .ap = (raw >> 6) & 3u,
        .sh = ds_of(r) ? 0 : (raw >> 8) & 3u,
        .af = (raw >> 10) & 1u, .ng = (raw >> 11) & 1u,
        .nt = level < 3 && ((raw >> 16) & 1u), .gp = (raw >> 50) & 1u, .dbm = (raw >> 51) & 1u,
        .contiguous = (raw >> 52) & 1u, .pxn = (raw >> 53) & 1u, .uxn = (raw >> 54) & 1u,
        .sw = (raw >> 55) & 0xfu,
    };
    uint64_t out = raw;
    mmsim_desc_encode(r, level, &d, &out);
    return out;
}

enum chain_kind { CHAIN_RAW = 0, CHAIN_LINK = 1, CHAIN_LEAF = 2, CHAIN_RAW_TABLE = 3 };

/* One descriptor per level from the start level down, where the walk reads. */
static unsigned build_chain(struct fuzz_reader *rd, const struct fake_mem *m,
                            const struct mmsim_vmsa_ctx *ctx, unsigned half, uint64_t va,
                            uint64_t *raws)
{
    const struct mmsim_vmsa_regime *r = &ctx->half[half];
    uint64_t table_pa = ctx->root_pa[half];
    unsigned n = 0;
    int start = mmsim_vmsa_start_level(r);
    /* raw TCRs can ask for geometries no valid half has (TxSZ 0); the walk
     * refuses those halves, so a chain from level -1 is plenty */
    for (int level = start < -1 ? -1 : start; level <= 3; level++) {
        uint8_t kind = fuzz_u8(rd) % 4u;
        uint64_t raw = fuzz_u64(rd);
        uint64_t next_pa = chain_page_pa(m, r, level + 1);
        if (kind == CHAIN_LINK && level < 3)
            raw = make_table(r, level, raw, next_pa);
        else if (kind == CHAIN_LEAF)
            raw = make_leaf(r, level, raw);
        else if (kind == CHAIN_RAW_TABLE)
            raw |= 3u;
        ram_put(m, table_pa + desc_index(r, level, va) * 8u, raw);
        raws[n++] = raw;
        table_pa = next_pa;
    }
    return n;
}

static unsigned sprinkle(struct fuzz_reader *rd, const struct fake_mem *m, uint64_t *raws)
{
    unsigned n = 0;
    while (n < MAX_SPRINKLES && fuzz_left(rd) >= 10) {
        uint64_t offset = (uint64_t)fuzz_u16(rd) * 8u % m->size;
        raws[n] = fuzz_u64(rd);
        ram_put(m, m->base_pa + offset, raws[n]);
        n++;
    }
    return n;
}

/* In range for the half that bit 55 selects; the top byte kept under TBI. */
static uint64_t canonical_va(const struct mmsim_vmsa_ctx *ctx, uint64_t raw)
{
    unsigned half = (raw >> 55) & 1u;
    const struct mmsim_vmsa_regime *r = &ctx->half[half];
    unsigned bits = r->va_bits < 64u ? r->va_bits : 63u;
    uint64_t low_mask = BIT(bits) - 1u;
    uint64_t va = half ? (raw | ~low_mask) : (raw & low_mask);
    if (r->tbi)
        va = (va & (BIT(56) - 1u)) | (raw & ~(BIT(56) - 1u));
    return va;
}

/* ---- properties ------------------------------------------------------------ */

static bool same_desc(const struct mmsim_desc *a, const struct mmsim_desc *b)
{
    return a->kind == b->kind && a->addr == b->addr && a->attr_indx == b->attr_indx &&
           a->ns == b->ns && a->ap == b->ap && a->sh == b->sh && a->af == b->af && a->ng == b->ng &&
           a->nt == b->nt && a->gp == b->gp && a->dbm == b->dbm && a->contiguous == b->contiguous &&
           a->pxn == b->pxn && a->uxn == b->uxn && a->sw == b->sw && a->pxn_table == b->pxn_table &&
           a->uxn_table == b->uxn_table && a->ap_table == b->ap_table && a->ns_table == b->ns_table;
}

/* decode -> encode -> decode is the identity on what the decoder accepts,
 * and encoding is stable (encode(decode(encode(d))) == encode(d)). */
static void check_roundtrip(const struct mmsim_vmsa_regime *r, int level, uint64_t raw)
{
    struct mmsim_desc d1, d2;
    mmsim_desc_decode(r, level, raw, &d1);
    if (d1.kind == MMSIM_DESC_INVALID)
        return;
    uint64_t enc1 = 0, enc2 = 0;
    if (!mmsim_desc_encode(r, level, &d1, &enc1))
        fail("granule %u ds %d lpa %d level %d: 0x%016" PRIx64 " decodes as kind %d but does not "
             "encode", r->granule_shift, r->ds, r->lpa, level, raw, d1.kind);
    mmsim_desc_decode(r, level, enc1, &d2);
    if (!same_desc(&d1, &d2))
        fail("granule %u ds %d lpa %d level %d: 0x%016" PRIx64 " -> 0x%016" PRIx64
             " decodes differently", r->granule_shift, r->ds, r->lpa, level, raw, enc1);
    if (!mmsim_desc_encode(r, level, &d2, &enc2) || enc2 != enc1)
        fail("granule %u level %d: encoding of 0x%016" PRIx64 " is not stable", r->granule_shift,
             level, raw);
}

static void check_roundtrips(const struct mmsim_vmsa_ctx *ctx, const uint64_t *raws, unsigned n)
{
    for (unsigned h = 0; h < 2; h++)
        for (unsigned i = 0; i < n; i++)
            for (int level = -1; level <= 3; level++)
                check_roundtrip(&ctx->half[h], level, raws[i]);
}

static uint8_t needed_perm(const struct mmsim_vmsa_access *acc)
{
    static const uint8_t k_needed[2][3] = {
        { MMSIM_PERM_EL0_R, MMSIM_PERM_EL0_W, MMSIM_PERM_EL0_X },
        { MMSIM_PERM_EL1_R, MMSIM_PERM_EL1_W, MMSIM_PERM_EL1_X },
    };
    return k_needed[acc->el ? 1 : 0][acc->op];
}

static void check_basic(bool ok, const struct mmsim_vmsa_result *res)
{
    if (ok != (res->fault == MMSIM_FAULT_NONE))
        fail("returned %d with fault %d", ok, res->fault);
    if (res->level < -1 || res->level > 3)
        fail("level %d out of range", res->level);
    uint8_t want_fsc = res->fault == MMSIM_FAULT_NONE ? 0 : mmsim_vmsa_fsc(res->fault, res->level);
    if (res->fsc != want_fsc || want_fsc == 0xff)
        fail("fsc 0x%02x for fault %d level %d, want 0x%02x", res->fsc, res->fault, res->level, want_fsc);
    bool par_fault = mmsim_vmsa_par(res) & 1u;
    if (par_fault != !ok)
        fail("PAR.F %d for a walk that returned %d", par_fault, ok);
    if (!mmsim_vmsa_fault_name(res->fault))
        fail("no name for fault %d", res->fault);
}

static void check_leaf(const struct mmsim_vmsa_ctx *ctx, const struct mmsim_vmsa_regime *r,
                       uint64_t va, const struct fake_mem *m, const struct mmsim_vmsa_result *res)
{
    uint64_t leaf_size = BIT(mmsim_vmsa_level_shift(r, res->level));
    if (res->level < mmsim_vmsa_start_level(r) || res->leaf_size != leaf_size ||
        ((res->pa ^ va) & (leaf_size - 1u)) != 0)
        fail("leaf at level %d (start %d): leaf_size 0x%" PRIx64 " pa 0x%" PRIx64 " for va 0x%016"
             PRIx64, res->level, mmsim_vmsa_start_level(r), res->leaf_size, res->pa, va);
    unsigned last = m->nreads - 1u;
    if (m->nreads == 0 || res->desc_pa != m->read_pa[last] || res->desc != m->read_val[last])
        fail("leaf desc 0x%016" PRIx64 " at 0x%" PRIx64 " is not the last descriptor read",
             res->desc, res->desc_pa);
    struct mmsim_desc d;
    mmsim_desc_decode(r, res->level, res->desc, &d);
    bool kind_ok = d.kind == (res->level == 3 ? MMSIM_DESC_PAGE : MMSIM_DESC_BLOCK);
    if (!kind_ok || (d.addr | (va & (leaf_size - 1u))) != res->pa || d.attr_indx != res->attr_indx ||
        res->mair_attr != (uint8_t)(ctx->regs.mair >> (8u * d.attr_indx)))
        fail("leaf 0x%016" PRIx64 " decodes to kind %d addr 0x%" PRIx64 " attr %u; result pa 0x%"
             PRIx64 " attr %u mair 0x%02x", res->desc, d.kind, d.addr, d.attr_indx, res->pa,
             res->attr_indx, res->mair_attr);
}

static void check_reads(const struct fake_mem *m, const struct mmsim_vmsa_result *res)
{
    for (unsigned i = 0; i < m->nreads; i++) {
        if (m->read_ok[i])
            continue;
        if (i + 1 != m->nreads || res->fault != MMSIM_FAULT_EXT_ABORT || res->desc_pa != m->read_pa[i])
            fail("a failed read at 0x%" PRIx64 " did not end the walk with an external abort "
                 "(fault %d)", m->read_pa[i], res->fault);
    }
    bool read_failed = m->nreads && !m->read_ok[m->nreads - 1];
    bool write_failed = m->nwrites && !m->write_ok;
    if (res->fault == MMSIM_FAULT_EXT_ABORT && !read_failed && !write_failed)
        fail("external abort without a failed read or write");
}

static void check_writes(const struct mmsim_vmsa_regime *r, const struct mmsim_vmsa_access *acc,
                         const struct fake_mem *m, bool can_write, const struct mmsim_vmsa_result *res)
{
    if (m->nwrites == 0) {
        if (res->hw_updated)
            fail("hw_updated without a write");
        bool af_due = res->fault == MMSIM_FAULT_NONE && !acc->at && can_write && r->ha &&
                      !(res->desc & DESC_AF);
        if (af_due)
            fail("successful access with HA did not set AF on 0x%016" PRIx64, res->desc);
        return;
    }
    if (m->nwrites > 1 || acc->at || !can_write || !r->ha)
        fail("%u hardware update(s) (at %d, write64 %d, ha %d)", m->nwrites, acc->at, can_write, r->ha);
    if (m->write_pa != res->desc_pa || ((m->write_val ^ res->desc) & ~(DESC_AF | DESC_AP2)) != 0 ||
        !(m->write_val & DESC_AF))
        fail("hardware update wrote 0x%016" PRIx64 " at 0x%" PRIx64 " for leaf 0x%016" PRIx64
             " at 0x%" PRIx64, m->write_val, m->write_pa, res->desc, res->desc_pa);
    bool dirtied = (m->write_val ^ res->desc) & DESC_AP2;
    if (dirtied && !(acc->op == MMSIM_OP_WRITE && r->hd && (res->desc & BIT(51))))
        fail("hardware update cleared AP[2] of 0x%016" PRIx64 " without a store to a DBM page "
             "under HA+HD", res->desc);
    bool want_fault = !m->write_ok;
    if (res->hw_updated != m->write_ok || (res->fault == MMSIM_FAULT_EXT_ABORT) != want_fault ||
        (m->write_ok && res->fault != MMSIM_FAULT_NONE))
        fail("update %s but hw_updated %d fault %d", m->write_ok ? "succeeded" : "failed",
             res->hw_updated, res->fault);
}

static void check_result(const struct config *c, const struct mmsim_vmsa_ctx *ctx, uint64_t va,
                         const struct mmsim_vmsa_access *acc, const struct fake_mem *m, bool ok,
                         const struct mmsim_vmsa_result *res)
{
    check_basic(ok, res);
    if (c->mode & MODE_MMU_OFF) {
        unsigned pamax = ctx->regs.parange_bits ? ctx->regs.parange_bits : 48u;
        if (m->nreads || m->nwrites || (ok && (res->pa != (va & (BIT(pamax) - 1u)) || res->leaf_size)))
            fail("stage 1 off: %u reads, pa 0x%" PRIx64 " for va 0x%016" PRIx64, m->nreads, res->pa, va);
        return;
    }
    const struct mmsim_vmsa_regime *r = &ctx->half[(va >> 55) & 1u];
    check_reads(m, res);
    bool described = res->fault == MMSIM_FAULT_NONE || res->fault == MMSIM_FAULT_ACCESS_FLAG ||
                     res->fault == MMSIM_FAULT_PERMISSION;
    if (described)
        check_leaf(ctx, r, va, m, res);
    if (ok && !(res->perms & needed_perm(acc)))
        fail("access granted without permission: perms 0x%02x", res->perms);
    check_writes(r, acc, m, (c->mode & MODE_WRITE64) != 0, res);
}

/* ---- entry point ----------------------------------------------------------- */

static struct mmsim_vmsa_access decode_access(uint8_t b)
{
    struct mmsim_vmsa_access acc = {
        .op = (enum mmsim_vmsa_op)((b & 3u) % 3u), .el = (b >> 2) & 1u,
        .pan = (b >> 3) & 1u, .at = (b >> 4) & 1u,
    };
    return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader rd = { data, size, 0 };
    static struct config c;
    decode_config(&rd, &c);
    static struct fake_mem m;
    memset(&m, 0, sizeof m);
    m.base_pa = (c.mode & MODE_HIGH_BASE) ? HIGH_BASE : LOW_BASE;
    m.write_fails = (c.mode & MODE_WRITE_FAILS) != 0;

    struct mmsim_vmsa_ctx ctx;
    m.size = NPAGES * MAX_GRANULE; /* provisional, for make_ctx's TTBRs */
    make_ctx(&c, &m, &ctx);
    unsigned g_max = ctx.half[0].granule_shift > ctx.half[1].granule_shift ? ctx.half[0].granule_shift
                                                                           : ctx.half[1].granule_shift;
    m.size = NPAGES * (size_t)BIT(g_max);
    memset(g_ram, 0, m.size);

    uint64_t va_raw = fuzz_u64(&rd);
    uint64_t va = (c.mode & MODE_RAW_VA) ? va_raw : canonical_va(&ctx, va_raw);
    struct mmsim_vmsa_access acc = decode_access(fuzz_u8(&rd));

    static uint64_t raws[8 + MAX_SPRINKLES];
    unsigned nraw = build_chain(&rd, &m, &ctx, (va >> 55) & 1u, va, raws);
    nraw += sprinkle(&rd, &m, raws + nraw);

    struct mmsim_vmsa_mem mem = { mem_read64, (c.mode & MODE_WRITE64) ? mem_write64 : NULL, &m };
    struct mmsim_vmsa_result res;
    bool ok = mmsim_vmsa_translate(&ctx, va, &acc, &mem, &res);
    check_result(&c, &ctx, va, &acc, &m, ok, &res);

    /* The walk's own descriptors, at the levels it read them. */
    const struct mmsim_vmsa_regime *r = &ctx.half[(va >> 55) & 1u];
    for (unsigned i = 0; !(c.mode & MODE_MMU_OFF) && i < m.nreads; i++)
        if (m.read_ok[i])
            check_roundtrip(r, mmsim_vmsa_start_level(r) + (int)i, m.read_val[i]);
    check_roundtrips(&ctx, raws, nraw);
    return 0;
}
