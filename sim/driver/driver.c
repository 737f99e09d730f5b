/*
 * The driver's life cycle: a machine and simulator per run, the lanes (one
 * interleaving of every CPU on the calling thread, or one host thread per
 * CPU with checkpoints between rounds), the checks after every step, and the
 * end of a run: every process reads back, exits, and nothing may be left.
 */
#include <stdlib.h>
#include <string.h>
#include <lwp.h>
#include <mm_aspace.h>
#include <mmsim/alloc.h>
#include <mmsim/diag.h>
#include <mmsim/machine.h>
#include <mmsim/mm_check.h>
#include "driver_int.h"

/* ---- assertions: a problem, not an abort ------------------------------------------- */

static struct
{
    pthread_mutex_t lock;
    unsigned count;
    char text[400];
} g_asserts = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void assert_hook(void *ctx, const char *expr, const char *func, const char *file, int line,
                        const char *msg)
{
    (void)ctx;
    pthread_mutex_lock(&g_asserts.lock);
    if (g_asserts.count++ == 0)
        snprintf(g_asserts.text, sizeof g_asserts.text, "RT_ASSERT(%s) failed in %s (%s:%d)%s%s", expr, func,
                 file, line, msg ? ": " : "", msg ? msg : "");
    pthread_mutex_unlock(&g_asserts.lock);
}

static unsigned asserts_seen(char *text, size_t size)
{
    pthread_mutex_lock(&g_asserts.lock);
    unsigned n = g_asserts.count;
    if (text)
        snprintf(text, size, "%s", g_asserts.text);
    pthread_mutex_unlock(&g_asserts.lock);
    return n;
}

static void asserts_reset(void)
{
    pthread_mutex_lock(&g_asserts.lock);
    g_asserts.count = 0;
    g_asserts.text[0] = 0;
    pthread_mutex_unlock(&g_asserts.lock);
}

/* The library's log lines (allocation failures it could not avoid, ...)
 * are part of the trace, not of a quiet run. */
static void log_sink(void *ctx, enum mmsim_log_level level, const char *tag, const char *line)
{
    (void)level;
    if (ctx)
        fprintf(ctx, "  [%s] %s\n", tag, line);
}

/* ---- small things ---------------------------------------------------------------- */

void drv_buf_printf(struct drv_buf *b, const char *fmt, ...)
{
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s)
            return;
        b->s = s;
        b->cap = cap;
        if (b->len == 0)
            b->s[0] = 0;
    }
}

void drv_buf_free(struct drv_buf *b)
{
    free(b->s);
    *b = (struct drv_buf){ 0 };
}

void drv_problem(struct drv_lane *L, const char *fmt, ...)
{
    if (L->failed)
        return;
    L->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(L->what, sizeof L->what, fmt, ap);
    va_end(ap);
}

const char *const drv_kind_names[DRV_KINDS] = {
    [DRV_CREATE] = "create", [DRV_FORK] = "fork",   [DRV_EXIT] = "exit",   [DRV_RUN] = "run",
    [DRV_MMAP] = "mmap",     [DRV_MUNMAP] = "munmap", [DRV_MAPP] = "map-private", [DRV_PROTECT] = "protect",
    [DRV_LOAD] = "load",     [DRV_STORE] = "store", [DRV_FETCH] = "fetch", [DRV_READ] = "read",
    [DRV_WRITE] = "write",   [DRV_FAULT] = "fault", [DRV_RACE] = "race",   [DRV_POKE] = "poke",
    [DRV_REF] = "ref",       [DRV_LEAK] = "leak",
};

static const char *const k_policy_names[MMSIM_DRIVER_POLICIES] = { "rt", "ha", "hafdbs", "sw-af" };

const char *mmsim_driver_policy_name(enum mmsim_driver_policy policy)
{
    return (unsigned)policy < MMSIM_DRIVER_POLICIES ? k_policy_names[policy] : "?";
}

bool mmsim_driver_policy_parse(const char *name, enum mmsim_driver_policy *out)
{
    for (unsigned i = 0; i < MMSIM_DRIVER_POLICIES; i++)
        if (strcmp(name, k_policy_names[i]) == 0) {
            *out = (enum mmsim_driver_policy)i;
            return true;
        }
    return false;
}

void mmsim_driver_config_default(struct mmsim_driver_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->steps = 200;
    cfg->ncpus = 2;
    cfg->window_pages = 32;
    cfg->round_steps = 25;
    cfg->inject_pct = 5;
    cfg->policy = MMSIM_DRIVER_POLICY_RT;
}

/* ---- the layout ------------------------------------------------------------------- */

unsigned drv_npages_all(const struct drv *d)
{
    return d->npages + DRV_WILD_PAGES;
}

bool drv_is_wild(const struct drv *d, unsigned page)
{
    return page >= d->npages;
}

unsigned drv_region_end(const struct drv *d, unsigned page)
{
    return page < d->cfg.window_pages ? d->cfg.window_pages : page < d->npages ? d->npages : page + 1;
}

uint64_t drv_va_of(const struct drv *d, unsigned page)
{
    static const uint64_t wild[DRV_WILD_PAGES] = {
        DRV_WINDOW_BASE - 2 * DRV_PAGE, /* below the window: never mapped */
        0,                              /* the null page, below the user space */
        0xffff000000001000ull,          /* the kernel half: no varea there */
        USER_VADDR_TOP,                 /* past the 48-bit user space */
    };
    unsigned w = d->cfg.window_pages;
    if (page < w)
        return DRV_WINDOW_BASE + (uint64_t)page * DRV_PAGE;
    if (page < d->npages)
        return USER_STACK_VEND - (uint64_t)(d->npages - page) * DRV_PAGE;
    return wild[(page - d->npages) % DRV_WILD_PAGES];
}

/* ---- models and processes ----------------------------------------------------------- */

int drv_model_init(struct drv *d, struct drv_model *m)
{
    size_t n = d->npages;
    uint8_t *block = calloc(1, 3 * n + 2 * n * DRV_PAGE);
    if (!block)
        return -1;
    m->mapped = block;
    m->ro = block + n;
    m->allknown = block + 2 * n;
    m->data = block + 3 * n;
    m->known = m->data + n * DRV_PAGE;
    for (unsigned p = d->cfg.window_pages; p < d->npages; p++) { /* the stack: zeros */
        m->mapped[p] = m->allknown[p] = 1;
        memset(m->known + (size_t)p * DRV_PAGE, 1, DRV_PAGE);
    }
    return 0;
}

int drv_model_copy(struct drv *d, struct drv_model *dst, const struct drv_model *src)
{
    size_t n = d->npages;
    uint8_t *block = malloc(3 * n + 2 * n * DRV_PAGE);
    if (!block)
        return -1;
    memcpy(block, src->mapped, 3 * n + 2 * n * DRV_PAGE);
    dst->mapped = block;
    dst->ro = block + n;
    dst->allknown = block + 2 * n;
    dst->data = block + 3 * n;
    dst->known = dst->data + n * DRV_PAGE;
    return 0;
}

void drv_model_free(struct drv_model *m)
{
    free(m->mapped);
    memset(m, 0, sizeof *m);
}

/* Only the lane's own slots are looked at: with threads the others belong
 * to other host threads. */
struct drv_proc *drv_proc_of(struct drv_lane *L, struct mmsim_proc *p, int *slot)
{
    struct drv *d = L->d;
    if (slot)
        *slot = DRV_SLOT_IDLE;
    if (!p)
        return NULL;
    if (p == d->shared.p) {
        if (slot)
            *slot = DRV_SLOT_SHARED;
        return &d->shared;
    }
    for (unsigned s = L->slot0; s < L->slot0 + L->nslot; s++)
        if (d->procs[s].p == p) {
            if (slot)
                *slot = (int)s;
            return &d->procs[s];
        }
    return NULL;
}

struct drv_proc *drv_current(struct drv_lane *L, unsigned cpu, int *slot)
{
    struct mmsim_cpu *c = mmsim_sim_cpu(cpu);
    return drv_proc_of(L, c ? mmsim_cpu_current(c) : NULL, slot);
}

void drv_sched_lock(struct drv *d)
{
    if (d->cfg.threads)
        pthread_mutex_lock(&d->sched_lock);
}

void drv_sched_unlock(struct drv *d)
{
    if (d->cfg.threads)
        pthread_mutex_unlock(&d->sched_lock);
}

/* ---- checks ------------------------------------------------------------------------ */

/* The machine-wide invariant checker; its report goes into the problem. */
static int check_machine(struct drv_lane *L)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    L->d->checks++;
    int n = mmsim_mm_check_machine(NULL, 0, mem, NULL);
    if (mem)
        fclose(mem);
    if (n) {
        for (char *c = text; c && *c; c++)
            if (*c == '\n')
                *c = ' ';
        drv_problem(L, "invariant checker: %d problem(s): %s", n, text ? text : "");
    }
    free(text);
    return n ? -1 : 0;
}

static int check_asserts(struct drv_lane *L, unsigned before)
{
    char text[400];
    if (asserts_seen(text, sizeof text) == before)
        return 0;
    drv_problem(L, "%s", text);
    return -1;
}

/* After a step: the checker (deterministic schedule: the lanes are quiet
 * then) and every process of the lane against its model. */
static int verify_step(struct drv_lane *L)
{
    struct drv *d = L->d;
    if (!d->cfg.threads && check_machine(L) != 0)
        return -1;
    for (unsigned s = L->slot0; s < L->slot0 + L->nslot; s++)
        if (d->procs[s].p && drv_verify_proc(L, &d->procs[s]) != 0)
            return -1;
    return 0;
}

/* ---- one step ------------------------------------------------------------------------ */

int drv_step(struct drv_lane *L, const struct drv_op *op, unsigned long step, const char *expect)
{
    struct drv *d = L->d;
    struct drv_buf line = { 0 }, result = { 0 };
    drv_format_op(d, op, step, &line);
    drv_buf_printf(&result, "%s", "");
    FILE *rec = d->cfg.record;
    bool serial = !d->cfg.threads;
    if (rec && serial) { /* the operation first: a crash inside it leaves it in the record */
        fputs(line.s, rec);
        fflush(rec);
    }
    if (serial) { /* the note must outlive the next one */
        snprintf(L->note[L->note_flip], sizeof L->note[0], "%s", line.s);
        mmsim_sim_note_op(L->note[L->note_flip]);
        L->note_flip ^= 1;
    } else {
        mmsim_sim_note_op(drv_kind_names[op->kind]);
    }
    if (op->cpu < d->cfg.ncpus && op->cpu >= L->cpu0 && op->cpu < L->cpu0 + L->ncpu)
        mmsim_cpu_enter(mmsim_sim_cpu(op->cpu));
    unsigned asserts = asserts_seen(NULL, 0);
    enum mmsim_alloc_kind kind = op->fail_kind == 1 ? MMSIM_ALLOC_PAGE : MMSIM_ALLOC_HEAP;
    L->op = op;
    if (op->fail_kind) {
        struct mmsim_alloc_counters c;
        mmsim_alloc_counters_get(kind, &c);
        L->injected_before[op->fail_kind - 1] = c.injected;
        mmsim_inject_arm(kind, op->fail_nth, MMSIM_INJECT_ONCE);
        L->alloc_armed++;
    }
    int rc = drv_exec(L, op, &result);
    if (op->fail_kind) {
        uint64_t fired = mmsim_inject_disarm(kind);
        L->alloc_fired += fired ? 1 : 0;
        drv_buf_printf(&result, " inj=%llu", (unsigned long long)fired);
    }
    L->op = NULL;
    L->steps++;
    if (rc == 0)
        rc = check_asserts(L, asserts);
    if (rc == 0)
        rc = verify_step(L);
    if (rc == 0 && expect && strcmp(expect, result.s) != 0) {
        L->diverged++;
        drv_problem(L, "replay diverged: the record says '%s', this run gives '%s'", expect, result.s);
        rc = -1;
    }
    if (rec && serial)
        fprintf(rec, " -> %s\n", result.s);
    else if (rec)
        drv_buf_printf(&L->rec, "%s -> %s\n", line.s, result.s);
    if (d->cfg.trace)
        fprintf(d->log, "%s -> %s\n", line.s, result.s);
    if (rc != 0 && !L->fail_step[0]) {
        if (serial)
            snprintf(L->fail_step, sizeof L->fail_step, "%lu", step);
        else
            snprintf(L->fail_step, sizeof L->fail_step, "cpu%u:%lu", L->id, step);
        snprintf(L->fail_op, sizeof L->fail_op, "%s", line.s);
    }
    drv_buf_free(&line);
    drv_buf_free(&result);
    return rc;
}

/* ---- configuration ---------------------------------------------------------------------- */

/* Fill in the defaults and the seed-chosen values; NULL or why not. */
static const char *resolve(struct mmsim_driver_config *c)
{
    uint64_t x = c->seed ^ 0x6d6d73696d647276ull; /* not the operations' stream */
    if (c->ncpus < 1 || c->ncpus > MMSIM_SIM_MAX_CPUS)
        return "cpus must be 1..8";
    if (c->procs == 0)
        c->procs = c->threads ? 3 : 6;
    if (c->threads ? c->procs > 4 : c->procs > MMSIM_DRIVER_MAX_PROCS)
        return "procs must be 1..16 (1..4 per CPU with threads)";
    if (c->window_pages < DRV_SHARED_PAGES || c->window_pages > MMSIM_DRIVER_MAX_WINDOW)
        return "window must be 8..256 pages";
    if (c->threads && c->window_pages <= DRV_SHARED_PAGES)
        return "window must be 9..256 pages with threads (the shared region and its pin)";
    if (c->round_steps == 0)
        c->round_steps = 25;
    if (c->inject_pct > 100)
        return "inject is a percentage, 0..100";
    if (c->threads)
        c->inject_pct = 0; /* injection is machine-wide: it would hit the other threads */
    if ((unsigned)c->policy >= MMSIM_DRIVER_POLICIES)
        return "unknown policy";
    if (c->tlb_entries == 0)
        c->tlb_entries = 16u << (mmsim_sim_rand(&x) % 7);
    if (c->tlb_entries < 16 || c->tlb_entries > 1024 || (c->tlb_entries & (c->tlb_entries - 1)))
        return "tlb must be a power of two, 16..1024";
    if (c->asid_bits == 0)
        c->asid_bits = mmsim_sim_rand(&x) % 4 == 0 ? 8 : 16;
    if (c->asid_bits != 8 && c->asid_bits != 16)
        return "asid-bits must be 8 or 16";
    if (!c->log)
        c->log = stderr;
    return NULL;
}

static void setup_lanes(struct drv *d)
{
    struct mmsim_driver_config *c = &d->cfg;
    d->npages = c->window_pages + DRV_STACK_PAGES;
    d->nlanes = c->threads ? c->ncpus : 1;
    d->nslots = c->threads ? c->procs * c->ncpus : c->procs;
    unsigned lane_len = (DRV_PAGE / c->ncpus) & ~7u;
    for (unsigned i = 0; i < d->nlanes; i++) {
        struct drv_lane *L = &d->lanes[i];
        L->d = d;
        L->id = i;
        L->cpu0 = c->threads ? i : 0;
        L->ncpu = c->threads ? 1 : c->ncpus;
        L->slot0 = c->threads ? i * c->procs : 0;
        L->nslot = c->procs;
        L->lane_off = i * lane_len;
        L->lane_len = lane_len;
        uint64_t x = c->seed + i;
        L->ch.rng = c->threads ? mmsim_sim_rand(&x) : c->seed;
    }
}

static int boot(struct drv *d, struct drv_lane *M)
{
    if (mmsim_machine_booted()) {
        drv_problem(M, "a machine is already booted (the driver boots its own)");
        return -1;
    }
    struct mmsim_machine_config mc;
    mmsim_machine_config_default(&mc);
    if (mmsim_machine_boot(&mc) != RT_EOK) {
        drv_problem(M, "the machine did not boot");
        return -1;
    }
    struct mmsim_sim_config sc;
    mmsim_sim_config_default(&sc);
    sc.ncpus = d->cfg.ncpus;
    sc.tlb_entries = d->cfg.tlb_entries;
    sc.asid_bits = d->cfg.asid_bits;
    sc.hw_af = d->cfg.policy == MMSIM_DRIVER_POLICY_HA || d->cfg.policy == MMSIM_DRIVER_POLICY_HAFDBS;
    sc.hw_dirty = d->cfg.policy == MMSIM_DRIVER_POLICY_HAFDBS;
    sc.sw_af = d->cfg.policy == MMSIM_DRIVER_POLICY_SW_AF;
    /* with real threads an access may see the window between another CPU's
     * table change and its TLBI (docs/cpu.md): no stale check there */
    if (d->cfg.threads)
        sc.stale_check = false;
    if (mmsim_sim_start(&sc) != RT_EOK) {
        mmsim_machine_shutdown(NULL);
        drv_problem(M, "the simulator did not start");
        return -1;
    }
    return 0;
}

/* Threads: the process every CPU may run, with DRV_SHARED_PAGES of
 * anonymous memory at the start of the window that never go away, and one
 * page more that only pins the shared zero page: read once here, never
 * written, it keeps the zero page mapped — so not freed — until the end.
 * (A simulated CPU's access is not atomic with another CPU's TLBI, so a
 * frame freed right after a TLBI could still be reached by an access that
 * looked its translation up just before; docs/driver.md. Every other frame
 * a CPU can reach is freed only by that CPU's own host thread.) */
static int make_shared(struct drv *d, struct drv_lane *M)
{
    struct drv_proc *S = &d->shared;
    snprintf(S->name, sizeof S->name, "shared");
    if (drv_model_init(d, &S->m) != 0 || !(S->p = mmsim_proc_create(S->name))) {
        drv_problem(M, "could not create the shared process");
        return -1;
    }
    unsigned n = DRV_SHARED_PAGES + 1;
    void *va = (void *)(uintptr_t)drv_va_of(d, 0);
    if (lwp_mmap2(mmsim_proc_lwp(S->p), va, n * DRV_PAGE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != va) {
        drv_problem(M, "could not map the shared region");
        return -1;
    }
    for (unsigned p = 0; p < n; p++) {
        S->m.mapped[p] = S->m.allknown[p] = 1;
        memset(S->m.known + (size_t)p * DRV_PAGE, 1, DRV_PAGE);
    }
    struct mmsim_cpu *cpu = mmsim_sim_cpu(0);
    uint64_t v = 1;
    mmsim_cpu_run(cpu, S->p);
    if (mmsim_cpu_load(cpu, drv_va_of(d, DRV_SHARED_PAGES), 8, &v, NULL) != MMSIM_ACCESS_OK || v != 0) {
        drv_problem(M, "could not read the shared zero-page pin");
        return -1;
    }
    mmsim_cpu_run(cpu, NULL);
    return 0;
}

/* ---- the end of a run ---------------------------------------------------------------------- */

static void exit_all(struct drv *d, struct drv_lane *M, bool check)
{
    for (unsigned s = 0; s <= d->nslots; s++) {
        struct drv_proc *P = s < d->nslots ? &d->procs[s] : &d->shared;
        if (!P->p)
            continue;
        mmsim_proc_exit(P->p);
        P->p = NULL;
        drv_model_free(&P->m);
        if (check && !M->failed)
            check_machine(M);
    }
}

/* Every process reads its pages back through CPU 0, exits, and the machine
 * must hold exactly what it held after boot. */
static void finish(struct drv *d, struct drv_lane *M, bool failed)
{
    unsigned asserts = asserts_seen(NULL, 0);
    if (!failed) {
        mmsim_sim_note_op("end: read back");
        mmsim_cpu_enter(mmsim_sim_cpu(0));
        for (unsigned s = 0; s <= d->nslots && !M->failed; s++) {
            struct drv_proc *P = s < d->nslots ? &d->procs[s] : &d->shared;
            if (P->p)
                drv_sweep_proc(M, P, 0);
        }
    }
    mmsim_sim_note_op("end: exit");
    exit_all(d, M, !failed);
    mmsim_sim_note_op(NULL);
    if (!failed && !M->failed) {
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        struct mmsim_leak_report leaks;
        int n = mmsim_mm_check_boot_counts(mem, &leaks);
        if (mem)
            fclose(mem);
        if (n) {
            for (char *c = text; c && *c; c++)
                if (*c == '\n')
                    *c = ' ';
            drv_problem(M, "after every process exited: %d problem(s): %s", n, text ? text : "");
        }
        free(text);
    }
    if (!failed && !M->failed)
        check_asserts(M, asserts);
    mmsim_inject_disarm_all();
    mmsim_sim_stop();
    struct mmsim_leak_report rep;
    if (mmsim_machine_shutdown(&rep) != 0 && !failed)
        drv_problem(M, "machine shutdown: %zu frame(s), %ld heap byte(s) leaked, %d allocator problem(s)",
                    rep.frames, rep.heap_bytes, rep.allocator_problems);
    if (M->failed && !M->fail_step[0])
        snprintf(M->fail_step, sizeof M->fail_step, "end");
}

/* ---- the schedules --------------------------------------------------------------------------- */

static bool input_left(const struct drv_lane *L)
{
    return !L->ch.bytes || L->ch.pos < L->ch.size;
}

static void run_serial(struct drv *d)
{
    struct drv_lane *L = &d->lanes[0];
    if (d->replaying) {
        for (size_t i = 0; i < L->nops && !L->failed; i++) {
            const struct drv_rec_op *r = &L->ops[i];
            if (drv_step(L, &r->op, r->step, r->result) == -2) {
                fprintf(d->log, "%s:%u:1: %s\n", d->name, r->line, L->what);
                d->res->status = MMSIM_DRIVER_MALFORMED;
            }
        }
        return;
    }
    unsigned max = L->ch.bytes ? DRV_FUZZ_MAX_STEPS : d->cfg.steps;
    bool sabotaged = d->cfg.sabotage == MMSIM_DRIVER_SABOTAGE_NONE;
    for (unsigned long i = 0; i < max && !L->failed && input_left(L); i++) {
        struct drv_op op;
        if (!sabotaged && i >= d->cfg.sabotage_step && drv_gen_sabotage(L, &op))
            sabotaged = true;
        else
            drv_gen(L, &op);
        drv_step(L, &op, L->step++, NULL);
    }
}

static void *lane_thread(void *arg)
{
    struct drv_lane *L = arg;
    struct drv *d = L->d;
    mmsim_cpu_enter(mmsim_sim_cpu(L->cpu0));
    size_t next = 0;
    for (unsigned long round = 1;; round++) {
        pthread_mutex_lock(&d->lock);
        while (d->round < round && !d->stop)
            pthread_cond_wait(&d->cond, &d->lock);
        bool stop = d->stop;
        pthread_mutex_unlock(&d->lock);
        if (stop)
            break;
        if (d->replaying) {
            for (; next < L->nops && L->ops[next].round <= round; next++) {
                const struct drv_rec_op *r = &L->ops[next];
                if (!L->failed && drv_step(L, &r->op, r->step, r->result) == -2) {
                    fprintf(d->log, "%s:%u:1: %s\n", d->name, r->line, L->what);
                    pthread_mutex_lock(&d->lock);
                    d->res->status = MMSIM_DRIVER_MALFORMED;
                    pthread_mutex_unlock(&d->lock);
                }
            }
        } else {
            for (unsigned i = 0; i < d->cfg.round_steps && L->step < d->cfg.steps && !L->failed; i++) {
                struct drv_op op;
                drv_gen(L, &op);
                drv_step(L, &op, L->step++, NULL);
            }
        }
        pthread_mutex_lock(&d->lock);
        d->arrived++;
        pthread_cond_broadcast(&d->cond);
        pthread_mutex_unlock(&d->lock);
    }
    return NULL;
}

static bool any_failed(struct drv *d, struct drv_lane *M)
{
    if (M->failed)
        return true;
    for (unsigned i = 0; i < d->nlanes; i++)
        if (d->lanes[i].failed)
            return true;
    return false;
}

static void run_threads(struct drv *d, struct drv_lane *M)
{
    unsigned long rounds = d->replaying ? d->nrounds
                                        : (d->cfg.steps + d->cfg.round_steps - 1) / d->cfg.round_steps;
    unsigned started = 0;
    for (unsigned i = 0; i < d->nlanes; i++, started++)
        if (pthread_create(&d->lanes[i].thread, NULL, lane_thread, &d->lanes[i]) != 0) {
            drv_problem(M, "could not start host thread %u", i);
            break;
        }
    for (unsigned long r = 1; r <= rounds && started == d->nlanes && !any_failed(d, M); r++) {
        pthread_mutex_lock(&d->lock);
        d->arrived = 0;
        d->round = r;
        pthread_cond_broadcast(&d->cond);
        while (d->arrived < d->nlanes)
            pthread_cond_wait(&d->cond, &d->lock);
        pthread_mutex_unlock(&d->lock);
        /* every lane is parked: the checkpoint */
        d->res->rounds++;
        if (d->cfg.record) {
            fprintf(d->cfg.record, "round %lu\n", r);
            for (unsigned i = 0; i < d->nlanes; i++) {
                struct drv_lane *L = &d->lanes[i];
                if (L->rec.len)
                    fputs(L->rec.s, d->cfg.record);
                L->rec.len = 0;
            }
            fflush(d->cfg.record);
        }
        unsigned asserts = asserts_seen(NULL, 0);
        if (!any_failed(d, M) && check_machine(M) == 0 && d->shared.p)
            drv_verify_proc(M, &d->shared);
        if (!any_failed(d, M))
            check_asserts(M, asserts);
        if (M->failed && !M->fail_step[0])
            snprintf(M->fail_step, sizeof M->fail_step, "round:%lu", r);
    }
    pthread_mutex_lock(&d->lock);
    d->stop = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(d->lanes[i].thread, NULL);
}

/* ---- results ------------------------------------------------------------------------------------ */

static void collect(struct drv *d, struct drv_lane *M, struct mmsim_driver_result *res)
{
    res->seed = d->cfg.seed;
    res->ncpus = d->cfg.ncpus;
    res->threads = d->cfg.threads;
    res->checks = d->checks;
    struct drv_lane *first = NULL;
    for (unsigned i = 0; i <= d->nlanes; i++) {
        struct drv_lane *L = i < d->nlanes ? &d->lanes[i] : M;
        res->steps += L->steps;
        res->accesses += L->accesses;
        res->mm_ops += L->mm_ops;
        res->faults += L->faults;
        res->races += L->races;
        res->alloc_armed += L->alloc_armed;
        res->alloc_fired += L->alloc_fired;
        res->diverged += L->diverged;
        if (L->failed && !first)
            first = L;
    }
    if (first) {
        if (res->status == MMSIM_DRIVER_OK)
            res->status = MMSIM_DRIVER_FAIL;
        snprintf(res->step, sizeof res->step, "%s", first->fail_step[0] ? first->fail_step : "start");
        snprintf(res->op, sizeof res->op, "%s", first->fail_op);
        snprintf(res->what, sizeof res->what, "%s", first->what);
    }
    if (d->replaying && d->recorded_failure && !first && res->status == MMSIM_DRIVER_OK) {
        res->status = MMSIM_DRIVER_FAIL;
        snprintf(res->step, sizeof res->step, "%s", d->recorded_fail_step);
        snprintf(res->what, sizeof res->what,
                 "the record ended in a failure at step %s, but this replay ran clean", d->recorded_fail_step);
    }
    if (d->replaying) {
        res->recorded_failure = d->recorded_failure;
        res->reproduced = d->recorded_failure && first && strcmp(res->step, d->recorded_fail_step) == 0;
        snprintf(res->repro, sizeof res->repro, "mmsim replay %s", d->name);
    } else if (!d->lanes[0].ch.bytes) {
        const struct mmsim_driver_config *c = &d->cfg;
        snprintf(res->repro, sizeof res->repro,
                 "mmsim drive --seed %llu --steps %u --cpus %u%s --procs %u --window %u --policy %s --tlb %u "
                 "--asid-bits %u --inject %u",
                 (unsigned long long)c->seed, c->steps, c->ncpus, c->threads ? " --threads" : "", c->procs,
                 c->window_pages, mmsim_driver_policy_name(c->policy), c->tlb_entries, c->asid_bits,
                 c->inject_pct);
        if (c->threads) {
            size_t n = strlen(res->repro);
            snprintf(res->repro + n, sizeof res->repro - n, " --round %u", c->round_steps);
        }
    } else {
        snprintf(res->repro, sizeof res->repro, "the fuzz input (FUZZ_DRIVER_RECORD=FILE writes a record)");
    }
}

static void write_end(struct drv *d, const struct mmsim_driver_result *res)
{
    FILE *rec = d->cfg.record;
    if (!rec)
        return;
    if (res->status == MMSIM_DRIVER_OK) {
        fprintf(rec, "end ok\n");
    } else {
        char what[sizeof res->what];
        snprintf(what, sizeof what, "%s", res->what);
        for (char *c = what; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        fprintf(rec, "end fail %s %s\n", res->step[0] ? res->step : "start", what);
    }
    fflush(rec);
}

/* The whole run on a resolved configuration whose lanes are set up. */
static int run(struct drv *d, struct mmsim_driver_result *res)
{
    struct drv_lane M = { .d = d, .id = d->nlanes, .cpu0 = 0, .ncpu = d->cfg.ncpus, .slot0 = 0, .nslot = d->nslots };
    d->res = res;
    d->log = d->cfg.log;
    pthread_mutex_init(&d->sched_lock, NULL);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    asserts_reset();
    mmsim_assert_hook_set(assert_hook, NULL);
    mmsim_log_set_sink(log_sink, d->cfg.trace ? d->log : NULL);
    if (d->cfg.record)
        drv_write_header(d, d->cfg.record);
    if (boot(d, &M) == 0) {
        if (!d->cfg.threads) {
            run_serial(d);
        } else if (make_shared(d, &M) == 0) {
            run_threads(d, &M);
        }
        finish(d, &M, any_failed(d, &M));
    }
    mmsim_assert_hook_set(NULL, NULL);
    mmsim_log_set_sink(NULL, NULL);
    collect(d, &M, res);
    write_end(d, res);
    for (unsigned i = 0; i < d->nlanes; i++)
        drv_buf_free(&d->lanes[i].rec);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->sched_lock);
    return res->status;
}

static struct drv *drv_new(void)
{
    return calloc(1, sizeof(struct drv));
}

int mmsim_driver_run(const struct mmsim_driver_config *cfg, struct mmsim_driver_result *res)
{
    struct mmsim_driver_result local;
    res = res ? res : &local;
    memset(res, 0, sizeof *res);
    struct drv *d = drv_new();
    if (!d) {
        res->status = MMSIM_DRIVER_FAIL;
        snprintf(res->what, sizeof res->what, "out of host memory");
        return res->status;
    }
    d->cfg = *cfg;
    const char *why = resolve(&d->cfg);
    if (why) {
        res->status = MMSIM_DRIVER_FAIL;
        res->seed = cfg->seed;
        res->ncpus = cfg->ncpus;
        res->threads = cfg->threads;
        snprintf(res->step, sizeof res->step, "start");
        snprintf(res->what, sizeof res->what, "bad configuration: %s", why);
        free(d);
        return res->status;
    }
    setup_lanes(d);
    int rc = run(d, res);
    free(d);
    return rc;
}

int mmsim_driver_replay(FILE *in, const char *name, const struct mmsim_driver_config *io,
                        struct mmsim_driver_result *res)
{
    struct mmsim_driver_result local;
    res = res ? res : &local;
    memset(res, 0, sizeof *res);
    struct drv *d = drv_new();
    if (!d) {
        res->status = MMSIM_DRIVER_FAIL;
        snprintf(res->what, sizeof res->what, "out of host memory");
        return res->status;
    }
    d->replaying = true;
    d->name = name ? name : "record";
    FILE *err = io && io->log ? io->log : stderr;
    if (drv_parse(d, in, d->name, err) != 0) {
        res->status = MMSIM_DRIVER_MALFORMED;
        snprintf(res->what, sizeof res->what, "%s does not parse (see above)", d->name);
        drv_free_parsed(d);
        free(d);
        return res->status;
    }
    if (io) {
        d->cfg.record = io->record;
        d->cfg.log = io->log;
        d->cfg.trace = io->trace;
    }
    const char *why = resolve(&d->cfg);
    if (why) {
        fprintf(err, "%s: %s\n", d->name, why);
        res->status = MMSIM_DRIVER_MALFORMED;
        snprintf(res->what, sizeof res->what, "%s: %s", d->name, why);
        drv_free_parsed(d);
        free(d);
        return res->status;
    }
    setup_lanes(d);
    int rc = run(d, res);
    drv_free_parsed(d);
    free(d);
    return rc;
}

int mmsim_driver_run_bytes(const uint8_t *data, size_t size, const struct mmsim_driver_config *io,
                           struct mmsim_driver_result *res)
{
    struct mmsim_driver_result local;
    res = res ? res : &local;
    memset(res, 0, sizeof *res);
    struct drv *d = drv_new();
    if (!d) {
        res->status = MMSIM_DRIVER_FAIL;
        return res->status;
    }
    struct mmsim_driver_config *c = &d->cfg;
    mmsim_driver_config_default(c);
    uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0;
    c->ncpus = 1u + (b0 & 3u);
    c->policy = io ? io->policy : MMSIM_DRIVER_POLICY_RT;
    c->tlb_entries = 16u << ((b1 & 0x7fu) % 7u);
    c->asid_bits = (b1 & 0x80u) ? 8 : 16;
    c->procs = 4;
    c->window_pages = 16;
    c->inject_pct = 10;
    c->steps = DRV_FUZZ_MAX_STEPS;
    if (io) {
        c->record = io->record;
        c->log = io->log;
        c->trace = io->trace;
    }
    resolve(c);
    setup_lanes(d);
    d->lanes[0].ch.bytes = true;
    d->lanes[0].ch.data = data;
    d->lanes[0].ch.size = size;
    d->lanes[0].ch.pos = size < 2 ? size : 2;
    int rc = run(d, res);
    free(d);
    return rc;
}

void mmsim_driver_result_print(const struct mmsim_driver_result *res, FILE *out)
{
    const char *sched = res->threads ? "threads" : "deterministic";
    if (res->status != MMSIM_DRIVER_OK) {
        fprintf(out, "FAIL at step %s (seed %llu, %u CPU(s), %s): %s\n", res->step[0] ? res->step : "?",
                (unsigned long long)res->seed, res->ncpus, sched, res->what);
        if (res->op[0])
            fprintf(out, "  operation: %s\n", res->op);
        if (res->recorded_failure)
            fprintf(out, "  the record ended in a failure; this replay %s\n",
                    res->reproduced ? "reproduced it at the same step" : "did not fail at the same step");
        if (res->repro[0])
            fprintf(out, "  reproduce: %s\n", res->repro);
        return;
    }
    fprintf(out,
            "ok: seed %llu, %u CPU(s), %s: %lu steps, %lu accesses, %lu mm operations, %lu faults injected, "
            "%lu races, %lu/%lu allocation failures armed/fired, %lu checks\n",
            (unsigned long long)res->seed, res->ncpus, sched, res->steps, res->accesses, res->mm_ops, res->faults,
            res->races, res->alloc_armed, res->alloc_fired, res->checks);
}
