/*
 * The driver's private state, shared by its files: operations, the byte
 * model, processes, lanes (one per host thread), and the record format.
 */
#ifndef MMSIM_DRIVER_INT_H
#define MMSIM_DRIVER_INT_H

#include <pthread.h>
#include <stdarg.h>
#include "driver.h"
#include "simcpu.h"

#define DRV_PAGE 4096u
#define DRV_STACK_PAGES 8u   /* the top pages of every process's stack are modelled too */
#define DRV_WILD_PAGES 4u    /* addresses nothing is ever mapped at */
#define DRV_SHARED_PAGES 8u  /* threads: the shared process's region, window pages 0..7 (8 pins the zero page) */
#define DRV_MAX_SLOTS 32u    /* 16 serial, or 4 per CPU */
#define DRV_MAX_BULK (3u * DRV_PAGE)
#define DRV_MAX_REPEAT 8u
#define DRV_FUZZ_MAX_STEPS 128u
/* The window straddles 1 GiB, so it needs two L2 tables and two L1 entries. */
#define DRV_WINDOW_BASE 0x3fff0000ull

#define DRV_SLOT_IDLE (-1)
#define DRV_SLOT_SHARED (-2)

enum drv_kind
{
    DRV_CREATE = 0,
    DRV_FORK,
    DRV_EXIT,
    DRV_RUN,
    DRV_MMAP,
    DRV_MUNMAP,
    DRV_MAPP,
    DRV_PROTECT,
    DRV_LOAD,
    DRV_STORE,
    DRV_FETCH,
    DRV_READ,
    DRV_WRITE,
    DRV_FAULT,
    DRV_RACE,
    DRV_POKE, /* sabotage */
    DRV_REF,  /* sabotage */
    DRV_LEAK, /* sabotage */
    DRV_KINDS
};

extern const char *const drv_kind_names[DRV_KINDS];

/* One operation, exactly as a record line holds it. */
struct drv_op
{
    enum drv_kind kind;
    unsigned cpu;      /* the CPU it runs on (the host thread enters it) */
    int slot;          /* the process (DRV_SLOT_IDLE/SHARED for run) */
    int slot2;         /* fork: the child's slot */
    unsigned cpu2;     /* race: the second CPU */
    unsigned page;     /* page index: window, then stack, then wild */
    unsigned npages;   /* mmap, munmap, map-private */
    unsigned off;      /* byte offset in the page */
    unsigned len;      /* access size (1, 2, 4, 8) or bulk length */
    uint64_t value;    /* store value, write pattern, race value */
    unsigned aop;      /* fault: enum mmsim_access_op */
    unsigned fsc;      /* fault: the FSC */
    unsigned repeat;   /* fault: how many times */
    bool flag;         /* protect: read-only; map-private: nocache */
    unsigned fail_kind; /* 0 none, 1 page, 2 heap allocation */
    unsigned fail_nth;
};

/* The byte model of one process: per page mapped/read-only, and per byte
 * the value and whether it is known (a fresh private page is not zeroed). */
struct drv_model
{
    uint8_t *mapped, *ro, *allknown;
    uint8_t *data, *known;
};

struct drv_proc
{
    struct mmsim_proc *p; /* NULL: the slot is empty */
    struct drv_model m;
    char name[16];
};

/* A growable text buffer. */
struct drv_buf
{
    char *s;
    size_t len, cap;
};
void drv_buf_printf(struct drv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void drv_buf_free(struct drv_buf *b);

/* Where the generator's choices come from: a PRNG, or fuzz bytes. */
struct drv_chooser
{
    uint64_t rng;
    bool bytes;          /* false: the PRNG */
    const uint8_t *data;
    size_t size, pos;
};
uint32_t drv_pick(struct drv_chooser *c, uint32_t n); /* 0..n-1 */
bool drv_chance(struct drv_chooser *c, unsigned pct);
uint64_t drv_rand64(struct drv_chooser *c);

struct drv;

/* The operations of one host thread (deterministic schedule: the only one). */
struct drv_lane
{
    struct drv *d;
    unsigned id;
    unsigned cpu0, ncpu;       /* the CPUs it drives */
    unsigned slot0, nslot;     /* the process slots it owns */
    unsigned lane_off, lane_len; /* threads: its bytes of each shared page */
    struct drv_chooser ch;
    unsigned long step;        /* next step label */
    struct drv_buf rec;        /* threads: this round's record lines */
    bool failed;
    char fail_step[32];
    char fail_op[200];
    char what[640];
    /* counters, summed into the result */
    unsigned long steps, accesses, mm_ops, faults, races, alloc_armed, alloc_fired, diverged;
    /* the operation being run */
    const struct drv_op *op;
    uint64_t injected_before[2];
    char note[2][200];
    unsigned note_flip;
    /* replay: this lane's operations */
    struct drv_rec_op *ops;
    size_t nops, nops_cap;
    pthread_t thread;
};

/* One operation parsed from a record. */
struct drv_rec_op
{
    struct drv_op op;
    unsigned long step;
    unsigned long round;       /* threads */
    unsigned line;
    char *result;              /* recorded result, or NULL */
};

struct drv
{
    struct mmsim_driver_config cfg; /* resolved (tlb, asid bits, procs filled in) */
    unsigned npages;            /* modelled pages: window + stack */
    struct drv_proc procs[DRV_MAX_SLOTS];
    unsigned nslots;
    struct drv_proc shared;     /* threads: the process every CPU races on */
    struct drv_lane lanes[MMSIM_SIM_MAX_CPUS];
    unsigned nlanes;
    pthread_mutex_t sched_lock; /* scheduling, create, fork, exit (threads) */
    FILE *log;
    struct mmsim_driver_result *res;
    unsigned long checks;
    /* replay */
    bool replaying;
    const char *name;
    unsigned long nrounds;
    bool recorded_failure;
    char recorded_fail_step[32];
    /* the threads' checkpoints */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long round;        /* the round the lanes may run */
    unsigned arrived;           /* lanes done with it */
    bool stop;
};

/* ---- driver.c ---------------------------------------------------------------- */

uint64_t drv_va_of(const struct drv *d, unsigned page);
unsigned drv_npages_all(const struct drv *d); /* modelled + wild */
bool drv_is_wild(const struct drv *d, unsigned page);
/* The last page index of the region `page` is in, plus one (window or stack). */
unsigned drv_region_end(const struct drv *d, unsigned page);
void drv_problem(struct drv_lane *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct drv_proc *drv_proc_of(struct drv_lane *L, struct mmsim_proc *p, int *slot);
struct drv_proc *drv_current(struct drv_lane *L, unsigned cpu, int *slot);
int drv_model_init(struct drv *d, struct drv_model *m);
int drv_model_copy(struct drv *d, struct drv_model *dst, const struct drv_model *src);
void drv_model_free(struct drv_model *m);
/* Run one operation: record, execute, compare with `expect` (replay), check. */
int drv_step(struct drv_lane *L, const struct drv_op *op, unsigned long step, const char *expect);
void drv_sched_lock(struct drv *d);
void drv_sched_unlock(struct drv *d);

/* ---- ops.c ------------------------------------------------------------------- */

/* Execute `op`: 0 done (result in `out`), -1 a problem (L->what), -2 the
 * operation does not fit the state (a malformed record). */
int drv_exec(struct drv_lane *L, const struct drv_op *op, struct drv_buf *out);
/* The failures that were injected since the operation began. */
uint64_t drv_injected(struct drv_lane *L);
/* Check one process's vareas and mapped frames against its model (learning
 * the bytes not known yet). 0, or -1 with a problem. */
int drv_verify_proc(struct drv_lane *L, struct drv_proc *P);
/* Read every mapped page of P through `cpu` and compare. */
int drv_sweep_proc(struct drv_lane *L, struct drv_proc *P, unsigned cpu);
/* Whether P has a PTE at `page` now. */
bool drv_has_pte(struct drv *d, struct drv_proc *P, unsigned page);

/* ---- gen.c ------------------------------------------------------------------- */

/* Choose the next operation for lane L from its chooser. */
void drv_gen(struct drv_lane *L, struct drv_op *op);
/* The sabotage operation for lane L now (false when there is nothing to do it to yet). */
bool drv_gen_sabotage(struct drv_lane *L, struct drv_op *op);

/* ---- record.c ---------------------------------------------------------------- */

void drv_format_op(const struct drv *d, const struct drv_op *op, unsigned long step, struct drv_buf *out);
void drv_write_header(const struct drv *d, FILE *out);
/* Parse a record into d->cfg and the lanes' operation lists. 0, or -1 after
 * printing "name:line:col: ..." on `err`. */
int drv_parse(struct drv *d, FILE *in, const char *name, FILE *err);
void drv_free_parsed(struct drv *d);

#endif /* MMSIM_DRIVER_INT_H */
