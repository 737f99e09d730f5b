/* RT-Thread's aarch64 MMU layer on simulated RAM: exact descriptors, table
 * reference counts, all-or-nothing map/unmap under injected failures, block
 * splitting, control, permissions, TLB hooks and kernel linear addresses. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <mm_aspace.h>
#include <mm_page.h>
#include <tlb.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include "fixture.h"

#define PAGE 0x1000ul
#define SECTION 0x200000ul

static struct rt_aspace g_as;

static int mmu_setup(void **state)
{
    if (fx_setup(state))
        return -1;
    memset(&g_as, 0, sizeof g_as);
    g_as.page_table = rt_hw_mmu_pgtbl_create();
    g_as.start = (void *)0x200000;
    g_as.size = 0x0001000000000000ul - 0x200000;
    rt_spin_lock_init(&g_as.pgtbl_lock);
    return g_as.page_table ? 0 : -1;
}

static int mmu_teardown(void **state)
{
    int problems = mmsim_mmu_check(&g_as, stderr, NULL);
    rt_hw_mmu_unmap(&g_as, (void *)0, 0x0001000000000000ul);
    rt_hw_mmu_pgtbl_delete(g_as.page_table);
    return fx_teardown(state) || problems ? -1 : 0;
}

static size_t allocated(void)
{
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    return st.allocated_frames;
}

static uint64_t *table_at(uint64_t desc) { return mmsim_phys_pa2host(desc & MMU_ADDRESS_MASK); }

/* The descriptor at `level` on the path to `va`, following table entries. */
static uint64_t desc_at(struct rt_aspace *as, uint64_t va, int level)
{
    uint64_t *tbl = as->page_table;
    for (int l = 0;; l++) {
        uint64_t d = tbl[(va >> (39 - 9 * l)) & 511];
        if (l == level)
            return d;
        tbl = table_at(d);
    }
}

static int table_ref(struct rt_aspace *as, uint64_t va, int level)
{
    return rt_page_ref_get(table_at(desc_at(as, va, level - 1)), 0);
}

static void *map(uint64_t va, uint64_t pa, size_t size, size_t attr)
{
    return rt_hw_mmu_map(&g_as, (void *)va, (void *)pa, size, attr);
}

static void test_mmu_attr_macros_match_rtthread_values(void **state)
{
    (void)state;
    assert_int_equal(MMU_MAP_K_RWCB, 0x600);
    assert_int_equal(MMU_MAP_K_RW, 0x604);
    assert_int_equal(MMU_MAP_K_DEVICE, 0x608);
    assert_int_equal(MMU_MAP_K_ROCB, 0x680);
    assert_int_equal(MMU_MAP_K_RO, 0x684);
    assert_int_equal(MMU_MAP_U_RWCB, 0xE40);
    assert_int_equal(MMU_MAP_U_RW, 0xE44);
    assert_int_equal(MMU_MAP_U_DEVICE, 0xE48);
    assert_int_equal(MMU_MAP_U_ROCB, 0xEC0);
    assert_int_equal(MMU_MAP_U_RO, 0xEC4);
    assert_int_equal(MMU_MAP_CUSTOM(MMU_AP_KAUA, NORMAL_MEM, 1) | 1, 0xE41); /* composes */
}

static void test_mmu_map_page_writes_exact_descriptor(void **state)
{
    (void)state;
    uint64_t pa = 0x40123000;
    assert_ptr_equal(map(0x10000000, pa, PAGE, MMU_MAP_U_RWCB), (void *)0x10000000);
    /* leaf = PA | (attr & MMU_ATTRIB_MASK) | page type 0b11 */
    assert_int_equal(desc_at(&g_as, 0x10000000, 3), 0x40123000 | 0xE40 | 3);
    assert_int_equal(desc_at(&g_as, 0x10000000, 0) & 3, 3);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x10000abc), (void *)0x40123abc);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x10001000), ARCH_MAP_FAILED);
}

static void test_mmu_table_refs_count_leaves_below(void **state)
{
    (void)state;
    size_t before = allocated();
    assert_non_null(map(0x10000000, 0x48000000, 3 * PAGE, MMU_MAP_U_RWCB));
    assert_int_equal(allocated() - before, 3); /* L1, L2, L3 tables */
    assert_int_equal(table_ref(&g_as, 0x10000000, 1), 3);
    assert_int_equal(table_ref(&g_as, 0x10000000, 2), 3);
    assert_int_equal(table_ref(&g_as, 0x10000000, 3), 3);
    assert_int_equal(rt_page_ref_get(g_as.page_table, 0), 1); /* root keeps its own 1 */
    rt_hw_mmu_unmap(&g_as, (void *)0x10001000, PAGE);
    assert_int_equal(table_ref(&g_as, 0x10000000, 3), 2);
    assert_int_equal(table_ref(&g_as, 0x10000000, 1), 2);
    rt_hw_mmu_unmap(&g_as, (void *)0x10000000, 3 * PAGE);
    assert_int_equal(allocated(), before); /* every table page went back */
    assert_int_equal(desc_at(&g_as, 0x10000000, 0), 0);
}

static void test_mmu_unmap_of_unmapped_changes_nothing(void **state)
{
    (void)state;
    assert_non_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
    size_t before = allocated();
    rt_hw_mmu_unmap(&g_as, (void *)0x10001000, 8 * PAGE);
    rt_hw_mmu_unmap(&g_as, (void *)0x7f0000000000, SECTION);
    assert_int_equal(allocated(), before);
    assert_int_equal(table_ref(&g_as, 0x10000000, 3), 1);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x10000000), (void *)0x48000000);
}

static void test_mmu_remap_keeps_counts_and_updates_leaf(void **state)
{
    (void)state;
    assert_non_null(map(0x10000000, 0x48000000, 2 * PAGE, MMU_MAP_U_RWCB));
    assert_non_null(map(0x10000000, 0x49000000, PAGE, MMU_MAP_U_ROCB));
    assert_int_equal(table_ref(&g_as, 0x10000000, 3), 2);
    assert_int_equal(desc_at(&g_as, 0x10000000, 3), 0x49000000 | 0xEC0 | 3);
}

static void test_mmu_aligned_2mib_uses_one_block(void **state)
{
    (void)state;
    size_t before = allocated();
    assert_non_null(map(0x40000000, 0x48000000, SECTION, MMU_MAP_K_RWCB));
    assert_int_equal(allocated() - before, 2); /* L1 and L2 tables only */
    assert_int_equal(desc_at(&g_as, 0x40000000, 2), 0x48000000 | 0x600 | 1);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x401fffff), (void *)0x481fffff);
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(&g_as, stderr, &info), 0);
    assert_int_equal(info.blocks, 1);
    assert_int_equal(info.pages, 0);
}

static void test_mmu_unaligned_pa_falls_back_to_pages(void **state)
{
    (void)state;
    assert_non_null(map(0x40000000, 0x48001000, SECTION, MMU_MAP_K_RWCB));
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(&g_as, stderr, &info), 0);
    assert_int_equal(info.blocks, 0);
    assert_int_equal(info.pages, 512);
    assert_int_equal(table_ref(&g_as, 0x40000000, 3), 512);
}

static void test_mmu_partial_unmap_splits_block(void **state)
{
    (void)state;
    assert_non_null(map(0x40000000, 0x48000000, SECTION, MMU_MAP_U_RWCB));
    size_t before = allocated();
    assert_int_equal(mmsim_mmu_unmap(&g_as, (void *)0x40001000, PAGE), RT_EOK);
    assert_int_equal(allocated() - before, 1); /* the new L3 table */
    assert_int_equal(table_ref(&g_as, 0x40000000, 3), 511);
    assert_int_equal(table_ref(&g_as, 0x40000000, 2), 511);
    assert_int_equal(table_ref(&g_as, 0x40000000, 1), 511);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x40001000), ARCH_MAP_FAILED);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x40002004), (void *)0x48002004);
    assert_int_equal(desc_at(&g_as, 0x40000000, 3), 0x48000000 | 0xE40 | 3);
    assert_int_equal(mmsim_mmu_check(&g_as, stderr, NULL), 0);
}

static void test_mmu_split_without_memory_fails_cleanly(void **state)
{
    (void)state;
    assert_non_null(map(0x40000000, 0x48000000, SECTION, MMU_MAP_U_RWCB));
    size_t before = allocated();
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_ONCE);
    assert_int_equal(mmsim_mmu_unmap(&g_as, (void *)0x40001000, PAGE), -RT_ENOMEM);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(allocated(), before);
    assert_int_equal(desc_at(&g_as, 0x40000000, 2), 0x48000000 | 0xE40 | 1);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x40001000), (void *)0x48001000);
}

static void test_mmu_map_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    /* An empty aspace needs three table pages for one page: fail each in turn. */
    for (uint64_t nth = 1; nth <= 3; nth++) {
        size_t before = allocated();
        mmsim_inject_arm(MMSIM_ALLOC_PAGE, nth, MMSIM_INJECT_ONCE);
        assert_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
        assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 1);
        assert_int_equal(allocated(), before);
        assert_int_equal(desc_at(&g_as, 0x10000000, 0), 0);
        assert_int_equal(mmsim_mmu_check(&g_as, stderr, NULL), 0);
    }
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 4, MMSIM_INJECT_ONCE);
    assert_non_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 0);
}

static void test_mmu_large_map_is_all_or_nothing(void **state)
{
    (void)state;
    assert_non_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
    size_t before = allocated();
    /* 4 MiB of pages from 0x10000000 needs one more L3 table (the second 2 MiB). */
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_PERSISTENT);
    assert_null(map(0x10000000, 0x48001000, 0x400000, MMU_MAP_U_RW)); /* PA forces pages */
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(allocated(), before);
    assert_int_equal(desc_at(&g_as, 0x10000000, 3), 0x48000000 | 0xE40 | 3); /* untouched */
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x10001000), ARCH_MAP_FAILED);
}

static void test_mmu_caller_errors_assert_and_change_nothing(void **state)
{
    (void)state;
    assert_non_null(map(0x40000000, 0x48000000, SECTION, MMU_MAP_U_RWCB));
    assert_non_null(map(0x10000000, 0x49000000, PAGE, MMU_MAP_U_RWCB));
    size_t before = allocated();
    void *r = (void *)1;
    FX_EXPECT_ASSERTS(1, r = map(0x40001000, 0x49000000, PAGE, MMU_MAP_U_RWCB));
    assert_null(r);
    assert_non_null(strstr(fx_asserts.msg, "block"));
    FX_EXPECT_ASSERTS(1, r = map(0x10000000, 0x4a000000, SECTION, MMU_MAP_U_RWCB));
    assert_null(r);
    assert_non_null(strstr(fx_asserts.msg, "page table"));
    FX_EXPECT_ASSERTS(1, assert_null(map(0x10000800, 0x49000000, PAGE, MMU_MAP_U_RWCB)));
    assert_non_null(strstr(fx_asserts.msg, "v_addr"));
    FX_EXPECT_ASSERTS(1, assert_null(map(0x10002000, 0x49000010, PAGE, MMU_MAP_U_RWCB)));
    assert_non_null(strstr(fx_asserts.msg, "p_addr"));
    FX_EXPECT_ASSERTS(1, assert_null(map(0x10002000, 0x49000000, 100, MMU_MAP_U_RWCB)));
    FX_EXPECT_ASSERTS(1, assert_null(map(0x0001000000000000ul, 0x49000000, PAGE, MMU_MAP_U_RWCB)));
    assert_non_null(strstr(fx_asserts.msg, "canonical"));
    FX_EXPECT_ASSERTS(1, assert_null(rt_hw_mmu_map(NULL, (void *)0x1000, (void *)0x1000, PAGE, 0)));
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_mmu_unmap(&g_as, (void *)0x10000001, PAGE), -RT_EINVAL));
    assert_int_equal(allocated(), before);
    assert_int_equal(desc_at(&g_as, 0x40000000, 2), 0x48000000 | 0xE40 | 1);
    assert_ptr_equal(map(0x20000000, 0x49000000, 0, MMU_MAP_U_RWCB), (void *)0x20000000);
    assert_int_equal(allocated(), before);
}

static void test_mmu_kernel_space_maps_high_half_and_linear_addresses(void **state)
{
    (void)state;
    void *frame = rt_pages_alloc(0);
    uint64_t pa = mmsim_phys_host2pa(frame);
    uint64_t kva = KERNEL_VADDR_START + 0x9000000;
    assert_ptr_equal(rt_hw_mmu_map(&rt_kernel_space, (void *)kva, (void *)pa, PAGE, MMU_MAP_K_RWCB),
                     (void *)kva);
    assert_ptr_equal(rt_kmem_v2p((void *)(kva + 8)), (void *)(pa + 8));
    assert_ptr_equal(rt_kmem_v2p((char *)frame + 8), (void *)(pa + 8)); /* linear: arithmetic */
    assert_ptr_equal(rt_kmem_v2p((void *)(kva + PAGE)), ARCH_MAP_FAILED);
    assert_int_equal(rt_kmem_pvoff() + (rt_ubase_t)frame, pa);
    /* read-only kernel mappings are reported (RT-Thread's write probe hides them) */
    assert_non_null(rt_hw_mmu_map(&rt_kernel_space, (void *)(kva + PAGE), (void *)pa, PAGE, MMU_MAP_K_ROCB));
    assert_ptr_equal(rt_kmem_v2p((void *)(kva + PAGE)), (void *)pa);
    FX_EXPECT_ASSERTS(1, rt_kmem_pvoff_set(rt_kmem_pvoff() + 1));
    rt_hw_mmu_unmap(&rt_kernel_space, (void *)kva, 2 * PAGE);
    rt_pages_free(frame, 0);
}

static void test_mmu_control_is_all_or_nothing(void **state)
{
    (void)state;
    assert_non_null(map(0x10000000, 0x48000000, 2 * PAGE, MMU_MAP_U_RWCB));
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, 2 * PAGE, MMU_CNTL_NONCACHE), RT_EOK);
    assert_int_equal(desc_at(&g_as, 0x10001000, 3), 0x48001000 | 0xE44 | 3);
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, 2 * PAGE, MMU_CNTL_CACHE), RT_EOK);
    assert_int_equal(desc_at(&g_as, 0x10001000, 3), 0x48001000 | 0xE40 | 3);

    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, PAGE, MMU_CNTL_READONLY), RT_EOK);
    struct mmsim_vmsa_access wr = { .op = MMSIM_OP_WRITE, .el = 0, .at = true };
    struct mmsim_vmsa_result res;
    assert_false(mmsim_mmu_translate(&g_as, 0x10000000, &wr, &res));
    assert_int_equal(res.fault, MMSIM_FAULT_PERMISSION);
    assert_true(mmsim_mmu_translate(&g_as, 0x10001000, &wr, &res));
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, PAGE, MMU_CNTL_READWRITE), RT_EOK);
    assert_true(mmsim_mmu_translate(&g_as, 0x10000000, &wr, &res));

    /* a device page in the range makes CACHE fail for the whole range */
    assert_non_null(map(0x10002000, 0x09000000, PAGE, MMU_MAP_U_DEVICE));
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, 3 * PAGE, MMU_CNTL_NONCACHE), -RT_ENOSYS);
    assert_int_equal(desc_at(&g_as, 0x10000000, 3), 0x48000000 | 0xE40 | 3);
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, PAGE, MMU_CNTL_OFFLOAD), -RT_ENOSYS);
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10000000, PAGE, (enum rt_mmu_cntl)99), -RT_ENOSYS);
    assert_non_null(map(0x40000000, 0x4a000000, SECTION, MMU_MAP_U_RWCB));
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x40000000, PAGE, MMU_CNTL_READONLY), -RT_EINVAL);
    assert_int_equal(desc_at(&g_as, 0x40000000, 2), 0x4a000000 | 0xE40 | 1);
}

static void test_mmu_perm_helpers_follow_aarch64(void **state)
{
    (void)state;
    const rt_base_t RU = RT_HW_MMU_PROT_READ | RT_HW_MMU_PROT_USER;
    const rt_base_t WU = RT_HW_MMU_PROT_WRITE | RT_HW_MMU_PROT_USER;
    const rt_base_t XU = RT_HW_MMU_PROT_EXECUTE | RT_HW_MMU_PROT_USER;
    const rt_base_t W = RT_HW_MMU_PROT_WRITE, X = RT_HW_MMU_PROT_EXECUTE, R = RT_HW_MMU_PROT_READ;
    /* RT-Thread's own case: user write */
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_U_RWCB, WU));
    assert_false(rt_hw_mmu_attr_test_perm(MMU_MAP_U_ROCB, WU));
    assert_int_equal(rt_hw_mmu_attr_rm_perm(MMU_MAP_U_RWCB, WU), MMU_MAP_U_ROCB);
    assert_int_equal(rt_hw_mmu_attr_add_perm(MMU_MAP_U_ROCB, WU), MMU_MAP_U_RWCB);
    assert_int_equal(rt_hw_mmu_attr_rm_perm(MMU_MAP_K_RWCB, WU), MMU_MAP_K_RWCB);
    /* kernel write */
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_K_RWCB, W));
    assert_int_equal(rt_hw_mmu_attr_rm_perm(MMU_MAP_K_RWCB, W), MMU_MAP_K_ROCB);
    assert_int_equal(rt_hw_mmu_attr_add_perm(MMU_MAP_K_ROCB, W), MMU_MAP_K_RWCB);
    /* read */
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_K_RWCB, R));
    assert_false(rt_hw_mmu_attr_test_perm(MMU_MAP_K_RWCB, RU));
    assert_int_equal(rt_hw_mmu_attr_add_perm(MMU_MAP_K_RWCB, RU), 0xEC0 & ~0x800ul); /* KRUR, still global */
    assert_int_equal(rt_hw_mmu_attr_rm_perm(MMU_MAP_U_ROCB, RU), MMU_MAP_K_ROCB | 0x800);
    /* execute: UXN bit 54, PXN bit 53; EL0-writable is never EL1-executable */
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_U_ROCB, XU));
    assert_int_equal(rt_hw_mmu_attr_rm_perm(MMU_MAP_U_ROCB, XU), MMU_MAP_U_ROCB | (1ul << 54));
    assert_false(rt_hw_mmu_attr_test_perm(MMU_MAP_U_ROCB | (1ul << 54), XU));
    assert_int_equal(rt_hw_mmu_attr_rm_perm(MMU_MAP_K_RWCB, X), MMU_MAP_K_RWCB | (1ul << 53));
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_K_RWCB, X));
    assert_false(rt_hw_mmu_attr_test_perm(MMU_MAP_U_RWCB, X));
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_U_ROCB, X));
    assert_int_equal(rt_hw_mmu_attr_add_perm(MMU_MAP_K_RWCB | (1ul << 53), X), MMU_MAP_K_RWCB);
    /* combinations */
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_U_RWCB, RU | WU));
    assert_true(rt_hw_mmu_attr_test_perm(MMU_MAP_U_RWCB, RU | WU | XU)); /* USER qualifies the whole mask */
    /* caller errors */
    size_t out = 0;
    FX_EXPECT_ASSERTS(1, out = rt_hw_mmu_attr_add_perm(MMU_MAP_K_RWCB, 0));
    assert_int_equal(out, MMU_MAP_K_RWCB);
    FX_EXPECT_ASSERTS(1, out = rt_hw_mmu_attr_rm_perm(MMU_MAP_K_RWCB, RT_HW_MMU_PROT_CACHE | R));
    assert_int_equal(out, MMU_MAP_K_RWCB);
    FX_EXPECT_ASSERTS(1, out = rt_hw_mmu_attr_rm_perm(MMU_MAP_K_RWCB, R));
    assert_int_equal(out, MMU_MAP_K_RWCB);
}

struct tlb_log
{
    int all, local, aspace, page, range, sw;
    void *last_va;
    size_t last_size;
    struct rt_aspace *last_as;
};

static void h_all(void *c) { ((struct tlb_log *)c)->all++; }
static void h_local(void *c) { ((struct tlb_log *)c)->local++; }
static void h_aspace(void *c, struct rt_aspace *a) { ((struct tlb_log *)c)->aspace++; ((struct tlb_log *)c)->last_as = a; }
static void h_page(void *c, struct rt_aspace *a, void *va)
{
    struct tlb_log *l = c;
    l->page++;
    l->last_as = a;
    l->last_va = va;
}
static void h_range(void *c, struct rt_aspace *a, void *va, size_t size, size_t stride)
{
    struct tlb_log *l = c;
    (void)stride;
    l->range++;
    l->last_as = a;
    l->last_va = va;
    l->last_size = size;
}
static void h_switch(void *c, struct rt_aspace *a) { ((struct tlb_log *)c)->sw++; ((struct tlb_log *)c)->last_as = a; }

static void test_mmu_tlb_calls_reach_installed_hooks(void **state)
{
    (void)state;
    struct tlb_log log = { 0 };
    struct mmsim_tlb_ops ops = { h_all, h_local, h_aspace, h_page, h_range, h_switch };
    struct mmsim_tlb_counters c0, c1;
    mmsim_tlb_counters_get(&c0);
    mmsim_tlb_ops_set(&ops, &log);
    rt_hw_tlb_invalidate_all();
    rt_hw_tlb_invalidate_all_local();
    rt_hw_tlb_invalidate_aspace(&g_as);
    rt_hw_tlb_invalidate_page(&g_as, (void *)0x1000);
    rt_hw_tlb_invalidate_range(&g_as, (void *)0x2000, 0x3000, PAGE);
    assert_ptr_equal(log.last_va, (void *)0x2000);
    assert_int_equal(log.last_size, 0x3000);
    rt_hw_aspace_switch(&g_as);
    assert_ptr_equal(rt_hw_mmu_tbl_get(), g_as.page_table);
    mmsim_tlb_ops_set(NULL, NULL);
    rt_hw_tlb_invalidate_all(); /* counted, no hook */
    mmsim_tlb_counters_get(&c1);
    assert_int_equal(log.all, 1);
    assert_int_equal(log.local, 1);
    assert_int_equal(log.aspace, 1);
    assert_int_equal(log.page, 1);
    assert_int_equal(log.range, 1);
    assert_int_equal(log.sw, 1);
    assert_ptr_equal(log.last_as, &g_as);
    assert_int_equal(c1.all - c0.all, 2);
    assert_int_equal(c1.switches - c0.switches, 1);
}

/* What replacing one page must reserve: exactly the tables its unmap frees,
 * and the map that follows the unmap then needs no allocation. */
static void test_mmu_unmap_frees_counts_the_tables_a_page_holds_alone(void **state)
{
    (void)state;
    void *va = (void *)0x10000000, *next = (void *)(0x10000000 + PAGE);
    assert_int_equal(mmsim_mmu_unmap_frees(&g_as, va), 3); /* nothing there: assume the worst */
    assert_non_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
    assert_int_equal(mmsim_mmu_unmap_frees(&g_as, va), 3); /* alone in L3, L2 and L1 */
    assert_non_null(map(0x10000000 + PAGE, 0x48001000, PAGE, MMU_MAP_U_RWCB));
    assert_int_equal(mmsim_mmu_unmap_frees(&g_as, va), 0);
    assert_int_equal(mmsim_mmu_unmap_frees(&g_as, next), 0);
    /* another L3 under the same L2: an L3 goes, the L2 stays */
    assert_non_null(map(0x10200000, 0x48002000, PAGE, MMU_MAP_U_RWCB));
    rt_hw_mmu_unmap(&g_as, next, PAGE);
    assert_int_equal(mmsim_mmu_unmap_frees(&g_as, va), 1);
    /* a 2 MiB block is split, not freed: the worst case again */
    assert_non_null(map(0x40000000, 0x48200000, SECTION, MMU_MAP_U_RWCB));
    assert_int_equal(mmsim_mmu_unmap_frees(&g_as, (void *)0x40001000), 3);

    struct mmsim_mmu_reserve r = { NULL, 0 };
    size_t before = allocated();
    rt_hw_mmu_unmap(&g_as, va, PAGE);
    assert_int_equal(before - allocated(), 1);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_PERSISTENT);
    assert_non_null(mmsim_mmu_map_reserved(&g_as, (void *)(0x10200000 + PAGE), (void *)0x48003000, PAGE, MMU_MAP_U_RWCB, &r));
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 0);
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_mmu_unmap_frees(NULL, va), 0));
}

/* The CPU model's leaf policies: AF=0 leaves (software access flag) and
 * writable-clean leaves (DBM); the AF fix; READONLY drops DBM so hardware
 * cannot make the page writable again. */
static void test_mmu_leaf_policy_shapes_new_leaves_only(void **state)
{
    (void)state;
    assert_non_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
    mmsim_mmu_leaf_policy_set(true, true);
    assert_non_null(map(0x10001000, 0x48001000, PAGE, MMU_MAP_U_RWCB));
    assert_non_null(map(0x10002000, 0x48002000, PAGE, MMU_MAP_U_ROCB));
    mmsim_mmu_leaf_policy_set(false, false);
    uint64_t before = desc_at(&g_as, 0x10000000, 3);
    uint64_t rw = desc_at(&g_as, 0x10001000, 3), ro = desc_at(&g_as, 0x10002000, 3);
    assert_true(before & MMU_ATTR_AF);
    assert_false(before & MMU_ATTR_DBM);
    assert_false(rw & MMU_ATTR_AF);
    assert_true(rw & MMU_ATTR_DBM);
    assert_int_equal((rw >> MMU_AP_SHIFT) & 3, MMU_AP_KRUR); /* writable-clean */
    assert_false(ro & MMU_ATTR_DBM);                        /* never writable */
    assert_int_equal(mmsim_mmu_set_access_flag(&g_as, (void *)0x10001000), RT_EOK);
    assert_true(desc_at(&g_as, 0x10001000, 3) & MMU_ATTR_AF);
    assert_int_equal(mmsim_mmu_set_access_flag(&g_as, (void *)0x10003000), -RT_ENOENT);
    mmsim_mmu_leaf_policy_set(false, true);
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10001000, PAGE, MMU_CNTL_READONLY), RT_EOK);
    assert_false(desc_at(&g_as, 0x10001000, 3) & MMU_ATTR_DBM);
    assert_int_equal(rt_hw_mmu_control(&g_as, (void *)0x10001000, PAGE, MMU_CNTL_READWRITE), RT_EOK);
    assert_true(desc_at(&g_as, 0x10001000, 3) & MMU_ATTR_DBM);
    mmsim_mmu_leaf_policy_set(false, false);
}

/* Table pages are counted as they are installed and freed, roots included. */
static void test_mmu_counters_follow_table_pages(void **state)
{
    (void)state;
    struct mmsim_mmu_counters a, b;
    mmsim_mmu_counters_get(&a);
    assert_non_null(map(0x7000000000, 0x48000000, PAGE, MMU_MAP_U_RWCB)); /* L1, L2, L3 */
    mmsim_mmu_counters_get(&b);
    assert_int_equal(b.tables_installed - a.tables_installed, 3);
    rt_hw_mmu_unmap(&g_as, (void *)0x7000000000, PAGE);
    mmsim_mmu_counters_get(&b);
    assert_int_equal(b.tables_freed - a.tables_freed, 3);
    void *root = rt_hw_mmu_pgtbl_create();
    rt_hw_mmu_pgtbl_delete(root);
    mmsim_mmu_counters_get(&a);
    assert_int_equal(a.tables_installed - b.tables_installed, 1);
    assert_int_equal(a.tables_freed - b.tables_freed, 1);
}

static void test_mmu_reservation_lets_map_succeed_without_memory(void **state)
{
    (void)state;
    struct mmsim_mmu_reserve r = { NULL, 0 };
    size_t before = allocated();
    assert_int_equal(mmsim_mmu_reserve(&g_as, (void *)0x10000000, (void *)0x48000000, PAGE, &r), RT_EOK);
    assert_int_equal(r.npages, 3);
    assert_int_equal(allocated() - before, 3);
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_PERSISTENT);
    assert_non_null(mmsim_mmu_map_reserved(&g_as, (void *)0x10000000, (void *)0x48000000, PAGE, MMU_MAP_U_RWCB, &r));
    assert_int_equal(mmsim_inject_disarm(MMSIM_ALLOC_PAGE), 0);
    assert_int_equal(r.npages, 0);
    mmsim_mmu_reserve_release(&r);
    assert_int_equal(allocated() - before, 3);
    /* a failed reservation holds nothing */
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 2, MMSIM_INJECT_ONCE);
    assert_int_equal(mmsim_mmu_reserve(&g_as, (void *)0x7000000000, (void *)0x48000000, PAGE, &r), -RT_ENOMEM);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_int_equal(r.npages, 0);
    assert_int_equal(allocated() - before, 3);
}

static void test_mmu_checker_detects_wrong_table_count(void **state)
{
    (void)state;
    assert_non_null(map(0x10000000, 0x48000000, PAGE, MMU_MAP_U_RWCB));
    uint64_t *l3 = table_at(desc_at(&g_as, 0x10000000, 2));
    rt_page_ref_inc(l3, 0);
    assert_true(mmsim_mmu_check(&g_as, NULL, NULL) > 0);
    rt_pages_free(l3, 0);
    assert_int_equal(mmsim_mmu_check(&g_as, stderr, NULL), 0);
}

static void test_mmu_v2p_agrees_with_hardware_walk(void **state)
{
    (void)state;
    uint64_t seed = fx_seed(__func__), s = seed;
    for (int i = 0; i < 64; i++) {
        uint64_t va = (fx_rand(&s) % 0x4000) * PAGE;
        uint64_t pa = 0x40000000 + (fx_rand(&s) % 0x10000) * PAGE;
        map(va + 0x10000000, pa, PAGE, (fx_rand(&s) & 1) ? MMU_MAP_U_RWCB : MMU_MAP_K_RW);
    }
    struct mmsim_vmsa_access rd = { .op = MMSIM_OP_READ, .el = 1, .at = true };
    for (int i = 0; i < 2000; i++) {
        uint64_t va = 0x10000000 + fx_rand(&s) % (0x4000 * PAGE);
        struct mmsim_vmsa_result res;
        bool ok = mmsim_mmu_translate(&g_as, va, &rd, &res);
        void *pa = rt_hw_mmu_v2p(&g_as, (void *)va);
        if (ok != (pa != ARCH_MAP_FAILED) || (ok && res.pa != (uintptr_t)pa))
            fail_msg("seed %llu: VA 0x%llx walk %d/0x%llx v2p %p", (unsigned long long)seed,
                     (unsigned long long)va, ok, (unsigned long long)res.pa, pa);
        if (!ok && res.fault != MMSIM_FAULT_TRANSLATION)
            fail_msg("seed %llu: VA 0x%llx unexpected fault %d", (unsigned long long)seed,
                     (unsigned long long)va, res.fault);
    }
}

static void *thread_churn(void *arg)
{
    uint64_t base = (uint64_t)(uintptr_t)arg;
    for (int i = 0; i < 500; i++) {
        uint64_t va = base + (uint64_t)(i % 37) * PAGE;
        if (!rt_hw_mmu_map(&g_as, (void *)va, (void *)0x48000000, PAGE, MMU_MAP_U_RWCB))
            return (void *)1;
        if (i % 3 == 0)
            rt_hw_mmu_unmap(&g_as, (void *)va, PAGE);
    }
    rt_hw_mmu_unmap(&g_as, (void *)base, 37 * PAGE);
    return NULL;
}

static void test_mmu_concurrent_edits_keep_tables_consistent(void **state)
{
    (void)state;
    pthread_t t[2];
    void *ret[2];
    /* Same L3 table for both threads, so their edits interleave on one page. */
    pthread_create(&t[0], NULL, thread_churn, (void *)0x10000000);
    pthread_create(&t[1], NULL, thread_churn, (void *)0x10080000);
    pthread_join(t[0], &ret[0]);
    pthread_join(t[1], &ret[1]);
    assert_null(ret[0]);
    assert_null(ret[1]);
    struct mmsim_mmu_info info;
    assert_int_equal(mmsim_mmu_check(&g_as, stderr, &info), 0);
    assert_int_equal(info.table_pages, 1);
}

static void test_mmu_badinput_misc(void **state)
{
    (void)state;
    size_t before = allocated();
    FX_EXPECT_ASSERTS(1, assert_ptr_equal(rt_hw_mmu_v2p(NULL, (void *)0x1000), ARCH_MAP_FAILED));
    FX_EXPECT_ASSERTS(1, assert_int_equal(rt_hw_mmu_control(NULL, (void *)0x1000, PAGE, MMU_CNTL_CACHE), -RT_EINVAL));
    FX_EXPECT_ASSERTS(1, rt_hw_mmu_pgtbl_delete(NULL));
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_mmu_reserve(&g_as, (void *)0x1000, (void *)0x1000, PAGE, NULL), -RT_EINVAL));
    struct mmsim_mmu_reserve r = { NULL, 0 };
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_mmu_reserve(&g_as, (void *)0x1800, (void *)0x1000, PAGE, &r), -RT_EINVAL));
    assert_int_equal(r.npages, 0);
    assert_ptr_equal(rt_hw_mmu_v2p(&g_as, (void *)0x0001000000000000ul), ARCH_MAP_FAILED);
    assert_int_equal(allocated(), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, mmu_setup, mmu_teardown)
        T(test_mmu_attr_macros_match_rtthread_values),
        T(test_mmu_map_page_writes_exact_descriptor),
        T(test_mmu_table_refs_count_leaves_below),
        T(test_mmu_unmap_of_unmapped_changes_nothing),
        T(test_mmu_remap_keeps_counts_and_updates_leaf),
        T(test_mmu_aligned_2mib_uses_one_block),
        T(test_mmu_unaligned_pa_falls_back_to_pages),
        T(test_mmu_partial_unmap_splits_block),
        T(test_mmu_split_without_memory_fails_cleanly),
        T(test_mmu_map_fails_cleanly_at_every_allocation),
        T(test_mmu_large_map_is_all_or_nothing),
        T(test_mmu_caller_errors_assert_and_change_nothing),
        T(test_mmu_kernel_space_maps_high_half_and_linear_addresses),
        T(test_mmu_control_is_all_or_nothing),
        T(test_mmu_perm_helpers_follow_aarch64),
        T(test_mmu_tlb_calls_reach_installed_hooks),
        T(test_mmu_reservation_lets_map_succeed_without_memory),
        T(test_mmu_unmap_frees_counts_the_tables_a_page_holds_alone),
        T(test_mmu_leaf_policy_shapes_new_leaves_only),
        T(test_mmu_counters_follow_table_pages),
        T(test_mmu_checker_detects_wrong_table_count),
        T(test_mmu_v2p_agrees_with_hardware_walk),
        T(test_mmu_concurrent_edits_keep_tables_consistent),
        T(test_mmu_badinput_misc),
#undef T
    };
    return cmocka_run_group_tests_name("mmu", tests, NULL, NULL);
}
