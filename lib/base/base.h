/* Private helpers shared by every layer of lib/. */
#ifndef MMSIM_LIB_BASE_H
#define MMSIM_LIB_BASE_H

#include <rtthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <mmsim/alloc.h>

/* MMSIM_PRECOND and MMSIM_PRECOND_VOID come from <mmsim/diag.h>. */
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
