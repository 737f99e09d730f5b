/*
 * scenario.h — mmsim's scenario language (docs/scenarios.md): a plain-text
 * script that configures a machine, creates processes, maps memory, runs
 * loads/stores/fetches through the simulated CPUs and checks what happened
 * (data, faults and their syndromes, frame and reference counts, sharing,
 * the invariant checker). A file is parsed completely before anything runs;
 * running it boots a fresh machine and simulator and tears them down with a
 * leak check.
 *
 * The parsed form is public so tests can look at what the parser made of a
 * line; everything else goes through the functions below.
 */
#ifndef MMSIM_SCENARIO_H
#define MMSIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MMSIM_SCENARIO_MAX_PROCS 256u  /* process slots a file may create */
#define MMSIM_SCENARIO_MAX_CPUS 8u     /* = MMSIM_SIM_MAX_CPUS */
#define MMSIM_SCENARIO_MAX_DATA (1u << 24) /* bytes one data operand may make */

/* Exit statuses of `mmsim run`, also the results of mmsim_scenario_run. */
#define MMSIM_SCENARIO_PASS 0
#define MMSIM_SCENARIO_FAIL 1
#define MMSIM_SCENARIO_MALFORMED 2

enum mmsim_scenario_kind
{
    MMSIM_SC_PROCESS = 0, /* process NAME (`set` lines only fill the configuration) */
    MMSIM_SC_FORK,        /* P fork C */
    MMSIM_SC_EXIT,        /* P exit */
    MMSIM_SC_MMAP,        /* P mmap VA SIZE            (lwp_mmap2, anonymous, fixed) */
    MMSIM_SC_MUNMAP,      /* P munmap VA SIZE          (lwp_munmap) */
    MMSIM_SC_MAP_PRIVATE, /* P map-private VA SIZE     (lwp_map_user_varea_ext, fixed) */
    MMSIM_SC_PROTECT,     /* P protect VA ro|rw        (rt_aspace_control) */
    MMSIM_SC_RUN,         /* on cpuN run P|idle */
    MMSIM_SC_PAN,         /* on cpuN pan on|off */
    MMSIM_SC_ACCESS,      /* [on cpuN | P] [el0|el1] read|write|exec ...; P put|get ... */
    MMSIM_SC_INJECT,      /* [on cpuN | P] inject read|write|exec VA FAULT [level N] */
    MMSIM_SC_EXPECT,      /* expect ... */
    MMSIM_SC_CHECK,       /* check */
    MMSIM_SC_STATS,       /* stats [json] */
    MMSIM_SC_DUMP,        /* dump vareas P | dump tables P | dump sharing */
    MMSIM_SC_SAY,         /* say "text" */
    MMSIM_SC_INTERLEAVE,  /* interleave [seed N] ... end */
    MMSIM_SC_FAIL,        /* fail heap|pages N [once|always] | fail off (allocation failure injection) */
};

/* The configuration keys `set` accepts (values in struct mmsim_scenario_config). */
enum mmsim_scenario_key
{
    MMSIM_SC_KEY_RAM = 0,
    MMSIM_SC_KEY_RAM_BASE,
    MMSIM_SC_KEY_INSTALL,
    MMSIM_SC_KEY_HEAP,
    MMSIM_SC_KEY_DEBUG_AIDS,
    MMSIM_SC_KEY_QUARANTINE,
    MMSIM_SC_KEY_CPUS,
    MMSIM_SC_KEY_TLB_ENTRIES,
    MMSIM_SC_KEY_ASID_BITS,
    MMSIM_SC_KEY_HW_AF,
    MMSIM_SC_KEY_HW_DIRTY,
    MMSIM_SC_KEY_SW_AF,
    MMSIM_SC_KEY_WALK_CROSSCHECK,
    MMSIM_SC_KEY_STALE_CHECK,
    MMSIM_SC_KEY_UAF_CHECK,
    MMSIM_SC_KEY_SWITCH_FLUSH,
    MMSIM_SC_KEY_LIVELOCK,
    MMSIM_SC_KEY_SEED,
    MMSIM_SC_KEY_COUNT
};

enum mmsim_scenario_op
{
    MMSIM_SC_READ = 0,  /* = MMSIM_ACCESS_LOAD */
    MMSIM_SC_WRITE = 1, /* = MMSIM_ACCESS_STORE */
    MMSIM_SC_EXEC = 2,  /* = MMSIM_ACCESS_FETCH */
};

enum mmsim_scenario_expect_kind
{
    /* about the access (or injection) just before */
    MMSIM_SC_EX_DATA = 0,   /* expect data DATA */
    MMSIM_SC_EX_STATUS,     /* expect STATUS [or STATUS]...: ok, segv, livelock, use-after-free, stale-tlb, walk-mismatch */
    MMSIM_SC_EX_FAULTS,     /* expect faults N / expect no fault */
    MMSIM_SC_EX_FAULT,      /* expect [first..eighth|last] fault KIND [level N] [fsc X] [esr X] [wnr 0|1] [fixed|unfixed] */
    MMSIM_SC_EX_CAUSE,      /* expect cause "words" */
    MMSIM_SC_EX_INJECT,     /* expect fixed|unfixed (after inject) */
    /* about the machine or a process */
    MMSIM_SC_EX_DATA_FRAMES,  /* expect [P] data-frames N */
    MMSIM_SC_EX_ZERO_FRAMES,  /* expect [P] zero-frames N */
    MMSIM_SC_EX_TABLE_PAGES,  /* expect [P] table-pages N */
    MMSIM_SC_EX_VAREAS,       /* expect P vareas N */
    MMSIM_SC_EX_REFS,         /* expect P refs VA N */
    MMSIM_SC_EX_MAPPED,       /* expect P mapped VA / expect P unmapped VA */
    MMSIM_SC_EX_SHARE,        /* expect P and C [do not] share VA */
    MMSIM_SC_EX_PTE,          /* expect P pte VA [af|no-af] [dbm|no-dbm] [writable|read-only] [dirty|clean] */
    MMSIM_SC_EX_TLB_ENTRIES,  /* expect cpuN tlb-entries N */
};

/* A fault to match; -1 (or MMSIM_SC_ANY64) means "any". */
#define MMSIM_SC_ANY64 UINT64_MAX
struct mmsim_scenario_fault_match
{
    int index;      /* 0 = the last fault, 1..8 = first..eighth of the history */
    int kind;       /* enum mmsim_fault (mmsim/vmsa.h), -1 any */
    int level;      /* -1..3, or -2 any */
    int fsc;        /* 0..63, -1 any */
    uint64_t esr;   /* MMSIM_SC_ANY64 any */
    int wnr;        /* 0/1, -1 any */
    int fixed;      /* 0/1, -1 any */
};

/* PTE bits to match; each -1 (any), 0 or 1. */
struct mmsim_scenario_pte_match
{
    int af, dbm, writable, dirty;
};

struct mmsim_scenario_expect
{
    enum mmsim_scenario_expect_kind kind;
    bool negate;        /* "do not share", "unmapped" */
    int proc, proc2;    /* process slots, -1 = machine-wide / none */
    int cpu;            /* for tlb-entries */
    uint64_t va;
    uint64_t count;     /* the number expected */
    int status;         /* 1 << enum mmsim_access_status, one bit per status allowed */
    struct mmsim_scenario_fault_match fault;
    struct mmsim_scenario_pte_match pte;
};

/* One statement. Process operands are slots: each `process` or `fork`
 * creates a new slot, names resolve to the slot they named at that line. */
struct mmsim_scenario_stmt
{
    enum mmsim_scenario_kind kind;
    int line;             /* 1-based */
    const char *text;     /* the line without comment and surrounding blanks */
    const char *where;    /* "file:line: text", for mmsim_sim_note_op */
    const char *comment;  /* the line's trailing comment, NULL if none */
    int proc;             /* subject process slot, -1 none */
    int proc2;            /* fork's child slot */
    int cpu;              /* explicit CPU, -1: the subject's or the current one */
    int el;               /* access EL 0/1, -1: the CPU's */
    const char *name;     /* process name (process, fork) */
    uint64_t value;       /* pan on/off, interleave seed, fail: the Nth attempt (0: off) */
    int alloc_kind;       /* fail: enum mmsim_alloc_kind */
    bool always;          /* fail: every attempt from the Nth on */
    uint64_t va, size;    /* mmap/munmap/map-private/protect (size 1 = ro, 0 = rw), access */
    enum mmsim_scenario_op op;
    unsigned width;       /* typed access: 1/2/4/8 bytes through load/store; 0 bulk */
    bool check_value;     /* read ... expect: compare the data right away */
    bool kcopy;           /* put/get: lwp_data_put/lwp_data_get instead of a CPU access */
    uint8_t *data;        /* write data, or a read's expected bytes */
    size_t len;
    bool status_expected; /* an `expect STATUS` follows this access */
    int inject_kind;      /* enum mmsim_fault */
    int inject_level;
    bool json;            /* stats json */
    int dump;             /* 0 vareas, 1 tables, 2 sharing */
    size_t block_len;     /* interleave: statements inside the block */
    bool has_seed;        /* interleave seed N */
    struct mmsim_scenario_expect expect;
};

/* Configuration collected from `set` lines; `given` says which were set. */
struct mmsim_scenario_config
{
    uint64_t value[MMSIM_SC_KEY_COUNT];
    bool given[MMSIM_SC_KEY_COUNT];
};

struct mmsim_scenario;

/* Where parsing stopped: "expected ..., found '...'". */
struct mmsim_scenario_error
{
    int line, col;
    char msg[256];
};

/* Parse `text` (NUL-terminated); `name` labels errors and failure reports.
 * Returns the scenario, or NULL with *err filled (err may be NULL) for a
 * malformed text or when the host heap is exhausted (line 0). */
struct mmsim_scenario *mmsim_scenario_parse(const char *name, const char *text,
                                            struct mmsim_scenario_error *err);
/* Read and parse `path`; an unreadable file is an error at line 0. */
struct mmsim_scenario *mmsim_scenario_parse_file(const char *path, struct mmsim_scenario_error *err);
/* Print "name:line:col: msg" (or "name: msg" at line 0) with a newline. */
void mmsim_scenario_error_print(const char *name, const struct mmsim_scenario_error *err, FILE *out);
void mmsim_scenario_free(struct mmsim_scenario *sc);

const char *mmsim_scenario_name(const struct mmsim_scenario *sc);
size_t mmsim_scenario_count(const struct mmsim_scenario *sc);
const struct mmsim_scenario_stmt *mmsim_scenario_stmt(const struct mmsim_scenario *sc, size_t i);
const struct mmsim_scenario_config *mmsim_scenario_config(const struct mmsim_scenario *sc);
/* Name of a process slot as written. */
const char *mmsim_scenario_proc_name(const struct mmsim_scenario *sc, int slot);
/* Name of a `set` key ("tlb-entries"). */
const char *mmsim_scenario_key_name(enum mmsim_scenario_key key);

struct mmsim_scenario_options
{
    bool verbose;      /* narrate every step */
    bool stats;        /* print the simulator's statistics at the end */
    bool json;         /* ... as JSON */
    bool has_seed;     /* override the file's `set seed` */
    uint64_t seed;
    FILE *out;         /* narration (NULL: stdout) */
    FILE *stats_out;   /* the statistics (NULL: out) */
    FILE *err;         /* failures (NULL: stderr) */
};

/* What a run did. */
struct mmsim_scenario_outcome
{
    int result;          /* MMSIM_SCENARIO_PASS or _FAIL */
    size_t ran;          /* statements executed (expectations included) */
    size_t total;        /* statements in the file */
    int failed_line;     /* 0 when it passed */
    uint64_t seed;       /* the interleaving seed used */
};

/* Boot a machine and a simulator as the file configures them, run every
 * statement, stop at the first expectation that fails (reported on
 * opt->err with what was expected and found), tear down with a leak check.
 * Returns MMSIM_SCENARIO_PASS or _FAIL (also in *outcome, may be NULL). */
int mmsim_scenario_run(const struct mmsim_scenario *sc, const struct mmsim_scenario_options *opt,
                       struct mmsim_scenario_outcome *outcome);

/* The built-in walkthrough `mmsim` runs by default: a scenario text. */
extern const char mmsim_scenario_walkthrough[];

#ifdef __cplusplus
}
#endif
#endif /* MMSIM_SCENARIO_H */
