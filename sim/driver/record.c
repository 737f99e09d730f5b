/*
 * The record format (docs/driver.md): a header of `key value` lines, then
 * one line per operation with its result, `round N` checkpoints with
 * threads, and an `end` line with the outcome. Writing and parsing are kept
 * next to each other so they cannot drift apart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "driver_int.h"

/* ---- writing ------------------------------------------------------------------------ */

static void page_token(const struct drv *d, unsigned page, struct drv_buf *out)
{
    if (page < d->cfg.window_pages)
        drv_buf_printf(out, " %u", page);
    else if (page < d->npages)
        drv_buf_printf(out, " s%u", page - d->cfg.window_pages);
    else
        drv_buf_printf(out, " w%u", page - d->npages);
}

static const char *const k_aops[] = { "load", "store", "fetch" };

void drv_format_op(const struct drv *d, const struct drv_op *op, unsigned long step, struct drv_buf *out)
{
    drv_buf_printf(out, "%lu cpu%u %s", step, op->cpu,
                   (unsigned)op->kind < DRV_KINDS ? drv_kind_names[op->kind] : "?");
    switch (op->kind) {
    case DRV_CREATE:
    case DRV_EXIT:
        drv_buf_printf(out, " p%d", op->slot);
        break;
    case DRV_FORK:
        drv_buf_printf(out, " p%d p%d", op->slot, op->slot2);
        break;
    case DRV_RUN:
        if (op->slot == DRV_SLOT_IDLE)
            drv_buf_printf(out, " idle");
        else if (op->slot == DRV_SLOT_SHARED)
            drv_buf_printf(out, " shared");
        else
            drv_buf_printf(out, " p%d", op->slot);
        break;
    case DRV_MMAP:
    case DRV_MUNMAP:
    case DRV_MAPP:
        drv_buf_printf(out, " p%d", op->slot);
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u%s", op->npages, op->kind == DRV_MAPP && op->flag ? " nocache" : "");
        break;
    case DRV_PROTECT:
        drv_buf_printf(out, " p%d", op->slot);
        page_token(d, op->page, out);
        drv_buf_printf(out, " %s", op->flag ? "ro" : "rw");
        break;
    case DRV_LOAD:
    case DRV_READ:
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u %u", op->off, op->len);
        break;
    case DRV_STORE:
    case DRV_WRITE:
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u %u 0x%llx", op->off, op->len, (unsigned long long)op->value);
        break;
    case DRV_FETCH:
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u", op->off);
        break;
    case DRV_FAULT:
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u %s 0x%02x %u", op->off, op->aop < 3 ? k_aops[op->aop] : "?", op->fsc, op->repeat);
        break;
    case DRV_RACE:
        drv_buf_printf(out, " p%d cpu%u", op->slot, op->cpu2);
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u 0x%llx", op->off, (unsigned long long)op->value);
        break;
    case DRV_POKE:
        drv_buf_printf(out, " p%d", op->slot);
        page_token(d, op->page, out);
        drv_buf_printf(out, " %u 0x%llx", op->off, (unsigned long long)op->value);
        break;
    case DRV_REF:
        drv_buf_printf(out, " p%d", op->slot);
        page_token(d, op->page, out);
        break;
    case DRV_LEAK:
    case DRV_KINDS:
        break;
    }
    if (op->fail_kind)
        drv_buf_printf(out, " fail=%s:%u", op->fail_kind == 1 ? "page" : "heap", op->fail_nth);
}

void drv_write_header(const struct drv *d, FILE *out)
{
    const struct mmsim_driver_config *c = &d->cfg;
    fprintf(out, "# mmsim drive record (docs/driver.md); replay with: mmsim replay FILE\n");
    fprintf(out, "mmsim-drive 1\n");
    fprintf(out, "seed %llu\n", (unsigned long long)c->seed);
    fprintf(out, "mode %s\n", c->threads ? "threads" : "serial");
    fprintf(out, "cpus %u\n", c->ncpus);
    fprintf(out, "procs %u\n", c->procs);
    fprintf(out, "window %u\n", c->window_pages);
    fprintf(out, "steps %u\n", c->steps);
    fprintf(out, "round-steps %u\n", c->round_steps);
    fprintf(out, "policy %s\n", mmsim_driver_policy_name(c->policy));
    fprintf(out, "tlb %u\n", c->tlb_entries);
    fprintf(out, "asid-bits %u\n", c->asid_bits);
    fprintf(out, "inject %u\n", c->inject_pct);
    fflush(out);
}

/* ---- parsing ------------------------------------------------------------------------ */

struct lex
{
    const char *name;
    FILE *err;
    unsigned line;
    const char *s;   /* the line */
    const char *p;   /* next character */
    const char *tok; /* the current token */
    size_t toklen;
};

/* The next whitespace-separated token; false at the end of the line (or a comment). */
static bool next(struct lex *lx)
{
    while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r')
        lx->p++;
    lx->tok = lx->p;
    if (!*lx->p || *lx->p == '\n' || *lx->p == '#') {
        lx->toklen = 0;
        return false;
    }
    while (*lx->p && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n')
        lx->p++;
    lx->toklen = (size_t)(lx->p - lx->tok);
    return true;
}

static unsigned col(const struct lex *lx)
{
    return (unsigned)(lx->tok - lx->s) + 1;
}

static int expected(struct lex *lx, const char *what)
{
    if (lx->toklen)
        fprintf(lx->err, "%s:%u:%u: expected %s, found '%.*s'\n", lx->name, lx->line, col(lx), what,
                (int)lx->toklen, lx->tok);
    else
        fprintf(lx->err, "%s:%u:%u: expected %s, found the end of the line\n", lx->name, lx->line, col(lx), what);
    return -1;
}

static bool is(const struct lex *lx, const char *word)
{
    return lx->toklen == strlen(word) && memcmp(lx->tok, word, lx->toklen) == 0;
}

/* A number (decimal or 0x hex) in [lo, hi] after an optional prefix. */
static int number(struct lex *lx, const char *prefix, uint64_t lo, uint64_t hi, uint64_t *out, const char *what)
{
    if (!next(lx))
        return expected(lx, what);
    size_t plen = strlen(prefix);
    if (lx->toklen <= plen || memcmp(lx->tok, prefix, plen) != 0)
        return expected(lx, what);
    char buf[64];
    size_t n = lx->toklen - plen;
    if (n >= sizeof buf)
        return expected(lx, what);
    memcpy(buf, lx->tok + plen, n);
    buf[n] = 0;
    if (buf[0] == '-' || buf[0] == '+')
        return expected(lx, what);
    char *end;
    errno = 0;
    unsigned long long v = strtoull(buf, &end, 0);
    if (errno || *end || v < lo || v > hi)
        return expected(lx, what);
    *out = v;
    return 0;
}

static int unum(struct lex *lx, const char *prefix, unsigned lo, unsigned hi, unsigned *out, const char *what)
{
    uint64_t v;
    if (number(lx, prefix, lo, hi, &v, what) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int end_of_line(struct lex *lx)
{
    return next(lx) ? expected(lx, "the end of the line") : 0;
}

static int word(struct lex *lx, const char *const *words, unsigned n, unsigned *out, const char *what)
{
    if (!next(lx))
        return expected(lx, what);
    for (unsigned i = 0; i < n; i++)
        if (is(lx, words[i])) {
            *out = i;
            return 0;
        }
    return expected(lx, what);
}

/* ---- the header ---- */

enum hkey
{
    H_SEED,
    H_MODE,
    H_CPUS,
    H_PROCS,
    H_WINDOW,
    H_STEPS,
    H_ROUND,
    H_POLICY,
    H_TLB,
    H_ASID,
    H_INJECT,
    H_KEYS
};

static const char *const k_hkeys[H_KEYS] = { "seed", "mode", "cpus", "procs", "window", "steps",
                                             "round-steps", "policy", "tlb", "asid-bits", "inject" };

static int header_line(struct drv *d, struct lex *lx, bool *seen)
{
    struct mmsim_driver_config *c = &d->cfg;
    unsigned k = H_KEYS;
    for (unsigned i = 0; i < H_KEYS; i++)
        if (is(lx, k_hkeys[i]))
            k = i;
    if (k == H_KEYS)
        return expected(lx, "a header key (seed, mode, cpus, procs, window, steps, round-steps, policy, tlb, "
                            "asid-bits, inject), an operation or 'end'");
    if (seen[k]) {
        fprintf(lx->err, "%s:%u:%u: '%s' given twice\n", lx->name, lx->line, col(lx), k_hkeys[k]);
        return -1;
    }
    seen[k] = true;
    static const char *const modes[] = { "serial", "threads" };
    unsigned v = 0;
    int rc = 0;
    switch (k) {
    case H_SEED: {
        uint64_t s;
        rc = number(lx, "", 0, UINT64_MAX, &s, "a seed");
        c->seed = s;
        break;
    }
    case H_MODE:
        rc = word(lx, modes, 2, &v, "serial or threads");
        c->threads = v == 1;
        break;
    case H_CPUS: rc = unum(lx, "", 1, MMSIM_SIM_MAX_CPUS, &c->ncpus, "a CPU count 1..8"); break;
    case H_PROCS: rc = unum(lx, "", 1, MMSIM_DRIVER_MAX_PROCS, &c->procs, "a process count 1..16"); break;
    case H_WINDOW:
        rc = unum(lx, "", DRV_SHARED_PAGES, MMSIM_DRIVER_MAX_WINDOW, &c->window_pages, "a window of 8..256 pages");
        break;
    case H_STEPS: rc = unum(lx, "", 0, UINT32_MAX, &c->steps, "a step count"); break;
    case H_ROUND: rc = unum(lx, "", 1, UINT32_MAX, &c->round_steps, "a round length"); break;
    case H_POLICY: {
        static const char *const names[] = { "rt", "ha", "hafdbs", "sw-af" };
        rc = word(lx, names, 4, &v, "a policy (rt, ha, hafdbs, sw-af)");
        c->policy = (enum mmsim_driver_policy)v;
        break;
    }
    case H_TLB:
        rc = unum(lx, "", 16, 1024, &c->tlb_entries, "a TLB size, a power of two 16..1024");
        if (rc == 0 && (c->tlb_entries & (c->tlb_entries - 1)))
            rc = expected(lx, "a TLB size, a power of two 16..1024");
        break;
    case H_ASID:
        rc = unum(lx, "", 8, 16, &c->asid_bits, "8 or 16");
        if (rc == 0 && c->asid_bits != 8 && c->asid_bits != 16)
            rc = expected(lx, "8 or 16");
        break;
    case H_INJECT: rc = unum(lx, "", 0, 100, &c->inject_pct, "a percentage 0..100"); break;
    }
    return rc ? rc : end_of_line(lx);
}

/* Defaults for what the header left out, and the checks across keys. */
static int header_done(struct drv *d, struct lex *lx, const bool *seen)
{
    struct mmsim_driver_config *c = &d->cfg;
    if (!seen[H_CPUS])
        c->ncpus = 2;
    if (!seen[H_WINDOW])
        c->window_pages = 32;
    if (!seen[H_ROUND])
        c->round_steps = 25;
    if (!seen[H_PROCS])
        c->procs = c->threads ? 3 : 6;
    if (!seen[H_TLB])
        c->tlb_entries = 64;
    if (!seen[H_ASID])
        c->asid_bits = 16;
    if (c->threads && c->window_pages <= DRV_SHARED_PAGES) {
        fprintf(lx->err, "%s:%u:1: with threads, window is 9..256 pages\n", lx->name, lx->line);
        return -1;
    }
    if (c->threads && c->procs > 4) {
        fprintf(lx->err, "%s:%u:1: with threads, procs is 1..4 (per CPU)\n", lx->name, lx->line);
        return -1;
    }
    if (c->threads)
        c->inject_pct = 0;
    d->npages = c->window_pages + DRV_STACK_PAGES;
    d->nlanes = c->threads ? c->ncpus : 1;
    d->nslots = c->threads ? c->procs * c->ncpus : c->procs;
    return 0;
}

/* ---- operations ---- */

static int slot_tok(struct drv *d, struct lex *lx, int *out)
{
    unsigned v;
    if (unum(lx, "p", 0, d->nslots - 1, &v, "a process slot p0..") != 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int cpu_tok(struct drv *d, struct lex *lx, unsigned *out)
{
    return unum(lx, "cpu", 0, d->cfg.ncpus - 1, out, "a CPU cpu0..");
}

/* A page: N (window), sK (stack), wK (wild; only where `wild`). */
static int page_tok(struct drv *d, struct lex *lx, bool wild, unsigned *out)
{
    const char *what = wild ? "a page: 0..window-1, s0..s7 or w0..w3" : "a page: 0..window-1 or s0..s7";
    if (!next(lx))
        return expected(lx, what);
    lx->p = lx->tok; /* let unum read it again */
    unsigned v;
    if (lx->tok[0] == 's') {
        if (unum(lx, "s", 0, DRV_STACK_PAGES - 1, &v, what) != 0)
            return -1;
        *out = d->cfg.window_pages + v;
    } else if (lx->tok[0] == 'w' && wild) {
        if (unum(lx, "w", 0, DRV_WILD_PAGES - 1, &v, what) != 0)
            return -1;
        *out = d->npages + v;
    } else {
        if (unum(lx, "", 0, d->cfg.window_pages - 1, &v, what) != 0)
            return -1;
        *out = v;
    }
    return 0;
}

static int u64_tok(struct lex *lx, uint64_t *out, const char *what)
{
    return number(lx, "", 0, UINT64_MAX, out, what);
}

static int op_args(struct drv *d, struct lex *lx, struct drv_op *op)
{
    unsigned v;
    switch (op->kind) {
    case DRV_CREATE:
    case DRV_EXIT:
        return slot_tok(d, lx, &op->slot);
    case DRV_FORK:
        return slot_tok(d, lx, &op->slot) || slot_tok(d, lx, &op->slot2) ? -1 : 0;
    case DRV_RUN:
        if (!next(lx))
            return expected(lx, "a process slot p0.., idle or shared");
        if (is(lx, "idle")) {
            op->slot = DRV_SLOT_IDLE;
            return 0;
        }
        if (is(lx, "shared")) {
            if (!d->cfg.threads)
                return expected(lx, "a process slot p0.. or idle (shared is only with threads)");
            op->slot = DRV_SLOT_SHARED;
            return 0;
        }
        lx->p = lx->tok;
        return slot_tok(d, lx, &op->slot);
    case DRV_MMAP:
    case DRV_MUNMAP:
    case DRV_MAPP:
        if (slot_tok(d, lx, &op->slot) || page_tok(d, lx, false, &op->page) ||
            unum(lx, "", 1, drv_region_end(d, op->page) - op->page, &op->npages,
                 "a page count that stays inside the window or the stack"))
            return -1;
        if (op->kind == DRV_MAPP) {
            const char *save = lx->p;
            if (next(lx) && is(lx, "nocache"))
                op->flag = true;
            else
                lx->p = save;
        }
        return 0;
    case DRV_PROTECT: {
        static const char *const prot[] = { "rw", "ro" };
        if (slot_tok(d, lx, &op->slot) || page_tok(d, lx, false, &op->page) || word(lx, prot, 2, &v, "ro or rw"))
            return -1;
        op->flag = v == 1;
        return 0;
    }
    case DRV_LOAD:
    case DRV_STORE:
        if (page_tok(d, lx, true, &op->page) || unum(lx, "", 0, DRV_PAGE - 1, &op->off, "an offset 0..4095") ||
            unum(lx, "", 1, 8, &op->len, "a size 1, 2, 4 or 8"))
            return -1;
        if (op->len != 1 && op->len != 2 && op->len != 4 && op->len != 8)
            return expected(lx, "a size 1, 2, 4 or 8");
        return op->kind == DRV_STORE ? u64_tok(lx, &op->value, "a value") : 0;
    case DRV_FETCH:
        if (page_tok(d, lx, true, &op->page) || unum(lx, "", 0, DRV_PAGE - 4, &op->off, "an offset 0..4092"))
            return -1;
        return op->off & 3 ? expected(lx, "a 4-byte aligned offset") : 0;
    case DRV_READ:
    case DRV_WRITE:
        if (page_tok(d, lx, true, &op->page) || unum(lx, "", 0, DRV_PAGE - 1, &op->off, "an offset 0..4095") ||
            unum(lx, "", 1, DRV_MAX_BULK, &op->len, "a length 1..12288"))
            return -1;
        return op->kind == DRV_WRITE ? u64_tok(lx, &op->value, "a pattern seed") : 0;
    case DRV_FAULT:
        if (page_tok(d, lx, true, &op->page) || unum(lx, "", 0, DRV_PAGE - 1, &op->off, "an offset 0..4095") ||
            word(lx, k_aops, 3, &op->aop, "load, store or fetch") ||
            unum(lx, "", 0, 0x3f, &op->fsc, "an FSC 0x00..0x3f") ||
            unum(lx, "", 1, DRV_MAX_REPEAT, &op->repeat, "a repeat count 1..8"))
            return -1;
        return 0;
    case DRV_RACE:
        if (d->cfg.threads)
            return expected(lx, "an operation of the threads mode (race belongs to the serial mode)");
        if (slot_tok(d, lx, &op->slot) || cpu_tok(d, lx, &op->cpu2) || page_tok(d, lx, false, &op->page) ||
            unum(lx, "", 0, DRV_PAGE - 8, &op->off, "an offset 0..4088") || u64_tok(lx, &op->value, "a value"))
            return -1;
        return 0;
    case DRV_POKE:
        return slot_tok(d, lx, &op->slot) || page_tok(d, lx, false, &op->page) ||
                       unum(lx, "", 0, DRV_PAGE - 1, &op->off, "an offset 0..4095") ||
                       u64_tok(lx, &op->value, "a value")
                   ? -1
                   : 0;
    case DRV_REF:
        return slot_tok(d, lx, &op->slot) || page_tok(d, lx, false, &op->page) ? -1 : 0;
    case DRV_LEAK:
    case DRV_KINDS:
        return 0;
    }
    return 0;
}

static int add_op(struct drv_lane *L, const struct drv_rec_op *r)
{
    if (L->nops == L->nops_cap) {
        size_t cap = L->nops_cap ? 2 * L->nops_cap : 64;
        struct drv_rec_op *ops = realloc(L->ops, cap * sizeof *ops);
        if (!ops)
            return -1;
        L->ops = ops;
        L->nops_cap = cap;
    }
    L->ops[L->nops++] = *r;
    return 0;
}

static int op_line(struct drv *d, struct lex *lx, unsigned long round)
{
    struct drv_rec_op r = { .line = lx->line, .round = round };
    uint64_t step;
    lx->p = lx->tok;
    if (number(lx, "", 0, UINT64_MAX, &step, "a step number") != 0)
        return -1;
    r.step = (unsigned long)step;
    if (cpu_tok(d, lx, &r.op.cpu) != 0)
        return -1;
    unsigned k;
    if (word(lx, drv_kind_names, DRV_KINDS, &k, "an operation (create, fork, exit, run, mmap, munmap, map-private, "
                                                "protect, load, store, fetch, read, write, fault, race, poke, ref, leak)"))
        return -1;
    r.op.kind = (enum drv_kind)k;
    if (op_args(d, lx, &r.op) != 0)
        return -1;
    if (next(lx) && lx->toklen > 5 && memcmp(lx->tok, "fail=", 5) == 0) {
        if (d->cfg.threads)
            return expected(lx, "'->' (allocation failures are not injected with threads)");
        const char *kind = lx->tok + 5;
        const char *colon = memchr(kind, ':', lx->toklen - 5);
        if (!colon)
            return expected(lx, "fail=page:N or fail=heap:N");
        size_t kl = (size_t)(colon - kind);
        if (kl == 4 && memcmp(kind, "page", 4) == 0)
            r.op.fail_kind = 1;
        else if (kl == 4 && memcmp(kind, "heap", 4) == 0)
            r.op.fail_kind = 2;
        else
            return expected(lx, "fail=page:N or fail=heap:N");
        char buf[16];
        size_t nl = lx->toklen - 5 - kl - 1;
        char *end;
        if (nl == 0 || nl >= sizeof buf)
            return expected(lx, "fail=page:N or fail=heap:N with N 1..1000");
        memcpy(buf, colon + 1, nl);
        buf[nl] = 0;
        unsigned long n = strtoul(buf, &end, 10);
        if (*end || n < 1 || n > 1000)
            return expected(lx, "fail=page:N or fail=heap:N with N 1..1000");
        r.op.fail_nth = (unsigned)n;
        next(lx);
    }
    if (lx->toklen) {
        if (!is(lx, "->"))
            return expected(lx, "'->' and the result, or the end of the line");
        while (*lx->p == ' ' || *lx->p == '\t')
            lx->p++;
        const char *e = lx->p + strcspn(lx->p, "#\r\n");
        while (e > lx->p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e == lx->p) {
            lx->tok = lx->p;
            lx->toklen = 0;
            return expected(lx, "a result after '->'");
        }
        r.result = strndup(lx->p, (size_t)(e - lx->p));
        if (!r.result)
            return -1;
    }
    struct drv_lane *L = &d->lanes[d->cfg.threads ? r.op.cpu : 0];
    if (add_op(L, &r) != 0) {
        free(r.result);
        return -1;
    }
    return 0;
}

void drv_free_parsed(struct drv *d)
{
    for (unsigned i = 0; i < MMSIM_SIM_MAX_CPUS; i++) {
        struct drv_lane *L = &d->lanes[i];
        for (size_t k = 0; k < L->nops; k++)
            free(L->ops[k].result);
        free(L->ops);
        L->ops = NULL;
        L->nops = L->nops_cap = 0;
    }
}

int drv_parse(struct drv *d, FILE *in, const char *name, FILE *err)
{
    struct lex lx = { .name = name, .err = err };
    char *line = NULL;
    size_t cap = 0;
    bool seen[H_KEYS] = { false };
    bool magic = false, header = true, ended = false;
    unsigned long round = 0, last_step = 0;
    bool any_step = false;
    int rc = 0;
    mmsim_driver_config_default(&d->cfg);
    d->cfg.inject_pct = 0;
    while (rc == 0 && getline(&line, &cap, in) > 0) {
        lx.line++;
        lx.s = lx.p = line;
        if (!next(&lx))
            continue; /* blank or comment */
        if (ended) {
            rc = expected(&lx, "nothing after 'end'");
        } else if (!magic) {
            uint64_t version;
            if (!is(&lx, "mmsim-drive"))
                rc = expected(&lx, "'mmsim-drive 1' (a record starts with it)");
            else if ((rc = number(&lx, "", 1, 1, &version, "the record version 1")) == 0)
                rc = end_of_line(&lx);
            magic = true;
        } else if (header && lx.tok[0] >= 'a' && lx.tok[0] <= 'z' && !is(&lx, "round") && !is(&lx, "end")) {
            rc = header_line(d, &lx, seen);
        } else {
            if (header) {
                header = false;
                const char *save = lx.tok;
                if ((rc = header_done(d, &lx, seen)) != 0)
                    break;
                lx.tok = save;
            }
            if (is(&lx, "end")) {
                ended = true;
                if (!next(&lx)) {
                    rc = expected(&lx, "ok or fail");
                } else if (is(&lx, "fail")) {
                    d->recorded_failure = true;
                    if (next(&lx))
                        snprintf(d->recorded_fail_step, sizeof d->recorded_fail_step, "%.*s", (int)lx.toklen,
                                 lx.tok);
                } else if (!is(&lx, "ok")) {
                    rc = expected(&lx, "ok or fail");
                } else {
                    rc = end_of_line(&lx);
                }
            } else if (is(&lx, "round")) {
                uint64_t r;
                if (!d->cfg.threads)
                    rc = expected(&lx, "an operation ('round' belongs to threads records)");
                else if ((rc = number(&lx, "", round + 1, round + 1, &r, "the next round number")) == 0)
                    rc = end_of_line(&lx);
                round++;
            } else if (lx.tok[0] >= '0' && lx.tok[0] <= '9') {
                if (d->cfg.threads && round == 0) {
                    rc = expected(&lx, "'round 1' before the first operation");
                } else if ((rc = op_line(d, &lx, round)) == 0 && !d->cfg.threads) {
                    unsigned long s = d->lanes[0].ops[d->lanes[0].nops - 1].step;
                    if (any_step && s <= last_step) {
                        lx.tok = lx.s;
                        lx.toklen = strcspn(lx.s, " \t\r\n");
                        rc = expected(&lx, "a step number above the previous one");
                    }
                    last_step = s;
                    any_step = true;
                }
            } else {
                rc = expected(&lx, "an operation, 'round' or 'end'");
            }
        }
    }
    free(line);
    if (rc == 0 && !magic) {
        fprintf(err, "%s:%u:1: expected 'mmsim-drive 1', found the end of the file\n", name, lx.line + 1);
        rc = -1;
    }
    if (rc == 0 && header)
        rc = header_done(d, &lx, seen);
    d->nrounds = round;
    return rc;
}
