/* Consistency check and dump of one aspace's page tables. */
#include <inttypes.h>
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/pgtable.h>
#include "arch/aarch64/pt.h"
#include "base/base.h"

struct walk_ctx
{
    FILE *out;
    int problems;
    struct mmsim_mmu_info info;
    uint64_t va_top; /* 0xffff << 48 for the kernel half, else 0 */
};

#define problem(c, ...) mmsim_problem((c)->out, &(c)->problems, "mmu check", __VA_ARGS__)

/* Leaves below `tbl`, checking every table on the way. */
static uint64_t check_table(struct walk_ctx *c, const uint64_t *tbl, int level, uint64_t va_base)
{
    uint64_t leaves = 0;
    c->info.table_pages++;
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t d = tbl[i];
        uint64_t va = c->va_top | va_base | ((uint64_t)i << pt_shift(level));
        if (!(d & MMU_TYPE_USED))
            continue;
        if (pt_is_leaf(d, level)) {
            leaves++;
            c->info.mapped_bytes += 1ULL << pt_shift(level);
            if (level == 3)
                c->info.pages++;
            else
                c->info.blocks++;
            continue;
        }
        if (!pt_is_table(d, level)) {
            problem(c, "VA 0x%016" PRIx64 ": L%d descriptor 0x%016" PRIx64 " is of no valid kind", va, level, d);
            continue;
        }
        uint64_t pa = d & MMU_ADDRESS_MASK;
        const uint64_t *child = pt_table_host(d);
        if (!child || mmsim_phys_frame_state(pa) != MMSIM_FRAME_ALLOCATED) {
            problem(c, "VA 0x%016" PRIx64 ": L%d table at PA 0x%" PRIx64 " is not an allocated frame", va, level + 1, pa);
            continue;
        }
        uint64_t below = check_table(c, child, level + 1, va_base | ((uint64_t)i << pt_shift(level)));
        int ref = rt_page_ref_get((void *)child, 0);
        if (below == 0)
            problem(c, "VA 0x%016" PRIx64 ": L%d table at PA 0x%" PRIx64 " is empty but still linked", va, level + 1, pa);
        if ((uint64_t)ref != below)
            problem(c, "VA 0x%016" PRIx64 ": L%d table at PA 0x%" PRIx64 " has ref_cnt %d but maps %" PRIu64 " leaves",
                    va, level + 1, pa, ref, below);
        leaves += below;
    }
    return leaves;
}

static uint64_t va_top_of(const struct rt_aspace *aspace)
{
    return ((uintptr_t)aspace->start >> PT_VA_BITS) == 0xffff ? 0xffffULL << PT_VA_BITS : 0;
}

int mmsim_mmu_check(struct rt_aspace *aspace, FILE *report, struct mmsim_mmu_info *info)
{
    struct walk_ctx c;
    memset(&c, 0, sizeof c);
    c.out = report;
    if (!aspace || !aspace->page_table) {
        problem(&c, "aspace has no page table");
    } else {
        c.va_top = va_top_of(aspace);
        uint64_t root_pa = mmsim_phys_host2pa(aspace->page_table);
        if (mmsim_phys_frame_state(root_pa) != MMSIM_FRAME_ALLOCATED)
            problem(&c, "root table at PA 0x%" PRIx64 " is not an allocated frame", root_pa);
        else
            check_table(&c, aspace->page_table, 0, 0);
    }
    if (info)
        *info = c.info;
    return c.problems;
}

static const char *ap_text(uint64_t d)
{
    static const char *const names[4] = { "EL1 rw / EL0 --", "EL1 rw / EL0 rw", "EL1 r- / EL0 --",
                                          "EL1 r- / EL0 r-" };
    return names[(d >> MMU_AP_SHIFT) & 3];
}

static void dump_table(FILE *out, const uint64_t *tbl, int level, uint64_t va_base, uint64_t va_top)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++) {
        uint64_t d = tbl[i];
        if (!(d & MMU_TYPE_USED))
            continue;
        uint64_t va = va_base | ((uint64_t)i << pt_shift(level));
        uint64_t span = 1ULL << pt_shift(level);
        fprintf(out, "%*sL%d[%3u] VA 0x%016" PRIx64 "-0x%016" PRIx64 " ", 2 * level, "", level, i,
                va_top | va, (va_top | va) + span - 1);
        if (pt_is_table(d, level)) {
            const uint64_t *child = pt_table_host(d);
            fprintf(out, "table PA 0x%" PRIx64 " ref %d\n", d & MMU_ADDRESS_MASK,
                    child ? rt_page_ref_get((void *)child, 0) : -1);
            if (child)
                dump_table(out, child, level + 1, va, va_top);
        } else if (pt_is_leaf(d, level)) {
            fprintf(out, "%s -> PA 0x%" PRIx64 " attr%u %s%s%s%s%s\n", level == 3 ? "page " : "block",
                    d & pt_leaf_mask(level), (unsigned)((d >> MMU_MA_SHIFT) & 7), ap_text(d),
                    (d & MMU_ATTR_AF) ? " AF" : "", (d & (1ULL << 11)) ? " nG" : "",
                    (d & MMU_ATTR_PXN) ? " PXN" : "", (d & MMU_ATTR_UXN) ? " UXN" : "");
        } else {
            fprintf(out, "INVALID descriptor 0x%016" PRIx64 "\n", d);
        }
    }
}

void mmsim_mmu_dump(struct rt_aspace *aspace, FILE *out)
{
    if (!aspace || !aspace->page_table) {
        fprintf(out, "(no page table)\n");
        return;
    }
    fprintf(out, "root table PA 0x%" PRIx64 "\n", mmsim_phys_host2pa(aspace->page_table));
    dump_table(out, aspace->page_table, 0, 0, va_top_of(aspace));
}
