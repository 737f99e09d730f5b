/*
 * xcheck — cross-check mmsim's stage-1 walk against QEMU's implementation of
 * the architecture (docs/verification.md).
 *
 * For each configuration (granule, VA size, IPS, per-half TCR controls) it
 * builds a random table tree in a fake RAM, exports it with
 * mmsim_export_write, rebuilds everything QEMU needs *from the exported
 * files* (so the export format is checked end to end), runs the bare-metal
 * stub under qemu-system-aarch64 to execute AT S1E1R/S1E1W/S1E0R/S1E0W on
 * every VA, and compares each PAR_EL1 with the one mmsim predicted. Mismatches
 * are accepted only when one of the documented QEMU 7.2 deviations explains
 * them; those are counted and printed.
 *
 * Descriptors are assembled here with plain bit operations rather than with
 * mmsim_desc_encode, and the diagnostic path walk is this file's own, so an
 * error in mmsim's codec cannot hide itself on both sides of the comparison.
 */
#include <mmsim/export.h>
#include <mmsim/vmsa.h>

#include "xcheck_abi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIT(n) (1ULL << (n))
/* Bits hi..lo inclusive. */
#define BITS(hi, lo) ((~0ULL >> (63 - (hi))) & ~(BIT(lo) - 1ULL))

/* Fake RAM: where the generated tables live, both for mmsim (through
 * read64) and for QEMU (tables.bin is loaded at the same PA). */
#define RAM_PA XC_TABLES_MIN_PA
#define RAM_SIZE (16ULL << 20)
/* Guest non-RAM (-m 1G ends RAM at 0x8000_0000): a table pointer here makes
 * the walk abort, in mmsim (read64 fails) and in QEMU (a Data Abort). */
#define HOLE_PA 0xc0000000ULL
#define QEMU_TIMEOUT_S 60
#define PAR_F BIT(0)
#define PAR_NS BIT(9)
#define PAR_SH_MASK (3ULL << 7)
#define PAR_FAULT_IMPDEF_MASK BITS(63, 48)
#define PAR_PA_MASK BITS(51, 12)
#define SCTLR_RES1 0x30d00800ULL
#define SCTLR_M BIT(0)
#define SCTLR_WXN BIT(19)
#define MMSIM_PARANGE_BITS 52 /* what -cpu max reports; checked against MMFR0 */

/* ---- small utilities ------------------------------------------------------ */

struct rng
{
    uint64_t state;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng_below(struct rng *r, uint64_t n)
{
    return n ? rng_next(r) % n : 0;
}

static bool rng_chance(struct rng *r, unsigned percent)
{
    return rng_below(r, 100) < percent;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL) {
        fprintf(stderr, "xcheck: out of memory\n");
        exit(2);
    }
    return p;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8u; i++)
        p[i] = (uint8_t)(v >> (8u * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8u; i++)
        v |= (uint64_t)p[i] << (8u * i);
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* false when the joined path does not fit */
static bool join_path(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < size;
}

static bool read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = xcalloc(cap, 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return false;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool ok = !ferror(f);
    fclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    *data = buf;
    *size = n;
    return true;
}

/* ---- fake RAM ------------------------------------------------------------- */

struct ram
{
    uint8_t *bytes;
    uint64_t next_pa; /* bump allocator for table pages */
};

static bool ram_holds(uint64_t pa, uint64_t size)
{
    return pa >= RAM_PA && size <= RAM_SIZE && pa - RAM_PA <= RAM_SIZE - size;
}

static bool ram_read64(void *ctx, uint64_t pa, uint64_t *val)
{
    const struct ram *ram = ctx;
    if ((pa & 7u) != 0 || !ram_holds(pa, 8))
        return false;
    *val = get_le64(ram->bytes + (pa - RAM_PA));
    return true;
}

static uint64_t ram_get(const struct ram *ram, uint64_t pa)
{
    uint64_t v = 0;
    ram_read64((void *)(uintptr_t)ram, pa, &v);
    return v;
}

static void ram_set(struct ram *ram, uint64_t pa, uint64_t v)
{
    if (ram_holds(pa, 8))
        put_le64(ram->bytes + (pa - RAM_PA), v);
}

/* 0 when full: the generator then stops adding tables. */
static uint64_t ram_alloc(struct ram *ram, uint64_t size, uint64_t align)
{
    uint64_t pa = (ram->next_pa + align - 1u) & ~(align - 1u);
    if (!ram_holds(pa, size))
        return 0;
    ram->next_pa = pa + size;
    return pa;
}

/* ---- configurations ----------------------------------------------------- */

struct half_cfg
{
    unsigned granule_shift; /* 12, 14, 16 */
    unsigned va_bits;
    bool epd, hpd, e0pd, tbi;
    bool bad_txsz;      /* TxSZ below the minimum: every walk faults at level 0 */
    bool ttbr_oversize; /* TTBR base beyond the output size: address size fault L0 */
    bool ds;            /* TCR.DS set and this half 4K/16K: the FEAT_LPA2 format */
    unsigned sh;
};

struct xcfg
{
    unsigned index;
    struct half_cfg half[2];
    unsigned ips_bits;
    bool wxn;
    bool mmu_off; /* SCTLR_EL1.M = 0: AT reports the flat, Device mapping */
    bool tcr_ds;  /* TCR_EL1.DS (FEAT_LPA2) */
    uint64_t mair;
};

/* Whether the walk of `half` reads any table at all. */
static bool half_walks(const struct xcfg *c, unsigned half)
{
    const struct half_cfg *h = &c->half[half];
    return !h->epd && !h->bad_txsz && !h->ttbr_oversize;
}

/* The effective output size under -cpu max (PARange 52): IPS, capped at 48
 * unless the descriptor format has OA[51:48] (64K with FEAT_LPA, or DS). */
static unsigned cfg_oa_bits(const struct xcfg *c, unsigned half)
{
    unsigned bits = c->ips_bits;
    if (bits > 48u && c->half[half].granule_shift != 16u && !c->half[half].ds)
        bits = 48u;
    return bits;
}

static bool cfg_lpa(const struct xcfg *c, unsigned half)
{
    return c->half[half].granule_shift == 16u && c->ips_bits == 52u;
}

static unsigned stride_of(const struct half_cfg *h)
{
    return h->granule_shift - 3u;
}

static unsigned level_shift(const struct half_cfg *h, int level)
{
    return h->granule_shift + stride_of(h) * (unsigned)(3 - level);
}

static int start_level(const struct half_cfg *h)
{
    unsigned stride = stride_of(h);
    return 4 - (int)((h->va_bits - h->granule_shift + stride - 1u) / stride);
}

static unsigned entries_at(const struct half_cfg *h, int level)
{
    if (level == start_level(h))
        return 1u << (h->va_bits - level_shift(h, level));
    return 1u << stride_of(h);
}

/* Blocks the ASL accepts: 4K L1/L2 (and L0 with DS), 16K L2 (and L1 with
 * DS), 64K L2, and 64K L1 because -cpu max implements 52-bit PAs (FEAT_LPA). */
static bool block_ok(const struct half_cfg *h, int level)
{
    switch (h->granule_shift) {
    case 12:
        return level == 1 || level == 2 || (level == 0 && h->ds);
    case 14:
        return level == 2 || (level == 1 && h->ds);
    default:
        return level == 2 || (level == 1 && MMSIM_PARANGE_BITS >= 52);
    }
}

static unsigned ips_field(unsigned bits)
{
    static const unsigned k_bits[] = { 32, 36, 40, 42, 44, 48, 52 };
    for (unsigned i = 0; i < 7u; i++)
        if (k_bits[i] == bits)
            return i;
    return 5;
}

/* TCR_EL1 assembled from the register description (spec §7), independently
 * of mmsim_vmsa_tcr_build. TG0 and TG1 encode granules differently. */
static uint64_t cfg_tcr(const struct xcfg *c)
{
    static const unsigned k_tg0[17] = { [12] = 0, [14] = 2, [16] = 1 };
    static const unsigned k_tg1[17] = { [12] = 2, [14] = 1, [16] = 3 };
    const struct half_cfg *lo = &c->half[0], *hi = &c->half[1];
    uint64_t tcr = (uint64_t)(64u - lo->va_bits) | (uint64_t)lo->epd << 7 | 1ULL << 8 | 1ULL << 10 |
                   (uint64_t)lo->sh << 12 | (uint64_t)k_tg0[lo->granule_shift] << 14;
    tcr |= (uint64_t)(64u - hi->va_bits) << 16 | (uint64_t)hi->epd << 23 | 1ULL << 24 |
           1ULL << 26 | (uint64_t)hi->sh << 28 | (uint64_t)k_tg1[hi->granule_shift] << 30;
    tcr |= (uint64_t)ips_field(c->ips_bits) << 32 | BIT(36);
    tcr |= (uint64_t)lo->tbi << 37 | (uint64_t)hi->tbi << 38;
    tcr |= (uint64_t)lo->hpd << 41 | (uint64_t)hi->hpd << 42;
    tcr |= (uint64_t)lo->e0pd << 55 | (uint64_t)hi->e0pd << 56;
    return tcr | (uint64_t)c->tcr_ds << 59;
}

static const char *granule_name(unsigned shift)
{
    return shift == 12 ? "4K" : shift == 14 ? "16K" : "64K";
}

static void cfg_describe(const struct xcfg *c, char *buf, size_t size)
{
    char halves[2][64];
    for (unsigned h = 0; h < 2u; h++) {
        const struct half_cfg *hc = &c->half[h];
        snprintf(halves[h], sizeof halves[h], "%s/%u%s%s%s%s%s%s%s", granule_name(hc->granule_shift),
                 hc->va_bits, hc->ds ? " DS" : "", hc->epd ? " EPD" : "", hc->hpd ? " HPD" : "",
                 hc->e0pd ? " E0PD" : "",
                 hc->tbi ? " TBI" : "", hc->bad_txsz ? " bad-TxSZ" : "",
                 hc->ttbr_oversize ? " TTBR>OA" : "");
    }
    snprintf(buf, size, "ttbr0 %s, ttbr1 %s, IPS %u%s", halves[0], halves[1], c->ips_bits,
             c->mmu_off ? ", MMU off" : "");
}

/* MAIR bytes whose PAR encoding is unambiguous: Device, Normal NC, WT, WB,
 * mixed inner/outer and a transient outer (RT-Thread's 0x7f). */
static const uint8_t k_mair_bytes[] = { 0xff, 0x44, 0x00, 0x04, 0x08, 0x0c,
                                        0xbb, 0x7f, 0xee, 0xaa, 0x4f, 0xf4 };

static void random_half(struct rng *rng, struct half_cfg *h, unsigned granule_shift, unsigned va_bits)
{
    static const unsigned k_sh[] = { 0, 2, 3 };
    *h = (struct half_cfg){
        .granule_shift = granule_shift,
        .va_bits = va_bits,
        .hpd = rng_chance(rng, 25),
        .e0pd = rng_chance(rng, 12),
        .tbi = rng_chance(rng, 25),
        .sh = k_sh[rng_below(rng, 3)],
    };
}

/* The TTBR0 geometries the brief asks for, each with IPS 48 and a smaller
 * IPS (to provoke address size faults), two 64K/FEAT_LPA ones with 52-bit OAs
 * (one also with a 52-bit VA) and one with the MMU off. TTBR1 gets a random
 * geometry, now and then one the walk must refuse at level 0. */
#define NUM_CONFIGS 24u

static void finish_config(struct rng *rng, struct xcfg *c)
{
    c->half[0].epd = rng_chance(rng, 4);
    c->half[1].epd = rng_chance(rng, 10);
    c->wxn = rng_chance(rng, 20);
    for (unsigned a = 0; a < 8u; a++)
        c->mair |= (uint64_t)k_mair_bytes[rng_below(rng, sizeof k_mair_bytes)] << (8u * a);
    struct half_cfg *hi = &c->half[1];
    for (unsigned h = 0; h < 2u; h++)
        c->half[h].ds = c->tcr_ds && c->half[h].granule_shift != 16u;
    /* 52-bit VAs need FEAT_LVA, which only the 64K granule has without DS */
    if (hi->granule_shift != 16u && !c->tcr_ds && rng_chance(rng, 6)) {
        hi->va_bits = 52;
        hi->bad_txsz = true;
    } else if (c->ips_bits < 48u && rng_chance(rng, 15)) {
        hi->ttbr_oversize = true;
    }
}

static void make_configs(uint64_t seed, struct xcfg out[NUM_CONFIGS])
{
    static const unsigned k_granules[] = { 12, 14, 16 };
    static const unsigned k_va[] = { 39, 42, 48 };
    static const unsigned k_small_ips[] = { 32, 36, 40, 42, 44 };
    static const unsigned k_va1[] = { 25, 30, 33, 36, 39, 42, 44, 47, 48 };
    struct rng rng = { seed };
    unsigned n = 0;
    for (unsigned g = 0; g < 3u; g++)
        for (unsigned v = 0; v < 3u; v++)
            for (unsigned i = 0; i < 2u; i++, n++) {
                out[n] = (struct xcfg){ .index = n, .ips_bits = i ? k_small_ips[rng_below(&rng, 5)] : 48u };
                random_half(&rng, &out[n].half[0], k_granules[g], k_va[v]);
            }
    for (unsigned i = 0; i < 2u; i++, n++) {
        out[n] = (struct xcfg){ .index = n, .ips_bits = 52 };
        random_half(&rng, &out[n].half[0], 16, i ? 48u : 52u);
    }
    out[n] = (struct xcfg){ .index = n, .ips_bits = 48, .mmu_off = true };
    random_half(&rng, &out[n++].half[0], 12, 48);
    /* FEAT_LPA2: 4K with a 52-bit VA (level -1), 16K/48, and 4K/48 with a
     * small IPS so that the OA bits moved into [9:8] and [49:48] can fault */
    static const struct
    {
        unsigned granule, va, ips;
    } k_ds[] = { { 12, 52, 52 }, { 14, 48, 52 }, { 12, 48, 44 } };
    for (unsigned i = 0; i < 3u; i++, n++) {
        out[n] = (struct xcfg){ .index = n, .ips_bits = k_ds[i].ips, .tcr_ds = true };
        random_half(&rng, &out[n].half[0], k_ds[i].granule, k_ds[i].va);
    }
    for (unsigned i = 0; i < NUM_CONFIGS; i++) {
        random_half(&rng, &out[i].half[1], k_granules[rng_below(&rng, 3)], k_va1[rng_below(&rng, 9)]);
        finish_config(&rng, &out[i]);
    }
}

/* ---- tree generation ---------------------------------------------------- */

/* A VA range the generator populated: where probes are most interesting. */
struct target
{
    uint64_t va, size;
};

struct gen
{
    struct rng *rng;
    struct ram *ram;
    const struct xcfg *cfg;
    unsigned half;
    unsigned oa_bits;
    bool lpa;
    bool ds;
    unsigned budget;       /* table pages still allowed for this half */
    uint64_t *tables[5];   /* tables made at each level+1, for aliases */
    unsigned ntables[5];
    struct target *targets;
    size_t ntargets, cap_targets;
};

static void add_target(struct gen *g, uint64_t va, uint64_t size)
{
    if (g->ntargets == g->cap_targets) {
        g->cap_targets = g->cap_targets ? 2u * g->cap_targets : 256u;
        struct target *t = realloc(g->targets, g->cap_targets * sizeof *t);
        if (t == NULL) {
            fprintf(stderr, "xcheck: out of memory\n");
            exit(2);
        }
        g->targets = t;
    }
    g->targets[g->ntargets++] = (struct target){ va, size };
}

static const struct half_cfg *gen_half(const struct gen *g)
{
    return &g->cfg->half[g->half];
}

/* OA bits of a descriptor: [47:align] in place; OA[51:48] in [15:12] with
 * FEAT_LPA (64K), or OA[49:48] in place and OA[51:50] in [9:8] with DS. */
static uint64_t oa_field(const struct gen *g, uint64_t oa)
{
    if (g->ds)
        return (oa & BITS(49, 12)) | ((oa >> 50) & 3u) << 8;
    uint64_t raw = oa & BITS(47, 12);
    if (g->lpa)
        raw |= ((oa >> 48) & 0xfu) << 12;
    return raw;
}

/* How high an OA the generator writes. With DS and an output size of 48
 * bits or less, OA[51:50] (desc[9:8]) stays 0: QEMU reads that field only
 * for a 52-bit output and would ignore it where the ASL faults
 * (docs/verification.md, "beyond the known deviations"). */
static unsigned oa_field_bits(const struct gen *g)
{
    if (g->ds)
        return g->oa_bits > 48u ? 52u : 50u;
    return g->lpa ? 52u : 48u;
}

/* Mostly inside the output size, sometimes beyond it (address size fault). */
static uint64_t random_oa(struct gen *g, unsigned align_shift)
{
    unsigned field_bits = oa_field_bits(g);
    unsigned bits = g->oa_bits;
    if (g->oa_bits < field_bits && rng_chance(g->rng, 15))
        bits = field_bits;
    uint64_t oa = rng_next(g->rng) & (BIT(bits) - 1u) & ~(BIT(align_shift) - 1u);
    /* The forced out-of-range bit must be an OA bit of this leaf: one below
     * align_shift is RES0, which QEMU 7.2 checks before aligning (quirk 1 in
     * docs/verification.md) and the architecture ignores. */
    unsigned from = g->oa_bits > align_shift ? g->oa_bits : align_shift;
    if (bits > from && (oa >> g->oa_bits) == 0)
        oa |= BIT(from + (unsigned)rng_below(g->rng, bits - from));
    return oa;
}

/* Attribute and ignored bits of a leaf, every one of them random. HA=HD=0, so
 * DBM has no effect; NS, nG, Contiguous, GP, XN, SW and PBHA are invisible
 * to AT but must not change its result. With DS, [9:8] is OA, not SH. */
static uint64_t leaf_attrs(struct gen *g)
{
    static const uint64_t k_sh[] = { 0, 2, 3 };
    struct rng *r = g->rng;
    uint64_t raw = rng_below(r, 8) << 2 | rng_below(r, 2) << 5 | rng_below(r, 4) << 6 |
                   (uint64_t)rng_chance(r, 85) << 10 | rng_below(r, 2) << 11;
    if (!g->ds)
        raw |= k_sh[rng_below(r, 3)] << 8;
    raw |= rng_below(r, 2) << 50 | rng_below(r, 2) << 51 | (uint64_t)rng_chance(r, 10) << 52 |
           rng_below(r, 2) << 53 | rng_below(r, 2) << 54 | rng_below(r, 16) << 55 |
           rng_below(r, 16) << 59;
    return raw;
}

/* Block/page low OA bits are RES0; the ASL ignores them and so does QEMU
 * when forming the PA. They stay below the output size, though: QEMU 7.2
 * applies the address size check to the unaligned field and faults where
 * the ASL does not (docs/verification.md, "beyond the known deviations").
 * 64K bits [15:12] are left alone: with FEAT_LPA they are OA[51:48]. */
static uint64_t leaf_res0_noise(struct gen *g, unsigned leaf_shift)
{
    unsigned lo = gen_half(g)->granule_shift == 16u ? 16u : 12u;
    unsigned hi = leaf_shift < g->oa_bits ? leaf_shift : g->oa_bits;
    if (hi <= lo || !rng_chance(g->rng, 20))
        return 0;
    return rng_next(g->rng) & BITS(hi - 1u, lo);
}

static uint64_t make_leaf(struct gen *g, int level, bool page_type)
{
    unsigned shift = level_shift(gen_half(g), level);
    uint64_t raw = leaf_attrs(g) | oa_field(g, random_oa(g, shift)) | leaf_res0_noise(g, shift);
    return raw | (page_type ? 3u : 1u);
}

/* Invalid: bit 0 clear, every other bit free for software. */
static uint64_t make_invalid(struct gen *g)
{
    return rng_chance(g->rng, 50) ? rng_next(g->rng) & ~1ULL : 0x2;
}

static uint64_t table_attrs(struct gen *g)
{
    struct rng *r = g->rng;
    uint64_t raw = (rng_chance(r, 50) ? 0 : rng_below(r, 4)) << 61 | rng_below(r, 2) << 59 |
                   rng_below(r, 2) << 60 | rng_below(r, 2) << 63;
    /* with DS, [9:8] hold OA[51:50] of the next table */
    if (rng_chance(r, 30))
        raw |= rng_next(r) & BITS(11, 2) & ~(g->ds ? BITS(9, 8) : 0);
    if (rng_chance(r, 30))
        raw |= rng_next(r) & BITS(58, 52);
    /* 16K: bits [13:12] lie below the table address and are ignored */
    if (gen_half(g)->granule_shift == 14u && rng_chance(r, 20))
        raw |= rng_next(r) & BITS(13, 12);
    return raw | 3u;
}

static void gen_table(struct gen *g, uint64_t table_pa, int level, uint64_t va_base);

static uint64_t make_child_table(struct gen *g, int level, uint64_t va)
{
    const struct half_cfg *h = gen_half(g);
    uint64_t size = BIT(h->granule_shift);
    uint64_t pa = ram_alloc(g->ram, size, size);
    if (pa == 0)
        return make_invalid(g);
    g->budget--;
    unsigned slot = (unsigned)(level + 2); /* child level + 1, level >= -1 */
    uint64_t *list = realloc(g->tables[slot], (g->ntables[slot] + 1u) * sizeof *list);
    if (list == NULL)
        exit(2);
    list[g->ntables[slot]++] = pa;
    g->tables[slot] = list;
    gen_table(g, pa, level + 1, va);
    return table_attrs(g) | pa;
}

/* Another table of the same level: shared subtrees, the way page tables
 * share kernel mappings. Same level only, so that no table's pages are ever
 * read as table pointers into non-fake RAM that QEMU would find mapped. */
static uint64_t make_alias_table(struct gen *g, int level)
{
    unsigned slot = (unsigned)(level + 2);
    if (g->ntables[slot] == 0)
        return make_invalid(g);
    return table_attrs(g) | g->tables[slot][rng_below(g->rng, g->ntables[slot])];
}

static uint64_t make_beyond_oa_table(struct gen *g, int level)
{
    unsigned field_bits = oa_field_bits(g);
    if (g->oa_bits >= field_bits)
        return make_alias_table(g, level);
    uint64_t pa = RAM_PA | BIT(g->oa_bits + (unsigned)rng_below(g->rng, field_bits - g->oa_bits));
    return table_attrs(g) | oa_field(g, pa);
}

static uint64_t make_hole_table(struct gen *g)
{
    return table_attrs(g) | (HOLE_PA + (rng_below(g->rng, 64) << gen_half(g)->granule_shift));
}

/* Weighted choice of what to put in one entry of a level 0-2 table. */
static uint64_t make_upper_entry(struct gen *g, int level, uint64_t va)
{
    unsigned roll = (unsigned)rng_below(g->rng, 100);
    if (roll < 34)
        return g->budget > 0 ? make_child_table(g, level, va) : make_leaf(g, level, false);
    if (roll < 39)
        return make_alias_table(g, level);
    if (roll < 44)
        return make_beyond_oa_table(g, level);
    if (roll < 46)
        return make_hole_table(g);
    if (roll >= 88)
        return make_invalid(g);
    /* QEMU 7.2 walks blocks at invalid levels (a known deviation): keep a
     * few, but let them not swamp the probes */
    if (!block_ok(gen_half(g), level) && !rng_chance(g->rng, 15))
        return g->budget > 0 ? make_child_table(g, level, va) : make_invalid(g);
    return make_leaf(g, level, false);
}

static uint64_t make_l3_entry(struct gen *g)
{
    unsigned roll = (unsigned)rng_below(g->rng, 100);
    if (roll < 75)
        return make_leaf(g, 3, true);
    if (roll < 85)
        return make_leaf(g, 3, false); /* reserved '01' at level 3 */
    return make_invalid(g);
}

static unsigned pick_index(struct gen *g, unsigned n)
{
    unsigned roll = (unsigned)rng_below(g->rng, 100);
    if (roll < 10)
        return 0;
    if (roll < 20)
        return n - 1u;
    return (unsigned)rng_below(g->rng, n);
}

/* QEMU 7.2 aborts (an assertion in arm_fi_to_lfsc) on any fault reported at
 * level -1, so every level -1 entry is a sound table pointer: the walk
 * always reaches level 0. mmsim's level -1 faults stay with the unit tests. */
static void gen_level_m1(struct gen *g, uint64_t table_pa, uint64_t va_base)
{
    const struct half_cfg *h = gen_half(g);
    unsigned shift = level_shift(h, -1);
    for (unsigned i = 0; i < entries_at(h, -1); i++) {
        uint64_t va = va_base + ((uint64_t)i << shift);
        bool fresh = g->ntables[1] == 0 || (g->budget > 0 && rng_chance(g->rng, 50));
        uint64_t raw = fresh ? make_child_table(g, -1, va) : make_alias_table(g, -1);
        ram_set(g->ram, table_pa + 8u * i, raw);
        add_target(g, va, BIT(shift));
    }
}

static void gen_table(struct gen *g, uint64_t table_pa, int level, uint64_t va_base)
{
    const struct half_cfg *h = gen_half(g);
    if (level < 0) {
        gen_level_m1(g, table_pa, va_base);
        return;
    }
    unsigned n = entries_at(h, level);
    unsigned fill = level == start_level(h) ? 6u + (unsigned)rng_below(g->rng, 10)
                                            : 2u + (unsigned)rng_below(g->rng, 8);
    unsigned shift = level_shift(h, level);
    for (unsigned k = 0; k < fill; k++) {
        unsigned i = pick_index(g, n);
        uint64_t desc_pa = table_pa + 8u * i;
        if (ram_get(g->ram, desc_pa) != 0)
            continue;
        uint64_t va = va_base + ((uint64_t)i << shift);
        uint64_t raw = level == 3 ? make_l3_entry(g) : make_upper_entry(g, level, va);
        ram_set(g->ram, desc_pa, raw);
        add_target(g, va, BIT(shift));
    }
}

static uint64_t half_va_base(const struct half_cfg *h, unsigned half)
{
    return half ? ~0ULL << h->va_bits : 0;
}

/* The root table sits at an offset aligned to its own size when it is
 * smaller than a granule, which TTBR BADDR allows (and AT must honour). */
static uint64_t gen_root(struct gen *g)
{
    const struct half_cfg *h = gen_half(g);
    uint64_t size = 8ULL * entries_at(h, start_level(h));
    uint64_t page = BIT(h->granule_shift);
    uint64_t pa = ram_alloc(g->ram, page, page);
    if (pa == 0)
        return 0;
    if (size < page) {
        uint64_t align = size < 64u ? 64u : size;
        pa += align * rng_below(g->rng, page / align);
    }
    gen_table(g, pa, start_level(h), half_va_base(h, g->half));
    return pa;
}

static void gen_free(struct gen *g)
{
    for (unsigned i = 0; i < 5u; i++)
        free(g->tables[i]);
    free(g->targets);
}

/* ---- probe VAs ------------------------------------------------------------ */

struct probe_set
{
    struct mmsim_export_vector *vectors;
    size_t nvectors;
};

static uint64_t va_in_target(struct rng *rng, const struct target *t)
{
    unsigned roll = (unsigned)rng_below(rng, 10);
    uint64_t offset = roll == 0 ? 0 : roll == 1 ? t->size - 1u : rng_below(rng, t->size);
    return t->va + offset;
}

static uint64_t va_anywhere(struct rng *rng, const struct half_cfg *h, unsigned half)
{
    return half_va_base(h, half) | (rng_next(rng) & (BIT(h->va_bits) - 1u));
}

/* Mostly inside what was populated; some uniform in the half, some outside
 * both ranges, some with a non-zero top byte (TBI or a level 0 fault). */
static uint64_t pick_va(struct rng *rng, const struct xcfg *c, struct gen gens[2])
{
    unsigned half = (unsigned)rng_below(rng, 2);
    const struct half_cfg *h = &c->half[half];
    unsigned roll = (unsigned)rng_below(rng, 100);
    uint64_t va;
    if (roll < 70 && gens[half].ntargets > 0)
        va = va_in_target(rng, &gens[half].targets[rng_below(rng, gens[half].ntargets)]);
    else
        va = va_anywhere(rng, h, half);
    if (roll >= 85 && roll < 92)
        va ^= BIT(h->va_bits + (unsigned)rng_below(rng, 64u - h->va_bits));
    else if (roll >= 92)
        va = (va & ~BITS(63, 56)) | (rng_next(rng) & BITS(63, 56));
    return va;
}

/* Each VA is probed by all four AT flavours, in the stub's op order. */
static void make_probes(struct rng *rng, const struct xcfg *c, struct gen gens[2], size_t nvas,
                        struct probe_set *out)
{
    out->nvectors = 4u * nvas;
    out->vectors = xcalloc(out->nvectors, sizeof *out->vectors);
    for (size_t i = 0; i < nvas; i++) {
        uint64_t va = pick_va(rng, c, gens);
        for (unsigned k = 0; k < 4u; k++)
            out->vectors[4u * i + k] = (struct mmsim_export_vector){
                .va = va,
                .el = k < 2u ? 1 : 0,
                .op = (k & 1u) ? MMSIM_OP_WRITE : MMSIM_OP_READ,
            };
    }
}

/* ---- reading the export back ---------------------------------------------- */

struct regs_file
{
    uint64_t tcr, mair, sctlr, ttbr0, ttbr1;
    uint64_t tables_base, tables_size;
    unsigned parange_bits, seen;
};

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || (*end != '\0' && *end != '\n'))
        return false;
    *out = v;
    return true;
}

static bool read_regs(const char *dir, struct regs_file *rf)
{
    char path[4096], line[512];
    if (!join_path(path, sizeof path, dir, "regs.txt"))
        return false;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    *rf = (struct regs_file){ 0 };
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        char *eq = strstr(line, " = ");
        uint64_t v;
        if (eq == NULL || !parse_u64(eq + 3, &v)) {
            ok = false;
            break;
        }
        *eq = '\0';
        static const char *const k_keys[] = { "TCR_EL1", "MAIR_EL1", "SCTLR_EL1", "TTBR0_EL1",
                                              "TTBR1_EL1", "TABLES_BASE", "TABLES_SIZE",
                                              "PARANGE_BITS" };
        uint64_t *dst[] = { &rf->tcr, &rf->mair, &rf->sctlr, &rf->ttbr0, &rf->ttbr1,
                            &rf->tables_base, &rf->tables_size, NULL };
        for (unsigned k = 0; k < 8u; k++) {
            if (strcmp(line, k_keys[k]) != 0)
                continue;
            if (dst[k])
                *dst[k] = v;
            else
                rf->parange_bits = (unsigned)v;
            rf->seen |= 1u << k;
        }
    }
    fclose(f);
    return ok && rf->seen == 0xffu;
}

struct expect
{
    uint64_t va;
    unsigned el;
    bool write;
    bool ok;
    uint64_t pa;
    unsigned attr, sh;
    char kind[16];
    int level;
    unsigned fsc;
    uint64_t par;
};

static unsigned split_words(char *line, char **words, unsigned max)
{
    unsigned n = 0;
    for (char *tok = strtok(line, " \n"); tok && n < max; tok = strtok(NULL, " \n"))
        words[n++] = tok;
    return n;
}

static bool parse_vector_line(char *line, struct expect *e)
{
    char *w[9];
    uint64_t v[4];
    if (split_words(line, w, 9) != 8 || !parse_u64(w[0], &e->va) || !parse_u64(w[7], &e->par))
        return false;
    if ((strcmp(w[1], "EL0") != 0 && strcmp(w[1], "EL1") != 0) ||
        (strcmp(w[2], "R") != 0 && strcmp(w[2], "W") != 0))
        return false;
    e->el = (unsigned)(w[1][2] - '0');
    e->write = w[2][0] == 'W';
    e->ok = strcmp(w[3], "OK") == 0;
    if (e->ok) {
        if (!parse_u64(w[4], &v[0]) || !parse_u64(w[5], &v[1]) || !parse_u64(w[6], &v[2]))
            return false;
        e->pa = v[0];
        e->attr = (unsigned)v[1];
        e->sh = (unsigned)v[2];
        return true;
    }
    if (strcmp(w[3], "FAULT") != 0 || strlen(w[4]) >= sizeof e->kind || !parse_u64(w[6], &v[3]))
        return false;
    strcpy(e->kind, w[4]);
    e->level = atoi(w[5]);
    e->fsc = (unsigned)v[3];
    return true;
}

/* The exported result fields and the exported PAR must tell the same story. */
static bool expect_consistent(const struct expect *e)
{
    if (e->ok)
        return !(e->par & PAR_F) && (e->par & PAR_PA_MASK) == (e->pa & PAR_PA_MASK) &&
               (e->par >> 56) == e->attr;
    return (e->par & PAR_F) && ((e->par >> 1) & 0x3fu) == e->fsc;
}

static struct expect *read_vectors(const char *dir, size_t *count)
{
    char path[4096], line[512];
    if (!join_path(path, sizeof path, dir, "vectors.txt"))
        return false;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 1024, n = 0;
    struct expect *v = xcalloc(cap, sizeof *v);
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (n == cap) {
            cap *= 2;
            struct expect *grown = realloc(v, cap * sizeof *v);
            if (grown == NULL)
                exit(2);
            v = grown;
        }
        ok = parse_vector_line(line, &v[n]) && expect_consistent(&v[n]);
        if (!ok)
            fprintf(stderr, "xcheck: vectors.txt line %zu is malformed or inconsistent\n", n + 1u);
        n++;
    }
    fclose(f);
    if (!ok) {
        free(v);
        return NULL;
    }
    *count = n;
    return v;
}

/* ---- checking the exported tables ------------------------------------------ */

/* A table view as this file's own walk reaches it. */
struct view
{
    uint64_t pa;
    int level;
    unsigned half;
    bool present; /* inside the fake RAM; otherwise the walk aborts there */
};

struct views
{
    struct view *v;
    size_t n, cap;
};

static bool views_has(const struct views *vs, uint64_t pa, int level, unsigned half)
{
    for (size_t i = 0; i < vs->n; i++)
        if (vs->v[i].pa == pa && vs->v[i].level == level && vs->v[i].half == half)
            return true;
    return false;
}

static void views_add(struct views *vs, uint64_t pa, int level, unsigned half)
{
    if (views_has(vs, pa, level, half))
        return;
    if (vs->n == vs->cap) {
        vs->cap = vs->cap ? 2u * vs->cap : 64u;
        struct view *grown = realloc(vs->v, vs->cap * sizeof *grown);
        if (grown == NULL)
            exit(2);
        vs->v = grown;
    }
    vs->v[vs->n++] = (struct view){ pa, level, half, ram_holds(pa, 8) };
}

static uint64_t next_table_pa(const struct xcfg *c, unsigned half, uint64_t raw)
{
    if (c->half[half].ds)
        return (raw & BITS(49, c->half[half].granule_shift)) | ((raw >> 8) & 3u) << 50;
    uint64_t pa = raw & BITS(47, c->half[half].granule_shift);
    if (cfg_lpa(c, half))
        pa |= ((raw >> 12) & 0xfu) << 48;
    return pa;
}

/* Breadth-first over table descriptors ('11' above level 3) whose address
 * is within the output size: what the exporter is required to list. */
static void reachable_views(const struct xcfg *c, const struct ram *ram, const uint64_t root_pa[2],
                            struct views *vs)
{
    for (unsigned half = 0; half < 2u; half++)
        if (half_walks(c, half))
            views_add(vs, root_pa[half], start_level(&c->half[half]), half);
    for (size_t i = 0; i < vs->n; i++) {
        const struct view cur = vs->v[i];
        if (!cur.present || cur.level == 3)
            continue;
        unsigned n = entries_at(&c->half[cur.half], cur.level);
        for (unsigned k = 0; k < n; k++) {
            uint64_t raw = ram_get(ram, cur.pa + 8u * k);
            uint64_t next = next_table_pa(c, cur.half, raw);
            if ((raw & 3u) == 3u && (next >> cfg_oa_bits(c, cur.half)) == 0)
                views_add(vs, next, cur.level + 1, cur.half);
        }
    }
}

/* Every listed entry must equal RAM, every non-zero RAM entry must be
 * listed, and the header must name a view the walk can reach. */
static bool check_listing_table(FILE *f, const struct xcfg *c, const struct ram *ram,
                                const struct view *view, unsigned entries)
{
    char line[512];
    unsigned listed = 0, nonzero = 0;
    for (unsigned k = 0; k < entries; k++)
        nonzero += ram_get(ram, view->pa + 8u * k) != 0;
    while (fgets(line, sizeof line, f)) {
        if (strcmp(line, "end\n") == 0)
            return listed == nonzero;
        char *w[6];
        uint64_t index, raw;
        unsigned n = split_words(line, w, 6);
        if (n < 3 || !parse_u64(w[0], &index) || !parse_u64(w[1], &raw) || index >= entries ||
            ram_get(ram, view->pa + 8u * index) != raw || raw == 0)
            return false;
        listed++;
    }
    return false;
}

static bool check_listing(const char *dir, const struct xcfg *c, const struct ram *ram,
                          const struct views *vs)
{
    char path[4096], line[512];
    if (!join_path(path, sizeof path, dir, "tables.txt"))
        return false;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t seen = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *w[8];
        unsigned n = split_words(line, w, 8);
        uint64_t pa;
        bool table = n == 7 && strcmp(w[0], "table") == 0;
        bool absent = n == 5 && strcmp(w[0], "absent") == 0;
        if ((!table && !absent) || !parse_u64(w[1], &pa) || strncmp(w[4], "ttbr", 4) != 0) {
            ok = false;
            break;
        }
        struct view view = { pa, atoi(w[3]), (unsigned)(w[4][4] - '0'), table };
        ok = views_has(vs, view.pa, view.level, view.half) && ram_holds(pa, 8) == table;
        if (ok && table)
            ok = (unsigned)atoi(w[6]) == entries_at(&c->half[view.half], view.level) &&
                 check_listing_table(f, c, ram, &view, (unsigned)atoi(w[6]));
        seen++;
    }
    fclose(f);
    return ok && seen == vs->n;
}

/* tables.bin must be RAM itself over every present table. */
static bool check_image(const char *dir, const struct xcfg *c, const struct ram *ram,
                        const struct views *vs, const struct regs_file *rf)
{
    char path[4096];
    if (!join_path(path, sizeof path, dir, "tables.bin"))
        return false;
    uint8_t *img;
    size_t size;
    if (!read_file(path, &img, &size))
        return false;
    bool ok = size == rf->tables_size;
    for (size_t i = 0; ok && i < vs->n; i++) {
        const struct view *view = &vs->v[i];
        if (!view->present)
            continue;
        uint64_t bytes = 8ULL * entries_at(&c->half[view->half], view->level);
        ok = view->pa >= rf->tables_base && view->pa - rf->tables_base + bytes <= size &&
             memcmp(img + (view->pa - rf->tables_base), ram->bytes + (view->pa - RAM_PA), bytes) == 0;
    }
    free(img);
    return ok;
}

/* ---- running QEMU ---------------------------------------------------------- */

struct options
{
    const char *qemu;
    const char *stub;
    const char *workdir;
    uint64_t seed;
    size_t vas;
    unsigned configs;
    int only; /* run just this config, or -1 */
    bool keep;
    bool mutate;
    unsigned max_reports;
};

static bool write_job(const char *path, const struct regs_file *rf, const struct expect *ex,
                      size_t n, const char *result_path)
{
    size_t words = XC_JOB_HEADER_WORDS + XC_ENTRY_WORDS * n;
    size_t path_len = strlen(result_path);
    if (path_len >= 8u * XC_JOB_PATH_WORDS || XC_JOB_PA + 8u * words > XC_JOB_LIMIT_PA)
        return false;
    uint8_t *blob = xcalloc(words, 8);
    const uint64_t head[] = { XC_JOB_MAGIC, n, rf->mair, rf->tcr, rf->sctlr, rf->ttbr0, rf->ttbr1, path_len };
    for (unsigned i = 0; i < sizeof head / sizeof head[0]; i++)
        put_le64(blob + 8u * i, head[i]);
    memcpy(blob + 8u * XC_JOB_W_PATH, result_path, path_len);
    for (size_t i = 0; i < n; i++) {
        uint64_t op = (ex[i].el == 0 ? XC_AT_S1E0R : XC_AT_S1E1R) + (ex[i].write ? 1u : 0u);
        put_le64(blob + 8u * (XC_JOB_HEADER_WORDS + XC_ENTRY_WORDS * i), ex[i].va);
        put_le64(blob + 8u * (XC_JOB_HEADER_WORDS + XC_ENTRY_WORDS * i + 1u), op);
    }
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(blob, 8, words, f) == words;
    if (f && fclose(f) != 0)
        ok = false;
    free(blob);
    return ok;
}

/* Waits for the child, killing it (and only it) after the timeout. */
static int wait_child(pid_t pid, double timeout_s)
{
    double deadline = now_s() + timeout_s;
    for (;;) {
        int status;
        pid_t got = waitpid(pid, &status, WNOHANG);
        if (got == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (got < 0)
            return -1;
        if (now_s() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -2;
        }
        struct timespec nap = { 0, 2000000 };
        nanosleep(&nap, NULL);
    }
}

static int run_qemu(const struct options *o, const char *dir, const struct regs_file *rf)
{
    char job_dev[4200], tab_dev[4200], log_path[4096];
    snprintf(job_dev, sizeof job_dev, "loader,file=%s/job.bin,addr=0x%llx,force-raw=on", dir,
             (unsigned long long)XC_JOB_PA);
    snprintf(tab_dev, sizeof tab_dev, "loader,file=%s/tables.bin,addr=0x%llx,force-raw=on", dir,
             (unsigned long long)rf->tables_base);
    if (!join_path(log_path, sizeof log_path, dir, "qemu.log"))
        return -1;
    const char *argv[] = { o->qemu, "-M", "virt,virtualization=on", "-cpu", "max", "-m", "1G",
                           "-nographic", "-monitor", "none", "-nic", "none", "-semihosting-config",
                           "enable=on,target=native", "-kernel", o->stub, "-device", job_dev,
                           "-device", tab_dev, NULL };
    /* No NIC: its option ROM comes from a package a minimal install lacks.
     * An empty image (both halves disabled) has nothing to load. */
    if (rf->tables_size == 0)
        argv[18] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || log < 0)
            _exit(126);
        dup2(in, 0);
        dup2(log, 1);
        dup2(log, 2);
        execv(o->qemu, (char *const *)argv);
        _exit(127);
    }
    return wait_child(pid, QEMU_TIMEOUT_S);
}

struct results
{
    uint64_t *words; /* header, then PAR/ESR pairs */
    size_t count;
};

static bool read_results(const char *dir, size_t expected, struct results *out)
{
    char path[4096];
    if (!join_path(path, sizeof path, dir, "results.bin"))
        return false;
    uint8_t *data;
    size_t size;
    if (!read_file(path, &data, &size))
        return false;
    size_t words = size / 8u;
    bool ok = size % 8u == 0 && words >= XC_RES_HEADER_WORDS;
    out->words = xcalloc(words, sizeof *out->words);
    for (size_t i = 0; i < words; i++)
        out->words[i] = get_le64(data + 8u * i);
    free(data);
    ok = ok && out->words[XC_RES_W_MAGIC] == XC_RESULT_MAGIC && out->words[XC_RES_W_COUNT] == expected &&
         words == XC_RES_HEADER_WORDS + XC_RES_ENTRY_WORDS * expected;
    out->count = expected;
    return ok;
}

/* The stub reports the CPU's ID registers; mmsim was told PARange 52 and the
 * configurations use E0PD and HPD, so the CPU must have them. */
static bool check_cpu(const struct results *r)
{
    unsigned parange = (unsigned)(r->words[XC_RES_W_MMFR0] & 0xfu);
    unsigned hpds = (unsigned)((r->words[XC_RES_W_MMFR1] >> 12) & 0xfu);
    unsigned e0pd = (unsigned)((r->words[XC_RES_W_MMFR2] >> 60) & 0xfu);
    unsigned varange = (unsigned)((r->words[XC_RES_W_MMFR2] >> 16) & 0xfu);
    if (parange != 6 || hpds == 0 || e0pd == 0 || varange == 0 || r->words[XC_RES_W_CURRENT_EL] != 2) {
        fprintf(stderr,
                "xcheck: the QEMU CPU lacks what the run assumes (MMFR0 0x%" PRIx64 " MMFR1 0x%" PRIx64
                " MMFR2 0x%" PRIx64 ", EL%" PRIu64 ")\n",
                r->words[XC_RES_W_MMFR0], r->words[XC_RES_W_MMFR1], r->words[XC_RES_W_MMFR2],
                r->words[XC_RES_W_CURRENT_EL]);
        return false;
    }
    return true;
}

/* ---- comparison ------------------------------------------------------------ */

/* What one AT's comparison came to. */
enum klass
{
    K_EXACT,      /* PARs identical */
    K_EXPLAINED,  /* differ only as the known QEMU 7.2 deviations below say */
    K_WALK_ABORT, /* walk read non-RAM: QEMU took the Data Abort mmsim predicted */
    K_MISMATCH,
    K_COUNT,
};

/* Known QEMU 7.2 deviations (spec §10); one AT can show several. */
enum deviation
{
    D_BLOCK_LEVEL, /* item 2: blocks at invalid levels are walked as blocks */
    D_SH,          /* item 3: PAR.SH for Device / Normal-NC is the descriptor's */
    D_NS,          /* item 13: PAR.NS reads 1 */
    D_FAULT_HI,    /* item 13: faulting-PAR bits [63:48] */
    D_COUNT,
};

static const char *const k_klass_names[K_COUNT] = { "exact", "explained", "walk-abort", "MISMATCH" };
static const char *const k_dev_names[D_COUNT] = { "item2 block-at-invalid-level", "item3 PAR.SH-Device/NC",
                                                  "item13 PAR.NS", "item13 fault-PAR[63:48]" };

struct path
{
    unsigned n;
    int level[6];
    uint64_t desc_pa[6], desc[6];
};

/* This file's own walk, for diagnostics and for recognising the deviations:
 * it records the descriptors an AT would read, without judging them. */
static void walk_path(const struct xcfg *c, const struct ram *ram, const uint64_t root_pa[2],
                      uint64_t va, struct path *p)
{
    unsigned half = (unsigned)((va >> 55) & 1u);
    const struct half_cfg *h = &c->half[half];
    p->n = 0;
    uint64_t table = root_pa[half];
    for (int level = start_level(h); level <= 3 && p->n < 6u; level++) {
        unsigned shift = level_shift(h, level);
        uint64_t index = (va >> shift) & (entries_at(h, level) - 1u);
        uint64_t pa = table + 8u * index;
        uint64_t raw = 0;
        if (!ram_read64((void *)(uintptr_t)ram, pa, &raw)) {
            p->level[p->n] = level;
            p->desc_pa[p->n] = pa;
            p->desc[p->n++] = 0;
            return;
        }
        p->level[p->n] = level;
        p->desc_pa[p->n] = pa;
        p->desc[p->n++] = raw;
        table = next_table_pa(c, half, raw);
        if ((raw & 3u) != 3u || (table >> cfg_oa_bits(c, half)) != 0)
            return;
    }
}

static uint64_t mair_byte_of(const struct xcfg *c, uint64_t desc)
{
    return (c->mair >> (8u * ((desc >> 2) & 7u))) & 0xffu;
}

/* Item 2: the walk ended on a '01' descriptor where the ASL allows no
 * block. QEMU 7.2 uses it as a block of that level's size; accept what it
 * says only if it is consistent with that reading. */
static bool is_block_level_deviation(const struct xcfg *c, const struct expect *e, const struct path *p,
                                     uint64_t qpar)
{
    unsigned half = (unsigned)((e->va >> 55) & 1u);
    const struct half_cfg *h = &c->half[half];
    if (e->ok || strcmp(e->kind, "translation") != 0 || p->n == 0)
        return false;
    int level = p->level[p->n - 1u];
    uint64_t raw = p->desc[p->n - 1u];
    if (level != e->level || level == 3 || (raw & 3u) != 1u || block_ok(h, level))
        return false;
    if (qpar & PAR_F)
        return (((qpar >> 1) & 3u) == (unsigned)level);
    uint64_t size = BIT(level_shift(h, level));
    uint64_t oa = (next_table_pa(c, half, raw) & ~(size - 1u)) | (e->va & (size - 1u));
    return (qpar & PAR_PA_MASK) == (oa & PAR_PA_MASK) && (qpar >> 56) == mair_byte_of(c, raw);
}

static bool device_or_nc(unsigned attr)
{
    return (attr & 0xf0u) == 0 || attr == 0x44u;
}

/* Classifies one AT; `devs` gets a bit per deviation class that applied. */
static enum klass classify(const struct xcfg *c, const struct expect *e, const struct path *p,
                           uint64_t qpar, uint64_t esr, unsigned *devs)
{
    *devs = 0;
    bool want_abort = !e->ok && strcmp(e->kind, "extabort") == 0;
    if (esr != 0 || want_abort) {
        bool match = esr != 0 && want_abort && (esr >> 26) == 0x25u && (esr & 0x3fu) == e->fsc;
        return match ? K_WALK_ABORT : K_MISMATCH;
    }
    if (qpar == e->par)
        return K_EXACT;
    if (is_block_level_deviation(c, e, p, qpar)) {
        *devs |= 1u << D_BLOCK_LEVEL;
        return K_EXPLAINED;
    }
    uint64_t diff = qpar ^ e->par;
    bool both_ok = !(qpar & PAR_F) && !(e->par & PAR_F);
    bool both_fault = (qpar & PAR_F) && (e->par & PAR_F);
    if (both_ok && (diff & PAR_NS) && (qpar & PAR_NS)) {
        diff &= ~PAR_NS;
        *devs |= 1u << D_NS;
    }
    /* QEMU 7.2 reports the SH it walked with: the leaf's, or 0 (its default)
     * for the MMU-off flat mapping, where the ASL says 0b10 */
    uint64_t leaf = p->n ? p->desc[p->n - 1u] : 0;
    const struct half_cfg *h = &c->half[(e->va >> 55) & 1u];
    unsigned qemu_sh = c->mmu_off ? 0u : h->ds ? h->sh : (unsigned)(leaf >> 8) & 3u;
    if (both_ok && (diff & PAR_SH_MASK) && device_or_nc(e->attr) && ((qpar >> 7) & 3u) == qemu_sh) {
        diff &= ~PAR_SH_MASK;
        *devs |= 1u << D_SH;
    }
    if (both_fault && (diff & PAR_FAULT_IMPDEF_MASK)) {
        diff &= ~PAR_FAULT_IMPDEF_MASK;
        *devs |= 1u << D_FAULT_HI;
    }
    return diff ? K_MISMATCH : K_EXPLAINED;
}

/* mmsim's expected outcome, to show what a run covered. */
enum outcome
{
    O_OK,
    O_ADDRSIZE,
    O_TRANSLATION,
    O_ACCESSFLAG,
    O_PERMISSION,
    O_EXTABORT,
    O_COUNT,
};

static const char *const k_outcome_names[O_COUNT] = { "ok", "addrsize", "translation", "accessflag",
                                                      "permission", "extabort" };

static enum outcome outcome_of(const struct expect *e)
{
    if (e->ok)
        return O_OK;
    for (unsigned k = 1; k < O_COUNT; k++)
        if (strcmp(e->kind, k_outcome_names[k]) == 0)
            return (enum outcome)k;
    return O_TRANSLATION;
}

struct tally
{
    size_t ats, vas;
    size_t outcome[O_COUNT];
    size_t klass[K_COUNT];
    size_t dev[D_COUNT];
};

static void report_mismatch(const struct options *o, const struct xcfg *c, const struct expect *e,
                            const struct path *p, uint64_t qpar, uint64_t esr)
{
    char desc[200];
    cfg_describe(c, desc, sizeof desc);
    fprintf(stderr, "MISMATCH seed %" PRIu64 " config %u (%s)\n", o->seed, c->index, desc);
    fprintf(stderr, "  VA 0x%016" PRIx64 " AT S1E%u%c\n", e->va, e->el, e->write ? 'W' : 'R');
    if (e->ok)
        fprintf(stderr, "  mmsim: OK pa 0x%" PRIx64 " attr 0x%02x sh %u, PAR 0x%016" PRIx64 "\n", e->pa,
                e->attr, e->sh, e->par);
    else
        fprintf(stderr, "  mmsim: FAULT %s level %d fsc 0x%02x, PAR 0x%016" PRIx64 "\n", e->kind, e->level,
                e->fsc, e->par);
    if (esr)
        fprintf(stderr, "  qemu : exception ESR_EL2 0x%08" PRIx64 " (FSC 0x%02x)\n", esr,
                (unsigned)(esr & 0x3fu));
    else
        fprintf(stderr, "  qemu : PAR 0x%016" PRIx64 " (%s)\n", qpar, (qpar & PAR_F) ? "fault" : "ok");
    for (unsigned i = 0; i < p->n; i++)
        fprintf(stderr, "  L%d desc @0x%010" PRIx64 " = 0x%016" PRIx64 "\n", p->level[i], p->desc_pa[i],
                p->desc[i]);
}

static size_t compare(const struct options *o, const struct xcfg *c, const struct ram *ram,
                      const uint64_t root_pa[2], const struct expect *ex, const struct results *r,
                      struct tally *t, size_t *reports)
{
    size_t mismatches = 0;
    for (size_t i = 0; i < r->count; i++) {
        uint64_t qpar = r->words[XC_RES_HEADER_WORDS + XC_RES_ENTRY_WORDS * i];
        uint64_t esr = r->words[XC_RES_HEADER_WORDS + XC_RES_ENTRY_WORDS * i + 1u];
        struct path p;
        walk_path(c, ram, root_pa, ex[i].va, &p);
        unsigned devs;
        enum klass k = classify(c, &ex[i], &p, qpar, esr, &devs);
        t->klass[k]++;
        t->outcome[outcome_of(&ex[i])]++;
        for (unsigned d = 0; d < D_COUNT; d++)
            t->dev[d] += (devs >> d) & 1u;
        if (k != K_MISMATCH)
            continue;
        mismatches++;
        if ((*reports)++ < o->max_reports)
            report_mismatch(o, c, &ex[i], &p, qpar, esr);
    }
    t->ats += r->count;
    return mismatches;
}

/* ---- one configuration ------------------------------------------------------ */

struct run_state
{
    const struct options *o;
    struct tally total;
    size_t reports;
    bool failed;
    unsigned ran, detected; /* configs run; of those, with a mismatch */
    unsigned not_applicable; /* --mutate: configs where nothing translates */
};

static bool fail_cfg(struct run_state *rs, const struct xcfg *c, const char *dir, const char *what)
{
    fprintf(stderr, "xcheck: config %u: %s (files in %s)\n", c->index, what, dir);
    rs->failed = true;
    return false;
}

enum mutation
{
    MUT_DONE,
    MUT_NOT_APPLICABLE, /* nothing translates, so there is no leaf to corrupt */
    MUT_ERROR,
};

/* The mutation self-check: clear the valid bit of the leaf behind the first
 * vector mmsim expects to succeed, in tables.bin only. QEMU then must
 * disagree with the exported expectation, or the comparison is blind. */
static enum mutation mutate_image(const char *dir, const struct regs_file *rf, const struct xcfg *c,
                                  const struct ram *ram, const uint64_t root_pa[2],
                                  const struct expect *ex, size_t n)
{
    size_t i = 0;
    while (i < n && !ex[i].ok)
        i++;
    if (i == n)
        return MUT_NOT_APPLICABLE;
    struct path p;
    walk_path(c, ram, root_pa, ex[i].va, &p);
    char path[4096];
    if (p.n == 0 || !join_path(path, sizeof path, dir, "tables.bin"))
        return MUT_ERROR;
    FILE *f = fopen(path, "r+b");
    if (f == NULL)
        return MUT_ERROR;
    uint8_t b[8];
    put_le64(b, p.desc[p.n - 1u] & ~1ULL);
    bool ok = fseek(f, (long)(p.desc_pa[p.n - 1u] - rf->tables_base), SEEK_SET) == 0 &&
              fwrite(b, 1, 8, f) == 8;
    return fclose(f) == 0 && ok ? MUT_DONE : MUT_ERROR;
}

static bool export_config(struct run_state *rs, const struct xcfg *c, const char *dir, struct ram *ram,
                          const uint64_t root_pa[2], const struct probe_set *ps)
{
    const struct mmsim_vmsa_mem mem = { .read64 = ram_read64, .ctx = ram };
    const struct mmsim_export_job job = {
        .regs = {
            .tcr = cfg_tcr(c),
            .mair = c->mair,
            .sctlr = SCTLR_RES1 | (c->mmu_off ? 0 : SCTLR_M) | (c->wxn ? SCTLR_WXN : 0),
            .ttbr0 = root_pa[0] | (uint64_t)(c->index + 1u) << 48,
            .ttbr1 = root_pa[1] | (uint64_t)(c->index + 0x100u) << 48,
            .parange_bits = MMSIM_PARANGE_BITS,
        },
        .mem = &mem,
        .vectors = ps->vectors,
        .nvectors = ps->nvectors,
    };
    int err = mmsim_export_write(dir, &job);
    if (err != 0) {
        char what[64];
        snprintf(what, sizeof what, "mmsim_export_write returned %d", err);
        return fail_cfg(rs, c, dir, what);
    }
    struct regs_file rf;
    if (!read_regs(dir, &rf))
        return fail_cfg(rs, c, dir, "regs.txt unreadable");
    if (rf.tcr != job.regs.tcr || rf.mair != job.regs.mair || rf.sctlr != job.regs.sctlr ||
        rf.ttbr0 != job.regs.ttbr0 || rf.ttbr1 != job.regs.ttbr1 || rf.parange_bits != MMSIM_PARANGE_BITS)
        return fail_cfg(rs, c, dir, "regs.txt does not hold the registers exported");
    struct views vs = { 0 };
    reachable_views(c, ram, root_pa, &vs);
    bool listing_ok = check_listing(dir, c, ram, &vs);
    bool image_ok = check_image(dir, c, ram, &vs, &rf);
    free(vs.v);
    if (!listing_ok)
        return fail_cfg(rs, c, dir, "tables.txt does not list exactly the reachable tables");
    if (!image_ok)
        return fail_cfg(rs, c, dir, "tables.bin differs from RAM");
    return true;
}

static bool check_expect_order(const struct expect *ex, size_t n, const struct probe_set *ps)
{
    if (n != ps->nvectors)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ex[i].va != ps->vectors[i].va || ex[i].el != ps->vectors[i].el ||
            ex[i].write != (ps->vectors[i].op == MMSIM_OP_WRITE))
            return false;
    return true;
}

/* Job blob, QEMU run and comparison, all from the exported files. */
static bool run_config_files(struct run_state *rs, const struct xcfg *c, const char *dir,
                             const struct ram *ram, const uint64_t root_pa[2], const struct probe_set *ps,
                             struct tally *t)
{
    struct regs_file rf;
    size_t n = 0;
    if (!read_regs(dir, &rf))
        return fail_cfg(rs, c, dir, "regs.txt unreadable");
    if (rf.tables_size &&
        (rf.tables_base < XC_TABLES_MIN_PA || rf.tables_base + rf.tables_size > XC_TABLES_LIMIT_PA))
        return fail_cfg(rs, c, dir, "table image outside the guest window");
    struct expect *ex = read_vectors(dir, &n);
    if (ex == NULL || !check_expect_order(ex, n, ps)) {
        free(ex);
        return fail_cfg(rs, c, dir, "vectors.txt does not match the vectors exported");
    }
    char job_path[4096], result_path[4096];
    bool ok = join_path(job_path, sizeof job_path, dir, "job.bin") &&
              join_path(result_path, sizeof result_path, dir, "results.bin") &&
              write_job(job_path, &rf, ex, n, result_path);
    if (ok && rs->o->mutate) {
        enum mutation m = mutate_image(dir, &rf, c, ram, root_pa, ex, n);
        if (m == MUT_NOT_APPLICABLE) {
            printf("config %u: no vector translates, nothing to corrupt\n", c->index);
            rs->not_applicable++;
            free(ex);
            return true;
        }
        ok = m == MUT_DONE;
    }
    int rc = ok ? run_qemu(rs->o, dir, &rf) : -1;
    struct results r = { 0 };
    if (rc != 0 || !read_results(dir, n, &r) || !check_cpu(&r)) {
        char what[128];
        snprintf(what, sizeof what, "QEMU run failed (status %d; see qemu.log)", rc);
        free(ex);
        free(r.words);
        return fail_cfg(rs, c, dir, what);
    }
    size_t mismatches = compare(rs->o, c, ram, root_pa, ex, &r, t, &rs->reports);
    free(ex);
    free(r.words);
    if (mismatches)
        rs->failed = true;
    return true;
}

/* Deviation counts are per AT and per class (one AT can show NS and SH). */
static void print_tally(const char *prefix, const struct tally *t, double secs)
{
    printf("%s %zu VAs, %zu ATs (%.2f s)\n   ", prefix, t->vas, t->ats, secs);
    for (unsigned k = 0; k < K_COUNT; k++)
        printf(" %s %zu%s", k_klass_names[k], t->klass[k], k + 1u < K_COUNT ? "," : "\n");
    printf("    expected:");
    for (unsigned k = 0; k < O_COUNT; k++)
        printf(" %s %zu%s", k_outcome_names[k], t->outcome[k], k + 1u < O_COUNT ? "," : "\n");
    printf("    known QEMU 7.2 deviations:");
    for (unsigned d = 0; d < D_COUNT; d++)
        printf(" %s %zu%s", k_dev_names[d], t->dev[d], d + 1u < D_COUNT ? "," : "\n");
}

static void add_tally(struct tally *sum, const struct tally *t)
{
    sum->ats += t->ats;
    sum->vas += t->vas;
    for (unsigned k = 0; k < K_COUNT; k++)
        sum->klass[k] += t->klass[k];
    for (unsigned d = 0; d < D_COUNT; d++)
        sum->dev[d] += t->dev[d];
    for (unsigned k = 0; k < O_COUNT; k++)
        sum->outcome[k] += t->outcome[k];
}

static void build_tree(struct rng *rng, const struct xcfg *c, struct ram *ram, struct gen gens[2],
                       uint64_t root_pa[2])
{
    static const unsigned k_budget[17] = { [12] = 60, [14] = 40, [16] = 24 };
    for (unsigned half = 0; half < 2u; half++) {
        gens[half] = (struct gen){
            .rng = rng,
            .ram = ram,
            .cfg = c,
            .half = half,
            .oa_bits = cfg_oa_bits(c, half),
            .lpa = cfg_lpa(c, half),
            .ds = c->half[half].ds,
            .budget = k_budget[c->half[half].granule_shift],
        };
        /* a half that never walks gets no tree, only a plausible base */
        root_pa[half] = half_walks(c, half) ? gen_root(&gens[half]) : ram_alloc(ram, 4096, 4096);
        if (c->half[half].ttbr_oversize)
            root_pa[half] |= BIT(gens[half].oa_bits + (unsigned)rng_below(rng, 48u - gens[half].oa_bits));
    }
}

static void run_config(struct run_state *rs, const struct xcfg *c, struct rng *rng)
{
    double t0 = now_s();
    struct ram ram = { .bytes = xcalloc(RAM_SIZE, 1), .next_pa = RAM_PA };
    struct gen gens[2];
    uint64_t root_pa[2];
    build_tree(rng, c, &ram, gens, root_pa);
    struct probe_set ps;
    make_probes(rng, c, gens, rs->o->vas, &ps);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cfg%02u", rs->o->workdir, c->index);
    struct tally t = { .vas = rs->o->vas };
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        fail_cfg(rs, c, dir, "cannot create the directory");
    else if (export_config(rs, c, dir, &ram, root_pa, &ps))
        run_config_files(rs, c, dir, &ram, root_pa, &ps, &t);
    char prefix[256], desc[200];
    cfg_describe(c, desc, sizeof desc);
    snprintf(prefix, sizeof prefix, "config %2u %-52s", c->index, desc);
    print_tally(prefix, &t, now_s() - t0);
    add_tally(&rs->total, &t);
    free(ps.vectors);
    gen_free(&gens[0]);
    gen_free(&gens[1]);
    free(ram.bytes);
}

/* ---- main -------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: xcheck --qemu PATH --stub PATH [--workdir DIR] [--seed N] [--vas N]\n"
            "              [--configs N] [--only I] [--keep] [--mutate] [--max-reports N]\n"
            "  --seed defaults to $MMSIM_XCHECK_SEED, else the clock\n"
            "  --configs N runs the first N configurations, --only I just number I\n"
            "  --mutate corrupts one leaf per config in tables.bin and succeeds only if\n"
            "           every config then reports a mismatch (checks the checker)\n");
}

static bool parse_args(int argc, char **argv, struct options *o)
{
    const char *env_seed = getenv("MMSIM_XCHECK_SEED");
    *o = (struct options){ .vas = 1500, .configs = NUM_CONFIGS, .only = -1, .max_reports = 20 };
    o->seed = env_seed ? strtoull(env_seed, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0)
            o->keep = true;
        else if (strcmp(a, "--mutate") == 0)
            o->mutate = true;
        else if (val == NULL)
            return false;
        else if (strcmp(a, "--qemu") == 0)
            o->qemu = val, i++;
        else if (strcmp(a, "--stub") == 0)
            o->stub = val, i++;
        else if (strcmp(a, "--workdir") == 0)
            o->workdir = val, i++;
        else if (strcmp(a, "--seed") == 0)
            o->seed = strtoull(val, NULL, 0), i++;
        else if (strcmp(a, "--vas") == 0)
            o->vas = strtoull(val, NULL, 0), i++;
        else if (strcmp(a, "--configs") == 0)
            o->configs = (unsigned)strtoul(val, NULL, 0), i++;
        else if (strcmp(a, "--only") == 0)
            o->only = atoi(val), i++;
        else if (strcmp(a, "--max-reports") == 0)
            o->max_reports = (unsigned)strtoul(val, NULL, 0), i++;
        else
            return false;
    }
    return o->qemu && o->stub && o->vas > 0;
}

static char *make_workdir(const struct options *o)
{
    char tmpl[4096];
    const char *base = o->workdir ? o->workdir : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (o->workdir)
        mkdir(o->workdir, 0755);
    snprintf(tmpl, sizeof tmpl, "%s/xcheck-%" PRIu64 "-XXXXXX", base, (uint64_t)getpid());
    char *dir = mkdtemp(tmpl);
    return dir ? strdup(dir) : NULL;
}

static void remove_workdir(const char *dir, unsigned nconfigs)
{
    static const char *const k_files[] = { "regs.txt", "tables.txt", "tables.bin", "vectors.txt",
                                           "job.bin", "results.bin", "qemu.log" };
    char path[4200];
    for (unsigned c = 0; c < nconfigs; c++) {
        for (unsigned f = 0; f < sizeof k_files / sizeof k_files[0]; f++) {
            snprintf(path, sizeof path, "%s/cfg%02u/%s", dir, c, k_files[f]);
            unlink(path);
        }
        snprintf(path, sizeof path, "%s/cfg%02u", dir, c);
        rmdir(path);
    }
    rmdir(dir);
}

/* Runs the selected configurations; counts, for --mutate, those that
 * noticed the corruption. */
static void run_all(struct run_state *rs, const struct xcfg *cfgs)
{
    const struct options *o = rs->o;
    unsigned ncfg = o->configs < NUM_CONFIGS ? o->configs : NUM_CONFIGS;
    for (unsigned i = 0; i < ncfg; i++) {
        if (o->only >= 0 && (unsigned)o->only != i)
            continue;
        /* with the MMU off no table is read, so a corrupted one cannot show */
        if (o->mutate && cfgs[i].mmu_off)
            continue;
        size_t mismatches_before = rs->total.klass[K_MISMATCH];
        unsigned skipped_before = rs->not_applicable;
        /* each config has its own stream, so --only reproduces it alone */
        struct rng rng = { o->seed ^ (0xa0761d6478bd642fULL * (i + 1u)) };
        run_config(rs, &cfgs[i], &rng);
        if (rs->not_applicable != skipped_before)
            continue;
        rs->ran++;
        rs->detected += rs->total.klass[K_MISMATCH] > mismatches_before;
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    struct options o;
    if (!parse_args(argc, argv, &o)) {
        usage();
        return 2;
    }
    printf("xcheck: seed %" PRIu64 "%s (rerun: MMSIM_XCHECK_SEED=%" PRIu64 " or --seed %" PRIu64 ")\n",
           o.seed, o.mutate ? ", mutation self-check" : "", o.seed, o.seed);
    fflush(stdout);
    char *workdir = make_workdir(&o);
    if (workdir == NULL) {
        perror("xcheck: work directory");
        return 2;
    }
    o.workdir = workdir;
    struct xcfg cfgs[NUM_CONFIGS];
    make_configs(o.seed, cfgs);
    struct run_state rs = { .o = &o };
    double t0 = now_s();
    run_all(&rs, cfgs);
    print_tally("total:", &rs.total, now_s() - t0);
    int status = rs.failed ? 1 : 0;
    if (o.mutate) {
        /* every config must have noticed its corrupted leaf */
        bool blind = rs.detected != rs.ran || rs.ran == 0;
        printf("xcheck: mutation detected in %u of %u configs: %s\n", rs.detected, rs.ran,
               blind ? "FAIL" : "ok");
        status = blind ? 1 : 0;
    } else if (rs.failed) {
        printf("xcheck: FAILED; rerun with --seed %" PRIu64 " (files kept in %s)\n", o.seed, workdir);
    }
    if (status == 0 && !o.keep)
        remove_workdir(workdir, NUM_CONFIGS);
    else
        printf("xcheck: files in %s\n", workdir);
    free(workdir);
    return status;
}
