/*
 * Small helpers shared by the benchmark programs: a monotonic clock, a way
 * to keep the optimiser from deleting measured work, a deterministic PRNG,
 * the calibrated timing loop, and the figure table (human and JSON).
 *
 * The hot helpers are static inline; the rest lives in bench_util.c.
 */
#ifndef MMSIM_BENCH_UTIL_H
#define MMSIM_BENCH_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* ---- clock and optimisation barriers ------------------------------------ */

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Make `v` look used, so the computation producing it cannot be dropped. */
static inline void bench_keep(uint64_t v)
{
    __asm__ volatile("" : : "r"(v) : "memory");
}

static inline void bench_keep_ptr(const void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

/* ---- PRNG (xorshift64*): reproducible inputs, same for figure and baseline */

static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* ---- timing loop ------------------------------------------------------- */

/* Run `iters` iterations of the measured operation. */
typedef void (*bench_body_fn)(void *ctx, uint64_t iters);

struct bench_timing
{
    uint64_t run_ns;    /* wanted duration of one measured run */
    unsigned runs;      /* measured runs; the median is reported */
    uint64_t min_iters; /* never fewer iterations than this per run */
};

/* ns per iteration of `body`: warm up, grow the iteration count until a run
 * lasts about run_ns, then take the median of `runs` runs. The median, not
 * the minimum, because the host is shared and we want a typical figure. */
double bench_measure(const struct bench_timing *t, bench_body_fn body, void *ctx);

/* ---- figures ------------------------------------------------------------ */

enum bench_goal
{
    BENCH_GOAL_NONE = 0,
    BENCH_GOAL_VALUE_AT_LEAST, /* value >= target */
    BENCH_GOAL_VALUE_AT_MOST,  /* value <= target */
    BENCH_GOAL_RATIO_AT_MOST,  /* value / baseline <= target */
};

struct bench_figure
{
    const char *id;            /* stable key for JSON consumers */
    const char *what;          /* what the figure measures */
    const char *unit;          /* unit of value and baseline */
    double value;
    const char *baseline_what;
    double baseline;
    enum bench_goal goal;
    double target;
    const char *target_text;   /* the target as a human reads it */
};

#define BENCH_MAX_FIGURES 32

struct bench_report
{
    struct bench_figure fig[BENCH_MAX_FIGURES];
    unsigned nfig;
};

/* value / baseline (0 when the baseline is 0). */
double bench_ratio(const struct bench_figure *f);
/* -1: no target, 0: missed, 1: met. */
int bench_target_met(const struct bench_figure *f);
void bench_report_add(struct bench_report *rep, const struct bench_figure *f);
void bench_report_print(const struct bench_report *rep, FILE *out);
/* One JSON object: run metadata and every figure. */
void bench_report_json(const struct bench_report *rep, FILE *out, bool quick);
/* bench_report_json into `path` ("-" = stdout); false if it cannot be written. */
bool bench_report_json_to(const struct bench_report *rep, const char *path, bool quick);

/* ---- the command line every bench program shares ------------------------ */

struct bench_args
{
    bool quick;            /* --quick: tiny counts, a smoke test */
    const char *json_path; /* --json FILE ("-" = stdout), or NULL */
    const char *only;      /* --only GROUP, or NULL for all */
};

/* Parse --quick, --json FILE, --only GROUP (one of `groups`) and --help
 * (usage on stdout, exit 0). Bad usage prints it on stderr: false. */
bool bench_args_parse(int argc, char **argv, const char *prog, const char *const *groups, size_t ngroups,
                      struct bench_args *out);
/* Whether `group` runs under `a` (--only absent or naming it). */
bool bench_args_selected(const struct bench_args *a, const char *group);

#endif /* MMSIM_BENCH_UTIL_H */
