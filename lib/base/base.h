/* Private helpers shared by every layer of lib/. */
#ifndef MMSIM_LIB_BASE_H
#define MMSIM_LIB_BASE_H

#include <rtthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <mmsim/alloc.h>

/* A caller broke a documented precondition: report it through the assert
 * hook naming the precondition, and if the hook returns, leave the function
 * with `ret` before anything has been changed. */
#define MMSIM_PRECOND(cond, ret, msg)                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            mmsim_assert_fail(#cond, __func__, __FILE__, __LINE__, (msg));    \
            return ret;                                                       \
        }                                                                     \
    } while (0)

/* As MMSIM_PRECOND, for functions returning void. */
#define MMSIM_PRECOND_VOID(cond, msg)                                         \
    do {                                                                      \
        if (!(cond)) {                                                        \
            mmsim_assert_fail(#cond, __func__, __FILE__, __LINE__, (msg));    \
            return;                                                           \
        }                                                                     \
    } while (0)

#define MMSIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define MMSIM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Count one problem found by a checker and describe it on `out` (may be
 * NULL) as "<who>: <message>". */
void mmsim_problem(FILE *out, int *problems, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Failure injection, called once per allocation attempt. True: this attempt
 * must fail (counted as injected). */
bool mmsim_inject_should_fail(enum mmsim_alloc_kind kind);
/* Account an attempt's outcome in the kind's counters. */
void mmsim_alloc_count(enum mmsim_alloc_kind kind, bool success, bool exhausted);
void mmsim_alloc_count_free(enum mmsim_alloc_kind kind);
/* Zero the page counters (a new machine boots). */
void mmsim_alloc_counters_reset(enum mmsim_alloc_kind kind);

#endif
