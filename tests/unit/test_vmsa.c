/*
 * Unit tests for the VMSAv8-64 stage-1 codec and walk (mmsim/vmsa.h).
 *
 * Every expected value below is derived by hand from the Arm architecture
 * (descriptor layouts, index fields, fault priority, FSC and PAR encodings as
 * summarised in /work/shared/spec/aarch64-vmsa.md), never read back from the
 * implementation. Descriptors are written as raw 64-bit values with the
 * architectural bit positions spelled out in the macros below, into a small
 * fake RAM that the walk reads through mmsim_vmsa_mem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mmsim/vmsa.h>

/* ---- architectural constants, written from the spec ------------------- */

#define BIT(n) (1ULL << (n))

/* descriptor bits */
#define D_VALID BIT(0)
#define D_TABLE (BIT(0) | BIT(1)) /* table at L0-2, page at L3 */
#define D_PAGE (BIT(0) | BIT(1))
#define D_BLOCK BIT(0)
#define D_ATTR(i) ((uint64_t)(i) << 2)
#define D_NS BIT(5)
#define D_AP(ap) ((uint64_t)(ap) << 6) /* AP[2:1] */
#define D_SH(sh) ((uint64_t)(sh) << 8)
#define D_AF BIT(10)
#define D_NG BIT(11)
#define D_NT BIT(16)
#define D_GP BIT(50)
#define D_DBM BIT(51)
#define D_CONT BIT(52)
#define D_PXN BIT(53)
#define D_UXN BIT(54)
#define D_SW(v) ((uint64_t)(v) << 55)
#define T_PXN BIT(59)
#define T_UXN BIT(60)
#define T_AP(v) ((uint64_t)(v) << 61)
#define T_NS BIT(63)

/* TCR_EL1 fields */
#define TCR_T0SZ(n) ((uint64_t)(n))
#define TCR_EPD0 BIT(7)
#define TCR_IRGN0_WB BIT(8)
#define TCR_ORGN0_WB BIT(10)
#define TCR_SH0(v) ((uint64_t)(v) << 12)
#define TCR_TG0_4K 0ULL
#define TCR_TG0_64K (1ULL << 14)
#define TCR_TG0_16K (2ULL << 14)
#define TCR_TG0_RSVD (3ULL << 14)
#define TCR_T1SZ(n) ((uint64_t)(n) << 16)
#define TCR_EPD1 BIT(23)
#define TCR_IRGN1_WB BIT(24)
#define TCR_ORGN1_WB BIT(26)
#define TCR_SH1(v) ((uint64_t)(v) << 28)
#define TCR_TG1_RSVD 0ULL
#define TCR_TG1_16K (1ULL << 30)
#define TCR_TG1_4K (2ULL << 30)
#define TCR_TG1_64K (3ULL << 30)
#define TCR_IPS(f) ((uint64_t)(f) << 32) /* 0:32 1:36 2:40 3:42 4:44 5:48 6:52 */
#define TCR_AS BIT(36)
#define TCR_TBI0 BIT(37)
#define TCR_TBI1 BIT(38)
#define TCR_HA BIT(39)
#define TCR_HD BIT(40)
#define TCR_HPD0 BIT(41)
#define TCR_HPD1 BIT(42)
#define TCR_E0PD0 BIT(55)
#define TCR_E0PD1 BIT(56)
#define TCR_DS BIT(59)

/* The spec's "typical 48-bit, 4K, both halves" TCR, plus AS (16-bit ASIDs):
 * 0x00000005_b5103510 | AS. */
#define TCR_4K48 0x00000015b5103510ULL
#define TCR_NO_IPS (TCR_4K48 & ~TCR_IPS(7))
/* Lower half only, as fields. */
#define TCR_LO(t0sz, tg0) (TCR_T0SZ(t0sz) | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0(3) | (tg0) | \
                           TCR_EPD1 | TCR_TG1_4K | TCR_T1SZ(16) | TCR_AS)

/* 4K, 52-bit VA and DS, lower half only; IPS chosen per test */
#define TCR_4K52_DS (TCR_LO(12, TCR_TG0_4K) | TCR_DS)

#define SCTLR_M BIT(0)
#define SCTLR_I BIT(12)
#define SCTLR_WXN BIT(19)
#define SCTLR_EPAN BIT(57)

/* MAIR with a distinct byte per index, and RT-Thread's value. */
#define MAIR_BYTES 0x0011223344556677ULL
#define MAIR_RT 0x00447fULL

/* ---- fake RAM ---------------------------------------------------------- */

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE (1u << 20)

static uint64_t g_ram[RAM_SIZE / 8];
static unsigned g_reads, g_writes;
static bool g_fail_writes;

static bool ram_read(void *ctx, uint64_t pa, uint64_t *val)
{
    (void)ctx;
    g_reads++;
    if (pa < RAM_BASE || pa >= RAM_BASE + RAM_SIZE || (pa & 7u))
        return false;
    *val = g_ram[(pa - RAM_BASE) / 8];
    return true;
}

static bool ram_write(void *ctx, uint64_t pa, uint64_t val)
{
    (void)ctx;
    g_writes++;
    if (g_fail_writes || pa < RAM_BASE || pa >= RAM_BASE + RAM_SIZE || (pa & 7u))
        return false;
    g_ram[(pa - RAM_BASE) / 8] = val;
    return true;
}

static const struct mmsim_vmsa_mem k_mem = { ram_read, ram_write, NULL };
static const struct mmsim_vmsa_mem k_mem_no_write = { ram_read, NULL, NULL };

static void put(uint64_t pa, uint64_t raw)
{
    assert_true(pa >= RAM_BASE && pa < RAM_BASE + RAM_SIZE);
    g_ram[(pa - RAM_BASE) / 8] = raw;
}

static uint64_t peek(uint64_t pa)
{
    return g_ram[(pa - RAM_BASE) / 8];
}

static int reset_ram(void **state)
{
    (void)state;
    memset(g_ram, 0, sizeof g_ram);
    g_reads = 0;
    g_writes = 0;
    g_fail_writes = false;
    return 0;
}

/* ---- helpers ----------------------------------------------------------- */

static struct mmsim_vmsa_ctx g_ctx;

static int init_ctx(uint64_t tcr, uint64_t sctlr, uint64_t ttbr0, uint64_t ttbr1, uint8_t parange)
{
    struct mmsim_vmsa_regs regs = {
        .tcr = tcr,
        .mair = MAIR_RT,
        .sctlr = sctlr,
        .ttbr0 = ttbr0,
        .ttbr1 = ttbr1,
        .parange_bits = parange,
    };
    return mmsim_vmsa_ctx_init(&g_ctx, &regs);
}

/* 4K granule, 48-bit both halves, TTBR0 at RAM_BASE, TTBR1 at RAM_BASE + 512K. */
static void ctx_4k(uint64_t tcr_extra, uint64_t sctlr_extra)
{
    assert_int_equal(init_ctx(TCR_4K48 | tcr_extra, SCTLR_M | sctlr_extra, RAM_BASE,
                              RAM_BASE + 0x80000, 48),
                     0);
}

static struct mmsim_vmsa_result g_res;

static bool walk_as(uint64_t va, enum mmsim_vmsa_op op, unsigned el, bool pan, bool at)
{
    struct mmsim_vmsa_access acc = { .op = op, .el = (uint8_t)el, .pan = pan, .at = at };
    return mmsim_vmsa_translate(&g_ctx, va, &acc, &k_mem, &g_res);
}

static bool walk(uint64_t va, enum mmsim_vmsa_op op, unsigned el)
{
    return walk_as(va, op, el, false, false);
}

static void expect_fault(enum mmsim_fault fault, int level, uint8_t fsc)
{
    assert_int_equal(g_res.fault, fault);
    assert_int_equal(g_res.level, level);
    assert_int_equal(g_res.fsc, fsc);
}

static void expect_ok(uint64_t pa, int level, uint64_t leaf_size)
{
    assert_int_equal(g_res.fault, MMSIM_FAULT_NONE);
    assert_int_equal(g_res.fsc, 0);
    assert_int_equal(g_res.pa, pa);
    assert_int_equal(g_res.level, level);
    assert_int_equal(g_res.leaf_size, leaf_size);
}

/*
 * The standard 4K/48-bit chain. VA_STD = 0x0000_0080_4060_5123:
 *   L0 index VA[47:39] = 1, L1 VA[38:30] = 1, L2 VA[29:21] = 3, L3 VA[20:12] = 5,
 *   offset 0x123. Tables at base + 0x0000/0x1000/0x2000/0x3000, so the
 *   descriptors sit at base + 0x0008, 0x1008, 0x2018 and 0x3028.
 */
#define VA_STD 0x0000008040605123ULL
#define VA_STD_HI 0xffff008040605123ULL
#define L0E(base) ((base) + 0x0008)
#define L1E(base) ((base) + 0x1008)
#define L2E(base) ((base) + 0x2018)
#define L3E(base) ((base) + 0x3028)
#define PAGE_PA 0x87654000ULL
#define PAGE_OK (PAGE_PA | D_PAGE | D_AF | D_SH(3))

static void chain_4k_at(uint64_t base, uint64_t l0_attr, uint64_t l1_attr, uint64_t l2_attr,
                        uint64_t l3)
{
    put(L0E(base), (base + 0x1000) | D_TABLE | l0_attr);
    put(L1E(base), (base + 0x2000) | D_TABLE | l1_attr);
    put(L2E(base), (base + 0x3000) | D_TABLE | l2_attr);
    put(L3E(base), l3);
}

static void chain_4k(uint64_t l3)
{
    chain_4k_at(RAM_BASE, 0, 0, 0, l3);
}

static void assert_desc_equal(const struct mmsim_desc *got, const struct mmsim_desc *want,
                              const char *what)
{
    bool same = got->kind == want->kind && got->addr == want->addr &&
                got->attr_indx == want->attr_indx && got->ns == want->ns &&
                got->ap == want->ap && got->sh == want->sh && got->af == want->af &&
                got->ng == want->ng && got->nt == want->nt && got->gp == want->gp &&
                got->dbm == want->dbm && got->contiguous == want->contiguous &&
                got->pxn == want->pxn && got->uxn == want->uxn && got->sw == want->sw &&
                got->pxn_table == want->pxn_table && got->uxn_table == want->uxn_table &&
                got->ap_table == want->ap_table && got->ns_table == want->ns_table;
    if (!same) {
        print_error("%s: decoded kind %d addr %#llx attr %u ns %d ap %u sh %u af %d ng %d nt %d "
                    "gp %d dbm %d cont %d pxn %d uxn %d sw %u pxnT %d uxnT %d apT %u nsT %d\n",
                    what, got->kind, (unsigned long long)got->addr, got->attr_indx, got->ns,
                    got->ap, got->sh, got->af, got->ng, got->nt, got->gp, got->dbm,
                    got->contiguous, got->pxn, got->uxn, got->sw, got->pxn_table,
                    got->uxn_table, got->ap_table, got->ns_table);
        fail();
    }
}

static void regime(struct mmsim_vmsa_regime *r, unsigned granule, unsigned va_bits, bool ds,
                   bool lpa)
{
    *r = (struct mmsim_vmsa_regime){
        .granule_shift = (uint8_t)granule,
        .va_bits = (uint8_t)va_bits,
        .oa_bits = (ds || lpa) ? 52 : 48,
        .ds = ds,
        .lpa = lpa,
        .sh = 3,
    };
}

/* ---- geometry ---------------------------------------------------------- */

struct geo_case
{
    uint8_t granule, va_bits;
    bool ds, lpa;
    int level;
    unsigned value;
};

static void test_vmsa_start_level_all_granules_match_arm_table(void **state)
{
    (void)state;
    /* 4 - ceil((va_bits - granule) / (granule - 3)) */
    static const struct geo_case cases[] = {
        { 12, 48, false, false, 0, 0 },  { 12, 42, false, false, 0, 0 },
        { 12, 39, false, false, 1, 0 },  { 12, 30, false, false, 2, 0 },
        { 12, 52, true, false, -1, 0 },  { 14, 48, false, false, 0, 0 },
        { 14, 47, false, false, 1, 0 },  { 14, 42, false, false, 1, 0 },
        { 14, 39, false, false, 1, 0 },  { 14, 36, false, false, 2, 0 },
        { 14, 52, true, false, 0, 0 },   { 16, 48, false, false, 1, 0 },
        { 16, 42, false, false, 2, 0 },  { 16, 39, false, false, 2, 0 },
        { 16, 52, false, true, 1, 0 },   { 16, 29, false, false, 3, 0 },
        /* just at and just past a whole number of strides */
        { 12, 21, false, false, 3, 0 },  { 12, 22, false, false, 2, 0 },
        { 12, 40, false, false, 0, 0 },  { 14, 25, false, false, 3, 0 },
        { 14, 26, false, false, 2, 0 },  { 16, 30, false, false, 2, 0 },
        { 16, 43, false, false, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mmsim_vmsa_regime r;
        regime(&r, cases[i].granule, cases[i].va_bits, cases[i].ds, cases[i].lpa);
        int got = mmsim_vmsa_start_level(&r);
        if (got != cases[i].level) {
            print_error("granule %u va_bits %u: start level %d, want %d\n", cases[i].granule,
                        cases[i].va_bits, got, cases[i].level);
            fail();
        }
    }
}

static void test_vmsa_level_shift_every_level_matches_index_fields(void **state)
{
    (void)state;
    static const struct geo_case cases[] = {
        { 12, 52, true, false, -1, 48 }, { 12, 48, false, false, 0, 39 },
        { 12, 48, false, false, 1, 30 }, { 12, 48, false, false, 2, 21 },
        { 12, 48, false, false, 3, 12 }, { 14, 48, false, false, 0, 47 },
        { 14, 48, false, false, 1, 36 }, { 14, 48, false, false, 2, 25 },
        { 14, 48, false, false, 3, 14 }, { 16, 48, false, false, 1, 42 },
        { 16, 48, false, false, 2, 29 }, { 16, 48, false, false, 3, 16 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mmsim_vmsa_regime r;
        regime(&r, cases[i].granule, cases[i].va_bits, cases[i].ds, cases[i].lpa);
        assert_int_equal(mmsim_vmsa_level_shift(&r, cases[i].level), cases[i].value);
    }
}

static void test_vmsa_index_bits_start_level_indexes_remainder(void **state)
{
    (void)state;
    static const struct geo_case cases[] = {
        { 12, 48, false, false, 0, 9 },  { 12, 48, false, false, 3, 9 },
        { 12, 42, false, false, 0, 3 },  { 12, 39, false, false, 0, 0 },
        { 12, 39, false, false, 1, 9 },  { 12, 52, true, false, -1, 4 },
        { 14, 48, false, false, 0, 1 },  { 14, 48, false, false, 1, 11 },
        { 14, 52, true, false, 0, 5 },   { 16, 48, false, false, 1, 6 },
        { 16, 48, false, false, 2, 13 }, { 16, 52, false, true, 1, 10 },
        { 16, 42, false, false, 2, 13 }, { 16, 42, false, false, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mmsim_vmsa_regime r;
        regime(&r, cases[i].granule, cases[i].va_bits, cases[i].ds, cases[i].lpa);
        unsigned got = mmsim_vmsa_index_bits(&r, cases[i].level);
        if (got != cases[i].value) {
            print_error("granule %u va %u level %d: %u index bits, want %u\n", cases[i].granule,
                        cases[i].va_bits, cases[i].level, got, cases[i].value);
            fail();
        }
    }
}

static void test_vmsa_block_allowed_per_granule_level_and_feature(void **state)
{
    (void)state;
    /* value 1 = block allowed (spec section 2 table) */
    static const struct geo_case cases[] = {
        { 12, 48, false, false, -1, 0 }, { 12, 48, false, false, 0, 0 },
        { 12, 48, false, false, 1, 1 },  { 12, 48, false, false, 2, 1 },
        { 12, 48, false, false, 3, 0 },  { 12, 52, true, false, 0, 1 },
        { 12, 52, true, false, -1, 0 },  { 12, 48, false, true, 0, 0 },
        { 14, 48, false, false, 0, 0 },  { 14, 48, false, false, 1, 0 },
        { 14, 48, false, false, 2, 1 },  { 14, 48, false, false, 3, 0 },
        { 14, 52, true, false, 1, 1 },   { 14, 52, true, false, 0, 0 },
        { 16, 48, false, false, 1, 0 },  { 16, 48, false, false, 2, 1 },
        { 16, 48, false, false, 3, 0 },  { 16, 52, false, true, 1, 1 },
        { 16, 48, true, false, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mmsim_vmsa_regime r;
        regime(&r, cases[i].granule, cases[i].va_bits, cases[i].ds, cases[i].lpa);
        bool got = mmsim_vmsa_block_allowed(&r, cases[i].level);
        if (got != (cases[i].value != 0)) {
            print_error("granule %u ds %d lpa %d level %d: block allowed %d\n", cases[i].granule,
                        cases[i].ds, cases[i].lpa, cases[i].level, got);
            fail();
        }
    }
}

static void test_vmsa_contig_entries_match_contiguous_size(void **state)
{
    (void)state;
    static const struct geo_case cases[] = {
        { 12, 52, true, false, 0, 0 }, { 12, 48, false, false, 1, 16 },
        { 12, 48, false, false, 2, 16 }, { 12, 48, false, false, 3, 16 },
        { 14, 52, true, false, 1, 0 }, { 14, 48, false, false, 2, 32 },
        { 14, 48, false, false, 3, 128 }, { 16, 52, false, true, 1, 0 },
        { 16, 48, false, false, 2, 32 }, { 16, 48, false, false, 3, 32 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mmsim_vmsa_regime r;
        regime(&r, cases[i].granule, cases[i].va_bits, cases[i].ds, cases[i].lpa);
        assert_int_equal(mmsim_vmsa_contig_entries(&r, cases[i].level), cases[i].value);
    }
}

static void test_vmsa_regime_rt_is_4k_48bit_inner_shareable(void **state)
{
    (void)state;
    for (int upper = 0; upper < 2; upper++) {
        struct mmsim_vmsa_regime r;
        memset(&r, 0xa5, sizeof r);
        mmsim_vmsa_regime_rt(&r, upper != 0);
        assert_int_equal(r.granule_shift, 12);
        assert_int_equal(r.va_bits, 48);
        assert_int_equal(r.oa_bits, 48);
        assert_int_equal(r.sh, 3);
        assert_int_equal(r.upper, upper != 0);
        assert_false(r.ds || r.lpa || r.ha || r.hd || r.hpd || r.epd || r.e0pd || r.tbi);
    }
}

/* ---- descriptor codec -------------------------------------------------- */

struct desc_case
{
    const char *what;
    uint8_t granule;
    bool ds, lpa;
    int level;
    uint64_t raw;
    struct mmsim_desc want;
    bool canonical; /* encode(want) must give raw back */
};

#define PG(...) { .kind = MMSIM_DESC_PAGE, __VA_ARGS__ }
#define BLK(...) { .kind = MMSIM_DESC_BLOCK, __VA_ARGS__ }
#define TBL(...) { .kind = MMSIM_DESC_TABLE, __VA_ARGS__ }
#define INV { .kind = MMSIM_DESC_INVALID }

static const struct desc_case k_desc_cases[] = {
    /* one leaf field at a time: 4K page at 0x4000_0000 is 0x4000_0003 */
    { "page", 12, false, false, 3, 0x40000003ULL, PG(.addr = 0x40000000), true },
    { "attr_indx 5", 12, false, false, 3, 0x40000017ULL,
      PG(.addr = 0x40000000, .attr_indx = 5), true },
    { "ns", 12, false, false, 3, 0x40000023ULL, PG(.addr = 0x40000000, .ns = true), true },
    { "ap 01", 12, false, false, 3, 0x40000043ULL, PG(.addr = 0x40000000, .ap = 1), true },
    { "ap 10", 12, false, false, 3, 0x40000083ULL, PG(.addr = 0x40000000, .ap = 2), true },
    { "ap 11", 12, false, false, 3, 0x400000c3ULL, PG(.addr = 0x40000000, .ap = 3), true },
    { "sh 10", 12, false, false, 3, 0x40000203ULL, PG(.addr = 0x40000000, .sh = 2), true },
    { "sh 11", 12, false, false, 3, 0x40000303ULL, PG(.addr = 0x40000000, .sh = 3), true },
    { "af", 12, false, false, 3, 0x40000403ULL, PG(.addr = 0x40000000, .af = true), true },
    { "ng", 12, false, false, 3, 0x40000803ULL, PG(.addr = 0x40000000, .ng = true), true },
    { "gp", 12, false, false, 3, 0x0004000040000003ULL, PG(.addr = 0x40000000, .gp = true), true },
    { "dbm", 12, false, false, 3, 0x0008000040000003ULL,
      PG(.addr = 0x40000000, .dbm = true), true },
    { "contiguous", 12, false, false, 3, 0x0010000040000003ULL,
      PG(.addr = 0x40000000, .contiguous = true), true },
    { "pxn", 12, false, false, 3, 0x0020000040000003ULL,
      PG(.addr = 0x40000000, .pxn = true), true },
    { "uxn", 12, false, false, 3, 0x0040000040000003ULL,
      PG(.addr = 0x40000000, .uxn = true), true },
    { "sw 0xf", 12, false, false, 3, 0x0780000040000003ULL,
      PG(.addr = 0x40000000, .sw = 0xf), true },
    { "sw 0x5", 12, false, false, 3, 0x0280000040000003ULL,
      PG(.addr = 0x40000000, .sw = 0x5), true },
    /* every leaf field at once: attr 2, NS, AP 11, SH 11, AF, nG, GP..UXN, SW 0xa */
    { "all leaf fields", 12, false, false, 3, 0x057c123456789febULL,
      PG(.addr = 0x123456789000ULL, .attr_indx = 2, .ns = true, .ap = 3, .sh = 3, .af = true,
         .ng = true, .gp = true, .dbm = true, .contiguous = true, .pxn = true, .uxn = true,
         .sw = 0xa),
      true },
    /* leaves ignore bits 63:59; pages have no nT (bit 16 is OA[16]) */
    { "leaf ignores 63:59", 12, false, false, 3, 0xf800000040000003ULL,
      PG(.addr = 0x40000000), false },
    { "page bit16 is OA", 12, false, false, 3, 0x40010003ULL, PG(.addr = 0x40010000), true },
    /* blocks: nT, and the RES0 bits below the block size do not reach the OA */
    { "4K L2 block nT", 12, false, false, 2, 0x40010001ULL,
      BLK(.addr = 0x40000000, .nt = true), true },
    { "4K L2 block RES0", 12, false, false, 2, 0x40201001ULL, BLK(.addr = 0x40200000), false },
    { "4K L1 block", 12, false, false, 1, 0xc0000401ULL,
      BLK(.addr = 0xc0000000, .af = true), true },
    { "4K L0 block needs DS", 12, false, false, 0, 0x8000000001ULL, INV, false },
    { "4K L0 block with DS", 12, true, false, 0, 0x8000000001ULL,
      BLK(.addr = 0x8000000000ULL), true },
    { "4K L-1 table with DS", 12, true, false, -1, 0x40001003ULL, TBL(.addr = 0x40001000), true },
    { "4K L-1 block never", 12, true, false, -1, 0x8000000001ULL, INV, false },
    { "4K L-1 needs DS", 12, false, false, -1, 0x40001003ULL, INV, false },
    { "L3 01 reserved", 12, false, false, 3, 0x40000001ULL, INV, false },
    { "bit0 clear", 12, false, false, 2, 0xfffffffffffffffeULL, INV, false },
    { "L2 bit0 clear table", 12, false, false, 2, 0x40000002ULL, INV, false },
    /* table fields: 4K L0 table at 0x4000_1000 is 0x4000_1003 */
    { "table", 12, false, false, 0, 0x40001003ULL, TBL(.addr = 0x40001000), true },
    { "PXNTable", 12, false, false, 0, 0x0800000040001003ULL,
      TBL(.addr = 0x40001000, .pxn_table = true), true },
    { "UXNTable", 12, false, false, 0, 0x1000000040001003ULL,
      TBL(.addr = 0x40001000, .uxn_table = true), true },
    { "APTable 01", 12, false, false, 1, 0x2000000040001003ULL,
      TBL(.addr = 0x40001000, .ap_table = 1), true },
    { "APTable 10", 12, false, false, 1, 0x4000000040001003ULL,
      TBL(.addr = 0x40001000, .ap_table = 2), true },
    { "APTable 11", 12, false, false, 2, 0x6000000040001003ULL,
      TBL(.addr = 0x40001000, .ap_table = 3), true },
    { "NSTable", 12, false, false, 2, 0x8000000040001003ULL,
      TBL(.addr = 0x40001000, .ns_table = true), true },
    { "table ignores 11:2 and 58:52", 12, false, false, 1, 0x07f0000040000fffULL,
      TBL(.addr = 0x40000000), false },
    /* 16K */
    { "16K page", 14, false, false, 3, 0x40004403ULL, PG(.addr = 0x40004000, .af = true), true },
    { "16K page low bits RES0", 14, false, false, 3, 0x40007003ULL, PG(.addr = 0x40004000), false },
    { "16K L2 block 32M", 14, false, false, 2, 0x42000001ULL, BLK(.addr = 0x42000000), true },
    { "16K L0 table", 14, false, false, 0, 0x4000c003ULL, TBL(.addr = 0x4000c000), true },
    { "16K L1 block needs DS", 14, false, false, 1, 0x1000000001ULL, INV, false },
    { "16K L1 block with DS", 14, true, false, 1, 0x1000000001ULL,
      BLK(.addr = 0x1000000000ULL), true },
    { "16K L0 block never", 14, true, false, 0, 0x1000000001ULL, INV, false },
    /* 64K */
    { "64K page", 16, false, false, 3, 0x40010003ULL, PG(.addr = 0x40010000), true },
    { "64K L2 block 512M", 16, false, false, 2, 0x60000001ULL, BLK(.addr = 0x60000000), true },
    { "64K L1 table", 16, false, false, 1, 0x40020003ULL, TBL(.addr = 0x40020000), true },
    { "64K L1 block needs LPA", 16, false, false, 1, 0x40000000001ULL, INV, false },
    { "64K L1 block with LPA", 16, false, true, 1, 0x40000000001ULL,
      BLK(.addr = 0x40000000000ULL), true },
    { "64K has no L0", 16, false, true, 0, 0x40020003ULL, INV, false },
    /* 52-bit OA, DS: OA[51:50] = desc[9:8], OA[49:48] = desc[49:48] */
    { "DS page 52-bit", 12, true, false, 3, 0x0002bcdef0123603ULL,
      PG(.addr = 0x000abcdef0123000ULL, .af = true), true },
    { "same bits without DS", 12, false, false, 3, 0x0002bcdef0123603ULL,
      PG(.addr = 0x0000bcdef0123000ULL, .sh = 2, .af = true), false },
    { "DS table 52-bit", 12, true, false, 0, 0x0000000000040303ULL,
      TBL(.addr = 0x000c000000040000ULL), true },
    { "DS 16K L2 block", 14, true, false, 2, 0x0001000042000101ULL,
      BLK(.addr = 0x0005000042000000ULL), true },
    /* 52-bit OA, 64K + LPA: OA[51:48] = desc[15:12] */
    { "LPA page 52-bit", 16, false, true, 3, 0x000000012345d403ULL,
      PG(.addr = 0x000d000123450000ULL, .af = true), true },
    { "same bits without LPA", 16, false, false, 3, 0x000000012345d403ULL,
      PG(.addr = 0x0000000123450000ULL, .af = true), false },
    { "LPA table 52-bit", 16, false, true, 2, 0x23003ULL,
      TBL(.addr = 0x0003000000020000ULL), true },
    { "64K ignores DS", 16, true, false, 3, 0x40010303ULL, PG(.addr = 0x40010000, .sh = 3), true },
};

static void test_vmsa_desc_decode_vectors_give_hand_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_desc_cases / sizeof k_desc_cases[0]; i++) {
        const struct desc_case *c = &k_desc_cases[i];
        struct mmsim_vmsa_regime r;
        struct mmsim_desc got;
        regime(&r, c->granule, 48, c->ds, c->lpa);
        memset(&got, 0x5a, sizeof got);
        mmsim_desc_decode(&r, c->level, c->raw, &got);
        assert_desc_equal(&got, &c->want, c->what);
    }
}

static void test_vmsa_desc_encode_vectors_give_hand_raw(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_desc_cases / sizeof k_desc_cases[0]; i++) {
        const struct desc_case *c = &k_desc_cases[i];
        if (!c->canonical)
            continue;
        struct mmsim_vmsa_regime r;
        uint64_t raw = 0;
        regime(&r, c->granule, 48, c->ds, c->lpa);
        bool ok = mmsim_desc_encode(&r, c->level, &c->want, &raw);
        if (!ok || raw != c->raw) {
            print_error("%s: encode %d raw %#llx, want %#llx\n", c->what, ok,
                        (unsigned long long)raw, (unsigned long long)c->raw);
            fail();
        }
    }
}

static void test_vmsa_desc_encode_invalid_gives_zero(void **state)
{
    (void)state;
    struct mmsim_vmsa_regime r;
    struct mmsim_desc d = INV;
    uint64_t raw = 0x1234;
    mmsim_vmsa_regime_rt(&r, false);
    assert_true(mmsim_desc_encode(&r, 2, &d, &raw));
    assert_int_equal(raw, 0);
}

struct bad_encode
{
    const char *what;
    uint8_t granule;
    bool ds, lpa;
    int level;
    struct mmsim_desc d;
};

static void test_vmsa_desc_encode_unrepresentable_fails_unchanged(void **state)
{
    (void)state;
    static const struct bad_encode cases[] = {
        { "4K L0 block without DS", 12, false, false, 0, BLK(.addr = 0x8000000000ULL) },
        { "16K L1 block without DS", 14, false, false, 1, BLK(.addr = 0x1000000000ULL) },
        { "64K L1 block without LPA", 16, false, false, 1, BLK(.addr = 0x40000000000ULL) },
        { "table at L3", 12, false, false, 3, TBL(.addr = 0x40000000) },
        { "table at L-1 without DS", 12, false, false, -1, TBL(.addr = 0x40000000) },
        { "page at L2", 12, false, false, 2, PG(.addr = 0x40000000) },
        { "block at L3", 12, false, false, 3, BLK(.addr = 0x40000000) },
        { "L2 block misaligned", 12, false, false, 2, BLK(.addr = 0x40001000) },
        { "page misaligned", 12, false, false, 3, PG(.addr = 0x40000800) },
        { "16K table misaligned", 14, false, false, 1, TBL(.addr = 0x40001000) },
        { "64K page misaligned", 16, false, false, 3, PG(.addr = 0x40004000) },
        { "OA bit 48 without DS", 12, false, false, 3, PG(.addr = 1ULL << 48) },
        { "OA bit 48 64K without LPA", 16, false, false, 3, PG(.addr = 1ULL << 48) },
        { "OA bit 52 with DS", 12, true, false, 3, PG(.addr = 1ULL << 52) },
        { "OA bit 52 with LPA", 16, false, true, 3, PG(.addr = 1ULL << 52) },
        { "SH under DS", 12, true, false, 3, PG(.addr = 0x40000000, .sh = 3) },
        { "nT on a page", 12, false, false, 3, PG(.addr = 0x40000000, .nt = true) },
        { "attr_indx 8", 12, false, false, 3, PG(.addr = 0x40000000, .attr_indx = 8) },
        { "ap 4", 12, false, false, 3, PG(.addr = 0x40000000, .ap = 4) },
        { "sw 16", 12, false, false, 3, PG(.addr = 0x40000000, .sw = 16) },
        { "ap_table 4", 12, false, false, 1, TBL(.addr = 0x40000000, .ap_table = 4) },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mmsim_vmsa_regime r;
        uint64_t raw = 0xdeadbeefULL;
        regime(&r, cases[i].granule, 48, cases[i].ds, cases[i].lpa);
        if (mmsim_desc_encode(&r, cases[i].level, &cases[i].d, &raw) || raw != 0xdeadbeefULL) {
            print_error("%s: encode accepted or touched raw (%#llx)\n", cases[i].what,
                        (unsigned long long)raw);
            fail();
        }
    }
}

/* ---- registers --------------------------------------------------------- */

static void test_vmsa_tcr_build_rt_both_halves_gives_linux_style_value(void **state)
{
    (void)state;
    struct mmsim_vmsa_regime lo, hi;
    mmsim_vmsa_regime_rt(&lo, false);
    mmsim_vmsa_regime_rt(&hi, true);
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, &hi, 48), 0x00000015b5103510ULL);
}

static void test_vmsa_tcr_build_no_upper_half_sets_epd1(void **state)
{
    (void)state;
    struct mmsim_vmsa_regime lo;
    mmsim_vmsa_regime_rt(&lo, false);
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, NULL, 48), 0x00000015b5903510ULL);
}

static void test_vmsa_tcr_build_ips_and_granules_encode_fields(void **state)
{
    (void)state;
    struct mmsim_vmsa_regime lo, hi;
    regime(&lo, 16, 42, false, false); /* T0SZ 22, TG0 01 */
    regime(&hi, 14, 47, false, false); /* T1SZ 17, TG1 01 */
    uint64_t want = TCR_T0SZ(22) | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0(3) | TCR_TG0_64K |
                    TCR_T1SZ(17) | TCR_IRGN1_WB | TCR_ORGN1_WB | TCR_SH1(3) | TCR_TG1_16K |
                    TCR_IPS(2) | TCR_AS;
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, &hi, 40), want);
    regime(&hi, 16, 48, false, false); /* TG1 11 */
    lo.ha = lo.hd = lo.hpd = lo.tbi = lo.e0pd = true;
    hi.tbi = hi.hpd = hi.e0pd = hi.epd = true;
    want = TCR_T0SZ(22) | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0(3) | TCR_TG0_64K |
           TCR_T1SZ(16) | TCR_IRGN1_WB | TCR_ORGN1_WB | TCR_SH1(3) | TCR_TG1_64K | TCR_EPD1 |
           TCR_IPS(6) | TCR_AS | TCR_HA | TCR_HD | TCR_HPD0 | TCR_HPD1 | TCR_TBI0 | TCR_TBI1 |
           TCR_E0PD0 | TCR_E0PD1;
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, &hi, 52), want);
    regime(&lo, 12, 39, true, false);
    want = TCR_T0SZ(25) | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0(3) | TCR_TG0_4K | TCR_T1SZ(25) |
           TCR_IRGN1_WB | TCR_ORGN1_WB | TCR_SH1(3) | TCR_TG1_4K | TCR_EPD1 | TCR_IPS(4) |
           TCR_AS | TCR_DS;
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, NULL, 44), want);
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, NULL, 36) & TCR_IPS(7), TCR_IPS(1));
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, NULL, 32) & TCR_IPS(7), TCR_IPS(0));
    assert_int_equal(mmsim_vmsa_tcr_build(&lo, NULL, 42) & TCR_IPS(7), TCR_IPS(3));
}

static void test_vmsa_ctx_init_linux_tcr_gives_rt_regimes(void **state)
{
    (void)state;
    assert_int_equal(init_ctx(TCR_4K48, SCTLR_M | SCTLR_WXN | SCTLR_EPAN,
                              0x0005000040000001ULL, 0x0000000040080000ULL, 0),
                     0);
    for (int h = 0; h < 2; h++) {
        const struct mmsim_vmsa_regime *r = &g_ctx.half[h];
        assert_true(g_ctx.valid[h]);
        assert_int_equal(r->granule_shift, 12);
        assert_int_equal(r->va_bits, 48);
        assert_int_equal(r->oa_bits, 48);
        assert_int_equal(r->sh, 3);
        assert_int_equal(r->upper, h == 1);
        assert_false(r->ds || r->lpa || r->ha || r->hd || r->hpd || r->epd || r->e0pd || r->tbi);
    }
    /* ASID[63:48] and CnP[0] are not part of the base */
    assert_int_equal(g_ctx.root_pa[0], 0x40000000ULL);
    assert_int_equal(g_ctx.root_pa[1], 0x40080000ULL);
    assert_true(g_ctx.wxn);
    assert_true(g_ctx.epan);
    assert_int_equal(g_ctx.regs.mair, MAIR_RT);
}

static void test_vmsa_ctx_init_per_half_controls_decode_separately(void **state)
{
    (void)state;
    uint64_t tcr = TCR_4K48 | TCR_EPD0 | TCR_TBI1 | TCR_HPD0 | TCR_E0PD1 | TCR_HA | TCR_SH1(2);
    tcr &= ~TCR_SH1(1);
    assert_int_equal(init_ctx(tcr, SCTLR_M, RAM_BASE, RAM_BASE, 48), 0);
    assert_true(g_ctx.half[0].epd && !g_ctx.half[1].epd);
    assert_true(!g_ctx.half[0].tbi && g_ctx.half[1].tbi);
    assert_true(g_ctx.half[0].hpd && !g_ctx.half[1].hpd);
    assert_true(!g_ctx.half[0].e0pd && g_ctx.half[1].e0pd);
    assert_true(g_ctx.half[0].ha && g_ctx.half[1].ha);
    assert_false(g_ctx.half[0].hd);
    assert_int_equal(g_ctx.half[0].sh, 3);
    assert_int_equal(g_ctx.half[1].sh, 2);
    /* HD only counts with HA */
    assert_int_equal(init_ctx(TCR_4K48 | TCR_HD, SCTLR_M, RAM_BASE, RAM_BASE, 48), 0);
    assert_false(g_ctx.half[0].hd);
    assert_int_equal(init_ctx(TCR_4K48 | TCR_HD | TCR_HA, SCTLR_M, RAM_BASE, RAM_BASE, 48), 0);
    assert_true(g_ctx.half[0].hd && g_ctx.half[1].hd);
}

static void test_vmsa_ctx_init_tg_encodings_differ_per_half(void **state)
{
    (void)state;
    uint64_t base = TCR_T0SZ(16) | TCR_T1SZ(16) | TCR_IPS(5);
    assert_int_equal(init_ctx(base | TCR_TG0_64K | TCR_TG1_16K, SCTLR_M, 0, 0, 48), 0);
    assert_int_equal(g_ctx.half[0].granule_shift, 16);
    assert_int_equal(g_ctx.half[1].granule_shift, 14);
    assert_int_equal(init_ctx(base | TCR_TG0_16K | TCR_TG1_64K, SCTLR_M, 0, 0, 48), 0);
    assert_int_equal(g_ctx.half[0].granule_shift, 14);
    assert_int_equal(g_ctx.half[1].granule_shift, 16);
    assert_int_equal(init_ctx(base | TCR_TG0_4K | TCR_TG1_4K, SCTLR_M, 0, 0, 48), 0);
    assert_int_equal(g_ctx.half[0].granule_shift, 12);
    assert_int_equal(g_ctx.half[1].granule_shift, 12);
}

static void test_vmsa_ctx_init_reserved_tg_fails_and_half_faults_l0(void **state)
{
    (void)state;
    uint64_t tcr = (TCR_4K48 & ~TCR_TG0_RSVD) | TCR_TG0_RSVD;
    assert_int_equal(init_ctx(tcr, SCTLR_M, RAM_BASE, RAM_BASE + 0x80000, 48), -1);
    assert_false(g_ctx.valid[0]);
    assert_true(g_ctx.valid[1]);
    chain_4k(PAGE_OK);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    assert_int_equal(g_reads, 0);
    /* TG1 = 00 is reserved for TTBR1 */
    tcr = TCR_4K48 & ~(3ULL << 30);
    assert_int_equal(init_ctx(tcr, SCTLR_M, RAM_BASE, RAM_BASE, 48), -1);
    assert_true(g_ctx.valid[0]);
    assert_false(g_ctx.valid[1]);
    /* ... but not when that half is disabled anyway */
    assert_int_equal(init_ctx(tcr | TCR_EPD1, SCTLR_M, RAM_BASE, RAM_BASE, 48), 0);
}

static void test_vmsa_ctx_init_txsz_out_of_range_marks_half_invalid(void **state)
{
    (void)state;
    /* T0SZ 40 > 39 and T0SZ 15 < 16 (no DS) are out of range */
    assert_int_equal(init_ctx(TCR_LO(40, TCR_TG0_4K), SCTLR_M, RAM_BASE, 0, 48), -1);
    assert_false(g_ctx.valid[0]);
    assert_int_equal(init_ctx(TCR_LO(15, TCR_TG0_4K), SCTLR_M, RAM_BASE, 0, 48), -1);
    assert_false(g_ctx.valid[0]);
    assert_int_equal(init_ctx(TCR_LO(12, TCR_TG0_4K), SCTLR_M, RAM_BASE, 0, 52), -1);
    /* 52-bit VA is fine with DS (4K) and with 64K on a 52-bit PARange */
    assert_int_equal(init_ctx(TCR_LO(12, TCR_TG0_4K) | TCR_DS, SCTLR_M, RAM_BASE, 0, 52), 0);
    assert_int_equal(g_ctx.half[0].va_bits, 52);
    assert_int_equal(mmsim_vmsa_start_level(&g_ctx.half[0]), -1);
    assert_int_equal(init_ctx(TCR_LO(12, TCR_TG0_64K), SCTLR_M, RAM_BASE, 0, 52), 0);
    assert_true(g_ctx.half[0].lpa);
    assert_int_equal(init_ctx(TCR_LO(39, TCR_TG0_4K), SCTLR_M, RAM_BASE, 0, 48), 0);
    assert_int_equal(g_ctx.half[0].va_bits, 25);
}

static void test_vmsa_ctx_init_oa_bits_min_of_ips_parange_and_format(void **state)
{
    (void)state;
    /* IPS 40, PARange 48 -> 40 */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(2), SCTLR_M, 0, 0, 48), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 40);
    /* IPS 48, PARange 44 -> 44; parange 0 means 48 */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(5), SCTLR_M, 0, 0, 44), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 44);
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(6), SCTLR_M, 0, 0, 0), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 48);
    /* IPS 52 on a 52-bit PA: 4K without DS is capped at 48 */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(6), SCTLR_M, 0, 0, 52), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 48);
    assert_false(g_ctx.half[0].lpa);
    /* ... with DS it is 52 */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(6) | TCR_DS, SCTLR_M, 0, 0, 52), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 52);
    assert_true(g_ctx.half[0].ds);
    /* 64K with FEAT_LPA (PARange 52) is 52 with no DS; DS means nothing to 64K */
    assert_int_equal(init_ctx(TCR_LO(16, TCR_TG0_64K) | TCR_IPS(6) | TCR_DS, SCTLR_M, 0, 0, 52), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 52);
    assert_true(g_ctx.half[0].lpa);
    assert_false(g_ctx.half[0].ds);
    assert_int_equal(init_ctx(TCR_LO(16, TCR_TG0_64K) | TCR_IPS(6), SCTLR_M, 0, 0, 48), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 48);
    assert_false(g_ctx.half[0].lpa);
}

static void test_vmsa_ctx_init_ttbr_base_52bit_and_alignment(void **state)
{
    (void)state;
    /* 52-bit OA: BADDR[51:48] = TTBR[5:2] = 0xa */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(6) | TCR_DS, SCTLR_M, 0x40000028ULL, 0, 52), 0);
    assert_int_equal(g_ctx.root_pa[0], 0x000a000040000000ULL);
    /* 48-bit: the 4 KiB L0 table is 4 KiB aligned, low BADDR bits are RES0 */
    assert_int_equal(init_ctx(TCR_4K48, SCTLR_M, 0x40000ffeULL, 0, 48), 0);
    assert_int_equal(g_ctx.root_pa[0], 0x40000000ULL);
    /* 40-bit VA: L0 indexes VA[39] only -> a 16-byte table, so bit 4 counts */
    assert_int_equal(init_ctx(TCR_LO(24, TCR_TG0_4K) | TCR_IPS(5), SCTLR_M, 0x40000018ULL, 0, 48), 0);
    assert_int_equal(g_ctx.root_pa[0], 0x40000010ULL);
}

/* ---- the walk: successful translations --------------------------------- */

static void test_vmsa_walk_4k_page_gives_pa_and_attributes(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_NG | D_CONT | D_ATTR(1));
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_ok(0x87654123ULL, 3, 4096);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0x3028);
    assert_int_equal(g_res.desc, PAGE_OK | D_NG | D_CONT | D_ATTR(1));
    assert_int_equal(g_res.attr_indx, 1);
    assert_int_equal(g_res.mair_attr, 0x44);
    assert_int_equal(g_res.sh, 2); /* Normal NC is outer shareable */
    assert_true(g_res.ng);
    assert_true(g_res.contiguous);
    assert_false(g_res.hw_updated);
    /* AP 00, no XN: EL1 RW and (no WXN) EL1 X, EL0 X but no EL0 data */
    assert_int_equal(g_res.perms, MMSIM_PERM_EL1_R | MMSIM_PERM_EL1_W | MMSIM_PERM_EL1_X |
                                      MMSIM_PERM_EL0_X);
    assert_int_equal(g_reads, 4);
    assert_int_equal(g_writes, 0);
}

static void test_vmsa_walk_mair_attr_is_attrindx_byte(void **state)
{
    (void)state;
    struct mmsim_vmsa_regs regs = {
        .tcr = TCR_4K48, .mair = MAIR_BYTES, .sctlr = SCTLR_M, .ttbr0 = RAM_BASE,
    };
    assert_int_equal(mmsim_vmsa_ctx_init(&g_ctx, &regs), 0);
    static const uint8_t want[8] = { 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00 };
    for (unsigned i = 0; i < 8; i++) {
        chain_4k(PAGE_OK | D_ATTR(i));
        assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
        assert_int_equal(g_res.attr_indx, i);
        assert_int_equal(g_res.mair_attr, want[i]);
    }
}

static void test_vmsa_walk_4k_blocks_map_whole_block(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    /* L2 block at 0x8060_0000 (2 MiB): PA = block | VA[20:0] = 0x8060_5123 */
    put(L0E(RAM_BASE), (RAM_BASE + 0x1000) | D_TABLE);
    put(L1E(RAM_BASE), (RAM_BASE + 0x2000) | D_TABLE);
    put(L2E(RAM_BASE), 0x80600000ULL | D_BLOCK | D_AF);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_ok(0x80605123ULL, 2, 2ULL << 20);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0x2018);
    /* RES0 bits [20:12] set in the block do not move the output */
    put(L2E(RAM_BASE), 0x80600000ULL | 0x1ff000ULL | D_BLOCK | D_AF);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_ok(0x80605123ULL, 2, 2ULL << 20);
    /* L1 block at 0xC000_0000 (1 GiB): PA = 0xC000_0000 | VA[29:0] */
    put(L1E(RAM_BASE), 0xc0000000ULL | D_BLOCK | D_AF);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_ok(0xc0605123ULL, 1, 1ULL << 30);
    assert_int_equal(g_reads, 3 + 3 + 2);
}

static void test_vmsa_walk_ttbr1_half_uses_upper_tables(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    uint64_t hi_base = RAM_BASE + 0x80000;
    chain_4k_at(hi_base, 0, 0, 0, 0x12345000ULL | D_PAGE | D_AF);
    assert_true(walk(VA_STD_HI, MMSIM_OP_READ, 1));
    expect_ok(0x12345123ULL, 3, 4096);
    assert_int_equal(g_res.desc_pa, hi_base + 0x3028);
}

static void test_vmsa_walk_4k_39bit_starts_at_level1(void **state)
{
    (void)state;
    /* T0SZ 25: L1 indexes VA[38:30]; VA 0x4060_5123 -> L1[1], L2[3], L3[5] */
    assert_int_equal(init_ctx(TCR_LO(25, TCR_TG0_4K) | TCR_IPS(5), SCTLR_M, RAM_BASE, 0, 48), 0);
    put(RAM_BASE + 0x0008, (RAM_BASE + 0x1000) | D_TABLE);
    put(RAM_BASE + 0x1018, (RAM_BASE + 0x2000) | D_TABLE);
    put(RAM_BASE + 0x2028, PAGE_OK);
    assert_true(walk(0x40605123ULL, MMSIM_OP_READ, 1));
    expect_ok(0x87654123ULL, 3, 4096);
    assert_int_equal(g_reads, 3);
    /* VA bit 39 is beyond a 39-bit VA */
    assert_false(walk(0x8040605123ULL, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
}

static void test_vmsa_walk_4k_42bit_l0_indexes_three_bits(void **state)
{
    (void)state;
    /* T0SZ 22: L0 indexes VA[41:39]; VA 0x200_4060_5123 -> L0[4] L1[1] L2[3] L3[5] */
    assert_int_equal(init_ctx(TCR_LO(22, TCR_TG0_4K) | TCR_IPS(5), SCTLR_M, RAM_BASE, 0, 48), 0);
    put(RAM_BASE + 0x0020, (RAM_BASE + 0x1000) | D_TABLE);
    put(RAM_BASE + 0x1008, (RAM_BASE + 0x2000) | D_TABLE);
    put(RAM_BASE + 0x2018, (RAM_BASE + 0x3000) | D_TABLE);
    put(RAM_BASE + 0x3028, PAGE_OK);
    assert_true(walk(0x20040605123ULL, MMSIM_OP_READ, 1));
    expect_ok(0x87654123ULL, 3, 4096);
}

static void test_vmsa_walk_16k_four_levels_gives_pa(void **state)
{
    (void)state;
    /* VA 0x8012_3456_789A: L0 VA[47] = 1, L1 VA[46:36] = 1, L2 VA[35:25] = 0x11a,
     * L3 VA[24:14] = 0x159, offset 0x389a; tables 16 KiB apart */
    assert_int_equal(init_ctx(TCR_LO(16, TCR_TG0_16K) | TCR_IPS(5), SCTLR_M, RAM_BASE, 0, 48), 0);
    put(RAM_BASE + 0x0008, (RAM_BASE + 0x4000) | D_TABLE);
    put(RAM_BASE + 0x4008, (RAM_BASE + 0x8000) | D_TABLE);
    put(RAM_BASE + 0x8000 + 0x11a * 8, (RAM_BASE + 0xc000) | D_TABLE);
    put(RAM_BASE + 0xc000 + 0x159 * 8, 0x8765c000ULL | D_PAGE | D_AF);
    assert_true(walk(0x80123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0x8765f89aULL, 3, 16384);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0xcac8);
    /* L2 block (32 MiB) at 0x8600_0000: PA = block | VA[24:0] = 0x8600_0000 + 0x56_789a */
    put(RAM_BASE + 0x8000 + 0x11a * 8, 0x86000000ULL | D_BLOCK | D_AF);
    assert_true(walk(0x80123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0x8656789aULL, 2, 32ULL << 20);
}

static void test_vmsa_walk_64k_three_levels_gives_pa(void **state)
{
    (void)state;
    /* VA 0x8512_3456_789A: L1 VA[47:42] = 0x21, L2 VA[41:29] = 0x891,
     * L3 VA[28:16] = 0x1456, offset 0x789a */
    assert_int_equal(init_ctx(TCR_LO(16, TCR_TG0_64K) | TCR_IPS(5), SCTLR_M, RAM_BASE, 0, 48), 0);
    put(RAM_BASE + 0x108, (RAM_BASE + 0x10000) | D_TABLE);
    put(RAM_BASE + 0x14488, (RAM_BASE + 0x20000) | D_TABLE);
    put(RAM_BASE + 0x2a2b0, 0x87650000ULL | D_PAGE | D_AF);
    assert_true(walk(0x85123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0x8765789aULL, 3, 65536);
    assert_int_equal(g_reads, 3);
    /* L2 block (512 MiB) at 0xA000_0000: PA = block | VA[28:0] = 0x1456_789a */
    put(RAM_BASE + 0x14488, 0xa0000000ULL | D_BLOCK | D_AF);
    assert_true(walk(0x85123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0xb456789aULL, 2, 512ULL << 20);
    /* L1 block without FEAT_LPA is invalid: Translation fault at level 1 */
    put(RAM_BASE + 0x108, 0x40000000000ULL | D_BLOCK | D_AF);
    assert_false(walk(0x85123456789aULL, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 1, 0x05);
}

static void test_vmsa_walk_64k_lpa_52bit_va_and_oa(void **state)
{
    (void)state;
    /* T0SZ 12: L1 indexes VA[51:42] (10 bits). VA 0xF_8512_3456_789A -> L1[0x3e1],
     * L2[0x891], L3[0x1456]. Page OA[51:48] = desc[15:12] = 0xf. */
    assert_int_equal(init_ctx(TCR_LO(12, TCR_TG0_64K) | TCR_IPS(6), SCTLR_M, RAM_BASE, 0, 52), 0);
    put(RAM_BASE + 0x3e1 * 8, (RAM_BASE + 0x10000) | D_TABLE);
    put(RAM_BASE + 0x14488, (RAM_BASE + 0x20000) | D_TABLE);
    put(RAM_BASE + 0x2a2b0, 0x87650000ULL | 0xf000 | D_PAGE | D_AF);
    assert_true(walk(0xf85123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0x000f00008765789aULL, 3, 65536);
    /* an L1 block (4 TiB) is valid with FEAT_LPA: 0xc00_0000_0000 | VA[41:0] */
    put(RAM_BASE + 0x3e1 * 8, 0x00000c0000000000ULL | D_BLOCK | D_AF);
    assert_true(walk(0xf85123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0x00000d123456789aULL, 1, 1ULL << 42);
}

/* 4K, DS, 52-bit VA: VA 0xA_0080_4060_5123 -> L-1[0xa], L0[1], L1[1], L2[3], L3[5] */
#define VA_DS 0x000a008040605123ULL

static void chain_4k_ds(uint64_t l3)
{
    put(RAM_BASE + 0x0050, (RAM_BASE + 0x1000) | D_TABLE);
    put(RAM_BASE + 0x1008, (RAM_BASE + 0x2000) | D_TABLE);
    put(RAM_BASE + 0x2008, (RAM_BASE + 0x3000) | D_TABLE);
    put(RAM_BASE + 0x3018, (RAM_BASE + 0x4000) | D_TABLE);
    put(RAM_BASE + 0x4028, l3);
}

static void test_vmsa_walk_4k_ds_starts_at_level_minus1_with_52bit_oa(void **state)
{
    (void)state;
    assert_int_equal(init_ctx(TCR_4K52_DS | TCR_IPS(6), SCTLR_M, RAM_BASE, 0, 52), 0);
    /* OA 0xF_0000_1234_5000: desc[9:8] = 0b11 (OA[51:50]), desc[49:48] = 0b11 (OA[49:48]) */
    chain_4k_ds(0x0003000012345000ULL | 0x300 | D_PAGE | D_AF);
    assert_true(walk(VA_DS, MMSIM_OP_READ, 1));
    expect_ok(0x000f000012345123ULL, 3, 4096);
    assert_int_equal(g_reads, 5);
    /* with DS, shareability comes from TCR.SH0 (3), not desc[9:8] */
    assert_int_equal(g_res.sh, 3);
    /* a 512 GiB block at L0 is valid with DS: OA 0x0040_0000_0000_0 | VA[38:0] */
    put(RAM_BASE + 0x1008, 0x0000400000000000ULL | D_BLOCK | D_AF | D_ATTR(0));
    assert_true(walk(VA_DS, MMSIM_OP_READ, 1));
    expect_ok(0x0000400040605123ULL, 0, 1ULL << 39);
}

static void test_vmsa_walk_level_minus1_faults_use_lpa2_codes(void **state)
{
    (void)state;
    assert_int_equal(init_ctx(TCR_4K52_DS | TCR_IPS(6), SCTLR_M, RAM_BASE, 0, 52), 0);
    /* nothing at L-1: Translation fault level -1, FSC 0x2B */
    assert_false(walk(VA_DS, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, -1, 0x2b);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0x50);
    /* a block is never valid at L-1 */
    put(RAM_BASE + 0x0050, 0x8000000000ULL | D_BLOCK | D_AF);
    assert_false(walk(VA_DS, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, -1, 0x2b);
    /* TTBR0 outside RAM: external abort on the L-1 fetch, FSC 0x13 */
    assert_int_equal(init_ctx(TCR_4K52_DS | TCR_IPS(6), SCTLR_M, 0x1000, 0, 52), 0);
    assert_false(walk(VA_DS, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_EXT_ABORT, -1, 0x13);
    /* IPS 48 with DS: an L-1 table pointer with OA bit 48 is out of range, FSC 0x29 */
    assert_int_equal(init_ctx(TCR_4K52_DS | TCR_IPS(5), SCTLR_M, RAM_BASE, 0, 52), 0);
    assert_int_equal(g_ctx.half[0].oa_bits, 48);
    put(RAM_BASE + 0x0050, (RAM_BASE + 0x1000) | BIT(48) | D_TABLE);
    assert_false(walk(VA_DS, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, -1, 0x29);
}

static void test_vmsa_walk_tbi_ignores_top_byte(void **state)
{
    (void)state;
    ctx_4k(TCR_TBI0 | TCR_TBI1, 0);
    chain_4k(PAGE_OK);
    chain_4k_at(RAM_BASE + 0x80000, 0, 0, 0, 0x12345000ULL | D_PAGE | D_AF);
    assert_true(walk(0x5a00008040605123ULL, MMSIM_OP_READ, 1));
    expect_ok(0x87654123ULL, 3, 4096);
    assert_true(walk(0x00ff008040605123ULL | 0xa500000000000000ULL, MMSIM_OP_READ, 1));
    expect_ok(0x12345123ULL, 3, 4096);
}

/* ---- level-0 faults before any fetch ----------------------------------- */

static void test_vmsa_walk_non_canonical_va_gives_translation_l0(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK);
    static const uint64_t bad_va[] = {
        0x0001008040605123ULL, /* bit 48 set in the TTBR0 half */
        0x5a00008040605123ULL, /* non-zero top byte without TBI */
        0xff7f008040605123ULL, /* bit 55 = 0 under a set top byte */
        0xff80008040605123ULL, /* bit 55 = 1 but [54:48] not all ones */
        0x0080008040605123ULL, /* bit 55 = 1, the rest zeros */
        0x7fff008040605123ULL, /* bit 63 = 0, bit 55 = 1 */
    };
    for (size_t i = 0; i < sizeof bad_va / sizeof bad_va[0]; i++) {
        assert_false(walk(bad_va[i], MMSIM_OP_READ, 1));
        expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    }
    assert_int_equal(g_reads, 0);
    /* with TBI the top byte is exempt, but [55:48] must still match */
    ctx_4k(TCR_TBI0, 0);
    assert_false(walk(0x5a01008040605123ULL, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
}

static void test_vmsa_walk_epd_gives_translation_l0(void **state)
{
    (void)state;
    ctx_4k(TCR_EPD0, 0);
    chain_4k(PAGE_OK);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    assert_false(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    assert_int_equal(g_reads, 0);
    /* EPD1 disables only the upper half */
    ctx_4k(TCR_EPD1, 0);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    assert_false(walk(VA_STD_HI, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
}

static void test_vmsa_walk_e0pd_faults_el0_only(void **state)
{
    (void)state;
    ctx_4k(TCR_E0PD0, 0);
    chain_4k(PAGE_OK | D_AP(1));
    assert_false(walk(VA_STD, MMSIM_OP_READ, 0));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    assert_int_equal(g_reads, 0);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    /* AT S1E0R is an EL0 access too */
    assert_false(walk_as(VA_STD, MMSIM_OP_READ, 0, false, true));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
}

static void test_vmsa_walk_ttbr_beyond_oa_gives_addrsize_l0(void **state)
{
    (void)state;
    /* IPS 40: a TTBR0 base with bit 40 set is out of range, before any fetch */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(2), SCTLR_M, BIT(40) | RAM_BASE, 0, 48), 0);
    chain_4k(PAGE_OK);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 0, 0x00);
    assert_int_equal(g_reads, 0);
}

/* ---- faults during the walk --------------------------------------------- */

static void test_vmsa_walk_table_beyond_oa_gives_addrsize_at_its_level(void **state)
{
    (void)state;
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(2), SCTLR_M, RAM_BASE, 0, 48), 0);
    chain_4k(PAGE_OK);
    put(L0E(RAM_BASE), BIT(40) | D_TABLE);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 0, 0x00);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0x8);
    put(L0E(RAM_BASE), (RAM_BASE + 0x1000) | D_TABLE);
    put(L1E(RAM_BASE), (RAM_BASE + 0x2000) | BIT(41) | D_TABLE);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 1, 0x01);
    put(L1E(RAM_BASE), (RAM_BASE + 0x2000) | D_TABLE);
    put(L2E(RAM_BASE), (RAM_BASE + 0x3000) | BIT(47) | D_TABLE);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 2, 0x02);
}

static void test_vmsa_walk_leaf_beyond_oa_gives_addrsize_even_with_af0(void **state)
{
    (void)state;
    /* spec: leaf OA = 2^40 with IPS = 40 -> ADDRSIZE L3, before the AF check */
    assert_int_equal(init_ctx(TCR_NO_IPS | TCR_IPS(2), SCTLR_M, RAM_BASE, 0, 48), 0);
    chain_4k(BIT(40) | D_PAGE);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 3, 0x03);
    /* and for a block at L2 */
    put(L2E(RAM_BASE), BIT(40) | D_BLOCK | D_AF);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 2, 0x02);
    /* OA just below 2^40 is fine */
    chain_4k((BIT(40) - 0x1000) | D_PAGE | D_AF);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_ok(BIT(40) - 0x1000 + 0x123, 3, 4096);
}

static void test_vmsa_walk_invalid_descriptors_give_translation_at_level(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    chain_4k(PAGE_OK);
    put(L1E(RAM_BASE), 0xfffffffffffffffeULL); /* bit 0 clear, the rest ignored */
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 1, 0x05);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0x1008);
    chain_4k(PAGE_OK);
    put(L2E(RAM_BASE), 0);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 2, 0x06);
    /* L3 '01' is reserved */
    chain_4k(PAGE_PA | D_BLOCK | D_AF);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 3, 0x07);
}

static void test_vmsa_walk_blocks_at_invalid_levels_fault_unlike_qemu72(void **state)
{
    (void)state;
    /* 4K L0 block without DS */
    ctx_4k(0, 0);
    put(L0E(RAM_BASE), 0x8000000000ULL | D_BLOCK | D_AF);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 0, 0x04);
    /* 16K L1 block without DS: VA 0x8012_3456_789A -> L0[1], L1[1] */
    assert_int_equal(init_ctx(TCR_LO(16, TCR_TG0_16K) | TCR_IPS(5), SCTLR_M, RAM_BASE, 0, 48), 0);
    put(RAM_BASE + 0x0008, (RAM_BASE + 0x4000) | D_TABLE);
    put(RAM_BASE + 0x4008, 0x1000000000ULL | D_BLOCK | D_AF);
    assert_false(walk(0x80123456789aULL, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_TRANSLATION, 1, 0x05);
    /* ... but valid with DS: 64 GiB block, PA = 0x10_0000_0000 | VA[35:0] */
    assert_int_equal(
        init_ctx(TCR_LO(16, TCR_TG0_16K) | TCR_IPS(5) | TCR_DS, SCTLR_M, RAM_BASE, 0, 48), 0);
    assert_true(walk(0x80123456789aULL, MMSIM_OP_READ, 1));
    expect_ok(0x123456789aULL, 1, 1ULL << 36);
}

static void test_vmsa_walk_read_failure_gives_external_abort_at_level(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK);
    /* the L2 table points at non-RAM: the L3 fetch fails, FSC 0x14 + 3 */
    put(L2E(RAM_BASE), 0x10000000ULL | D_TABLE);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_EXT_ABORT, 3, 0x17);
    assert_int_equal(g_res.desc_pa, 0x10000028ULL);
    put(L0E(RAM_BASE), 0x10000000ULL | D_TABLE);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_EXT_ABORT, 1, 0x15);
    /* TTBR0 at non-RAM: the L0 fetch fails */
    assert_int_equal(init_ctx(TCR_4K48, SCTLR_M, 0x10000000ULL, 0, 48), 0);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_EXT_ABORT, 0, 0x14);
}

static void test_vmsa_walk_af0_el1_page_el0_write_gives_access_flag(void **state)
{
    (void)state;
    /* spec-tested: AF = 0 on an EL1-only page gives ACCESS, not PERM, for E0W */
    ctx_4k(0, 0);
    chain_4k(PAGE_PA | D_PAGE | D_AP(0));
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 0));
    expect_fault(MMSIM_FAULT_ACCESS_FLAG, 3, 0x0b);
    assert_false(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    expect_fault(MMSIM_FAULT_ACCESS_FLAG, 3, 0x0b);
    put(L2E(RAM_BASE), 0x80600000ULL | D_BLOCK);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ACCESS_FLAG, 2, 0x0a);
    assert_int_equal(g_writes, 0);
}

static void test_vmsa_walk_aptable_fault_reported_at_leaf_level(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    /* APTable = 01 at L0 (no EL0 access below): EL0 read of an AP=01 page */
    chain_4k_at(RAM_BASE, T_AP(1), 0, 0, PAGE_OK | D_AP(1));
    assert_false(walk(VA_STD, MMSIM_OP_READ, 0));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_int_equal(g_res.desc_pa, RAM_BASE + 0x3028);
    /* and at level 2 when the leaf is an L2 block */
    put(L2E(RAM_BASE), 0x80600000ULL | D_BLOCK | D_AF | D_AP(1));
    assert_false(walk(VA_STD, MMSIM_OP_READ, 0));
    expect_fault(MMSIM_FAULT_PERMISSION, 2, 0x0e);
}

/* ---- table attributes --------------------------------------------------- */

static void test_vmsa_walk_table_attrs_or_accumulate_across_levels(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    /* APTable[0] at L0, APTable[1] at L1, UXNTable at L1, PXNTable at L2,
     * on an AP=01 (RW both ELs) page with no XN of its own */
    chain_4k_at(RAM_BASE, T_AP(1), T_AP(2) | T_UXN, T_PXN, PAGE_OK | D_AP(1));
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    assert_int_equal(g_res.perms, MMSIM_PERM_EL1_R);
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 0));
    assert_false(walk(VA_STD, MMSIM_OP_EXEC, 0));
    assert_false(walk(VA_STD, MMSIM_OP_EXEC, 1));
    /* NSTable has no effect from Non-secure state */
    chain_4k_at(RAM_BASE, T_NS, T_NS, T_NS, PAGE_OK | D_AP(1));
    assert_true(walk(VA_STD, MMSIM_OP_WRITE, 0));
    assert_int_equal(g_res.perms, MMSIM_PERM_EL0_R | MMSIM_PERM_EL0_W | MMSIM_PERM_EL0_X |
                                      MMSIM_PERM_EL1_R | MMSIM_PERM_EL1_W);
}

static void test_vmsa_walk_hpd_disables_table_permissions(void **state)
{
    (void)state;
    ctx_4k(TCR_HPD0, 0);
    chain_4k_at(RAM_BASE, T_AP(3) | T_UXN | T_PXN, 0, 0, PAGE_OK | D_AP(1));
    assert_true(walk(VA_STD, MMSIM_OP_WRITE, 0));
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 0));
    /* EL0-writable still implies PXN, HPD or not */
    assert_false(walk(VA_STD, MMSIM_OP_EXEC, 1));
    /* HPD1 only affects the upper half */
    ctx_4k(TCR_HPD1, 0);
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 0));
}

/* ---- permissions -------------------------------------------------------- */

static void test_vmsa_walk_ap_values_give_data_permissions(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    /* AP -> perms (with UXN|PXN so that only data permissions remain) */
    static const uint8_t want[4] = {
        MMSIM_PERM_EL1_R | MMSIM_PERM_EL1_W,
        MMSIM_PERM_EL1_R | MMSIM_PERM_EL1_W | MMSIM_PERM_EL0_R | MMSIM_PERM_EL0_W,
        MMSIM_PERM_EL1_R,
        MMSIM_PERM_EL1_R | MMSIM_PERM_EL0_R,
    };
    for (unsigned ap = 0; ap < 4; ap++) {
        chain_4k(PAGE_OK | D_AP(ap) | D_UXN | D_PXN);
        assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
        assert_int_equal(g_res.perms, want[ap]);
    }
}

static void test_vmsa_walk_el0_writable_implies_pxn(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_AP(1));
    assert_false(walk(VA_STD, MMSIM_OP_EXEC, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 0));
    chain_4k(PAGE_OK | D_AP(3));
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 1));
    /* APTable[1] takes EL0 write away, and with it the implicit PXN */
    chain_4k_at(RAM_BASE, T_AP(2), 0, 0, PAGE_OK | D_AP(1));
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 1));
}

static void test_vmsa_walk_wxn_removes_exec_from_writable(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_AP(0));
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 1));
    ctx_4k(0, SCTLR_WXN);
    assert_false(walk(VA_STD, MMSIM_OP_EXEC, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    /* EL0 cannot write an AP=00 page, so EL0 exec survives WXN */
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 0));
    chain_4k(PAGE_OK | D_AP(2));
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 1));
    chain_4k(PAGE_OK | D_AP(1) | D_PXN);
    assert_false(walk(VA_STD, MMSIM_OP_EXEC, 0));
    assert_int_equal(g_res.perms, MMSIM_PERM_EL0_R | MMSIM_PERM_EL0_W | MMSIM_PERM_EL1_R |
                                      MMSIM_PERM_EL1_W);
    /* APTable[1] removes the write, so exec comes back */
    chain_4k_at(RAM_BASE, T_AP(2), 0, 0, PAGE_OK | D_AP(0));
    assert_true(walk(VA_STD, MMSIM_OP_EXEC, 1));
}

static void test_vmsa_walk_pan_blocks_el1_data_on_el0_pages(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_AP(3) | D_UXN);
    assert_false(walk_as(VA_STD, MMSIM_OP_READ, 1, true, false));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, false, false));
    /* AT S1E1R ignores PAN; fetches are never affected; EL0 is never affected */
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, true, true));
    assert_true(walk_as(VA_STD, MMSIM_OP_EXEC, 1, true, false));
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 0, true, false));
    /* an EL1-only page is fine under PAN */
    chain_4k(PAGE_OK | D_AP(0));
    assert_true(walk_as(VA_STD, MMSIM_OP_WRITE, 1, true, false));
}

static void test_vmsa_walk_epan_also_blocks_el0_executable_pages(void **state)
{
    (void)state;
    /* AP=00 (no EL0 data) but EL0-executable (UXN = 0) */
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_AP(0));
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, true, false));
    ctx_4k(0, SCTLR_EPAN);
    assert_false(walk_as(VA_STD, MMSIM_OP_READ, 1, true, false));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    chain_4k(PAGE_OK | D_AP(0) | D_UXN);
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, true, false));
    /* UXNTable counts as not EL0-executable */
    chain_4k_at(RAM_BASE, 0, T_UXN, 0, PAGE_OK | D_AP(0));
    assert_true(walk_as(VA_STD, MMSIM_OP_WRITE, 1, true, false));
}

/* ---- hardware AF / dirty ------------------------------------------------ */

static void test_vmsa_walk_ha_sets_af_through_write64(void **state)
{
    (void)state;
    ctx_4k(TCR_HA, 0);
    uint64_t page = PAGE_PA | D_PAGE | D_SH(3);
    chain_4k(page);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_ok(0x87654123ULL, 3, 4096);
    assert_true(g_res.hw_updated);
    assert_int_equal(g_res.desc, page); /* as read, before the update */
    assert_int_equal(peek(L3E(RAM_BASE)), page | D_AF);
    assert_int_equal(g_writes, 1);
    /* now AF = 1: nothing to write */
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    assert_false(g_res.hw_updated);
    assert_int_equal(g_writes, 1);
}

static void test_vmsa_walk_ha_at_probe_succeeds_without_writing(void **state)
{
    (void)state;
    ctx_4k(TCR_HA | TCR_HD, 0);
    uint64_t page = PAGE_PA | D_PAGE | D_DBM | D_AP(2);
    chain_4k(page);
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    assert_false(g_res.hw_updated);
    /* AT sees DBM as not writable: AT S1E1W on a writable-clean page faults */
    assert_false(walk_as(VA_STD, MMSIM_OP_WRITE, 1, false, true));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_int_equal(peek(L3E(RAM_BASE)), page);
    assert_int_equal(g_writes, 0);
}

static void test_vmsa_walk_ha_without_write64_succeeds_without_update(void **state)
{
    (void)state;
    ctx_4k(TCR_HA, 0);
    chain_4k(PAGE_PA | D_PAGE);
    struct mmsim_vmsa_access acc = { .op = MMSIM_OP_READ, .el = 1 };
    assert_true(mmsim_vmsa_translate(&g_ctx, VA_STD, &acc, &k_mem_no_write, &g_res));
    assert_false(g_res.hw_updated);
    assert_int_equal(peek(L3E(RAM_BASE)), PAGE_PA | D_PAGE);
}

static void test_vmsa_walk_ha_hd_dbm_first_write_clears_ap2(void **state)
{
    (void)state;
    ctx_4k(TCR_HA | TCR_HD, 0);
    uint64_t page = PAGE_PA | D_PAGE | D_AF | D_DBM | D_AP(2) | D_UXN | D_PXN;
    chain_4k(page);
    /* a read leaves it clean */
    assert_true(walk(VA_STD, MMSIM_OP_READ, 1));
    assert_false(g_res.hw_updated);
    assert_int_equal(g_writes, 0);
    /* writable-clean counts as writable in perms */
    assert_int_equal(g_res.perms, MMSIM_PERM_EL1_R | MMSIM_PERM_EL1_W);
    assert_true(walk(VA_STD, MMSIM_OP_WRITE, 1));
    assert_true(g_res.hw_updated);
    assert_int_equal(g_res.desc, page);
    assert_int_equal(peek(L3E(RAM_BASE)), page & ~D_AP(2));
    /* AF = 0 too: one write sets AF and clears AP[2] */
    chain_4k(page & ~D_AF);
    assert_true(walk(VA_STD, MMSIM_OP_WRITE, 1));
    assert_int_equal(peek(L3E(RAM_BASE)), (page | D_AF) & ~D_AP(2));
    assert_int_equal(g_writes, 2);
}

static void test_vmsa_walk_dbm_needs_ha_and_hd(void **state)
{
    (void)state;
    uint64_t page = PAGE_PA | D_PAGE | D_AF | D_DBM | D_AP(2);
    ctx_4k(TCR_HA, 0);
    chain_4k(page);
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    ctx_4k(TCR_HD, 0); /* HD without HA has no effect */
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    /* HA+HD but no DBM: still read-only */
    ctx_4k(TCR_HA | TCR_HD, 0);
    chain_4k(page & ~D_DBM);
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    /* APTable[1] wins over DBM */
    chain_4k_at(RAM_BASE, T_AP(2), 0, 0, page);
    assert_false(walk(VA_STD, MMSIM_OP_WRITE, 1));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_int_equal(g_writes, 0);
}

static void test_vmsa_walk_dbm_el0_writable_clean_is_pxn(void **state)
{
    (void)state;
    /* AP=11 + DBM with HA/HD is EL0 writable-clean: EL0 may write, and
     * what EL0 may write EL1 may not execute */
    ctx_4k(TCR_HA | TCR_HD, 0);
    chain_4k(PAGE_OK | D_AP(3) | D_DBM);
    assert_true(walk(VA_STD, MMSIM_OP_READ, 0));
    assert_int_equal(g_res.perms, MMSIM_PERM_EL0_R | MMSIM_PERM_EL0_W | MMSIM_PERM_EL0_X |
                                      MMSIM_PERM_EL1_R | MMSIM_PERM_EL1_W);
    assert_true(walk(VA_STD, MMSIM_OP_WRITE, 0));
    assert_int_equal(peek(L3E(RAM_BASE)), (PAGE_OK | D_AP(1) | D_DBM));
}

static void test_vmsa_walk_no_hw_update_on_faulting_access(void **state)
{
    (void)state;
    ctx_4k(TCR_HA | TCR_HD, 0);
    chain_4k(PAGE_PA | D_PAGE | D_AP(0) | D_DBM);
    assert_false(walk(VA_STD, MMSIM_OP_READ, 0));
    expect_fault(MMSIM_FAULT_PERMISSION, 3, 0x0f);
    assert_int_equal(g_writes, 0);
}

static void test_vmsa_walk_failed_hw_update_gives_external_abort(void **state)
{
    (void)state;
    ctx_4k(TCR_HA, 0);
    chain_4k(PAGE_PA | D_PAGE);
    g_fail_writes = true;
    assert_false(walk(VA_STD, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_EXT_ABORT, 3, 0x17);
    assert_false(g_res.hw_updated);
}

/* ---- stage 1 disabled --------------------------------------------------- */

static void test_vmsa_walk_mmu_off_gives_flat_mapping(void **state)
{
    (void)state;
    assert_int_equal(init_ctx(TCR_4K48, 0, RAM_BASE, 0, 48), 0);
    assert_true(walk(0x123456789abcULL, MMSIM_OP_WRITE, 0));
    assert_int_equal(g_res.pa, 0x123456789abcULL);
    assert_int_equal(g_res.leaf_size, 0);
    assert_int_equal(g_res.perms, 0x3f);
    assert_int_equal(g_res.mair_attr, 0x00); /* data: Device-nGnRnE */
    assert_int_equal(g_reads, 0);
    /* fetches are Normal NC, or write-through with SCTLR.I */
    assert_true(walk(0x1000, MMSIM_OP_EXEC, 1));
    assert_int_equal(g_res.mair_attr, 0x44);
    assert_int_equal(init_ctx(TCR_4K48, SCTLR_I, RAM_BASE, 0, 48), 0);
    assert_true(walk(0x1000, MMSIM_OP_EXEC, 1));
    assert_int_equal(g_res.mair_attr, 0xaa);
    /* a VA above PAMax is an address size fault at level 0 */
    assert_false(walk(BIT(48), MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 0, 0x00);
    /* ... unless only the ignored top byte is set */
    assert_int_equal(init_ctx(TCR_4K48 | TCR_TBI0, 0, RAM_BASE, 0, 48), 0);
    assert_true(walk(0x7f00001234567000ULL, MMSIM_OP_READ, 1));
    assert_int_equal(g_res.pa, 0x1234567000ULL);
}

/* ---- FSC, PAR, names ---------------------------------------------------- */

static void test_vmsa_fsc_codes_match_arm_table(void **state)
{
    (void)state;
    static const struct
    {
        enum mmsim_fault fault;
        int level;
        uint8_t fsc;
    } cases[] = {
        { MMSIM_FAULT_NONE, 3, 0x00 },         { MMSIM_FAULT_ADDR_SIZE, -1, 0x29 },
        { MMSIM_FAULT_ADDR_SIZE, 0, 0x00 },    { MMSIM_FAULT_ADDR_SIZE, 3, 0x03 },
        { MMSIM_FAULT_TRANSLATION, -1, 0x2b }, { MMSIM_FAULT_TRANSLATION, 0, 0x04 },
        { MMSIM_FAULT_TRANSLATION, 1, 0x05 },  { MMSIM_FAULT_TRANSLATION, 2, 0x06 },
        { MMSIM_FAULT_TRANSLATION, 3, 0x07 },  { MMSIM_FAULT_ACCESS_FLAG, 0, 0x08 },
        { MMSIM_FAULT_ACCESS_FLAG, 1, 0x09 },  { MMSIM_FAULT_ACCESS_FLAG, 3, 0x0b },
        { MMSIM_FAULT_PERMISSION, 0, 0x0c },   { MMSIM_FAULT_PERMISSION, 1, 0x0d },
        { MMSIM_FAULT_PERMISSION, 3, 0x0f },   { MMSIM_FAULT_EXT_ABORT, -1, 0x13 },
        { MMSIM_FAULT_EXT_ABORT, 0, 0x14 },    { MMSIM_FAULT_EXT_ABORT, 2, 0x16 },
        { MMSIM_FAULT_EXT_ABORT, 3, 0x17 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(mmsim_vmsa_fsc(cases[i].fault, cases[i].level), cases[i].fsc);
}

static void test_vmsa_par_success_normal_wb_keeps_sh(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_ATTR(0)); /* MAIR_RT attr0 = 0x7f, SH 11 */
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    /* PA[51:12] | ATTR 0x7f << 56 | SH 11 << 7 | RES1 bit 11 */
    assert_int_equal(mmsim_vmsa_par(&g_res), 0x7f00000087654980ULL);
    chain_4k(PAGE_PA | D_PAGE | D_AF | D_SH(2) | D_ATTR(0));
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    assert_int_equal(mmsim_vmsa_par(&g_res), 0x7f00000087654900ULL);
}

static void test_vmsa_par_device_and_nc_report_sh_outer(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK | D_ATTR(2)); /* Device-nGnRnE, descriptor SH 11 */
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    assert_int_equal(g_res.sh, 2);
    assert_int_equal(mmsim_vmsa_par(&g_res), 0x0000000087654900ULL);
    chain_4k(PAGE_OK | D_ATTR(1)); /* Normal NC 0x44 */
    assert_true(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    assert_int_equal(mmsim_vmsa_par(&g_res), 0x4400000087654900ULL);
    /* also for a hand-built result */
    struct mmsim_vmsa_result res = { .pa = 0x000f000012345678ULL, .mair_attr = 0x04, .sh = 3 };
    assert_int_equal(mmsim_vmsa_par(&res), 0x040f000012345900ULL);
}

static void test_vmsa_par_fault_gives_f_and_fst(void **state)
{
    (void)state;
    ctx_4k(0, 0);
    chain_4k(PAGE_OK);
    put(L2E(RAM_BASE), 0);
    assert_false(walk_as(VA_STD, MMSIM_OP_READ, 1, false, true));
    /* F = 1, FST = 0x06 in [6:1], bit 11 RES1 */
    assert_int_equal(mmsim_vmsa_par(&g_res), 0x80dULL);
    chain_4k(PAGE_OK | D_AP(2));
    assert_false(walk_as(VA_STD, MMSIM_OP_WRITE, 1, false, true));
    assert_int_equal(mmsim_vmsa_par(&g_res), 0x81fULL);
    struct mmsim_vmsa_result res = { .fault = MMSIM_FAULT_TRANSLATION, .level = -1, .fsc = 0x2b };
    assert_int_equal(mmsim_vmsa_par(&res), 0x857ULL);
}

static void test_vmsa_fault_name_names_every_kind(void **state)
{
    (void)state;
    assert_string_equal(mmsim_vmsa_fault_name(MMSIM_FAULT_NONE), "none");
    assert_string_equal(mmsim_vmsa_fault_name(MMSIM_FAULT_ADDR_SIZE), "address size");
    assert_string_equal(mmsim_vmsa_fault_name(MMSIM_FAULT_TRANSLATION), "translation");
    assert_string_equal(mmsim_vmsa_fault_name(MMSIM_FAULT_ACCESS_FLAG), "access flag");
    assert_string_equal(mmsim_vmsa_fault_name(MMSIM_FAULT_PERMISSION), "permission");
    assert_string_equal(mmsim_vmsa_fault_name(MMSIM_FAULT_EXT_ABORT), "external abort");
    assert_string_equal(mmsim_vmsa_fault_name((enum mmsim_fault)42), "unknown");
}

#define T(fn) cmocka_unit_test_setup(fn, reset_ram)

/* With TCR.DS the TTBR holds BADDR[51:48] in bits [5:2] whatever the output
 * size (ASL AArch64.S1TTBaseAddress): a base beyond a 48-bit IPS is an
 * address-size fault at the start level. Found by sim/walk's differential
 * test. */
static void test_vmsa_ds_ttbr_high_base_bits_fault_below_52_bit_oa(void **state)
{
    (void)state;
    /* 4K, 48-bit VA (start level 0), DS, IPS 48, PARange 52; TTBR0[5:2] = 1 */
    uint64_t tcr = TCR_LO(16, TCR_TG0_4K) | TCR_DS | TCR_IPS(5);
    assert_int_equal(init_ctx(tcr, SCTLR_M, RAM_BASE | 0x4, 0, 52), 0);
    put(RAM_BASE, (RAM_BASE + 0x1000) | D_TABLE);
    assert_false(walk(0x1000, MMSIM_OP_READ, 1));
    expect_fault(MMSIM_FAULT_ADDR_SIZE, 0, 0x00);
    /* the same TTBR without the high bits walks on */
    assert_int_equal(init_ctx(tcr, SCTLR_M, RAM_BASE, 0, 52), 0);
    assert_false(walk(0x1000, MMSIM_OP_READ, 1));
    assert_int_equal(g_res.fault, MMSIM_FAULT_TRANSLATION);
    assert_int_equal(g_res.level, 1);
}

/* The contiguous hint reads as 0 on 16K level-1 blocks (no contiguous run at
 * that level: ASL AArch64.ContiguousBit). */
static void test_vmsa_contiguous_bit_reads_zero_where_the_level_has_none(void **state)
{
    (void)state;
    /* 16K, 47-bit VA: start level 1 (one entry indexes VA[46:36]); DS allows L1 blocks */
    uint64_t tcr = TCR_LO(17, TCR_TG0_16K) | TCR_DS | TCR_IPS(5);
    assert_int_equal(init_ctx(tcr, SCTLR_M, RAM_BASE, 0, 52), 0);
    put(RAM_BASE, 0x1000000000ULL | D_BLOCK | D_AF | D_CONT);
    assert_true(walk(0x123, MMSIM_OP_READ, 1));
    assert_int_equal(g_res.level, 1);
    assert_int_equal(g_res.pa, 0x1000000123ULL);
    assert_false(g_res.contiguous);
    /* a 16K level-3 page keeps its hint */
    assert_int_equal(mmsim_vmsa_contig_entries(&g_ctx.half[0], 3), 128);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_vmsa_start_level_all_granules_match_arm_table),
        T(test_vmsa_level_shift_every_level_matches_index_fields),
        T(test_vmsa_index_bits_start_level_indexes_remainder),
        T(test_vmsa_block_allowed_per_granule_level_and_feature),
        T(test_vmsa_contig_entries_match_contiguous_size),
        T(test_vmsa_regime_rt_is_4k_48bit_inner_shareable),
        T(test_vmsa_desc_decode_vectors_give_hand_fields),
        T(test_vmsa_desc_encode_vectors_give_hand_raw),
        T(test_vmsa_desc_encode_invalid_gives_zero),
        T(test_vmsa_desc_encode_unrepresentable_fails_unchanged),
        T(test_vmsa_tcr_build_rt_both_halves_gives_linux_style_value),
        T(test_vmsa_tcr_build_no_upper_half_sets_epd1),
        T(test_vmsa_tcr_build_ips_and_granules_encode_fields),
        T(test_vmsa_ctx_init_linux_tcr_gives_rt_regimes),
        T(test_vmsa_ctx_init_per_half_controls_decode_separately),
        T(test_vmsa_ctx_init_tg_encodings_differ_per_half),
        T(test_vmsa_ctx_init_reserved_tg_fails_and_half_faults_l0),
        T(test_vmsa_ctx_init_txsz_out_of_range_marks_half_invalid),
        T(test_vmsa_ctx_init_oa_bits_min_of_ips_parange_and_format),
        T(test_vmsa_ctx_init_ttbr_base_52bit_and_alignment),
        T(test_vmsa_walk_4k_page_gives_pa_and_attributes),
        T(test_vmsa_walk_mair_attr_is_attrindx_byte),
        T(test_vmsa_walk_4k_blocks_map_whole_block),
        T(test_vmsa_walk_ttbr1_half_uses_upper_tables),
        T(test_vmsa_walk_4k_39bit_starts_at_level1),
        T(test_vmsa_walk_4k_42bit_l0_indexes_three_bits),
        T(test_vmsa_walk_16k_four_levels_gives_pa),
        T(test_vmsa_walk_64k_three_levels_gives_pa),
        T(test_vmsa_walk_64k_lpa_52bit_va_and_oa),
        T(test_vmsa_walk_4k_ds_starts_at_level_minus1_with_52bit_oa),
        T(test_vmsa_walk_level_minus1_faults_use_lpa2_codes),
        T(test_vmsa_walk_tbi_ignores_top_byte),
        T(test_vmsa_walk_non_canonical_va_gives_translation_l0),
        T(test_vmsa_walk_epd_gives_translation_l0),
        T(test_vmsa_walk_e0pd_faults_el0_only),
        T(test_vmsa_walk_ttbr_beyond_oa_gives_addrsize_l0),
        T(test_vmsa_walk_table_beyond_oa_gives_addrsize_at_its_level),
        T(test_vmsa_walk_leaf_beyond_oa_gives_addrsize_even_with_af0),
        T(test_vmsa_walk_invalid_descriptors_give_translation_at_level),
        T(test_vmsa_walk_blocks_at_invalid_levels_fault_unlike_qemu72),
        T(test_vmsa_walk_read_failure_gives_external_abort_at_level),
        T(test_vmsa_walk_af0_el1_page_el0_write_gives_access_flag),
        T(test_vmsa_walk_aptable_fault_reported_at_leaf_level),
        T(test_vmsa_walk_table_attrs_or_accumulate_across_levels),
        T(test_vmsa_walk_hpd_disables_table_permissions),
        T(test_vmsa_walk_ap_values_give_data_permissions),
        T(test_vmsa_walk_el0_writable_implies_pxn),
        T(test_vmsa_walk_wxn_removes_exec_from_writable),
        T(test_vmsa_walk_pan_blocks_el1_data_on_el0_pages),
        T(test_vmsa_walk_epan_also_blocks_el0_executable_pages),
        T(test_vmsa_walk_ha_sets_af_through_write64),
        T(test_vmsa_walk_ha_at_probe_succeeds_without_writing),
        T(test_vmsa_walk_ha_without_write64_succeeds_without_update),
        T(test_vmsa_walk_ha_hd_dbm_first_write_clears_ap2),
        T(test_vmsa_walk_dbm_needs_ha_and_hd),
        T(test_vmsa_walk_dbm_el0_writable_clean_is_pxn),
        T(test_vmsa_walk_no_hw_update_on_faulting_access),
        T(test_vmsa_walk_failed_hw_update_gives_external_abort),
        T(test_vmsa_walk_mmu_off_gives_flat_mapping),
        T(test_vmsa_fsc_codes_match_arm_table),
        T(test_vmsa_par_success_normal_wb_keeps_sh),
        T(test_vmsa_par_device_and_nc_report_sh_outer),
        T(test_vmsa_par_fault_gives_f_and_fst),
        T(test_vmsa_fault_name_names_every_kind),
        T(test_vmsa_ds_ttbr_high_base_bits_fault_below_52_bit_oa),
        T(test_vmsa_contiguous_bit_reads_zero_where_the_level_has_none),
    };
    return cmocka_run_group_tests_name("vmsa", tests, NULL, NULL);
}
