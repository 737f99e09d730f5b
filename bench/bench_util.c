/* Timing loop and the figure table of the benchmark programs. */
#include "bench_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_RUNS 15

static uint64_t timed_run(bench_body_fn body, void *ctx, uint64_t iters)
{
    uint64_t t0 = bench_now_ns();
    body(ctx, iters);
    return bench_now_ns() - t0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Double the count until one run takes an eighth of the wanted time, then
 * scale it; these growing runs are the warm-up (caches, lazily backed RAM). */
static uint64_t calibrate(const struct bench_timing *t, bench_body_fn body, void *ctx)
{
    uint64_t iters = t->min_iters ? t->min_iters : 1;
    uint64_t ns = timed_run(body, ctx, iters);
    while (ns < t->run_ns / 8 && iters < (1ULL << 40)) {
        iters *= 2;
        ns = timed_run(body, ctx, iters);
    }
    if (ns < t->run_ns) {
        double scaled = (double)iters * (double)t->run_ns / (double)(ns ? ns : 1);
        iters = (uint64_t)scaled;
    }
    return iters > t->min_iters ? iters : t->min_iters;
}

double bench_measure(const struct bench_timing *t, bench_body_fn body, void *ctx)
{
    uint64_t iters = calibrate(t, body, ctx);
    unsigned runs = t->runs < 1 ? 1 : t->runs > MAX_RUNS ? MAX_RUNS : t->runs;
    double per_iter_ns[MAX_RUNS];
    for (unsigned r = 0; r < runs; r++)
        per_iter_ns[r] = (double)timed_run(body, ctx, iters) / (double)iters;
    qsort(per_iter_ns, runs, sizeof per_iter_ns[0], cmp_double);
    return per_iter_ns[runs / 2];
}

/* ---- figures ------------------------------------------------------------ */

double bench_ratio(const struct bench_figure *f)
{
    return f->baseline != 0.0 ? f->value / f->baseline : 0.0;
}

int bench_target_met(const struct bench_figure *f)
{
    switch (f->goal) {
    case BENCH_GOAL_VALUE_AT_LEAST:
        return f->value >= f->target;
    case BENCH_GOAL_VALUE_AT_MOST:
        return f->value <= f->target;
    case BENCH_GOAL_RATIO_AT_MOST:
        return bench_ratio(f) <= f->target;
    default:
        return -1;
    }
}

void bench_report_add(struct bench_report *rep, const struct bench_figure *f)
{
    if (rep->nfig < BENCH_MAX_FIGURES)
        rep->fig[rep->nfig++] = *f;
}

static const char *met_word(const struct bench_figure *f)
{
    int met = bench_target_met(f);
    return met < 0 ? "-" : met ? "met" : "MISSED";
}

void bench_report_print(const struct bench_report *rep, FILE *out)
{
    fprintf(out, "%-34s %12s %12s  %-12s %8s  %-16s %s\n", "figure", "mmsim", "baseline", "unit",
            "ratio", "target", "");
    for (unsigned i = 0; i < rep->nfig; i++) {
        const struct bench_figure *f = &rep->fig[i];
        fprintf(out, "%-34s %12.3f %12.3f  %-12s %7.2fx  %-16s %s\n", f->what, f->value, f->baseline,
                f->unit, bench_ratio(f), f->target_text ? f->target_text : "(context)",
                met_word(f));
        fprintf(out, "%-34s   baseline: %s\n", "", f->baseline_what);
    }
    fprintf(out, "ratio = mmsim / baseline in the figure's unit\n");
}

/* Strings here are our own literals, but escape anyway so the JSON stays
 * valid whatever a later figure's text holds. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void json_meta(FILE *out, bool quick)
{
    char date[32] = "";
    time_t now = time(NULL);
    struct tm tm_utc;
    if (gmtime_r(&now, &tm_utc))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    fprintf(out, "{\"date\":");
    json_string(out, date);
    fprintf(out, ",\"host\":{\"sysname\":");
    json_string(out, u.sysname);
    fprintf(out, ",\"release\":");
    json_string(out, u.release);
    fprintf(out, ",\"machine\":");
    json_string(out, u.machine);
    fprintf(out, ",\"online_cpus\":%ld},\"compiler\":", sysconf(_SC_NPROCESSORS_ONLN));
    json_string(out, __VERSION__);
#ifdef __OPTIMIZE__
    fprintf(out, ",\"optimized\":true");
#else
    fprintf(out, ",\"optimized\":false");
#endif
    fprintf(out, ",\"quick\":%s", quick ? "true" : "false");
}

static void json_figure(FILE *out, const struct bench_figure *f)
{
    fprintf(out, "{\"id\":");
    json_string(out, f->id);
    fprintf(out, ",\"what\":");
    json_string(out, f->what);
    fprintf(out, ",\"unit\":");
    json_string(out, f->unit);
    fprintf(out, ",\"value\":%.6g,\"baseline_what\":", f->value);
    json_string(out, f->baseline_what);
    fprintf(out, ",\"baseline\":%.6g,\"ratio\":%.6g,\"target\":", f->baseline, bench_ratio(f));
    if (f->target_text)
        json_string(out, f->target_text);
    else
        fprintf(out, "null");
    int met = bench_target_met(f);
    fprintf(out, ",\"target_met\":%s}", met < 0 ? "null" : met ? "true" : "false");
}

void bench_report_json(const struct bench_report *rep, FILE *out, bool quick)
{
    json_meta(out, quick);
    fprintf(out, ",\"figures\":[");
    for (unsigned i = 0; i < rep->nfig; i++) {
        if (i)
            fputc(',', out);
        json_figure(out, &rep->fig[i]);
    }
    fprintf(out, "]}\n");
}

bool bench_report_json_to(const struct bench_report *rep, const char *path, bool quick)
{
    if (strcmp(path, "-") == 0) {
        bench_report_json(rep, stdout, quick);
        return true;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    bench_report_json(rep, f, quick);
    return fclose(f) == 0;
}

/* ---- the command line ---------------------------------------------------- */

static void args_usage(FILE *out, const char *prog, const char *const *groups, size_t ngroups)
{
    fprintf(out, "usage: %s [--quick] [--json FILE|-] [--only GROUP]\n"
                 "  --quick       tiny counts (smoke test; figures meaningless)\n"
                 "  --json FILE   also write the figures as one JSON object (- = stdout)\n"
                 "  --only GROUP  run one group:",
            prog);
    for (size_t i = 0; i < ngroups; i++)
        fprintf(out, " %s", groups[i]);
    fputc('\n', out);
}

static bool group_known(const char *group, const char *const *groups, size_t ngroups)
{
    for (size_t i = 0; i < ngroups; i++)
        if (strcmp(group, groups[i]) == 0)
            return true;
    return false;
}

bool bench_args_parse(int argc, char **argv, const char *prog, const char *const *groups, size_t ngroups,
                      struct bench_args *out)
{
    *out = (struct bench_args){ 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            out->quick = true;
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            out->json_path = argv[++i];
        } else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc && group_known(argv[i + 1], groups, ngroups)) {
            out->only = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            args_usage(stdout, prog, groups, ngroups);
            exit(0);
        } else {
            args_usage(stderr, prog, groups, ngroups);
            return false;
        }
    }
    return true;
}

bool bench_args_selected(const struct bench_args *a, const char *group)
{
    return a->only == NULL || strcmp(a->only, group) == 0;
}
