/* TLB maintenance: lib/ cannot see the simulated CPU, so the broadcast TLBIs
 * RT-Thread issues are forwarded to whatever hooks the CPU installed, and
 * counted so tests can assert that maintenance happened. */
#include <tlb.h>
#include <mm_aspace.h>
#include <mmsim/pgtable.h>

static pthread_mutex_t g_tlb_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mmsim_tlb_ops g_ops;
static void *g_ctx;
static struct mmsim_tlb_counters g_count;
static _Thread_local struct rt_aspace *g_current;

void mmsim_tlb_ops_set(const struct mmsim_tlb_ops *ops, void *ctx)
{
    pthread_mutex_lock(&g_tlb_lock);
    if (ops)
        g_ops = *ops;
    else
        memset(&g_ops, 0, sizeof g_ops);
    g_ctx = ctx;
    pthread_mutex_unlock(&g_tlb_lock);
}

void mmsim_tlb_counters_get(struct mmsim_tlb_counters *out)
{
    pthread_mutex_lock(&g_tlb_lock);
    *out = g_count;
    pthread_mutex_unlock(&g_tlb_lock);
}

/* Snapshot the hooks under the lock, bump a counter, call outside the lock so
 * a hook may itself issue maintenance. */
static struct mmsim_tlb_ops snapshot(uint64_t *counter, void **ctx)
{
    pthread_mutex_lock(&g_tlb_lock);
    (*counter)++;
    struct mmsim_tlb_ops ops = g_ops;
    *ctx = g_ctx;
    pthread_mutex_unlock(&g_tlb_lock);
    return ops;
}

void rt_hw_tlb_invalidate_all(void)
{
    void *ctx;
    struct mmsim_tlb_ops ops = snapshot(&g_count.all, &ctx);
    if (ops.invalidate_all)
        ops.invalidate_all(ctx);
}

void rt_hw_tlb_invalidate_all_local(void)
{
    void *ctx;
    struct mmsim_tlb_ops ops = snapshot(&g_count.all_local, &ctx);
    if (ops.invalidate_all_local)
        ops.invalidate_all_local(ctx);
}

void rt_hw_tlb_invalidate_aspace(struct rt_aspace *aspace)
{
    void *ctx;
    struct mmsim_tlb_ops ops = snapshot(&g_count.aspace, &ctx);
    if (ops.invalidate_aspace)
        ops.invalidate_aspace(ctx, aspace);
}

void rt_hw_tlb_invalidate_page(struct rt_aspace *aspace, void *start)
{
    void *ctx;
    struct mmsim_tlb_ops ops = snapshot(&g_count.page, &ctx);
    if (ops.invalidate_page)
        ops.invalidate_page(ctx, aspace, start);
}

void rt_hw_tlb_invalidate_range(struct rt_aspace *aspace, void *start, size_t size, size_t stride)
{
    void *ctx;
    struct mmsim_tlb_ops ops = snapshot(&g_count.range, &ctx);
    if (ops.invalidate_range)
        ops.invalidate_range(ctx, aspace, start, size, stride);
}

void rt_hw_aspace_switch(struct rt_aspace *aspace)
{
    void *ctx;
    struct mmsim_tlb_ops ops = snapshot(&g_count.switches, &ctx);
    g_current = aspace;
    if (ops.aspace_switch)
        ops.aspace_switch(ctx, aspace);
}

void *rt_hw_mmu_tbl_get(void)
{
    return g_current ? g_current->page_table : RT_NULL;
}
