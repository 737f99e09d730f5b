/* Private geometry of RT-Thread's page tables: 4 KiB granule, 48-bit VA,
 * levels 0..3 with 9 index bits each. Ranges are handled as the low 48 VA
 * bits, so the kernel half indexes exactly like the user half. */
#ifndef MMSIM_LIB_PT_H
#define MMSIM_LIB_PT_H

#include <stdbool.h>
#include <stdint.h>
#include <mmu.h>
#include <mmsim/phys.h>

#define PT_VA_BITS 48
#define PT_VA_MASK ((1ULL << PT_VA_BITS) - 1)
#define PT_ENTRIES 512u

static inline unsigned pt_shift(int level) { return 39u - 9u * (unsigned)level; }
static inline unsigned pt_index(uint64_t va, int level) { return (unsigned)(va >> pt_shift(level)) & (PT_ENTRIES - 1); }

/* End of the level-`level` slot holding `cur`, clipped to `end`. */
static inline uint64_t pt_slot_end(uint64_t cur, uint64_t end, int level)
{
    uint64_t next = ((cur >> pt_shift(level)) + 1) << pt_shift(level);
    return next < end ? next : end;
}

/* Whether [cur, next) is the whole slot. */
static inline bool pt_slot_covered(uint64_t cur, uint64_t next, int level)
{
    uint64_t size = 1ULL << pt_shift(level);
    return !(cur & (size - 1)) && next - cur == size;
}

static inline bool pt_is_table(uint64_t d, int level) { return level < 3 && (d & 3) == 3; }

/* Blocks are valid at levels 1 and 2 only (4 KiB granule, no LPA2). */
static inline bool pt_is_leaf(uint64_t d, int level)
{
    return level == 3 ? (d & 3) == 3 : (level > 0 && (d & 3) == 1);
}

static inline uint64_t pt_leaf_mask(int level)
{
    return MMU_ADDRESS_MASK & ~((1ULL << pt_shift(level)) - 1);
}

static inline uint64_t *pt_table_host(uint64_t d)
{
    return (uint64_t *)mmsim_phys_pa2host(d & MMU_ADDRESS_MASK);
}

/* The tables on the way to `va`: path[0] = root, path[l] the level-l table;
 * returns the level where the descent stopped (its entry for va is a leaf,
 * invalid, or level 3's), or -1 if a table descriptor points outside RAM. */
static inline int pt_path(uint64_t *root, uint64_t va, uint64_t *path[4])
{
    path[0] = root;
    int level = 0;
    while (level < 3 && pt_is_table(path[level][pt_index(va, level)], level)) {
        path[level + 1] = pt_table_host(path[level][pt_index(va, level)]);
        if (!path[++level])
            return -1;
    }
    return level;
}

/* Leaf descriptor and its level for `va`, or -1 if nothing valid maps it. */
static inline int pt_lookup(const uint64_t *tbl, uint64_t va, uint64_t *leaf)
{
    uint64_t *path[4];
    int level = pt_path((uint64_t *)(uintptr_t)tbl, va, path);
    if (level < 0 || !pt_is_leaf(path[level][pt_index(va, level)], level))
        return -1;
    *leaf = path[level][pt_index(va, level)];
    return level;
}

#endif
