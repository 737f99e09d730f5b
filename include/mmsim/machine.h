/*
 * mmsim/machine.h — boot and tear down the simulated machine. There is one
 * machine per process (RT-Thread's API has global state); comparisons of
 * policies run separate processes. Boot and teardown are cheap enough to do
 * once per test case.
 */
#ifndef MMSIM_MACHINE_H
#define MMSIM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mmsim_machine_config
{
    uint64_t ram_base;          /* PA of RAM; 4 MiB aligned. Default 0x40000000 (QEMU virt) */
    uint64_t ram_size;          /* bytes, multiple of 4 KiB. Default 256 MiB; 64 GiB and more boot */
    uint64_t install_size;      /* bytes the page allocator manages from boot; 0 = all
                                   (the rest can be hot-added with rt_page_install) */
    bool debug_aids;            /* uninitialised/poison patterns, quarantine, ASan poisoning */
    unsigned quarantine_frames; /* FIFO quarantine capacity in frames (debug aids only); 0 = none */
    size_t heap_size;           /* rt_memory_info's total; 0 = 64 MiB */
};

/* Fill `cfg` with the defaults (debug aids on in debug builds). */
void mmsim_machine_config_default(struct mmsim_machine_config *cfg);

/* Boot with `cfg`: map RAM lazily, start the page allocator, create
 * rt_kernel_space and its root table. RT_EOK, -RT_EBUSY (already booted),
 * -RT_EINVAL (bad config; nothing changed) or -RT_ENOMEM (host refused). */
int mmsim_machine_boot(const struct mmsim_machine_config *cfg);
/* Boot with mmsim_machine_config_default. */
int mmsim_machine_boot_default(void);
bool mmsim_machine_booted(void);
/* Counts boots since the process started (0 before the first). Layers above
 * the machine compare it to forget state that belonged to an earlier boot. */
uint64_t mmsim_machine_generation(void);

/* What a teardown found still allocated, beyond what boot itself holds. */
struct mmsim_leak_report
{
    size_t frames;          /* data frames and table pages still allocated */
    size_t kernel_tables;   /* of which: table pages still under rt_kernel_space */
    long heap_bytes;        /* rt_malloc bytes not freed since boot */
    int allocator_problems; /* mmsim_phys_check findings at teardown */
};

/* Measure what is allocated beyond the boot snapshot, as a teardown would,
 * without tearing down: table pages of rt_kernel_space included. Returns 0
 * when nothing is held beyond boot and the allocator is consistent, else 1
 * (and 0 with a zeroed report when no machine is up). */
int mmsim_machine_leaks(struct mmsim_leak_report *out);

/* Tear the machine down (always), reporting leaks in `out` (may be NULL).
 * Returns 0 when nothing leaked and the allocator was consistent, else 1. */
int mmsim_machine_shutdown(struct mmsim_leak_report *out);

/* Print a leak report in one line. */
void mmsim_leak_report_print(const struct mmsim_leak_report *rep, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MACHINE_H */
