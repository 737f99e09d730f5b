/* `mmsim demo`: boot a machine, build page tables for a few mappings, walk
 * them as the MMU would, print the tree and what each access gets, then cut
 * a block in two and tear everything down with a leak check. */
#include <inttypes.h>
#include <string.h>
#include <mm_page.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include "cli.h"

static const char *const op_names[] = { "read", "write", "exec" };

/* ESR_EL1 of the abort a CPU would take: EC from the access kind and the EL
 * it came from, IL set, WnR for data writes, DFSC/IFSC from the walk. */
static uint32_t abort_esr(const struct mmsim_export_vector *v, const struct mmsim_vmsa_result *r)
{
    uint32_t ec = v->op == MMSIM_OP_EXEC ? (v->el ? 0x21u : 0x20u) : (v->el ? 0x25u : 0x24u);
    uint32_t wnr = v->op == MMSIM_OP_WRITE ? 1u << 6 : 0;
    return ec << 26 | 1u << 25 | wnr | r->fsc;
}

static void translate_all(struct cli_world *w, const struct cli_mapfile *mf)
{
    printf("\nTranslations (the hardware walk, as a load/store/fetch would see it):\n");
    for (size_t i = 0; i < mf->nvectors; i++) {
        const struct mmsim_export_vector *v = &mf->vectors[i];
        struct rt_aspace *as = (v->va >> 48) == 0xffff ? &rt_kernel_space : &w->user;
        struct mmsim_vmsa_access acc = { .op = v->op, .el = v->el, .at = true };
        struct mmsim_vmsa_result r;
        printf("  VA 0x%016" PRIx64 " EL%u %-5s -> ", v->va, v->el, op_names[v->op]);
        if (mmsim_mmu_translate(as, v->va, &acc, &r))
            printf("PA 0x%09" PRIx64 " (L%d leaf, MAIR attr 0x%02x)\n", r.pa, r.level, r.mair_attr);
        else
            printf("%s fault, level %d, FSC 0x%02x, ESR_EL1 0x%08x\n", mmsim_vmsa_fault_name(r.fault),
                   r.level, r.fsc, abort_esr(v, &r));
    }
}

static void print_counts(const char *when, struct cli_world *w)
{
    struct mmsim_mmu_info ui, ki;
    struct mmsim_phys_stats ps;
    int problems = mmsim_mmu_check(&w->user, stdout, &ui) + mmsim_mmu_check(&rt_kernel_space, stdout, &ki);
    mmsim_phys_stats_get(&ps);
    printf("%s: user tables %zu page(s) (%zu pages + %zu blocks mapped), kernel tables %zu; "
           "frames allocated %zu of %zu; table check: %s\n", when, ui.table_pages, ui.pages, ui.blocks,
           ki.table_pages, ps.allocated_frames, ps.total_frames, problems ? "PROBLEMS" : "ok");
}

int cli_demo(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "mmsim demo: takes no arguments\n");
        return CLI_EXIT_USAGE;
    }
    struct cli_mapfile mf;
    if (!cli_mapfile_parse_text("<built-in>", cli_default_mapfile, &mf))
        return CLI_EXIT_USAGE;
    if (mmsim_machine_boot_default() != 0) {
        fprintf(stderr, "mmsim: machine boot failed\n");
        return CLI_EXIT_FAIL;
    }
    struct mmsim_phys_stats ps;
    mmsim_phys_stats_get(&ps);
    printf("Booted: RAM PA 0x%" PRIx64 "-0x%" PRIx64 " (%" PRIu64 " MiB), 4 KiB granule, 48-bit VA, "
           "kernel space from 0x%016lx\n", ps.ram_base_pa, ps.ram_base_pa + ps.ram_size - 1,
           ps.ram_size >> 20, (unsigned long)KERNEL_VADDR_START);
    printf("\nMappings:\n");
    static struct cli_world w;
    bool ok = cli_world_build(&w, &mf, stdout);
    if (ok) {
        print_counts("\nAfter mapping", &w);
        printf("\nUser page-table tree:\n");
        mmsim_mmu_dump(&w.user, stdout);
        printf("\nKernel page-table tree:\n");
        mmsim_mmu_dump(&rt_kernel_space, stdout);
        translate_all(&w, &mf);

        printf("\nUnmapping one page in the middle of the 2 MiB block splits it into an L3 table:\n");
        void *hole = (void *)0x40001000;
        rt_hw_mmu_unmap(&w.user, hole, ARCH_PAGE_SIZE);
        printf("  v2p(0x40000000) = %p, v2p(0x40001000) = %s, v2p(0x40002000) = %p\n",
               rt_hw_mmu_v2p(&w.user, (void *)0x40000000),
               rt_hw_mmu_v2p(&w.user, hole) == ARCH_MAP_FAILED ? "ARCH_MAP_FAILED" : "mapped?!",
               rt_hw_mmu_v2p(&w.user, (void *)0x40002000));
        print_counts("  After the split", &w);
    }
    cli_world_destroy(&w, &mf);
    struct mmsim_leak_report rep;
    int leaked = mmsim_machine_shutdown(&rep);
    printf("\nTeardown: ");
    mmsim_leak_report_print(&rep, stdout);
    return ok && !leaked ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
