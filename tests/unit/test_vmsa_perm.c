/*
 * Exhaustive stage-1 permission matrix for the EL1&0 regime:
 *   AP(4) x UXN x PXN x AF x EL(0,1) x op(read/write/exec) x APTable(4)
 *   x UXNTable x PXNTable x HPD x WXN x PAN  = 24576 walks,
 * each checked against an oracle written from the Arm architecture as lookup
 * tables (AP data permissions, APTable limits) and the execute, WXN, PAN and
 * access-flag rules (spec sections 5 and 6; ASL S1DirectBasePermissions,
 * S1ComputePermissions, S1CheckPermissions). The oracle shares no code with
 * the walk. Table attributes are spread over different levels so that their
 * OR-accumulation is exercised too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <mmsim/vmsa.h>

#define BIT(n) (1ULL << (n))

/* descriptor bits */
#define D_TABLE 3ULL
#define D_PAGE 3ULL
#define D_AP(ap) ((uint64_t)(ap) << 6)
#define D_SH_INNER (3ULL << 8)
#define D_AF BIT(10)
#define D_PXN BIT(53)
#define D_UXN BIT(54)
#define T_PXN BIT(59)
#define T_UXN BIT(60)
#define T_AP0 BIT(61) /* APTable[0]: no EL0 access below */
#define T_AP1 BIT(62) /* APTable[1]: no write access below */

/* TCR: 4K, 48-bit, both halves, IPS 48, 16-bit ASIDs; HPD0 at bit 41 */
#define TCR_4K48 0x00000015b5103510ULL
#define TCR_HPD0 BIT(41)
#define SCTLR_M BIT(0)
#define SCTLR_WXN BIT(19)

/* VA 0x0000_0080_4060_5123 indexes L0[1], L1[1], L2[3], L3[5] (see test_vmsa.c) */
#define VA 0x0000008040605123ULL
#define PAGE_PA 0x87654000ULL
#define RAM_BASE 0x40000000ULL
#define RAM_WORDS (0x4000 / 8)

static uint64_t g_ram[RAM_WORDS];

static bool ram_read(void *ctx, uint64_t pa, uint64_t *val)
{
    (void)ctx;
    if (pa < RAM_BASE || pa >= RAM_BASE + sizeof g_ram || (pa & 7u))
        return false;
    *val = g_ram[(pa - RAM_BASE) / 8];
    return true;
}

static bool ram_write_refused(void *ctx, uint64_t pa, uint64_t val)
{
    (void)ctx;
    (void)pa;
    (void)val;
    fail_msg("HA is off: the walk must never write a descriptor");
    return false;
}

static const struct mmsim_vmsa_mem k_mem = { ram_read, ram_write_refused, NULL };

/* ---- the oracle -------------------------------------------------------- */

/* AP[2:1] -> data access, the table of spec section 6 (Arm ARM "Data access
 * permissions for stage 1 of the EL1&0 regime"). */
static const struct
{
    bool el1_read, el1_write, el0_read, el0_write;
} k_ap_rules[4] = {
    [0] = { true, true, false, false }, /* 00: EL1 RW, EL0 none */
    [1] = { true, true, true, true },   /* 01: EL1 RW, EL0 RW */
    [2] = { true, false, false, false },/* 10: EL1 RO, EL0 none */
    [3] = { true, false, true, false }, /* 11: EL1 RO, EL0 RO */
};

/* APTable -> what it takes away from everything below (spec section 6). */
static const struct
{
    bool no_el0_data, no_write;
} k_aptable_rules[4] = {
    [0] = { false, false },
    [1] = { true, false },
    [2] = { false, true },
    [3] = { true, true },
};

struct combo
{
    unsigned ap, aptable;
    bool uxn, pxn, af, uxn_table, pxn_table, hpd, wxn, pan;
    unsigned el;
    enum mmsim_vmsa_op op;
};

struct expectation
{
    enum mmsim_fault fault;
    uint8_t perms;
};

static struct expectation oracle(const struct combo *c)
{
    /* HPD: the hierarchical limits are ignored */
    unsigned aptable = c->hpd ? 0 : c->aptable;
    bool uxn_table = c->hpd ? false : c->uxn_table;
    bool pxn_table = c->hpd ? false : c->pxn_table;

    bool el1_r = k_ap_rules[c->ap].el1_read;
    bool el1_w = k_ap_rules[c->ap].el1_write && !k_aptable_rules[aptable].no_write;
    bool el0_r = k_ap_rules[c->ap].el0_read && !k_aptable_rules[aptable].no_el0_data;
    bool el0_w = k_ap_rules[c->ap].el0_write && !k_aptable_rules[aptable].no_el0_data &&
                 !k_aptable_rules[aptable].no_write;

    /* execute rules */
    bool el0_x = !c->uxn && !uxn_table;
    bool el1_x = !c->pxn && !pxn_table && !el0_w; /* EL0-writable => privileged execute-never */
    if (c->wxn) {                                 /* writable at an EL => not executable there */
        el0_x = el0_x && !el0_w;
        el1_x = el1_x && !el1_w;
    }

    struct expectation e = { MMSIM_FAULT_NONE, 0 };
    e.perms = (uint8_t)((el0_r ? MMSIM_PERM_EL0_R : 0) | (el0_w ? MMSIM_PERM_EL0_W : 0) |
                        (el0_x ? MMSIM_PERM_EL0_X : 0) | (el1_r ? MMSIM_PERM_EL1_R : 0) |
                        (el1_w ? MMSIM_PERM_EL1_W : 0) | (el1_x ? MMSIM_PERM_EL1_X : 0));

    /* priority: access flag (HA = 0) before permission */
    if (!c->af) {
        e.fault = MMSIM_FAULT_ACCESS_FLAG;
        return e;
    }
    const bool allowed[2][3] = {
        { el0_r, el0_w, el0_x },
        { el1_r, el1_w, el1_x },
    };
    bool ok = allowed[c->el][c->op];
    /* PAN: EL1 data accesses fault on pages EL0 can read or write */
    if (c->el == 1 && c->op != MMSIM_OP_EXEC && c->pan && (el0_r || el0_w))
        ok = false;
    if (!ok)
        e.fault = MMSIM_FAULT_PERMISSION;
    return e;
}

/* ---- running one combination ------------------------------------------- */

/*
 * Tables at RAM_BASE + 0x0000 (L0), 0x1000 (L1), 0x2000 (L2), 0x3000 (L3).
 * APTable[0] and PXNTable sit on the L0 entry, UXNTable on L1, APTable[1] on
 * L2, so the limits that reach the page are the OR over three levels.
 */
static void build_tables(const struct combo *c)
{
    uint64_t l0 = (RAM_BASE + 0x1000) | D_TABLE;
    uint64_t l1 = (RAM_BASE + 0x2000) | D_TABLE;
    uint64_t l2 = (RAM_BASE + 0x3000) | D_TABLE;
    if (c->aptable & 1u)
        l0 |= T_AP0;
    if (c->aptable & 2u)
        l2 |= T_AP1;
    if (c->pxn_table)
        l0 |= T_PXN;
    if (c->uxn_table)
        l1 |= T_UXN;
    uint64_t page = PAGE_PA | D_PAGE | D_SH_INNER | D_AP(c->ap);
    if (c->af)
        page |= D_AF;
    if (c->uxn)
        page |= D_UXN;
    if (c->pxn)
        page |= D_PXN;
    g_ram[0x0008 / 8] = l0;
    g_ram[0x1008 / 8] = l1;
    g_ram[0x2018 / 8] = l2;
    g_ram[0x3028 / 8] = page;
}

static void describe(const struct combo *c, char *buf, size_t size)
{
    static const char *const op_names[] = { "read", "write", "exec" };
    snprintf(buf, size,
             "AP=%u%u UXN=%d PXN=%d AF=%d EL%u %s APTable=%u%u UXNTable=%d PXNTable=%d HPD=%d "
             "WXN=%d PAN=%d",
             (c->ap >> 1) & 1u, c->ap & 1u, c->uxn, c->pxn, c->af, c->el, op_names[c->op],
             (c->aptable >> 1) & 1u, c->aptable & 1u, c->uxn_table, c->pxn_table, c->hpd, c->wxn,
             c->pan);
}

/* Returns whether the walk agreed with the oracle, printing the combination if not. */
static bool check_combo(const struct combo *c)
{
    struct mmsim_vmsa_regs regs = {
        .tcr = TCR_4K48 | (c->hpd ? TCR_HPD0 : 0),
        .mair = 0xff,
        .sctlr = SCTLR_M | (c->wxn ? SCTLR_WXN : 0),
        .ttbr0 = RAM_BASE,
        .ttbr1 = RAM_BASE,
    };
    struct mmsim_vmsa_ctx ctx;
    struct mmsim_vmsa_result res;
    struct mmsim_vmsa_access acc = { .op = c->op, .el = (uint8_t)c->el, .pan = c->pan };
    assert_int_equal(mmsim_vmsa_ctx_init(&ctx, &regs), 0);
    build_tables(c);
    bool ok = mmsim_vmsa_translate(&ctx, VA, &acc, &k_mem, &res);

    struct expectation want = oracle(c);
    bool match = res.fault == want.fault && ok == (want.fault == MMSIM_FAULT_NONE);
    if (want.fault != MMSIM_FAULT_NONE)
        match = match && res.level == 3 && res.fsc == mmsim_vmsa_fsc(want.fault, 3);
    else
        match = match && res.pa == PAGE_PA + 0x123;
    /* perms are the page's, whatever the access; checked once AF lets the walk judge them */
    if (c->af)
        match = match && res.perms == want.perms;
    if (!match) {
        char what[256];
        describe(c, what, sizeof what);
        print_error("%s: got %s level %d perms %#x, want %s perms %#x\n", what,
                    mmsim_vmsa_fault_name(res.fault), res.level, res.perms,
                    mmsim_vmsa_fault_name(want.fault), want.perms);
    }
    return match;
}

/* Next digit of a mixed-radix combination number. */
static unsigned take(unsigned *n, unsigned radix)
{
    unsigned digit = *n % radix;
    *n /= radix;
    return digit;
}

static struct combo combo_at(unsigned n)
{
    struct combo c;
    c.ap = take(&n, 4);
    c.aptable = take(&n, 4);
    c.op = (enum mmsim_vmsa_op)take(&n, 3);
    c.el = take(&n, 2);
    c.uxn = take(&n, 2);
    c.pxn = take(&n, 2);
    c.af = take(&n, 2);
    c.uxn_table = take(&n, 2);
    c.pxn_table = take(&n, 2);
    c.hpd = take(&n, 2);
    c.wxn = take(&n, 2);
    c.pan = take(&n, 2);
    return c;
}

#define COMBOS (4u * 4u * 3u * 2u * 2u * 2u * 2u * 2u * 2u * 2u * 2u * 2u)

static void test_vmsa_perm_matrix_every_combination_matches_arm_rules(void **state)
{
    (void)state;
    unsigned mismatches = 0, faults = 0, perm_faults = 0;
    for (unsigned n = 0; n < COMBOS; n++) {
        struct combo c = combo_at(n);
        if (!check_combo(&c) && ++mismatches >= 32)
            break;
        struct expectation e = oracle(&c);
        faults += e.fault != MMSIM_FAULT_NONE;
        perm_faults += e.fault == MMSIM_FAULT_PERMISSION;
    }
    assert_int_equal(mismatches, 0);
    /* the matrix must exercise both outcomes heavily, not just one */
    assert_true(perm_faults > COMBOS / 8 && faults - perm_faults == COMBOS / 2);
    assert_true(COMBOS - faults > COMBOS / 8);
}

/* A few rows of the oracle itself, written out by hand, so that a mistake in
 * the tables above cannot silently agree with the same mistake in the walk. */
static void test_vmsa_perm_oracle_spot_rows_match_hand_results(void **state)
{
    (void)state;
    static const struct
    {
        struct combo c;
        enum mmsim_fault fault;
    } rows[] = {
        /* EL0 read of an EL1-only page */
        { { .ap = 0, .af = true, .el = 0, .op = MMSIM_OP_READ }, MMSIM_FAULT_PERMISSION },
        /* EL0 write of AP=01 with APTable=10 */
        { { .ap = 1, .aptable = 2, .af = true, .el = 0, .op = MMSIM_OP_WRITE }, MMSIM_FAULT_PERMISSION },
        /* same, but HPD ignores APTable */
        { { .ap = 1, .aptable = 2, .hpd = true, .af = true, .el = 0, .op = MMSIM_OP_WRITE },
          MMSIM_FAULT_NONE },
        /* EL1 exec of an EL0-writable page */
        { { .ap = 1, .af = true, .el = 1, .op = MMSIM_OP_EXEC }, MMSIM_FAULT_PERMISSION },
        /* EL1 exec of an EL0-read-only page */
        { { .ap = 3, .af = true, .el = 1, .op = MMSIM_OP_EXEC }, MMSIM_FAULT_NONE },
        /* EL1 exec of an EL1-writable page under WXN */
        { { .ap = 0, .wxn = true, .af = true, .el = 1, .op = MMSIM_OP_EXEC }, MMSIM_FAULT_PERMISSION },
        /* EL1 read of an EL0-readable page under PAN */
        { { .ap = 3, .pan = true, .af = true, .el = 1, .op = MMSIM_OP_READ }, MMSIM_FAULT_PERMISSION },
        /* EL1 fetch under PAN is not a data access */
        { { .ap = 3, .pan = true, .af = true, .el = 1, .op = MMSIM_OP_EXEC }, MMSIM_FAULT_NONE },
        /* AF = 0 outranks a permission fault */
        { { .ap = 0, .af = false, .el = 0, .op = MMSIM_OP_WRITE }, MMSIM_FAULT_ACCESS_FLAG },
        /* EL0 exec under UXNTable */
        { { .ap = 3, .uxn_table = true, .af = true, .el = 0, .op = MMSIM_OP_EXEC },
          MMSIM_FAULT_PERMISSION },
        /* a write does not also need read: EL1 write of AP=00 */
        { { .ap = 0, .af = true, .el = 1, .op = MMSIM_OP_WRITE }, MMSIM_FAULT_NONE },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        assert_int_equal(oracle(&rows[i].c).fault, rows[i].fault);
        assert_true(check_combo(&rows[i].c));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vmsa_perm_oracle_spot_rows_match_hand_results),
        cmocka_unit_test(test_vmsa_perm_matrix_every_combination_matches_arm_rules),
    };
    return cmocka_run_group_tests_name("vmsa_perm", tests, NULL, NULL);
}
