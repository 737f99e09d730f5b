/* `mmsim run FILE...` and the built-in walkthrough (`mmsim` alone): scenario
 * files (docs/scenarios.md) on a fresh machine each. Every file is parsed
 * before any runs, so a typo anywhere costs nothing but the message. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "scenario.h"

struct run_args
{
    struct mmsim_scenario_options opt;
    unsigned repeat;     /* runs per file, seeds seed, seed + 1, ... */
    char **files;
    int nfiles;
};

static void run_usage(FILE *out)
{
    fputs("usage: mmsim run [-v] [--stats] [--json] [--seed N] [--repeat N] FILE...\n"
          "  -v          narrate every step\n"
          "  --stats     print the CPUs' and processes' statistics after each file\n"
          "  --json      one JSON object per file run (result and statistics)\n"
          "  --seed N    seed for interleave blocks (overrides 'set seed')\n"
          "  --repeat N  run each file N times, with seeds N, N+1, ... (default 1)\n", out);
}

static bool number_arg(const char *opt, const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (*s == '\0' || *s == '-' || *end || errno) {
        fprintf(stderr, "mmsim run: %s expects a number, got '%s'\n", opt, s);
        return false;
    }
    *v = x;
    return true;
}

/* --seed N / --repeat N at argv[i]; CLI_EXIT_OK or the exit status. */
static int numeric_option(char **argv, int i, struct run_args *a)
{
    uint64_t v;
    if (!number_arg(argv[i], argv[i + 1], &v))
        return CLI_EXIT_USAGE;
    if (strcmp(argv[i], "--seed") == 0) {
        a->opt.has_seed = true;
        a->opt.seed = v;
    } else if (v == 0 || v > 100000) {
        fprintf(stderr, "mmsim run: --repeat expects 1 to 100000\n");
        return CLI_EXIT_USAGE;
    } else {
        a->repeat = (unsigned)v;
    }
    return CLI_EXIT_OK;
}

/* One option at argv[i] (*used: how many words it took); -1 after --help. */
static int run_option(int argc, char **argv, int i, struct run_args *a, int *used)
{
    const char *o = argv[i];
    *used = 1;
    if (strcmp(o, "-v") == 0 || strcmp(o, "--verbose") == 0)
        a->opt.verbose = true;
    else if (strcmp(o, "--stats") == 0)
        a->opt.stats = true;
    else if (strcmp(o, "--json") == 0)
        a->opt.json = true;
    else if ((strcmp(o, "--seed") == 0 || strcmp(o, "--repeat") == 0) && i + 1 < argc)
        return *used = 2, numeric_option(argv, i, a);
    else if (strcmp(o, "--seed") == 0 || strcmp(o, "--repeat") == 0)
        return fprintf(stderr, "mmsim run: %s expects a number\n", o), CLI_EXIT_USAGE;
    else if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0)
        return run_usage(stdout), -1;
    else {
        fprintf(stderr, "mmsim run: unknown option '%s'\n", o);
        run_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Options first, then files; CLI_EXIT_OK, -1 (help shown) or the exit status. */
static int parse_run_args(int argc, char **argv, struct run_args *a)
{
    int i = 1, used;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i += used) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        int rc = run_option(argc, argv, i, a, &used);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    a->files = argv + i;
    a->nfiles = argc - i;
    if (a->nfiles == 0) {
        fprintf(stderr, "mmsim run: no scenario file given\n");
        run_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Every file parsed, or none: the errors of all malformed files printed. */
static bool parse_all(struct run_args *a, struct mmsim_scenario **sc)
{
    bool ok = true;
    for (int f = 0; f < a->nfiles; f++) {
        struct mmsim_scenario_error err;
        sc[f] = mmsim_scenario_parse_file(a->files[f], &err);
        if (!sc[f]) {
            mmsim_scenario_error_print(a->files[f], &err, stderr);
            ok = false;
        }
    }
    return ok;
}

static void print_json(const char *file, const struct mmsim_scenario_outcome *o, const char *stats)
{
    printf("{\"file\": \"");
    for (const char *p = file; *p; p++)
        printf(*p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
    printf("\", \"result\": \"%s\", \"statements\": %zu, \"ran\": %zu, \"failed_line\": %d, \"seed\": %" PRIu64
           ", \"stats\": %s}\n", o->result == MMSIM_SCENARIO_PASS ? "pass" : "fail", o->total, o->ran,
           o->failed_line, o->seed, stats && *stats ? stats : "null");
}

static void print_summary(const char *file, const struct mmsim_scenario_outcome *o, unsigned repeat)
{
    if (o->result == MMSIM_SCENARIO_PASS)
        printf("PASS %s (%zu statements", file, o->total);
    else if (o->failed_line)
        printf("FAIL %s: line %d (%zu passed, 1 failed, %zu not run", file, o->failed_line, o->ran - 1,
               o->total - o->ran);
    else if (o->ran == o->total && o->ran)
        printf("FAIL %s: the teardown found leaks (all %zu statements passed", file, o->total);
    else
        printf("FAIL %s: the machine or the simulator did not start (%zu statements not run", file, o->total);
    if (repeat > 1)
        printf(", seed %" PRIu64, o->seed);
    printf(")\n");
}

/* One run of one file; the statistics go to a buffer when JSON is asked for. */
static int run_one(struct run_args *a, const char *file, const struct mmsim_scenario *sc, uint64_t seed_off)
{
    struct mmsim_scenario_options opt = a->opt;
    struct mmsim_scenario_outcome o;
    char *stats = NULL;
    size_t len = 0;
    if (a->repeat > 1) {
        const struct mmsim_scenario_config *cfg = mmsim_scenario_config(sc);
        uint64_t base = opt.has_seed ? opt.seed : cfg->given[MMSIM_SC_KEY_SEED] ? cfg->value[MMSIM_SC_KEY_SEED] : 1;
        opt.has_seed = true;
        opt.seed = base + seed_off;
    }
    if (opt.json)
        opt.stats_out = open_memstream(&stats, &len);
    int rc = mmsim_scenario_run(sc, &opt, &o);
    if (opt.stats_out)
        fclose(opt.stats_out);
    for (char *p = stats; p && *p; p++)
        if (*p == '\n')
            *p = ' '; /* one line per file run: JSON Lines */
    if (opt.json)
        print_json(file, &o, stats);
    else if (!opt.verbose || rc != MMSIM_SCENARIO_PASS || a->repeat > 1)
        print_summary(file, &o, a->repeat);
    free(stats);
    fflush(stdout);
    return rc;
}

int cli_run(int argc, char **argv)
{
    struct run_args a = { .repeat = 1 };
    int rc = parse_run_args(argc, argv, &a);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    struct mmsim_scenario **sc = calloc((size_t)a.nfiles, sizeof *sc);
    if (!sc)
        return fprintf(stderr, "mmsim run: out of memory\n"), CLI_EXIT_FAIL;
    rc = parse_all(&a, sc) ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    for (int f = 0; rc != CLI_EXIT_USAGE && f < a.nfiles; f++)
        for (unsigned k = 0; k < a.repeat; k++)
            if (run_one(&a, a.files[f], sc[f], k) != MMSIM_SCENARIO_PASS) {
                rc = CLI_EXIT_FAIL;
                break; /* the other seeds of a failing file add nothing */
            }
    for (int f = 0; f < a.nfiles; f++)
        mmsim_scenario_free(sc[f]);
    free(sc);
    return rc;
}

/* ---- the walkthrough ---- */

int cli_walkthrough(int argc, char **argv)
{
    bool print = false, stats = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print") == 0)
            print = true;
        else if (strcmp(argv[i], "--stats") == 0)
            stats = true;
        else
            return fprintf(stderr, "mmsim walkthrough: unknown option '%s' (--print, --stats)\n", argv[i]),
                   CLI_EXIT_USAGE;
    }
    if (print)
        return fputs(mmsim_scenario_walkthrough, stdout), CLI_EXIT_OK;
    struct mmsim_scenario_error err;
    struct mmsim_scenario *sc = mmsim_scenario_parse("walkthrough", mmsim_scenario_walkthrough, &err);
    if (!sc) {
        mmsim_scenario_error_print("walkthrough", &err, stderr);
        return CLI_EXIT_FAIL; /* the built-in text is ours: a parse error is a bug, not bad usage */
    }
    struct mmsim_scenario_options opt = { .verbose = true, .stats = stats };
    struct mmsim_scenario_outcome o;
    int rc = mmsim_scenario_run(sc, &opt, &o);
    mmsim_scenario_free(sc);
    if (rc == MMSIM_SCENARIO_PASS)
        printf("\nEvery expectation held (%zu statements). The script: mmsim walkthrough --print; "
               "write your own and run it with: mmsim run -v FILE (docs/scenarios.md).\n", o.total);
    return rc == MMSIM_SCENARIO_PASS ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
