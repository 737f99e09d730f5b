/* Kernel space: rt_kmem_map_phy, the ioremap window and its aliases of RAM,
 * rt_kmem_list, and RT-Thread's test_find_free re-expressed for the current
 * MAP_FIXED semantics. */
#include <stdio.h>
#include <string.h>
#include <ioremap.h>
#include "mm_util.h"

#define K (&rt_kernel_space)
#define WINDOW_START 0xfffffffff0000000ul
#define WINDOW_SIZE 0x10000000ul

static uint64_t leaf_attr(void *va)
{
    struct mmsim_vmsa_access rd = { .op = MMSIM_OP_READ, .el = 1, .at = true };
    struct mmsim_vmsa_result res;
    if (!mmsim_mmu_translate(K, (uintptr_t)va, &rd, &res))
        fail_msg("%p is not mapped", va);
    return res.desc & MMU_ATTRIB_MASK;
}

static bool in_window(void *va)
{
    return (uintptr_t)va >= WINDOW_START && (uintptr_t)va - WINDOW_START < WINDOW_SIZE;
}

static void test_kmem_ioremap_window_is_qemu_virts(void **state)
{
    (void)state;
    assert_ptr_equal(rt_ioremap_start, (void *)WINDOW_START);
    assert_int_equal(rt_ioremap_size, WINDOW_SIZE);
}

/* RT-Thread's ioremap_tc: a cached alias of a RAM page reads what the page's
 * kernel linear address holds. */
static void test_kmem_ioremap_cached_aliases_ram(void **state)
{
    (void)state;
    size_t heap = mmsim_heap_used();
    int *frame = rt_pages_alloc(0);
    frame[0] = 0x1234abcd;
    void *pa = rt_kmem_v2p(frame);
    int *alias = rt_ioremap_cached(pa, PAGE);
    assert_non_null(alias);
    assert_true(in_window(alias));
    assert_ptr_equal(rt_kmem_v2p(alias), pa);
    assert_ptr_equal(rt_kmem_p2v(rt_kmem_v2p(alias)), frame);
    static int page[PAGE / sizeof(int)];
    assert_int_equal(rt_aspace_page_get(K, alias, page), RT_EOK);
    assert_int_equal(page[0], 0x1234abcd);
    assert_int_equal(leaf_attr(alias), MMU_MAP_K_RWCB);
    rt_iounmap(alias);
    assert_ptr_equal(rt_kmem_v2p(alias), ARCH_MAP_FAILED);
    rt_pages_free(frame, 0);
    assert_int_equal(mmsim_heap_used(), heap);
}

static void test_kmem_ioremap_kinds_keep_the_page_offset(void **state)
{
    (void)state;
    char *dev = rt_ioremap((void *)0x09000010, 0x20);
    char *nc = rt_ioremap_nocache((void *)0x09001000, PAGE + 1);
    char *wt = rt_ioremap_wt((void *)0x09003ffc, 8); /* straddles a page */
    char *cb = rt_ioremap_cached((void *)0x09005000, PAGE);
    assert_true(in_window(dev) && in_window(nc) && in_window(wt) && in_window(cb));
    assert_int_equal((uintptr_t)dev & ARCH_PAGE_MASK, 0x10);
    assert_int_equal((uintptr_t)wt & ARCH_PAGE_MASK, 0xffc);
    assert_ptr_equal(rt_kmem_v2p(dev), (void *)0x09000010);
    assert_ptr_equal(rt_kmem_v2p(wt + 4), (void *)0x09004000);
    assert_int_equal(leaf_attr(dev), MMU_MAP_K_DEVICE);
    assert_int_equal(leaf_attr(nc + PAGE), MMU_MAP_K_DEVICE);
    assert_int_equal(leaf_attr(wt), MMU_MAP_K_RW);
    assert_int_equal(leaf_attr(cb), MMU_MAP_K_RWCB);
    assert_int_equal(rt_aspace_query(K, nc)->size, 2 * PAGE);
    assert_int_equal(rt_aspace_query(K, wt)->size, 2 * PAGE);
    /* first fit in the window, lowest first */
    assert_ptr_equal((char *)dev - 0x10, (void *)WINDOW_START);
    rt_iounmap(dev);
    rt_iounmap(nc);
    rt_iounmap(wt + 4);
    rt_iounmap(cb);
    assert_int_equal(mmt_checked_vareas(K), 0);
    assert_null(rt_ioremap((void *)0x09000000, 0));
}

/* test_find_free's last part: ioremaps of doubling sizes fill the window
 * (4 KiB .. 128 MiB sum to 256 MiB - 4 KiB), then the next fails. */
static void test_kmem_ioremap_grows_until_the_window_is_full(void **state)
{
    (void)state;
    void *va[32];
    int n = 0;
    for (size_t size = PAGE;; size <<= 1) {
        va[n] = rt_ioremap((void *)0x10000000, size);
        if (!va[n])
            break;
        assert_true(in_window(va[n]) && in_window((char *)va[n] + size - 1));
        n++;
    }
    assert_int_equal(n, 16);
    assert_int_equal(rt_aspace_count_vsz(K), WINDOW_SIZE - PAGE);
    assert_non_null(va[n] = rt_ioremap((void *)0x10000000, PAGE)); /* the last page */
    assert_null(rt_ioremap((void *)0x10000000, PAGE));
    for (int i = 0; i <= n; i++)
        rt_iounmap(va[i]);
    assert_int_equal(mmt_checked_vareas(K), 0);
}

static void test_kmem_map_phy_maps_the_pages_covering_the_range(void **state)
{
    (void)state;
    char *va = (char *)(KERNEL_VADDR_START + 0x10000123);
    assert_int_equal(rt_kmem_map_phy(va, (void *)0x09000123, 0x100, MMU_MAP_K_DEVICE), RT_EOK);
    assert_ptr_equal(rt_kmem_v2p(va), (void *)0x09000123);
    rt_varea_t v = rt_aspace_query(K, va);
    assert_ptr_equal(v->start, va - 0x123);
    assert_int_equal(v->size, PAGE);
    assert_null(v->mem_obj);
    /* MAP_FIXED: a second map replaces the first */
    assert_int_equal(rt_kmem_map_phy(va - 0x123, (void *)0x0a000000, 2 * PAGE, MMU_MAP_K_RW), RT_EOK);
    assert_ptr_equal(rt_kmem_v2p(va), (void *)0x0a000123);
    assert_int_equal(mmt_checked_vareas(K), 1);
    assert_int_equal(rt_kmem_map_phy(NULL, (void *)0x09000000, PAGE, MMU_MAP_K_RW), -RT_EINVAL);
    assert_int_equal(rt_kmem_map_phy(va, (void *)0x09000000, PAGE, MMU_MAP_K_RW), -RT_EINVAL);
    assert_int_equal(rt_kmem_map_phy((void *)0x1000, (void *)0x9000, PAGE, MMU_MAP_K_RW), -RT_EINVAL);
    assert_int_equal(rt_aspace_unmap(K, va), RT_EOK);
}

static void test_kmem_list_prints_kernel_vareas(void **state)
{
    (void)state;
    assert_int_equal(rt_kmem_map_phy((void *)(KERNEL_VADDR_START + 0x200000), (void *)0x09000000, PAGE,
                                     MMU_MAP_K_DEVICE), RT_EOK);
    char buf[256] = { 0 };
    FILE *out = fmemopen(buf, sizeof buf - 1, "w");
    mmsim_console_set(out);
    rt_kmem_list();
    mmsim_console_set(stdout);
    fclose(out);
    assert_string_equal(buf, "[0xffff000000200000 - 0xffff000000201000] phy-map\n\t\\_ paddr = 0x9000000\n");
    assert_int_equal(rt_aspace_unmap(K, (void *)(KERNEL_VADDR_START + 0x200000)), RT_EOK);
}

/* test_find_free, for current semantics: FIXED at the top page works, and a
 * second FIXED there now replaces it (the old utest expected a failure); a
 * non-FIXED prefer there falls back to the lowest free VA; a size no gap can
 * hold is -RT_ENOSPC. */
static void test_kmem_find_free_in_kernel_space(void **state)
{
    (void)state;
    void *top = (void *)(0 - PAGE);
    void *va = top;
    assert_int_equal(rt_aspace_map(K, &va, PAGE, MMU_MAP_K_RWCB, MMF_MAP_FIXED | MMF_PREFETCH,
                                   &rt_mm_dummy_mapper, 0), RT_EOK);
    assert_ptr_equal(va, top);
    va = top;
    assert_int_equal(rt_aspace_map(K, &va, PAGE, MMU_MAP_K_RWCB, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 7), RT_EOK);
    assert_ptr_equal(va, top);
    assert_int_equal(mmt_checked_vareas(K), 1);
    va = top;
    assert_int_equal(rt_aspace_map(K, &va, PAGE, MMU_MAP_K_RWCB, 0, &rt_mm_dummy_mapper, 100), RT_EOK);
    assert_ptr_equal(va, (void *)KERNEL_VADDR_START);
    void *mid = (void *)(KERNEL_VADDR_START + (1ul << 47));
    va = mid;
    assert_int_equal(rt_aspace_map(K, &va, PAGE, MMU_MAP_K_RWCB, MMF_MAP_FIXED, &rt_mm_dummy_mapper, 200), RT_EOK);
    va = (void *)KERNEL_VADDR_START;
    assert_int_equal(rt_aspace_map(K, &va, (1ul << 48) - 0x8000000, MMU_MAP_K_RWCB, 0, &rt_mm_dummy_mapper, 300),
                     -RT_ENOSPC);
    assert_null(va);
    rt_aspace_unmap(K, top);
    rt_aspace_unmap(K, mid);
    rt_aspace_unmap(K, (void *)KERNEL_VADDR_START);
    assert_int_equal(mmt_checked_vareas(K), 0);
    assert_int_equal(mmt_tables(K), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
        T(test_kmem_ioremap_window_is_qemu_virts),
        T(test_kmem_ioremap_cached_aliases_ram),
        T(test_kmem_ioremap_kinds_keep_the_page_offset),
        T(test_kmem_ioremap_grows_until_the_window_is_full),
        T(test_kmem_map_phy_maps_the_pages_covering_the_range),
        T(test_kmem_list_prints_kernel_vareas),
        T(test_kmem_find_free_in_kernel_space),
#undef T
    };
    return cmocka_run_group_tests_name("kmem", tests, NULL, NULL);
}
