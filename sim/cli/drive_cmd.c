/* mmsim drive / mmsim replay: the fault-injection driver's command line
 * (docs/driver.md). Exit 0 clean, 1 a detected problem (step and seed
 * printed), 2 a usage error or a malformed record (file:line:col). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "driver.h"


static void drive_usage(FILE *out)
{
    fputs("usage: mmsim drive [--seed N] [--steps N] [--cpus N] [--threads] [--record FILE]\n"
          "                   [--runs N | --time SECONDS] [--policy rt|ha|hafdbs|sw-af] [--procs N]\n"
          "                   [--window PAGES] [--inject PCT] [--round N] [--tlb N] [--asid-bits 8|16]\n"
          "                   [--trace] [--quiet]\n"
          "       random operations from a seed against a byte model, the invariant checker after every\n"
          "       step and a leak check at the end; --runs/--time run seeds N, N+1, ... and stop at the\n"
          "       first failure (the record then holds that run)\n"
          "       mmsim replay [--trace] [--record FILE] FILE\n"
          "       replay a record exactly, comparing every operation's result\n",
          out);
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static bool parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    uint64_t v;
    if (!parse_u64(s, &v) || v < lo || v > hi) {
        fprintf(stderr, "mmsim drive: %s expects a number %u..%u, got '%s'\n", opt, lo, hi, s ? s : "");
        return false;
    }
    *out = (unsigned)v;
    return true;
}

struct totals
{
    unsigned long runs, steps, accesses, mm_ops, faults, races, armed, fired, checks;
};

static void add(struct totals *t, const struct mmsim_driver_result *r)
{
    t->runs++;
    t->steps += r->steps;
    t->accesses += r->accesses;
    t->mm_ops += r->mm_ops;
    t->faults += r->faults;
    t->races += r->races;
    t->armed += r->alloc_armed;
    t->fired += r->alloc_fired;
    t->checks += r->checks;
}

static int drive(int argc, char **argv)
{
    struct mmsim_driver_config cfg;
    mmsim_driver_config_default(&cfg);
    bool seeded = false, quiet = false;
    const char *record = NULL;
    unsigned runs = 1, seconds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes = true;
        if (strcmp(a, "--seed") == 0) {
            ok = parse_u64(v, &cfg.seed);
            if (!ok)
                fprintf(stderr, "mmsim drive: --seed expects a number, got '%s'\n", v ? v : "");
            seeded = true;
        } else if (strcmp(a, "--steps") == 0) {
            ok = parse_uint(a, v, 0, 100000000, &cfg.steps);
        } else if (strcmp(a, "--cpus") == 0) {
            ok = parse_uint(a, v, 1, 8, &cfg.ncpus);
        } else if (strcmp(a, "--procs") == 0) {
            ok = parse_uint(a, v, 1, MMSIM_DRIVER_MAX_PROCS, &cfg.procs);
        } else if (strcmp(a, "--window") == 0) {
            ok = parse_uint(a, v, 8, MMSIM_DRIVER_MAX_WINDOW, &cfg.window_pages);
        } else if (strcmp(a, "--inject") == 0) {
            ok = parse_uint(a, v, 0, 100, &cfg.inject_pct);
        } else if (strcmp(a, "--round") == 0) {
            ok = parse_uint(a, v, 1, 1000000, &cfg.round_steps);
        } else if (strcmp(a, "--tlb") == 0) {
            ok = parse_uint(a, v, 16, 1024, &cfg.tlb_entries);
        } else if (strcmp(a, "--asid-bits") == 0) {
            ok = parse_uint(a, v, 8, 16, &cfg.asid_bits);
        } else if (strcmp(a, "--runs") == 0) {
            ok = parse_uint(a, v, 1, 100000000, &runs);
        } else if (strcmp(a, "--time") == 0) {
            ok = parse_uint(a, v, 1, 1000000, &seconds);
        } else if (strcmp(a, "--record") == 0) {
            record = v;
            ok = v != NULL;
            if (!ok)
                fprintf(stderr, "mmsim drive: --record expects a file name\n");
        } else if (strcmp(a, "--policy") == 0) {
            ok = v && mmsim_driver_policy_parse(v, &cfg.policy);
            if (!ok)
                fprintf(stderr, "mmsim drive: --policy expects rt, ha, hafdbs or sw-af, got '%s'\n", v ? v : "");
        } else {
            takes = false;
            if (strcmp(a, "--threads") == 0) {
                cfg.threads = true;
            } else if (strcmp(a, "--trace") == 0) {
                cfg.trace = true;
            } else if (strcmp(a, "--quiet") == 0) {
                quiet = true;
            } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                drive_usage(stdout);
                return CLI_EXIT_OK;
            } else {
                fprintf(stderr, "mmsim drive: unknown option '%s'\n", a);
                ok = false;
            }
        }
        if (!ok) {
            drive_usage(stderr);
            return CLI_EXIT_USAGE;
        }
        i += takes;
    }
    if ((cfg.asid_bits && cfg.asid_bits != 8 && cfg.asid_bits != 16) ||
        (cfg.tlb_entries & (cfg.tlb_entries - 1)) || (cfg.threads && cfg.procs > 4)) {
        fprintf(stderr, "mmsim drive: --asid-bits is 8 or 16, --tlb a power of two, --procs 1..4 with --threads\n");
        return CLI_EXIT_USAGE;
    }
    if (!seeded)
        cfg.seed = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)clock();
    if (seconds && runs == 1)
        runs = 0; /* until the time is up */
    struct totals t = { 0 };
    time_t start = time(NULL);
    for (unsigned long i = 0; runs ? i < runs : (unsigned long)(time(NULL) - start) < seconds; i++) {
        struct mmsim_driver_config one = cfg;
        struct mmsim_driver_result res;
        one.seed = cfg.seed + i;
        FILE *rf = NULL;
        if (record && !(rf = fopen(record, "w"))) {
            fprintf(stderr, "mmsim drive: %s: %s\n", record, strerror(errno));
            return CLI_EXIT_USAGE;
        }
        one.record = rf;
        int rc = mmsim_driver_run(&one, &res);
        if (rf)
            fclose(rf);
        add(&t, &res);
        if (rc != MMSIM_DRIVER_OK && strncmp(res.what, "bad configuration", 17) == 0) {
            fprintf(stderr, "mmsim drive: %s\n", res.what);
            return CLI_EXIT_USAGE;
        }
        if (rc != MMSIM_DRIVER_OK) {
            mmsim_driver_result_print(&res, stderr);
            if (record)
                fprintf(stderr, "  record: %s (mmsim replay %s)\n", record, record);
            else
                fprintf(stderr, "  (add --record FILE for a record that `mmsim replay FILE` reproduces)\n");
            return CLI_EXIT_FAIL;
        }
        if (t.runs == 1 && !quiet && runs == 1)
            mmsim_driver_result_print(&res, stdout);
    }
    if (runs != 1 && !quiet)
        printf("ok: %lu run(s), seeds %llu..%llu, %u CPU(s), %s: %lu steps, %lu accesses, %lu mm operations, "
               "%lu faults injected, %lu races, %lu/%lu allocation failures armed/fired, %lu checks\n",
               t.runs, (unsigned long long)cfg.seed, (unsigned long long)(cfg.seed + t.runs - 1), cfg.ncpus,
               cfg.threads ? "threads" : "deterministic", t.steps, t.accesses, t.mm_ops, t.faults, t.races,
               t.armed, t.fired, t.checks);
    return CLI_EXIT_OK;
}

static int replay(int argc, char **argv)
{
    struct mmsim_driver_config io;
    mmsim_driver_config_default(&io);
    const char *path = NULL, *record = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0) {
            io.trace = true;
        } else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
            record = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            drive_usage(stdout);
            return CLI_EXIT_OK;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            fprintf(stderr, "mmsim replay: unexpected argument '%s'\n", argv[i]);
            drive_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!path) {
        fprintf(stderr, "mmsim replay: which record?\n");
        drive_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    FILE *in = fopen(path, "r");
    if (!in) {
        fprintf(stderr, "mmsim replay: %s: %s\n", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    FILE *rf = NULL;
    if (record && !(rf = fopen(record, "w"))) {
        fprintf(stderr, "mmsim replay: %s: %s\n", record, strerror(errno));
        fclose(in);
        return CLI_EXIT_USAGE;
    }
    io.record = rf;
    io.log = stderr;
    struct mmsim_driver_result res;
    int rc = mmsim_driver_replay(in, path, &io, &res);
    fclose(in);
    if (rf)
        fclose(rf);
    if (rc == MMSIM_DRIVER_MALFORMED)
        return CLI_EXIT_USAGE; /* the message named file:line:col */
    if (rc != MMSIM_DRIVER_OK) {
        mmsim_driver_result_print(&res, stderr);
        return CLI_EXIT_FAIL;
    }
    mmsim_driver_result_print(&res, stdout);
    printf("replay: %s: every result matched the record\n", path);
    return CLI_EXIT_OK;
}

int cli_drive(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "replay") == 0)
        return replay(argc, argv);
    return drive(argc, argv);
}
