/*
 * mmsim/phys.h — the simulated RAM and page allocator beyond RT-Thread's
 * API: address conversion, frame state queries, statistics and the
 * allocator's invariant checker.
 */
#ifndef MMSIM_PHYS_H
#define MMSIM_PHYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMSIM_FRAME_SIZE 4096u
#define MMSIM_FRAME_SHIFT 12u
/* The pattern debug builds write into every frame they hand out, and into
 * every frame that is freed (Linux's POISON_INUSE / POISON_FREE bytes). */
#define MMSIM_UNINIT_BYTE 0x5a
#define MMSIM_POISON_BYTE 0x6b

enum mmsim_frame_state
{
    MMSIM_FRAME_NOT_RAM = 0,   /* outside the machine's RAM */
    MMSIM_FRAME_UNINSTALLED,   /* RAM the allocator does not manage */
    MMSIM_FRAME_FREE,          /* on a free list, or never handed out since boot */
    MMSIM_FRAME_QUARANTINED,   /* freed, waiting in the FIFO quarantine */
    MMSIM_FRAME_ALLOCATED,     /* part of an allocated block */
};

/* Whether `pa` lies in the machine's RAM (installed or not). */
bool mmsim_phys_is_ram(uint64_t pa);
/* Host pointer backing `pa`, or NULL outside RAM. */
void *mmsim_phys_pa2host(uint64_t pa);
/* PA of a host pointer into RAM, or UINT64_MAX for any other pointer. */
uint64_t mmsim_phys_host2pa(const void *host);
/* State of the frame holding `pa`. */
enum mmsim_frame_state mmsim_phys_frame_state(uint64_t pa);
/* Sequence number of the free that last released the frame at `pa` (0: never). */
uint32_t mmsim_phys_frame_free_seq(uint64_t pa);
/* The sequence number the latest free got (0: none since boot): a tool that
 * notes it before an operation can tell which frees that operation made. */
uint32_t mmsim_phys_free_seq(void);

struct mmsim_phys_stats
{
    uint64_t ram_base_pa;
    uint64_t ram_size;
    size_t total_frames;        /* installed */
    size_t free_frames;         /* free, including quarantined and never touched */
    size_t quarantined_frames;
    size_t allocated_frames;
    size_t high_total_frames;   /* installed at PA >= 4 GiB */
    size_t high_free_frames;
    size_t peak_allocated_frames;
};
void mmsim_phys_stats_get(struct mmsim_phys_stats *out);

/* Check the allocator: free lists agree with the records, no block is on two
 * lists, blocks are aligned and inside installed RAM, no allocated frame is
 * also free, and free + allocated = total. Returns the number of problems
 * (0 = consistent); each is described on `report` (may be NULL). */
int mmsim_phys_check(FILE *report);

/* Return every quarantined frame to the free lists now. */
void mmsim_phys_quarantine_drain(void);

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_PHYS_H */
