/* The simulated CPU: syndromes, the trap into mm, TLB, ASIDs, processes,
 * fork/COW through loads and stores, and the simulator's own checks. */
#include <pthread.h>
#include <string.h>
#include <lwp.h>
#include <mm_page.h>
#include <mmsim/mm_check.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mmsim/alloc.h>
#include <mm_private.h>
#include <mmu.h>
#include <ioremap.h>
#include "simcpu.h"
#include "fixture.h"

/* Every check on, whatever the build's defaults (NDEBUG turns them off). */
static void config_checked(struct mmsim_sim_config *cfg)
{
    mmsim_sim_config_default(cfg);
    cfg->walk_crosscheck = true;
    cfg->stale_check = true;
    cfg->uaf_check = true;
}

static int setup(void **state)
{
    if (fx_setup(state))
        return -1;
    struct mmsim_sim_config cfg;
    config_checked(&cfg);
    return mmsim_sim_start(&cfg) == RT_EOK ? 0 : -1;
}

static int teardown(void **state)
{
    mmsim_sim_stop();
    return fx_teardown(state);
}

static void test_simcpu_esr_encodes_ec_wnr_and_fsc(void **state)
{
    (void)state;
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x07), 0x92000007ull);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_STORE, 0, 0x0f), 0x9200004full);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_STORE, 1, 0x06), 0x96000046ull);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_FETCH, 0, 0x07), 0x82000007ull);
    assert_int_equal(mmsim_cpu_esr(MMSIM_ACCESS_FETCH, 1, 0x0d), 0x8600000dull);
}


#define PAGE 4096ull

/* A simulator with `cfg` tweaked by the test (after fx_setup booted). */
static void restart(void (*tweak)(struct mmsim_sim_config *))
{
    mmsim_sim_stop();
    struct mmsim_sim_config cfg;
    config_checked(&cfg);
    tweak(&cfg);
    assert_int_equal(mmsim_sim_start(&cfg), RT_EOK);
}

static uint64_t mmap_anon(struct mmsim_proc *p, size_t npages)
{
    void *va = lwp_mmap2(mmsim_proc_lwp(p), NULL, npages * PAGE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true((uintptr_t)va < USER_VADDR_TOP);
    return (uint64_t)(uintptr_t)va;
}

static size_t frames(void)
{
    struct mmsim_phys_stats st;
    mmsim_phys_stats_get(&st);
    return st.allocated_frames;
}

static void *frame_of(struct mmsim_proc *p, uint64_t va)
{
    void *pa = rt_hw_mmu_v2p(mmsim_proc_aspace(p), (void *)(uintptr_t)va);
    return pa == ARCH_MAP_FAILED ? NULL : rt_kmem_p2v(pa);
}

static void check(void)
{
    assert_int_equal(mmsim_mm_check_machine(NULL, 0, stderr, NULL), 0);
}

/* Translation faults only come from the mm side as GENERIC_MMU. */
static void test_simcpu_esr_decodes_like_the_trap_path(void **state)
{
    (void)state;
    enum rt_mm_fault_op op;
    enum rt_mm_fault_type type;
    assert_true(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x06), &op, &type));
    assert_int_equal(op, MM_FAULT_OP_READ);
    assert_int_equal(type, MM_FAULT_TYPE_GENERIC_MMU);
    assert_true(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_STORE, 0, 0x0f), &op, &type));
    assert_int_equal(op, MM_FAULT_OP_WRITE);
    assert_true(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_FETCH, 1, 0x07), &op, &type));
    assert_int_equal(op, MM_FAULT_OP_EXECUTE);
    assert_true(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x2b), &op, &type)); /* level -1 */
    /* address size, access flag, external abort on the walk: not for mm */
    assert_false(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x01), &op, &type));
    assert_false(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x0b), &op, &type));
    assert_false(mmsim_cpu_esr_to_fault(mmsim_cpu_esr(MMSIM_ACCESS_LOAD, 0, 0x16), &op, &type));
    assert_false(mmsim_cpu_esr_to_fault(0x56000000ull, &op, &type)); /* an SVC */
}

/* The first store to fresh anonymous memory: the zero object's page fault
 * is a private write, so mm maps a fresh frame; the load then hits. */
static void test_simcpu_first_touch_faults_once_then_hits(void **state)
{
    (void)state;
    struct mmsim_proc *p = mmsim_proc_create("init");
    assert_non_null(p);
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    mmsim_cpu_run(cpu, p);
    assert_ptr_equal(lwp_self(), mmsim_proc_lwp(p));
    assert_int_not_equal(mmsim_proc_asid(p), 0);
    uint64_t va = mmap_anon(p, 4);
    size_t before = frames();
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_store(cpu, va + 8, 8, 0x1122334455667788ull, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 1);
    assert_int_equal(rep.last.fsc >> 2, 1); /* translation */
    assert_true(rep.last.fixed);
    assert_int_equal(rep.last.esr, mmsim_cpu_esr(MMSIM_ACCESS_STORE, 0, rep.last.fsc));
    assert_int_equal(rep.last.far, va + 8);
    /* the data frame and the tables the area needed (L1..L3 next to the stack's) */
    struct mmsim_cpu_stats st;
    mmsim_cpu_stats_get(cpu, &st);
    assert_int_equal(st.data_frames_alloc, 1);
    assert_int_equal(frames() - before, 1 + st.table_pages_alloc);
    uint64_t v = 0;
    assert_int_equal(mmsim_cpu_load(cpu, va + 8, 8, &v, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(v, 0x1122334455667788ull);
    assert_int_equal(rep.faults, 0);
    mmsim_cpu_stats_get(cpu, &st);
    assert_int_equal(st.tlb_hits, 1);
    assert_int_equal(st.faults, 1);
    assert_int_equal(st.accesses, 2);
    check();
    mmsim_proc_exit(p);
}

/* fork, then a child store: permission fault, a private copy; the parent
 * still reads its data. Exactly one new data frame. */
static void test_simcpu_fork_then_store_copies_on_write(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *parent = mmsim_proc_create("parent");
    mmsim_cpu_run(cpu, parent);
    uint64_t va = mmap_anon(parent, 2);
    assert_int_equal(mmsim_cpu_store(cpu, va, 4, 0xaabbccdd, NULL), MMSIM_ACCESS_OK);
    unsigned asid_before = mmsim_proc_asid(parent);
    struct mmsim_proc *child = mmsim_proc_fork(parent, "child");
    assert_non_null(child);
    /* the parent runs on a fresh aspace with a fresh ASID */
    assert_int_not_equal(mmsim_proc_asid(parent), asid_before);
    /* neither side maps anything yet: pages come from the old aspace, now
     * the read-only page store, on demand */
    assert_null(frame_of(parent, va));
    assert_null(frame_of(child, va));
    check();

    /* the child reads first: its PTE shares the store's frame, read-only */
    mmsim_cpu_run(cpu, child);
    uint64_t v = 0;
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_load(cpu, va, 4, &v, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(v, 0xaabbccdd);
    assert_int_equal(rep.last.fsc >> 2, 1); /* translation */
    void *shared = frame_of(child, va);
    assert_non_null(shared);
    assert_int_equal(rt_page_ref_get(shared, 0), 2); /* the store's PTE and the child's (P5) */
    size_t before = frames();
    assert_int_equal(mmsim_cpu_store(cpu, va, 4, 0x11111111, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 1);
    assert_int_equal(rep.last.fsc, 0x0f); /* permission, level 3 */
    assert_true(rep.last.esr & (1u << 6));
    assert_int_equal(rt_page_ref_get(shared, 0), 1); /* the store's again */
    struct mmsim_cpu_stats st;
    mmsim_proc_stats_get(child, &st);
    assert_int_equal(st.cow_copies, 1);
    assert_int_equal(frames() - before, 1);
    assert_ptr_not_equal(frame_of(child, va), shared);

    mmsim_cpu_run(cpu, parent);
    assert_int_equal(mmsim_cpu_load(cpu, va, 4, &v, NULL), MMSIM_ACCESS_OK);
    assert_int_equal(v, 0xaabbccdd);
    assert_ptr_equal(frame_of(parent, va), shared);
    mmsim_cpu_run(cpu, child);
    assert_int_equal(mmsim_cpu_load(cpu, va, 4, &v, NULL), MMSIM_ACCESS_OK);
    assert_int_equal(v, 0x11111111);
    check();
    mmsim_proc_exit(child);
    mmsim_proc_exit(parent);
    assert_int_equal(mmsim_mm_check_boot_counts(stderr, NULL), 0);
}

/* mmsim_proc_fork with the Nth page or heap allocation failing, for every
 * N until it succeeds: NULL, the parent's data and ASID intact, no frame or
 * heap byte left behind. */
static void fork_failing_at_each(enum mmsim_alloc_kind kind)
{
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *parent = mmsim_proc_create("parent");
    mmsim_cpu_run(cpu, parent);
    uint64_t va = mmap_anon(parent, 3);
    assert_int_equal(mmsim_cpu_store(cpu, va + PAGE, 8, 42, NULL), MMSIM_ACCESS_OK);
    for (uint64_t nth = 1;; nth++) {
        size_t f0 = frames();
        long h0 = (long)mmsim_heap_used();
        unsigned asid = mmsim_proc_asid(parent);
        mmsim_inject_arm(kind, nth, MMSIM_INJECT_ONCE);
        struct mmsim_proc *child = mmsim_proc_fork(parent, "child");
        uint64_t fired = mmsim_inject_disarm(kind);
        if (child) {
            assert_int_equal(fired, 0);
            mmsim_proc_exit(child);
            break;
        }
        assert_int_equal(fired, 1);
        assert_int_equal(frames(), f0);
        assert_int_equal((long)mmsim_heap_used(), h0);
        assert_int_equal(mmsim_proc_asid(parent), asid);
        uint64_t v = 0;
        assert_int_equal(mmsim_cpu_load(cpu, va + PAGE, 8, &v, NULL), MMSIM_ACCESS_OK);
        assert_int_equal(v, 42);
        check();
    }
    mmsim_proc_exit(parent);
}

static void test_simcpu_fork_fails_cleanly_at_every_allocation(void **state)
{
    (void)state;
    fork_failing_at_each(MMSIM_ALLOC_PAGE);
    fork_failing_at_each(MMSIM_ALLOC_HEAP);
}

static void test_simcpu_unmapped_access_is_segv_with_cause(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    struct mmsim_access_report rep;
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, 0x10000000, 8, &v, &rep), MMSIM_ACCESS_SEGV);
    assert_int_equal(rep.faults, 1);
    assert_false(rep.last.fixed);
    assert_non_null(strstr(rep.cause, "no varea"));
    /* nothing mapped in the kernel half: rt_kernel_space has no varea there */
    assert_int_equal(mmsim_cpu_load(cpu, 0xffff000000001000ull, 8, &v, &rep), MMSIM_ACCESS_SEGV);
    assert_non_null(strstr(rep.cause, "no varea"));
    /* an ioremapped frame: EL1 reads it, EL0 takes a permission fault mm refuses */
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    memset(frame, 0x5c, PAGE);
    void *kva = rt_ioremap((void *)((uintptr_t)frame + PV_OFFSET), PAGE);
    assert_non_null(kva);
    assert_int_equal(mmsim_cpu_load(cpu, (uintptr_t)kva, 1, &v, &rep), MMSIM_ACCESS_SEGV);
    assert_int_equal(rep.last.fsc >> 2, 3);
    mmsim_cpu_set_el(cpu, 1);
    assert_int_equal(mmsim_cpu_load(cpu, (uintptr_t)kva, 1, &v, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(v, 0x5c);
    rt_iounmap(kva);
    rt_pages_free(frame, 0);
    mmsim_proc_exit(p);
}

/* A page fault whose fix allocation fails is reported with that cause, and
 * nothing was left behind. */
static void test_simcpu_failed_allocation_names_the_cause(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 1);
    size_t before = frames();
    mmsim_inject_arm(MMSIM_ALLOC_PAGE, 1, MMSIM_INJECT_PERSISTENT);
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_store(cpu, va, 1, 1, &rep), MMSIM_ACCESS_SEGV);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    assert_non_null(strstr(rep.cause, "page allocation failed (injected)"));
    assert_int_equal(frames(), before);
    assert_int_equal(mmsim_cpu_store(cpu, va, 1, 1, &rep), MMSIM_ACCESS_OK);
    mmsim_proc_exit(p);
}

/* Bulk copies cross pages and stop at the first inaccessible byte. */
static void test_simcpu_bulk_copies_cross_pages(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 3);
    char buf[3 * PAGE], back[3 * PAGE];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i * 7);
    assert_int_equal(mmsim_cpu_write(cpu, va + 100, buf, 2 * PAGE, NULL), MMSIM_ACCESS_OK);
    assert_int_equal(mmsim_cpu_read(cpu, va + 100, back, 2 * PAGE, NULL), MMSIM_ACCESS_OK);
    assert_memory_equal(buf, back, 2 * PAGE);
    /* an 8-byte store across a page boundary */
    uint64_t v = 0;
    assert_int_equal(mmsim_cpu_store(cpu, va + PAGE - 3, 8, 0x0102030405060708ull, NULL), MMSIM_ACCESS_OK);
    assert_int_equal(mmsim_cpu_load(cpu, va + PAGE - 3, 8, &v, NULL), MMSIM_ACCESS_OK);
    assert_int_equal(v, 0x0102030405060708ull);
    /* past the end of the area */
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_read(cpu, va + 2 * PAGE, back, 2 * PAGE, &rep), MMSIM_ACCESS_SEGV);
    assert_int_equal(rep.va, va + 3 * PAGE);
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_cpu_load(cpu, va, 3, &v, NULL), MMSIM_ACCESS_BAD_ARGUMENT));
    mmsim_proc_exit(p);
}

/* RT-Thread's user data mappings (MMU_MAP_U_RWCB) carry no UXN: EL0 may
 * execute them. A fetch outside every varea is an instruction abort from
 * EL0 that mm refuses. */
static void test_simcpu_fetch_follows_rtthread_attributes(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 1);
    assert_int_equal(mmsim_cpu_store(cpu, va, 4, 0xd503201f, NULL), MMSIM_ACCESS_OK);
    uint32_t insn = 0;
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_fetch(cpu, va, &insn, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(insn, 0xd503201f);
    assert_int_equal(mmsim_cpu_fetch(cpu, 0x30000000, &insn, &rep), MMSIM_ACCESS_SEGV);
    assert_int_equal(rep.last.esr >> 26, 0x20);
    assert_int_equal(rep.last.esr & (1u << 6), 0); /* no WnR for instruction aborts */
    FX_EXPECT_ASSERTS(1, assert_int_equal(mmsim_cpu_fetch(cpu, va + 2, &insn, NULL), MMSIM_ACCESS_BAD_ARGUMENT));
    mmsim_proc_exit(p);
}

/* An object that claims every fault fixed but maps nothing: livelock. */
static void liar_fault(struct rt_varea *varea, struct rt_aspace_fault_msg *msg)
{
    (void)varea;
    msg->response.status = MM_FAULT_STATUS_OK_MAPPED;
}
static const char *liar_name(rt_varea_t varea) { (void)varea; return "liar"; }

static void test_simcpu_fix_without_progress_is_a_livelock(void **state)
{
    (void)state;
    static struct rt_mem_obj liar = { .get_name = liar_name, .on_page_fault = liar_fault };
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    void *va = (void *)0x20000000;
    assert_int_equal(rt_aspace_map(mmsim_proc_aspace(p), &va, PAGE, MMU_MAP_U_RWCB, MMF_MAP_FIXED, &liar, 0), RT_EOK);
    struct mmsim_access_report rep;
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, (uintptr_t)va, 8, &v, &rep), MMSIM_ACCESS_LIVELOCK);
    assert_int_equal(rep.faults, mmsim_sim_config()->livelock_faults);
    assert_int_equal(rep.nhistory, MMSIM_SIM_HISTORY);
    assert_true(rep.history[0].fixed);
    assert_non_null(strstr(rep.cause, "livelock"));
    assert_int_equal(rt_aspace_unmap(mmsim_proc_aspace(p), va), RT_EOK);
    mmsim_proc_exit(p);
}

/* An object that unmaps its pages without TLB maintenance (RT-Thread #9902's
 * class): the next access through the stale entry is caught. */
static void sloppy_close(struct rt_varea *varea)
{
    rt_hw_mmu_unmap(varea->aspace, varea->start, varea->size); /* no rt_hw_tlb_invalidate_range */
}

static void test_simcpu_missing_tlbi_is_caught_as_stale(void **state)
{
    (void)state;
    static struct rt_mem_obj sloppy;
    sloppy = rt_mm_dummy_mapper;
    sloppy.on_varea_close = sloppy_close;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    void *va = (void *)0x20000000;
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    assert_int_equal(rt_aspace_map_phy(mmsim_proc_aspace(p), &(struct rt_mm_va_hint){ .prefer = va, .map_size = PAGE,
                     .flags = MMF_MAP_FIXED, .limit_start = (void *)USER_VADDR_START,
                     .limit_range_size = USER_VADDR_TOP - USER_VADDR_START }, MMU_MAP_U_RWCB,
                     MM_PA_TO_OFF((uintptr_t)frame + PV_OFFSET), &va), RT_EOK);
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, (uintptr_t)va, 8, &v, NULL), MMSIM_ACCESS_OK); /* now cached */
    /* swap in the sloppy close for this varea and unmap */
    rt_varea_t varea = rt_aspace_query(mmsim_proc_aspace(p), va);
    varea->mem_obj = &sloppy;
    mmsim_sim_note_op("unmap by the sloppy object");
    assert_int_equal(rt_aspace_unmap(mmsim_proc_aspace(p), va), RT_EOK);
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_load(cpu, (uintptr_t)va, 8, &v, &rep), MMSIM_ACCESS_STALE_TLB);
    assert_non_null(strstr(rep.cause, "sloppy"));
    rt_pages_free(frame, 0);
    mmsim_proc_exit(p);
}

/* A frame freed while a mapping still reaches it (a kernel bug the
 * allocator cannot see): the next access through the cached translation is
 * reported with VA, PA and the operation that freed it. */
static void test_simcpu_access_to_a_freed_frame_is_reported(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    void *va = (void *)0x20000000;
    void *frame = rt_pages_alloc_ext(0, PAGE_ANY_AVAILABLE);
    uint64_t pa = (uintptr_t)frame + PV_OFFSET;
    struct rt_mm_va_hint hint = { .prefer = va, .map_size = PAGE, .flags = MMF_MAP_FIXED,
                                  .limit_start = (void *)USER_VADDR_START,
                                  .limit_range_size = USER_VADDR_TOP - USER_VADDR_START };
    assert_int_equal(rt_aspace_map_phy(mmsim_proc_aspace(p), &hint, MMU_MAP_U_RWCB, MM_PA_TO_OFF(pa), &va), RT_EOK);
    assert_int_equal(mmsim_cpu_store(cpu, (uintptr_t)va, 8, 7, NULL), MMSIM_ACCESS_OK);
    mmsim_sim_note_op("driver frees the frame early");
    rt_pages_free(frame, 0);
    struct mmsim_access_report rep;
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, (uintptr_t)va, 8, &v, &rep), MMSIM_ACCESS_USE_AFTER_FREE);
    assert_int_equal(rep.pa, pa);
    assert_int_equal(rep.va, (uintptr_t)va);
    assert_non_null(strstr(rep.cause, "driver frees the frame early"));
    /* the mapping goes; nothing else was freed twice */
    assert_int_equal(rt_aspace_unmap(mmsim_proc_aspace(p), va), RT_EOK);
    mmsim_proc_exit(p);
}

/* EL1 refused where EL0 is allowed (PAN, implicit PXN): no table change
 * can fix it, so the trap does not hand it to mm (whose #9854 rule would
 * call it fixed): one fault, segv, not a livelock. */
static void test_simcpu_el1_only_refusal_is_segv_not_livelock(void **state)
{
    (void)state;
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 1);
    assert_int_equal(mmsim_cpu_store(cpu, va, 4, 1, NULL), MMSIM_ACCESS_OK);
    mmsim_cpu_set_el(cpu, 1);
    mmsim_cpu_set_pan(cpu, true);
    struct mmsim_access_report rep;
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, va, 4, &v, &rep), MMSIM_ACCESS_SEGV);
    assert_int_equal(rep.faults, 1);
    assert_non_null(strstr(rep.cause, "PAN"));
    mmsim_cpu_set_pan(cpu, false);
    assert_int_equal(mmsim_cpu_load(cpu, va, 4, &v, &rep), MMSIM_ACCESS_OK);
    uint32_t insn;
    assert_int_equal(mmsim_cpu_fetch(cpu, va, &insn, &rep), MMSIM_ACCESS_SEGV);
    assert_int_equal(rep.faults, 1);
    assert_int_equal(rep.last.esr >> 26, 0x21);
    mmsim_proc_exit(p);
}

static void tweak_sw_af(struct mmsim_sim_config *c) { c->sw_af = true; }

/* Software-managed access flag: every first access takes an access-flag
 * fault, fixed by setting AF, and then hits. */
static void test_simcpu_sw_access_flag_faults_then_sets_af(void **state)
{
    (void)state;
    restart(tweak_sw_af);
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 1);
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_store(cpu, va, 1, 9, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 2); /* translation, then access flag at level 3 */
    assert_int_equal(rep.history[1].fsc, 0x0b);
    assert_true(rep.history[1].fixed);
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, va, 1, &v, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 0);
    assert_int_equal(v, 9);
    mmsim_proc_exit(p);
}

static void tweak_hafdbs(struct mmsim_sim_config *c) { c->hw_af = true; c->hw_dirty = true; }

/* Hardware dirty management: writable leaves are made writable-clean; the
 * first store dirties through the walk, without a fault beyond the first
 * touch, and the checker still sees no COW bypass. */
static void test_simcpu_hw_dirty_state_dirties_without_faults(void **state)
{
    (void)state;
    restart(tweak_hafdbs);
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 1);
    uint64_t v;
    struct mmsim_access_report rep;
    /* the read maps the zero page (read-only, no DBM) */
    assert_int_equal(mmsim_cpu_load(cpu, va, 8, &v, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 1);
    assert_int_equal(mmsim_cpu_store(cpu, va, 8, 5, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 1); /* COW from the zero page: the copy is mapped writable-clean */
    assert_int_equal(mmsim_cpu_store(cpu, va + 8, 8, 6, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 0);
    uint64_t *pte_frame = frame_of(p, va);
    assert_non_null(pte_frame);
    check();
    mmsim_proc_exit(p);
}

static void tweak_two_cpus(struct mmsim_sim_config *c) { c->ncpus = 2; }

/* S29-style TLB coherence: CPU1 caches the shared page; CPU0's process
 * forks and the child writes: the broadcast invalidation keeps CPU1 from
 * using its entry (the stale check would catch it otherwise). */
static void test_simcpu_broadcast_invalidation_keeps_other_cpus_coherent(void **state)
{
    (void)state;
    restart(tweak_two_cpus);
    struct mmsim_cpu *c0 = mmsim_sim_cpu(0), *c1 = mmsim_sim_cpu(1);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(c0, p);
    uint64_t va = mmap_anon(p, 1);
    assert_int_equal(mmsim_cpu_store(c0, va, 8, 1, NULL), MMSIM_ACCESS_OK);
    mmsim_cpu_run(c1, p);
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(c1, va, 8, &v, NULL), MMSIM_ACCESS_OK);
    assert_int_equal(mmsim_cpu_tlb_entries(c1), 1);
    struct mmsim_simtlb_entry e;
    assert_true(mmsim_cpu_tlb_find(c1, va, &e));
    assert_false(e.global);
    assert_int_equal(e.asid, mmsim_proc_asid(p));
    assert_ptr_equal(mmsim_proc_cpu(p), c0);
    assert_int_equal(lwp_munmap(mmsim_proc_lwp(p), (void *)(uintptr_t)va, PAGE), 0);
    assert_int_equal(mmsim_cpu_tlb_entries(c1), 0);
    assert_false(mmsim_cpu_tlb_find(c1, va, &e));
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_load(c1, va, 8, &v, &rep), MMSIM_ACCESS_SEGV);
    mmsim_proc_exit(p);
}

static void tweak_asid8(struct mmsim_sim_config *c) { c->asid_bits = 8; }

/* 8-bit ASIDs: 300 processes scheduled in turn roll the generation over and
 * each keeps working. */
static void test_simcpu_asid_rollover_keeps_processes_correct(void **state)
{
    (void)state;
    restart(tweak_asid8);
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    enum { N = 300 };
    static struct mmsim_proc *procs[N];
    uint64_t va[N];
    for (int i = 0; i < N; i++) {
        procs[i] = mmsim_proc_create("p");
        assert_non_null(procs[i]);
        mmsim_cpu_run(cpu, procs[i]);
        va[i] = mmap_anon(procs[i], 1);
        assert_int_equal(mmsim_cpu_store(cpu, va[i], 4, (uint64_t)i, NULL), MMSIM_ACCESS_OK);
    }
    for (int i = 0; i < N; i++) {
        mmsim_cpu_run(cpu, procs[i]);
        uint64_t v;
        assert_int_equal(mmsim_cpu_load(cpu, va[i], 4, &v, NULL), MMSIM_ACCESS_OK);
        assert_int_equal(v, (uint64_t)i);
        assert_true(mmsim_proc_asid(procs[i]) <= 255);
    }
    for (int i = 0; i < N; i++)
        mmsim_proc_exit(procs[i]);
}

/* Two CPUs on two host threads run one process and fault the same fresh
 * pages at once (RT-Thread #9854): each store lands, nothing leaks, and the
 * checker is content. Run under TSan too. */
struct racer
{
    struct mmsim_cpu *cpu;
    struct mmsim_proc *p;
    uint64_t va;
    unsigned npages;
    unsigned lane; /* which 8 bytes of each page this CPU writes */
    int failures;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    mmsim_cpu_enter(r->cpu);
    for (unsigned i = 0; i < r->npages; i++) {
        uint64_t va = r->va + i * PAGE + r->lane * 8;
        if (mmsim_cpu_store(r->cpu, va, 8, va ^ r->lane, NULL) != MMSIM_ACCESS_OK)
            r->failures++;
    }
    return NULL;
}

static void test_simcpu_two_threads_fault_the_same_pages(void **state)
{
    (void)state;
    restart(tweak_two_cpus);
    enum { NPAGES = 64 };
    struct mmsim_proc *p = mmsim_proc_create("p");
    struct racer r[2];
    uint64_t va = mmap_anon(p, NPAGES);
    for (unsigned i = 0; i < 2; i++) {
        r[i] = (struct racer){ .cpu = mmsim_sim_cpu(i), .p = p, .va = va, .npages = NPAGES, .lane = i };
        mmsim_cpu_run(r[i].cpu, p);
    }
    pthread_t th[2];
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &r[i]), 0);
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    struct mmsim_cpu *c0 = mmsim_sim_cpu(0);
    mmsim_cpu_enter(c0);
    for (unsigned i = 0; i < 2; i++)
        assert_int_equal(r[i].failures, 0);
    for (unsigned pg = 0; pg < NPAGES; pg++)
        for (unsigned lane = 0; lane < 2; lane++) {
            uint64_t v, at = va + pg * PAGE + lane * 8;
            assert_int_equal(mmsim_cpu_load(c0, at, 8, &v, NULL), MMSIM_ACCESS_OK);
            assert_int_equal(v, at ^ lane);
        }
    struct mmsim_cpu_stats st;
    mmsim_proc_stats_get(p, &st);
    assert_int_equal(st.stores, 2 * NPAGES);
    check();
    mmsim_proc_exit(p);
}

static void tweak_fast(struct mmsim_sim_config *c)
{
    c->walk_crosscheck = false;
    c->stale_check = false;
    c->uaf_check = false;
}

/* With the per-hit checks off, TLB hits take simcpu.h's inline path: every
 * size round-trips, hits are counted once, a miss goes to the slow path
 * with its lookup, and a store to a read-only entry still faults (COW). */
static void test_simcpu_inline_hit_path_agrees_with_the_slow_path(void **state)
{
    (void)state;
    restart(tweak_fast);
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    struct mmsim_proc *p = mmsim_proc_create("p");
    mmsim_cpu_run(cpu, p);
    uint64_t va = mmap_anon(p, 1);
    assert_int_equal(mmsim_cpu_store(cpu, va, 8, 0, NULL), MMSIM_ACCESS_OK); /* the miss and fault */
    struct mmsim_cpu_stats a, b;
    mmsim_cpu_stats_get(cpu, &a);
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    for (unsigned k = 0; k < 4; k++) {
        uint64_t at = va + 64 + 16 * k, v = 0;
        uint64_t want = sizes[k] == 8 ? 0x8877665544332211ull : 0x8877665544332211ull & ((1ull << (8 * sizes[k])) - 1);
        struct mmsim_access_report rep;
        assert_int_equal(mmsim_cpu_store(cpu, at, sizes[k], 0x8877665544332211ull, &rep), MMSIM_ACCESS_OK);
        assert_int_equal(rep.faults, 0);
        assert_int_equal(mmsim_cpu_load(cpu, at, sizes[k], &v, &rep), MMSIM_ACCESS_OK);
        assert_int_equal(v, want);
    }
    mmsim_cpu_stats_get(cpu, &b);
    assert_int_equal(b.tlb_hits - a.tlb_hits, 8);
    assert_int_equal(b.tlb_misses - a.tlb_misses, 0);
    assert_int_equal(b.loads - a.loads, 4);
    assert_int_equal(b.stores - a.stores, 4);
    assert_int_equal(b.accesses - a.accesses, 8);
    /* after fork the parent's fresh tables miss; its read fills a read-only
     * entry and its store is a permission miss that walks and COWs */
    struct mmsim_proc *child = mmsim_proc_fork(p, "child");
    uint64_t v;
    assert_int_equal(mmsim_cpu_load(cpu, va + 64, 1, &v, NULL), MMSIM_ACCESS_OK);
    mmsim_cpu_stats_get(cpu, &a);
    struct mmsim_access_report rep;
    assert_int_equal(mmsim_cpu_store(cpu, va + 64, 1, 0x5a, &rep), MMSIM_ACCESS_OK);
    assert_int_equal(rep.faults, 1);
    assert_int_equal(rep.last.fsc, 0x0f);
    mmsim_cpu_stats_get(cpu, &b);
    assert_int_equal(b.tlb_perm_misses - a.tlb_perm_misses, 1);
    assert_int_equal(b.cow_copies - a.cow_copies, 1);
    mmsim_proc_exit(child);
    mmsim_proc_exit(p);
}

static void test_simcpu_bad_config_is_refused(void **state)
{
    (void)state;
    mmsim_sim_stop();
    struct mmsim_sim_config cfg;
    mmsim_sim_config_default(&cfg);
    cfg.ncpus = 0;
    assert_int_equal(mmsim_sim_start(&cfg), -RT_EINVAL);
    mmsim_sim_config_default(&cfg);
    cfg.tlb_entries = 100;
    assert_int_equal(mmsim_sim_start(&cfg), -RT_EINVAL);
    mmsim_sim_config_default(&cfg);
    cfg.hw_dirty = true;
    assert_int_equal(mmsim_sim_start(&cfg), -RT_EINVAL);
    assert_false(mmsim_sim_started());
    assert_int_equal(mmsim_sim_start(NULL), RT_EOK);
    assert_int_equal(mmsim_sim_start(NULL), -RT_EBUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_simcpu_esr_encodes_ec_wnr_and_fsc),
        T(test_simcpu_esr_decodes_like_the_trap_path),
        T(test_simcpu_first_touch_faults_once_then_hits),
        T(test_simcpu_fork_then_store_copies_on_write),
        T(test_simcpu_fork_fails_cleanly_at_every_allocation),
        T(test_simcpu_unmapped_access_is_segv_with_cause),
        T(test_simcpu_failed_allocation_names_the_cause),
        T(test_simcpu_bulk_copies_cross_pages),
        T(test_simcpu_fetch_follows_rtthread_attributes),
        T(test_simcpu_fix_without_progress_is_a_livelock),
        T(test_simcpu_missing_tlbi_is_caught_as_stale),
        T(test_simcpu_access_to_a_freed_frame_is_reported),
        T(test_simcpu_el1_only_refusal_is_segv_not_livelock),
        T(test_simcpu_sw_access_flag_faults_then_sets_af),
        T(test_simcpu_hw_dirty_state_dirties_without_faults),
        T(test_simcpu_broadcast_invalidation_keeps_other_cpus_coherent),
        T(test_simcpu_asid_rollover_keeps_processes_correct),
        T(test_simcpu_two_threads_fault_the_same_pages),
        T(test_simcpu_inline_hit_path_agrees_with_the_slow_path),
        T(test_simcpu_bad_config_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
