/* Private state of the simulated RAM and page allocator (lib/phys only,
 * plus the layers above through the few calls declared at the bottom). */
#ifndef MMSIM_LIB_PHYS_H
#define MMSIM_LIB_PHYS_H

#include <mm_page.h>
#include <mmsim/phys.h>
#include "base/base.h"

#define PHYS_ORDERS RT_PAGE_MAX_ORDER /* orders 0 .. RT_PAGE_MAX_ORDER-1 */
#define PHYS_MAX_RANGES 16
#define PHYS_LOW_LIMIT_PA (1ULL << 32)
#define PHYS_ALLOC_MARK 64u /* size_bits of an allocated head, as RT-Thread */

enum { ZONE_LOW = 0, ZONE_HIGH = 1, ZONES };

/* Record state bits (rt_page.mmsim_state); bits 8..15 hold the block order. */
#define PF_FREE 0x1u  /* head of a block on a free list */
#define PF_QUAR 0x2u  /* head of a block in the quarantine */
#define PF_ALLOC 0x4u /* head of an allocated block */
#define PF_POISON 0x8u /* block content holds the poison pattern */
#define PF_ORDER(s) (((s) >> 8) & 0xffu)
#define PF_MAKE(flags, order) ((flags) | ((uint32_t)(order) << 8))

/* Installed RAM is handed to the buddy lists lazily: frames at or above a
 * range's frontier are free but never touched, so neither they nor their
 * records cost host memory until an allocation needs them. */
struct phys_range
{
    uint64_t start_pfn;
    uint64_t end_pfn;
    uint64_t frontier_pfn;
    int zone;
};

struct phys_zone
{
    struct rt_page *lists[PHYS_ORDERS];
    size_t total_frames;
    size_t free_frames;
};

struct phys_qentry
{
    uint64_t pfn;
    uint8_t order;
};

struct phys_config
{
    uint64_t ram_base;
    uint64_t ram_size;
    uint64_t install_size;     /* bytes managed from boot, from ram_base; 0 = all */
    bool debug_aids;
    unsigned quarantine_frames; /* 0 disables the quarantine */
};

struct phys_state
{
    bool up;
    uint64_t base_pa;
    uint64_t size;
    uint64_t base_pfn;
    uint64_t nframes;
    uint8_t *ram;
    struct rt_page *rec;
    size_t rec_bytes;
    rt_ubase_t pvoff;
    struct phys_range ranges[PHYS_MAX_RANGES];
    unsigned nranges;
    struct phys_zone zones[ZONES];
    bool debug;
    unsigned q_cap_frames;
    struct phys_qentry *q;
    unsigned q_slots, q_head, q_len;
    size_t q_frames;
    size_t allocated;
    size_t peak;
    uint32_t free_seq;
    pthread_mutex_t lock;
};

extern struct phys_state g_phys;

/* Boot / tear down the RAM and allocator: 0, -RT_EBUSY, -RT_EINVAL, -RT_ENOMEM. */
int mmsim_phys_init(const struct phys_config *cfg);
/* Unmap everything; the caller has already measured leaks. */
void mmsim_phys_fini(void);
rt_ubase_t mmsim_phys_pvoff(void);
size_t mmsim_phys_allocated_frames(void);
/* Clear ASan poison from every frame ever handed out (before unmapping RAM). */
void mmsim_phys_unpoison_all(void);

/* Adjust a single-frame block's reference count by `delta` (may be
 * negative); when it reaches zero the frame is freed as rt_pages_free does.
 * Used by the page-table code, whose counts move by whole subtrees. Returns
 * the new count. */
int mmsim_page_ref_adjust(void *addr, int delta);

/* Internal to lib/phys. */
struct phys_range *phys_range_of(uint64_t pfn);
int phys_add_range(uint64_t start_pfn, uint64_t end_pfn);
static inline struct rt_page *phys_rec(uint64_t pfn) { return &g_phys.rec[pfn - g_phys.base_pfn]; }
static inline uint64_t phys_pfn(const struct rt_page *p) { return g_phys.base_pfn + (uint64_t)(p - g_phys.rec); }
static inline void *phys_host(uint64_t pfn) { return g_phys.ram + ((pfn - g_phys.base_pfn) << MMSIM_FRAME_SHIFT); }

#endif
