/*
 * mm_flag.h — RT-Thread's mapping flags: bits 0-6 hold log2 of a requested
 * alignment (valid with MMF_REQUEST_ALIGN), bits 7 and up are controls.
 */
#ifndef MMSIM_MM_FLAG_H
#define MMSIM_MM_FLAG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned long mm_flag_t;

#define _MMF_CNTL_SHIFT 7
#define _MMF_ALIGN_MASK 0x7f
#define _MMF_CNTL_MASK (~((1ul << _MMF_CNTL_SHIFT) - 1))
#define _DEF_FLAG(index) (1ul << (_MMF_CNTL_SHIFT + (index)))

#define MMF_MAP_PRIVATE _DEF_FLAG(0)           /* 0x80: writes stay in this aspace (COW) */
#define MMF_MAP_PRIVATE_DONT_SYNC _DEF_FLAG(1) /* 0x100: private, later object changes unseen */
#define MMF_MAP_FIXED _DEF_FLAG(2)             /* 0x200: exactly here, replacing what is there */
#define MMF_PREFETCH _DEF_FLAG(3)              /* 0x400: populate every page at map time */
#define MMF_HUGEPAGE _DEF_FLAG(4)              /* 0x800: reserved */
#define MMF_TEXT _DEF_FLAG(5)                  /* 0x1000: internal (lwp text) */
#define MMF_STATIC_ALLOC _DEF_FLAG(6)          /* 0x2000: varea storage owned by the caller */
#define MMF_MAP_SHARED _DEF_FLAG(7)            /* 0x4000 */
#define MMF_NONLOCKED _DEF_FLAG(8)             /* 0x8000: reserved */
#define MMF_REQUEST_ALIGN _DEF_FLAG(9)         /* 0x10000: the alignment bits are valid */
#define __MMF_INVALID (MMF_REQUEST_ALIGN + 1)

#define MMF_GET_ALIGN(src) ((src) & _MMF_ALIGN_MASK)
#define MMF_SET_ALIGN(src, align) \
    (((src) & ~_MMF_ALIGN_MASK) | (__builtin_ffsl((long)(align)) - 1))
#define MMF_GET_CNTL(src) ((src) & _MMF_CNTL_MASK)
#define MMF_TEST_CNTL(src, flag) ((src) & (flag))
#define MMF_SET_CNTL(src, flag) ((src) | (flag))
#define MMF_CLEAR_CNTL(src, flag) ((src) & ~(flag))
/* Flags from controls and an alignment in bytes (0: none). */
#define MMF_CREATE(cntl, align) \
    ((align) ? (MMF_SET_CNTL((mm_flag_t)(cntl), MMF_REQUEST_ALIGN) | MMF_SET_ALIGN(0ul, (align))) \
             : (MMF_CLEAR_CNTL((mm_flag_t)(cntl), MMF_REQUEST_ALIGN)))

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_MM_FLAG_H */
