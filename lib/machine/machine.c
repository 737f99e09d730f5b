/* Boot and teardown of the one simulated machine: RAM and allocator, then
 * kernel space; teardown measures what is left against the boot snapshot
 * (Linux's check_mm idea) before releasing the host memory. */
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include "phys/phys.h"

#define MACHINE_DEFAULT_RAM_BASE 0x40000000ULL
#define MACHINE_DEFAULT_RAM_SIZE (256ULL << 20)
#define MACHINE_DEFAULT_QUARANTINE 64u

static struct
{
    bool up;
    uint64_t generation;
    size_t boot_frames;
    size_t boot_heap;
} g_machine;

void mmsim_machine_config_default(struct mmsim_machine_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ram_base = MACHINE_DEFAULT_RAM_BASE;
    cfg->ram_size = MACHINE_DEFAULT_RAM_SIZE;
#ifdef MMSIM_DEBUG_AIDS
    cfg->debug_aids = true;
    cfg->quarantine_frames = MACHINE_DEFAULT_QUARANTINE;
#endif
}

static int kernel_space_init(void)
{
    struct rt_aspace *k = &rt_kernel_space;
    memset(k, 0, sizeof *k);
    k->page_table = rt_hw_mmu_pgtbl_create();
    if (!k->page_table)
        return -RT_ENOMEM;
    k->start = (void *)KERNEL_VADDR_START;
    k->size = 0 - (rt_size_t)KERNEL_VADDR_START;
    MM_PGTBL_LOCK_INIT(k);
    rt_mutex_init(&k->bst_lock, "aspace", RT_IPC_FLAG_FIFO);
    return RT_EOK;
}

int mmsim_machine_boot(const struct mmsim_machine_config *cfg)
{
    if (!cfg)
        return -RT_EINVAL;
    if (g_machine.up)
        return -RT_EBUSY;
    struct phys_config pc = {
        .ram_base = cfg->ram_base,
        .ram_size = cfg->ram_size,
        .install_size = cfg->install_size,
        .debug_aids = cfg->debug_aids,
        .quarantine_frames = cfg->quarantine_frames,
    };
    int rc = mmsim_phys_init(&pc);
    if (rc != RT_EOK)
        return rc;
    mmsim_heap_set_total(cfg->heap_size);
    mmsim_mmu_leaf_policy_set(false, false); /* RT-Thread's leaves until a CPU model says otherwise */
    g_machine.boot_heap = mmsim_heap_used();
    rc = kernel_space_init();
    if (rc != RT_EOK) {
        mmsim_phys_fini();
        return rc;
    }
    g_machine.boot_frames = mmsim_phys_allocated_frames();
    __atomic_add_fetch(&g_machine.generation, 1, __ATOMIC_RELEASE);
    g_machine.up = true;
    return RT_EOK;
}

int mmsim_machine_boot_default(void)
{
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    return mmsim_machine_boot(&cfg);
}

bool mmsim_machine_booted(void)
{
    return g_machine.up;
}

uint64_t mmsim_machine_generation(void)
{
    return __atomic_load_n(&g_machine.generation, __ATOMIC_ACQUIRE);
}

static bool leaky(const struct mmsim_leak_report *rep)
{
    return rep->frames || rep->heap_bytes || rep->allocator_problems;
}

/* Everything but the heap, which teardown measures after freeing RAM. */
static void measure_frames(struct mmsim_leak_report *rep)
{
    struct mmsim_mmu_info kinfo;
    mmsim_mmu_check(&rt_kernel_space, NULL, &kinfo);
    rep->kernel_tables = kinfo.table_pages ? kinfo.table_pages - 1 : 0;
    rep->allocator_problems = mmsim_phys_check(stderr);
    rep->frames = mmsim_phys_allocated_frames() - g_machine.boot_frames;
}

int mmsim_machine_leaks(struct mmsim_leak_report *out)
{
    struct mmsim_leak_report rep;
    memset(&rep, 0, sizeof rep);
    if (g_machine.up) {
        measure_frames(&rep);
        rep.heap_bytes = (long)mmsim_heap_used() - (long)g_machine.boot_heap;
    }
    if (out)
        *out = rep;
    return leaky(&rep) ? 1 : 0;
}

int mmsim_machine_shutdown(struct mmsim_leak_report *out)
{
    struct mmsim_leak_report rep;
    memset(&rep, 0, sizeof rep);
    if (!g_machine.up) {
        if (out)
            *out = rep;
        return 0;
    }
    measure_frames(&rep);
    rt_mutex_detach(&rt_kernel_space.bst_lock);
    memset(&rt_kernel_space, 0, sizeof rt_kernel_space);
    mmsim_inject_disarm(MMSIM_ALLOC_PAGE);
    mmsim_phys_fini();
    rep.heap_bytes = (long)mmsim_heap_used() - (long)g_machine.boot_heap;
    g_machine.up = false;
    if (out)
        *out = rep;
    return leaky(&rep) ? 1 : 0;
}

void mmsim_leak_report_print(const struct mmsim_leak_report *rep, FILE *out)
{
    fprintf(out, "leaks: %zu frame(s) (%zu kernel table page(s)), %ld heap byte(s), %d allocator problem(s)\n",
            rep->frames, rep->kernel_tables, rep->heap_bytes, rep->allocator_problems);
}
