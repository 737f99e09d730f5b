/* The scenario language's parser (docs/scenarios.md). The whole text is
 * parsed before anything runs, so a typo on the last line never leaves a
 * half-run machine behind; every error says file:line:col and what was
 * expected there. Process names are resolved here, by the order of the
 * lines, to slots: each `process` or `fork` line makes a new one. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <mmsim/alloc.h>
#include <mmsim/vmsa.h>
#include "simcpu.h"
#include "scenario_int.h"

#define PAGE 4096u

struct parser
{
    struct mmsim_scenario *sc;
    struct sc_line *ln;
    int i;                                   /* next token */
    struct mmsim_scenario_error *err;
    bool alive[MMSIM_SCENARIO_MAX_PROCS];
    int set_line[MMSIM_SC_KEY_COUNT];        /* where each key was set, 0 = not */
    bool acted;                              /* a statement other than `set` was seen */
    long group;                              /* the access the expect lines refer to, -1 none */
    long block;                              /* the open interleave statement, -1 none */
    unsigned ncpus;
};

/* ---- errors ---- */

static bool fail_msg(struct parser *ps, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail_msg(struct parser *ps, int col, const char *fmt, ...)
{
    if (ps->err) {
        va_list ap;
        va_start(ap, fmt);
        ps->err->line = ps->ln->lineno;
        ps->err->col = col;
        vsnprintf(ps->err->msg, sizeof ps->err->msg, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* "expected WHAT, found 'TOKEN'" at the next token (or the end of line). */
static bool fail(struct parser *ps, const char *what)
{
    if (ps->i >= ps->ln->n)
        return fail_msg(ps, ps->ln->end_col, "expected %s, found end of line", what);
    const struct sc_token *t = &ps->ln->tok[ps->i];
    return fail_msg(ps, t->col, "expected %s, found '%.*s'", what, t->len > 40 ? 40 : t->len, t->p);
}

/* ---- tokens ---- */

static const struct sc_token *peek(struct parser *ps)
{
    return ps->i < ps->ln->n ? &ps->ln->tok[ps->i] : NULL;
}

static bool at_end(struct parser *ps) { return ps->i >= ps->ln->n; }

static bool accept(struct parser *ps, const char *w)
{
    const struct sc_token *t = peek(ps);
    if (t && sc_tok_is(t, w)) {
        ps->i++;
        return true;
    }
    return false;
}

static bool next_is(struct parser *ps, const char *w)
{
    const struct sc_token *t = peek(ps);
    return t && sc_tok_is(t, w);
}

static bool need(struct parser *ps, const char *w, const char *what)
{
    return accept(ps, w) || fail(ps, what);
}

static bool end_of_line(struct parser *ps)
{
    return at_end(ps) || fail(ps, "end of line");
}

static bool number(struct parser *ps, bool suffix, uint64_t *v, const char *what)
{
    const struct sc_token *t = peek(ps);
    if (!t || !sc_number(t, suffix, v))
        return fail(ps, what);
    ps->i++;
    return true;
}

static bool ranged(struct parser *ps, uint64_t lo, uint64_t hi, uint64_t *v, const char *what)
{
    int at = ps->i;
    if (!number(ps, false, v, what))
        return false;
    if (*v < lo || *v > hi) {
        ps->i = at;
        return fail(ps, what);
    }
    return true;
}

/* A size: 8K, 0x2000, 2 pages. Above zero. */
static bool size_arg(struct parser *ps, uint64_t *v)
{
    const char *what = "a size above 0 (4096, 0x1000, 4K, 2M or N pages)";
    int at = ps->i;
    if (!number(ps, true, v, what))
        return false;
    bool pages = accept(ps, "pages") || accept(ps, "page");
    if (pages)
        *v = *v > ((uint64_t)1 << 36) ? UINT64_MAX : *v << 12;
    if (*v == 0 || *v > ((uint64_t)1 << 48)) {
        ps->i = at;
        return fail(ps, what);
    }
    return true;
}

static bool va_arg_(struct parser *ps, bool aligned, uint64_t *v)
{
    int at = ps->i;
    if (!number(ps, false, v, aligned ? "a 4 KiB-aligned virtual address" : "a virtual address"))
        return false;
    if (aligned && (*v & (PAGE - 1))) {
        ps->i = at;
        return fail(ps, "a 4 KiB-aligned virtual address");
    }
    return true;
}

static bool on_off(struct parser *ps, uint64_t *v)
{
    if (accept(ps, "on") || accept(ps, "yes"))
        return *v = 1, true;
    if (accept(ps, "off") || accept(ps, "no"))
        return *v = 0, true;
    return fail(ps, "'on' or 'off'");
}

/* ---- names ---- */

static const char *const reserved[] = {
    "set", "process", "on", "expect", "check", "stats", "dump", "say", "interleave", "end",
    "read", "write", "exec", "el0", "el1", "inject", "run", "pan", "idle", "data", "faults",
    "fault", "no", "cause", "fixed", "unfixed", "data-frames", "zero-frames", "table-pages",
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "last",
    "ok", "segv", "livelock", "use-after-free", "stale-tlb", "walk-mismatch", "bad-argument",
    "and", "or", "all", "sharing", "vareas", "tables", "put", "get", "fail",
};

static bool is_cpu_word(const struct sc_token *t)
{
    if (t->quoted || t->len < 4 || memcmp(t->p, "cpu", 3) != 0)
        return false;
    for (int k = 3; k < t->len; k++)
        if (!isdigit((unsigned char)t->p[k]))
            return false;
    return true;
}

static bool is_reserved(const struct sc_token *t)
{
    for (size_t k = 0; k < sizeof reserved / sizeof *reserved; k++)
        if (sc_tok_is(t, reserved[k]))
            return true;
    return is_cpu_word(t);
}

/* The live slot a token names, -1 if none. */
static int slot_of(struct parser *ps, const struct sc_token *t)
{
    for (int s = ps->sc->nprocs - 1; s >= 0; s--)
        if (ps->alive[s] && !t->quoted && strlen(ps->sc->proc_names[s]) == (size_t)t->len &&
            memcmp(ps->sc->proc_names[s], t->p, (size_t)t->len) == 0)
            return s;
    return -1;
}

static bool proc_arg(struct parser *ps, int *slot)
{
    const struct sc_token *t = peek(ps);
    int s = t ? slot_of(ps, t) : -1;
    if (s < 0)
        return fail(ps, "the name of a live process (made by 'process' or 'fork')");
    ps->i++;
    *slot = s;
    return true;
}

static bool valid_name(const struct sc_token *t)
{
    if (t->quoted || t->len > 15 || !(isalpha((unsigned char)t->p[0]) || t->p[0] == '_'))
        return false;
    for (int k = 1; k < t->len; k++)
        if (!isalnum((unsigned char)t->p[k]) && t->p[k] != '_' && t->p[k] != '-')
            return false;
    return !is_reserved(t);
}

/* A new process slot named by the next token. */
static bool new_proc(struct parser *ps, int *slot)
{
    const struct sc_token *t = peek(ps);
    if (!t || !valid_name(t))
        return fail(ps, "a process name (letters, digits, '_' or '-', at most 15, not a keyword)");
    if (slot_of(ps, t) >= 0)
        return fail_msg(ps, t->col, "expected a new process name, found '%.*s', which is alive already",
                        t->len, t->p);
    if (ps->sc->nprocs == (int)MMSIM_SCENARIO_MAX_PROCS)
        return fail_msg(ps, t->col, "expected at most %u processes in one file", MMSIM_SCENARIO_MAX_PROCS);
    char *name = strndup(t->p, (size_t)t->len);
    if (!name)
        return fail_msg(ps, t->col, "expected less text (out of memory)");
    *slot = ps->sc->nprocs++;
    ps->sc->proc_names[*slot] = name;
    ps->alive[*slot] = true;
    ps->i++;
    return true;
}

static bool cpu_arg(struct parser *ps, int *cpu)
{
    const struct sc_token *t = peek(ps);
    char what[64];
    snprintf(what, sizeof what, "a CPU, cpu0 to cpu%u (set cpus N for more)", ps->ncpus - 1);
    if (!t || !is_cpu_word(t))
        return fail(ps, what);
    unsigned long n = strtoul(t->p + 3, NULL, 10);
    if (t->len > 5 || n >= ps->ncpus)
        return fail(ps, what);
    *cpu = (int)n;
    ps->i++;
    return true;
}

/* ---- data operands ---- */

static const char *const type_words[] = { "u8", "u16", "u32", "u64" };

static unsigned type_width(const struct sc_token *t)
{
    for (unsigned k = 0; k < 4; k++)
        if (t && sc_tok_is(t, type_words[k]))
            return 1u << k;
    return 0;
}

static bool typed_value(struct parser *ps, unsigned width, struct sc_bytes *b)
{
    uint64_t v;
    uint64_t max = width == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * width)) - 1;
    char what[64];
    snprintf(what, sizeof what, "a value that fits in %u byte%s", width, width > 1 ? "s" : "");
    if (!ranged(ps, 0, max, &v, what))
        return false;
    uint8_t le[8];
    for (unsigned k = 0; k < width; k++)
        le[k] = (uint8_t)(v >> (8 * k));
    return sc_bytes_put(b, le, width) || fail(ps, "less data (out of memory)");
}

static bool hex_item(struct parser *ps, struct sc_bytes *b)
{
    const struct sc_token *t = peek(ps);
    const char *what = "an even number of hex digits (hex deadbeef)";
    if (!t || t->quoted || t->len % 2)
        return fail(ps, what);
    for (int k = 0; k < t->len; k++)
        if (!isxdigit((unsigned char)t->p[k]))
            return fail(ps, what);
    for (int k = 0; k < t->len; k += 2) {
        uint8_t byte = (uint8_t)strtoul((char[3]){ t->p[k], t->p[k + 1], 0 }, NULL, 16);
        if (!sc_bytes_put(b, &byte, 1))
            return fail(ps, "less data (out of memory)");
    }
    ps->i++;
    return true;
}

static bool fill_item(struct parser *ps, struct sc_bytes *b, bool zeros)
{
    uint8_t byte = 0;
    const uint8_t *pat = &byte;
    size_t plen = 1;
    const struct sc_token *t = peek(ps);
    if (!zeros && t && t->quoted && t->str_len > 0) {
        pat = ps->ln->str.p + t->str_off;
        plen = t->str_len;
        ps->i++;
    } else if (!zeros) {
        uint64_t v;
        if (!ranged(ps, 0, 255, &v, "a byte value (0 to 255) or a non-empty \"string\" to repeat"))
            return false;
        byte = (uint8_t)v;
    }
    uint64_t size;
    if (!size_arg(ps, &size))
        return false;
    if (size > MMSIM_SCENARIO_MAX_DATA || !sc_bytes_fill(b, pat, plen, size))
        return fail_msg(ps, ps->ln->tok[ps->i - 1].col, "expected at most 16 MiB of data");
    return true;
}

/* One data item; false without consuming when the next token starts none
 * (*none set) or after an error. */
static bool data_item(struct parser *ps, struct sc_bytes *b, unsigned *width, bool *none)
{
    const struct sc_token *t = peek(ps);
    *none = false;
    *width = 0;
    if (t && t->quoted) {
        ps->i++;
        return sc_bytes_put(b, ps->ln->str.p + t->str_off, t->str_len) || fail(ps, "less data (out of memory)");
    }
    if ((*width = type_width(t)) != 0)
        return ps->i++, typed_value(ps, *width, b);
    if (accept(ps, "hex"))
        return hex_item(ps, b);
    if (accept(ps, "fill"))
        return fill_item(ps, b, false);
    if (accept(ps, "zeros"))
        return fill_item(ps, b, true);
    *none = true;
    return false;
}

#define DATA_WHAT "data: a \"string\", hex DIGITS, fill BYTE SIZE, zeros SIZE or u8/u16/u32/u64 VALUE"

/* DATA := item+; *width is the item's width when it is one typed item. */
static bool data_arg(struct parser *ps, struct mmsim_scenario_stmt *s, unsigned *width)
{
    struct sc_bytes b = { 0 };
    int items = 0;
    unsigned w = 0;
    for (;;) {
        bool none;
        unsigned item_width;
        if (data_item(ps, &b, &item_width, &none)) {
            items++;
            w = item_width;
            continue;
        }
        if (!none || items == 0) {
            free(b.p);
            return none ? fail(ps, DATA_WHAT) : false;
        }
        break;
    }
    if (b.len == 0) {
        free(b.p);
        return fail_msg(ps, ps->ln->tok[ps->i - 1].col, "expected at least one byte of data");
    }
    free(s->data);
    s->data = b.p;
    s->len = b.len;
    *width = items == 1 ? w : 0;
    return true;
}

/* ---- statement storage ---- */

static struct mmsim_scenario_stmt *new_stmt(struct parser *ps, enum mmsim_scenario_kind kind)
{
    struct mmsim_scenario *sc = ps->sc;
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? sc->cap * 2 : 32;
        struct mmsim_scenario_stmt *p = realloc(sc->stmts, cap * sizeof *p);
        if (!p)
            return NULL;
        sc->stmts = p;
        sc->cap = cap;
    }
    struct mmsim_scenario_stmt *s = &sc->stmts[sc->n++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->line = ps->ln->lineno;
    s->proc = s->proc2 = s->cpu = s->el = -1;
    s->expect.proc = s->expect.proc2 = s->expect.cpu = -1;
    return s;
}

/* The line's trailing comment without '#' and blanks (NULL if none): the
 * narration shows it, since it says why the line is there. */
static bool stmt_comment(const struct sc_line *ln, struct mmsim_scenario_stmt *s)
{
    const char *p = ln->start + ln->end_col - 1, *e = ln->start + ln->len;
    while (p < e && *p != '#')
        p++;
    if (p == e)
        return true;
    for (p++; p < e && (*p == ' ' || *p == '\t'); p++)
        ;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    if (p == e)
        return true;
    s->comment = strndup(p, (size_t)(e - p));
    return s->comment != NULL;
}

/* The line's text without comment or surrounding blanks, and "name:line: text". */
static bool stmt_text(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    const struct sc_line *ln = ps->ln;
    const char *b = ln->tok[0].p;
    const char *e = ln->start + ln->end_col - 1;
    int len = (int)(e - b);
    s->text = strndup(b, (size_t)len);
    size_t wlen = strlen(ps->sc->name) + (size_t)len + 32;
    char *w = malloc(wlen);
    if (w)
        snprintf(w, wlen, "%s:%d: %.*s", ps->sc->name, ln->lineno, len, b);
    s->where = w;
    return s->text && s->where && stmt_comment(ln, s);
}

/* ---- configuration ---- */

enum key_type { KEY_SIZE, KEY_ADDR, KEY_BOOL, KEY_COUNT };

struct key_def
{
    const char *name;
    enum key_type type;
    uint64_t lo, hi;
};

static const struct key_def keys[MMSIM_SC_KEY_COUNT] = {
    [MMSIM_SC_KEY_RAM] = { "ram", KEY_SIZE, 1u << 20, (uint64_t)1 << 40 },
    [MMSIM_SC_KEY_RAM_BASE] = { "ram-base", KEY_ADDR, 0, (uint64_t)1 << 47 },
    [MMSIM_SC_KEY_INSTALL] = { "install", KEY_SIZE, 1u << 20, (uint64_t)1 << 40 },
    [MMSIM_SC_KEY_HEAP] = { "heap", KEY_SIZE, 1u << 20, (uint64_t)1 << 32 },
    [MMSIM_SC_KEY_DEBUG_AIDS] = { "debug-aids", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_QUARANTINE] = { "quarantine", KEY_COUNT, 0, 1u << 20 },
    [MMSIM_SC_KEY_CPUS] = { "cpus", KEY_COUNT, 1, MMSIM_SCENARIO_MAX_CPUS },
    [MMSIM_SC_KEY_TLB_ENTRIES] = { "tlb-entries", KEY_COUNT, 16, 65536 },
    [MMSIM_SC_KEY_ASID_BITS] = { "asid-bits", KEY_COUNT, 8, 16 },
    [MMSIM_SC_KEY_HW_AF] = { "hw-af", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_HW_DIRTY] = { "hw-dirty", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_SW_AF] = { "sw-af", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_WALK_CROSSCHECK] = { "walk-crosscheck", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_STALE_CHECK] = { "stale-check", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_UAF_CHECK] = { "uaf-check", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_SWITCH_FLUSH] = { "switch-flush", KEY_BOOL, 0, 1 },
    [MMSIM_SC_KEY_LIVELOCK] = { "livelock", KEY_COUNT, 2, 1u << 20 },
    [MMSIM_SC_KEY_SEED] = { "seed", KEY_COUNT, 0, UINT64_MAX },
};

const char *mmsim_scenario_key_name(enum mmsim_scenario_key key)
{
    return key < MMSIM_SC_KEY_COUNT ? keys[key].name : "?";
}

/* A key as written, '_' accepted for '-' (hw_af). */
static int key_of(const struct sc_token *t)
{
    for (int k = 0; k < MMSIM_SC_KEY_COUNT; k++) {
        const char *n = keys[k].name;
        if (t->quoted || strlen(n) != (size_t)t->len)
            continue;
        int c = 0;
        while (c < t->len && (t->p[c] == n[c] || (t->p[c] == '_' && n[c] == '-')))
            c++;
        if (c == t->len)
            return k;
    }
    return -1;
}

static bool key_value(struct parser *ps, const struct key_def *d, uint64_t *v)
{
    char what[96];
    switch (d->type) {
    case KEY_BOOL:
        return on_off(ps, v);
    case KEY_SIZE: {
        int at = ps->i;
        if (!number(ps, true, v, "a size in bytes (256M, 1G, 0x10000000)"))
            return false;
        if (*v >= d->lo && *v <= d->hi && !(*v & (PAGE - 1)))
            return true;
        ps->i = at;
        snprintf(what, sizeof what, "a multiple of 4 KiB from %lluM to %lluG for %s",
                 (unsigned long long)(d->lo >> 20), (unsigned long long)(d->hi >> 30), d->name);
        return fail(ps, what);
    }
    case KEY_ADDR: {
        int at = ps->i;
        if (!number(ps, true, v, "a physical address"))
            return false;
        if (!(*v & ((4u << 20) - 1)) && *v <= d->hi)
            return true;
        ps->i = at;
        return fail(ps, "a 4 MiB-aligned physical address below 2^47");
    }
    default:
        snprintf(what, sizeof what, "a number from %llu to %llu for %s", (unsigned long long)d->lo,
                 (unsigned long long)d->hi, d->name);
        return ranged(ps, d->lo, d->hi, v, what);
    }
}

/* Values a range cannot express. */
static bool key_extra_check(struct parser *ps, int key, uint64_t v, int at)
{
    ps->i = at;
    if (key == MMSIM_SC_KEY_TLB_ENTRIES && (v & (v - 1)))
        return fail(ps, "a power of two from 16 to 65536 for tlb-entries");
    if (key == MMSIM_SC_KEY_ASID_BITS && v != 8 && v != 16)
        return fail(ps, "8 or 16 for asid-bits");
    const struct mmsim_scenario_config *c = &ps->sc->cfg;
    if (key == MMSIM_SC_KEY_HW_DIRTY && v && !c->value[MMSIM_SC_KEY_HW_AF])
        return fail_msg(ps, 1, "expected 'set hw-af on' before 'set hw-dirty on' "
                               "(hardware dirty management needs hardware access flags)");
    if ((key == MMSIM_SC_KEY_SW_AF && v && c->value[MMSIM_SC_KEY_HW_AF]) ||
        (key == MMSIM_SC_KEY_HW_AF && v && c->value[MMSIM_SC_KEY_SW_AF]))
        return fail_msg(ps, 1, "expected only one of 'hw-af on' and 'sw-af on' (the hardware and the "
                               "software policy cannot both manage the access flag)");
    ps->i++;
    return true;
}

static bool parse_set(struct parser *ps)
{
    if (ps->acted)
        return fail_msg(ps, 1, "expected 'set' lines only before the first statement that runs");
    const struct sc_token *t = peek(ps);
    int key = t ? key_of(t) : -1;
    if (key < 0)
        return fail(ps, "a setting: ram, ram-base, install, heap, debug-aids, quarantine, cpus, "
                        "tlb-entries, asid-bits, hw-af, hw-dirty, sw-af, walk-crosscheck, "
                        "stale-check, uaf-check, livelock or seed");
    if (ps->set_line[key])
        return fail_msg(ps, t->col, "expected each setting once, '%s' was set on line %d", keys[key].name,
                        ps->set_line[key]);
    ps->i++;
    uint64_t v;
    int at = ps->i;
    if (!key_value(ps, &keys[key], &v) || !key_extra_check(ps, key, v, at) || !end_of_line(ps))
        return false;
    ps->sc->cfg.value[key] = v;
    ps->sc->cfg.given[key] = true;
    ps->set_line[key] = ps->ln->lineno;
    if (key == MMSIM_SC_KEY_CPUS)
        ps->ncpus = (unsigned)v;
    return true;
}

/* ---- accesses ---- */

static bool parse_read(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    unsigned w = type_width(peek(ps));
    if (w) {
        ps->i++;
        s->width = s->len = w;
        if (accept(ps, "expect")) {
            struct sc_bytes b = { 0 };
            if (!typed_value(ps, w, &b))
                return free(b.p), false;
            s->data = b.p;
            s->check_value = true;
        }
        return true;
    }
    uint64_t size = 0;
    if (!next_is(ps, "expect")) {
        if (!size_arg(ps, &size))
            return false;
        if (size > MMSIM_SCENARIO_MAX_DATA)
            return fail_msg(ps, ps->ln->tok[ps->i - 1].col, "expected at most 16 MiB in one read");
    }
    s->len = (size_t)size;
    if (!accept(ps, "expect"))
        return size > 0 || fail(ps, "a size or 'expect DATA'");
    int at = ps->i;
    unsigned dw;
    if (!data_arg(ps, s, &dw))
        return false;
    if (size && s->len != size)
        return fail_msg(ps, ps->ln->tok[at].col, "expected %llu bytes of data (the read's size), found %zu",
                        (unsigned long long)size, s->len);
    s->check_value = true;
    s->width = dw;
    return true;
}

static bool parse_access_op(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    if (!va_arg_(ps, false, &s->va))
        return false;
    if (s->op == MMSIM_SC_READ)
        return parse_read(ps, s);
    if (s->op == MMSIM_SC_WRITE)
        return data_arg(ps, s, &s->width);
    s->len = 4; /* exec: one instruction */
    if (!accept(ps, "expect"))
        return true;
    int at = ps->i;
    unsigned dw;
    if (!data_arg(ps, s, &dw))
        return false;
    if (s->len != 4)
        return fail_msg(ps, ps->ln->tok[at].col, "expected 4 bytes (one instruction), found %zu", s->len);
    s->check_value = true;
    return true;
}

static bool parse_inject(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_INJECT;
    if (accept(ps, "read"))
        s->op = MMSIM_SC_READ;
    else if (accept(ps, "write"))
        s->op = MMSIM_SC_WRITE;
    else if (accept(ps, "exec"))
        s->op = MMSIM_SC_EXEC;
    else
        return fail(ps, "read, write or exec");
    if (!va_arg_(ps, false, &s->va))
        return false;
    const struct sc_token *t = peek(ps);
    s->inject_kind = t ? sc_fault_kind(t->p, (size_t)t->len) : -1;
    if (s->inject_kind < 0 || s->inject_kind == MMSIM_FAULT_EXT_ABORT || s->inject_kind == MMSIM_FAULT_ADDR_SIZE)
        return fail(ps, "a fault to inject: translation, access-flag or permission");
    ps->i++;
    uint64_t level = 3;
    if (accept(ps, "level") && !ranged(ps, 0, 3, &level, "a level from 0 to 3"))
        return false;
    s->inject_level = (int)level;
    return true;
}

/* [el0|el1] read|write|exec ... | inject ... — the subject is already in s. */
static bool parse_access_tail(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_ACCESS;
    if (accept(ps, "inject"))
        return parse_inject(ps, s);
    if (accept(ps, "el0"))
        s->el = 0;
    else if (accept(ps, "el1"))
        s->el = 1;
    if (accept(ps, "read"))
        s->op = MMSIM_SC_READ;
    else if (accept(ps, "write"))
        s->op = MMSIM_SC_WRITE;
    else if (accept(ps, "exec"))
        s->op = MMSIM_SC_EXEC;
    else
        return fail(ps, s->el >= 0 ? "read, write or exec" : "read, write, exec, el0, el1 or inject");
    return parse_access_op(ps, s);
}

/* ---- process operations ---- */

static bool parse_range(struct parser *ps, struct mmsim_scenario_stmt *s, bool aligned)
{
    if (!va_arg_(ps, aligned, &s->va) || !size_arg(ps, &s->size))
        return false;
    if (aligned && (s->size & (PAGE - 1)))
        return fail_msg(ps, ps->ln->tok[ps->i - 1].col, "expected a size in whole pages (a multiple of 4 KiB)");
    return true;
}

static bool parse_fork(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_FORK;
    if (!new_proc(ps, &s->proc2))
        return false;
    s->name = ps->sc->proc_names[s->proc2];
    return true;
}

static bool parse_protect(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_PROTECT;
    if (!va_arg_(ps, false, &s->va))
        return false;
    if (accept(ps, "ro") || accept(ps, "read-only"))
        s->size = 1;
    else if (!accept(ps, "rw") && !accept(ps, "read-write"))
        return fail(ps, "'ro' or 'rw'");
    return true;
}

/* P put VA DATA | P get VA ...: the kernel copying to or from P's memory
 * (lwp_data_put / lwp_data_get); read-like expectations follow a get. */
static bool parse_kernel_copy(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_ACCESS;
    s->kcopy = true;
    if (!parse_access_op(ps, s))
        return false;
    s->width = 0; /* a copy, not a sized load or store */
    return true;
}

/* P VERB ...: a system call made by P, or an access on the CPU running P. */
static bool parse_proc_stmt(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    if (accept(ps, "mmap"))
        return s->kind = MMSIM_SC_MMAP, parse_range(ps, s, true);
    if (accept(ps, "munmap"))
        return s->kind = MMSIM_SC_MUNMAP, parse_range(ps, s, true);
    if (accept(ps, "map-private"))
        return s->kind = MMSIM_SC_MAP_PRIVATE, parse_range(ps, s, false);
    if (accept(ps, "protect"))
        return parse_protect(ps, s);
    if (accept(ps, "fork"))
        return parse_fork(ps, s);
    if (accept(ps, "exit")) {
        s->kind = MMSIM_SC_EXIT;
        ps->alive[s->proc] = false;
        return true;
    }
    if (accept(ps, "put"))
        return s->op = MMSIM_SC_WRITE, parse_kernel_copy(ps, s);
    if (accept(ps, "get"))
        return s->op = MMSIM_SC_READ, parse_kernel_copy(ps, s);
    const struct sc_token *t = peek(ps);
    if (t && (sc_tok_is(t, "read") || sc_tok_is(t, "write") || sc_tok_is(t, "exec") || sc_tok_is(t, "el0") ||
              sc_tok_is(t, "el1") || sc_tok_is(t, "inject")))
        return parse_access_tail(ps, s);
    return fail(ps, "mmap, munmap, map-private, protect, fork, exit, put, get, read, write, exec, el0, el1 "
                    "or inject");
}

/* on cpuN run P|idle | on cpuN pan on|off | on cpuN ACCESS */
static bool parse_on(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    if (!cpu_arg(ps, &s->cpu))
        return false;
    if (accept(ps, "run")) {
        s->kind = MMSIM_SC_RUN;
        return accept(ps, "idle") || proc_arg(ps, &s->proc);
    }
    if (accept(ps, "pan")) {
        s->kind = MMSIM_SC_PAN;
        return on_off(ps, &s->value);
    }
    const struct sc_token *t = peek(ps);
    if (t && slot_of(ps, t) >= 0)
        return fail_msg(ps, t->col, "expected run, pan or an access after 'on cpu%d' "
                                    "(write 'P read ...' for the CPU that runs P)", s->cpu);
    return parse_access_tail(ps, s);
}

/* ---- expectations (scenario_parse_expect.c would be one more file; they
 * share the helpers above, so they live here) ---- */

static const char *const ordinals[] = { "last", "first", "second", "third", "fourth",
                                        "fifth", "sixth", "seventh", "eighth" };

static bool fault_field(struct parser *ps, struct mmsim_scenario_fault_match *f)
{
    uint64_t v;
    if (accept(ps, "level"))
        return ranged(ps, 0, 3, &v, "a level from 0 to 3") && (f->level = (int)v, true);
    if (accept(ps, "fsc"))
        return ranged(ps, 0, 63, &v, "a fault status code from 0 to 0x3f") && (f->fsc = (int)v, true);
    if (accept(ps, "esr"))
        return number(ps, false, &f->esr, "an ESR_EL1 value");
    if (accept(ps, "wnr"))
        return ranged(ps, 0, 1, &v, "0 or 1") && (f->wnr = (int)v, true);
    if (accept(ps, "fixed"))
        return f->fixed = 1, true;
    if (accept(ps, "unfixed"))
        return f->fixed = 0, true;
    return fail(ps, "level, fsc, esr, wnr, fixed, unfixed or end of line");
}

static bool parse_fault_match(struct parser *ps, struct mmsim_scenario_expect *e, int index)
{
    struct mmsim_scenario_fault_match *f = &e->fault;
    *f = (struct mmsim_scenario_fault_match){ index, -1, -2, -1, MMSIM_SC_ANY64, -1, -1 };
    e->kind = MMSIM_SC_EX_FAULT;
    const struct sc_token *t = peek(ps);
    int kind = t ? sc_fault_kind(t->p, (size_t)t->len) : -1;
    if (kind >= 0 && !t->quoted) {
        f->kind = kind;
        ps->i++;
    }
    while (!at_end(ps))
        if (!fault_field(ps, f))
            return false;
    return true;
}

static bool pte_field(struct parser *ps, struct mmsim_scenario_pte_match *m)
{
    static const struct { const char *w; size_t off; int v; } words[] = {
        { "af", offsetof(struct mmsim_scenario_pte_match, af), 1 },
        { "no-af", offsetof(struct mmsim_scenario_pte_match, af), 0 },
        { "dbm", offsetof(struct mmsim_scenario_pte_match, dbm), 1 },
        { "no-dbm", offsetof(struct mmsim_scenario_pte_match, dbm), 0 },
        { "writable", offsetof(struct mmsim_scenario_pte_match, writable), 1 },
        { "read-only", offsetof(struct mmsim_scenario_pte_match, writable), 0 },
        { "dirty", offsetof(struct mmsim_scenario_pte_match, dirty), 1 },
        { "clean", offsetof(struct mmsim_scenario_pte_match, dirty), 0 },
    };
    for (size_t k = 0; k < sizeof words / sizeof *words; k++)
        if (accept(ps, words[k].w)) {
            *(int *)((char *)m + words[k].off) = words[k].v;
            return true;
        }
    return fail(ps, "af, no-af, dbm, no-dbm, writable, read-only, dirty or clean");
}

static bool parse_share(struct parser *ps, struct mmsim_scenario_expect *e)
{
    e->kind = MMSIM_SC_EX_SHARE;
    if (!proc_arg(ps, &e->proc2))
        return false;
    if (accept(ps, "do")) {
        if (!need(ps, "not", "'not' (expect P and C do not share VA)"))
            return false;
        e->negate = true;
    }
    return need(ps, "share", "'share' or 'do not share'") && va_arg_(ps, false, &e->va);
}

static bool parse_proc_expect(struct parser *ps, struct mmsim_scenario_expect *e)
{
    if (!proc_arg(ps, &e->proc))
        return false;
    uint64_t *n = &e->count;
    if (accept(ps, "data-frames"))
        return e->kind = MMSIM_SC_EX_DATA_FRAMES, number(ps, false, n, "a number of frames");
    if (accept(ps, "zero-frames"))
        return e->kind = MMSIM_SC_EX_ZERO_FRAMES, number(ps, false, n, "a number of frames");
    if (accept(ps, "table-pages"))
        return e->kind = MMSIM_SC_EX_TABLE_PAGES, number(ps, false, n, "a number of table pages");
    if (accept(ps, "vareas"))
        return e->kind = MMSIM_SC_EX_VAREAS, number(ps, false, n, "a number of vareas");
    if (accept(ps, "refs"))
        return e->kind = MMSIM_SC_EX_REFS, va_arg_(ps, false, &e->va) && number(ps, false, n, "a reference count");
    if (accept(ps, "mapped") || (accept(ps, "unmapped") && (e->negate = true)))
        return e->kind = MMSIM_SC_EX_MAPPED, va_arg_(ps, false, &e->va);
    if (accept(ps, "and"))
        return parse_share(ps, e);
    if (!accept(ps, "pte"))
        return fail(ps, "data-frames, zero-frames, table-pages, vareas, refs, mapped, unmapped, pte or 'and'");
    e->kind = MMSIM_SC_EX_PTE;
    e->pte = (struct mmsim_scenario_pte_match){ -1, -1, -1, -1 };
    if (!va_arg_(ps, false, &e->va))
        return false;
    if (at_end(ps))
        return fail(ps, "af, no-af, dbm, no-dbm, writable, read-only, dirty or clean");
    while (!at_end(ps))
        if (!pte_field(ps, &e->pte))
            return false;
    return true;
}

static bool parse_machine_expect(struct parser *ps, struct mmsim_scenario_expect *e, bool *done)
{
    *done = true;
    if (accept(ps, "data-frames"))
        return e->kind = MMSIM_SC_EX_DATA_FRAMES, number(ps, false, &e->count, "a number of frames");
    if (accept(ps, "zero-frames"))
        return e->kind = MMSIM_SC_EX_ZERO_FRAMES, number(ps, false, &e->count, "a number of frames");
    if (accept(ps, "table-pages"))
        return e->kind = MMSIM_SC_EX_TABLE_PAGES, number(ps, false, &e->count, "a number of table pages");
    const struct sc_token *t = peek(ps);
    if (t && is_cpu_word(t)) {
        e->kind = MMSIM_SC_EX_TLB_ENTRIES;
        return cpu_arg(ps, &e->cpu) && need(ps, "tlb-entries", "'tlb-entries'") &&
               number(ps, false, &e->count, "a number of TLB entries");
    }
    if (t && slot_of(ps, t) >= 0)
        return parse_proc_expect(ps, e);
    *done = false;
    return false;
}

/* STATUS [or STATUS]...: any of them (an interleaving may allow several). */
static bool parse_status_list(struct parser *ps, struct mmsim_scenario_expect *e, int first)
{
    e->kind = MMSIM_SC_EX_STATUS;
    e->status = 1 << first;
    while (accept(ps, "or")) {
        const struct sc_token *t = peek(ps);
        int st = t && !t->quoted ? sc_status(t->p, (size_t)t->len) : -1;
        if (st < 0)
            return fail(ps, "an access status: ok, segv, livelock, use-after-free, stale-tlb or walk-mismatch");
        e->status |= 1 << st;
        ps->i++;
    }
    return true;
}

/* Expectations about the access just before. */
static bool parse_access_expect(struct parser *ps, struct mmsim_scenario_expect *e)
{
    const struct sc_token *t = peek(ps);
    int st = t && !t->quoted ? sc_status(t->p, (size_t)t->len) : -1;
    if (st >= 0)
        return ps->i++, parse_status_list(ps, e, st);
    if (accept(ps, "no")) {
        e->kind = MMSIM_SC_EX_FAULTS;
        return accept(ps, "faults") || need(ps, "fault", "'fault'");
    }
    if (accept(ps, "faults"))
        return e->kind = MMSIM_SC_EX_FAULTS, number(ps, false, &e->count, "a number of faults");
    if (accept(ps, "cause")) {
        e->kind = MMSIM_SC_EX_CAUSE;
        t = peek(ps);
        return (t && t->quoted) ? (ps->i++, true) : fail(ps, "a \"string\" the cause contains");
    }
    if (accept(ps, "fixed") || (accept(ps, "unfixed") && (e->negate = true)))
        return e->kind = MMSIM_SC_EX_INJECT, true;
    for (int k = 0; k < 9; k++)
        if (accept(ps, ordinals[k]))
            return need(ps, "fault", "'fault'") && parse_fault_match(ps, e, k);
    if (accept(ps, "fault"))
        return parse_fault_match(ps, e, 0);
    return fail(ps, "what to expect: data, ok, segv, livelock, use-after-free, stale-tlb, walk-mismatch, "
                    "no fault, faults N, [first..eighth|last] fault, cause, fixed, unfixed, data-frames, "
                    "zero-frames, table-pages, cpuN tlb-entries, or a process name");
}

static bool is_access_expect(enum mmsim_scenario_expect_kind k) { return k <= MMSIM_SC_EX_INJECT; }

/* The access an access expectation refers to must be right before it. */
static bool check_group(struct parser *ps, struct mmsim_scenario_stmt *s, int col)
{
    struct mmsim_scenario_expect *e = &s->expect;
    if (!is_access_expect(e->kind))
        return true;
    if (ps->group < 0)
        return fail_msg(ps, col, "expected a read, write, exec or inject right before this expectation "
                                 "(it checks that access's result)");
    struct mmsim_scenario_stmt *a = &ps->sc->stmts[ps->group];
    bool inject = a->kind == MMSIM_SC_INJECT;
    if (inject != (e->kind == MMSIM_SC_EX_INJECT))
        return fail_msg(ps, col, inject ? "expected 'expect fixed' or 'expect unfixed' after an inject"
                                        : "expected an inject before 'expect fixed' or 'expect unfixed'");
    if (e->kind == MMSIM_SC_EX_DATA && a->op == MMSIM_SC_WRITE)
        return fail_msg(ps, col, "expected a read or exec before 'expect data' (a write has no data to check)");
    if (e->kind == MMSIM_SC_EX_STATUS)
        a->status_expected = true;
    return true;
}

static bool parse_expect(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_EXPECT;
    int col = ps->ln->tok[0].col;
    struct mmsim_scenario_expect *e = &s->expect;
    if (accept(ps, "data")) {
        unsigned w;
        e->kind = MMSIM_SC_EX_DATA;
        if (!data_arg(ps, s, &w))
            return false;
    } else {
        bool done;
        if (!parse_machine_expect(ps, e, &done) && (done || !parse_access_expect(ps, e)))
            return false;
    }
    if (e->kind == MMSIM_SC_EX_CAUSE) {
        const struct sc_token *t = &ps->ln->tok[ps->i - 1];
        s->data = malloc(t->str_len + 1);
        if (!s->data)
            return fail_msg(ps, col, "expected a shorter file (out of memory)");
        memcpy(s->data, ps->ln->str.p + t->str_off, t->str_len);
        s->data[t->str_len] = 0;
        s->len = t->str_len;
    }
    return check_group(ps, s, col);
}

/* ---- other statements ---- */

static bool parse_dump(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_DUMP;
    if (accept(ps, "sharing"))
        return s->dump = 2, true;
    if (accept(ps, "vareas"))
        return s->dump = 0, proc_arg(ps, &s->proc);
    if (accept(ps, "tables"))
        return s->dump = 1, proc_arg(ps, &s->proc);
    const struct sc_token *t = peek(ps);
    if (t && slot_of(ps, t) >= 0)
        return s->dump = 3, proc_arg(ps, &s->proc);
    return fail(ps, "vareas P, tables P, sharing, or a process name");
}

static bool parse_say(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_SAY;
    const struct sc_token *t = peek(ps);
    if (!t || !t->quoted)
        return fail(ps, "a \"string\" to print");
    s->data = malloc(t->str_len + 1);
    if (!s->data)
        return fail_msg(ps, t->col, "expected a shorter file (out of memory)");
    memcpy(s->data, ps->ln->str.p + t->str_off, t->str_len);
    s->data[t->str_len] = 0;
    s->len = t->str_len;
    ps->i++;
    return true;
}

static bool parse_interleave(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_INTERLEAVE;
    if (ps->block >= 0)
        return fail_msg(ps, 1, "expected 'end' before another interleave (blocks do not nest)");
    if (accept(ps, "seed")) {
        if (!number(ps, false, &s->value, "a seed (a number)"))
            return false;
        s->has_seed = true;
    }
    ps->block = (long)(s - ps->sc->stmts);
    return true;
}

/* `end` closes the block: it is not stored, the interleave counts what it holds. */
static bool parse_end(struct parser *ps)
{
    if (ps->block < 0)
        return fail_msg(ps, 1, "expected 'interleave' before 'end'");
    struct mmsim_scenario_stmt *b = &ps->sc->stmts[ps->block];
    b->block_len = ps->sc->n - (size_t)ps->block - 1;
    if (b->block_len == 0)
        return fail_msg(ps, 1, "expected statements between 'interleave' and 'end'");
    ps->block = -1;
    return end_of_line(ps);
}

/* Inside an interleave block every statement names who runs it, so the
 * schedule can keep each one's own order. */
static bool check_in_block(struct parser *ps, const struct mmsim_scenario_stmt *s)
{
    if (ps->block < 0 || s->kind == MMSIM_SC_EXPECT || s->kind == MMSIM_SC_INTERLEAVE)
        return true;
    switch (s->kind) {
    case MMSIM_SC_ACCESS:
    case MMSIM_SC_INJECT:
        if (s->cpu >= 0 || s->proc >= 0)
            return true;
        return fail_msg(ps, 1, "expected 'on cpuN' or a process name first: statements in an "
                               "interleave block say who runs them");
    case MMSIM_SC_RUN:
    case MMSIM_SC_PAN:
    case MMSIM_SC_FORK:
    case MMSIM_SC_EXIT:
    case MMSIM_SC_MMAP:
    case MMSIM_SC_MUNMAP:
    case MMSIM_SC_MAP_PRIVATE:
    case MMSIM_SC_PROTECT:
        return true;
    default:
        return fail_msg(ps, 1, "expected an access, 'on cpuN ...' or a process operation inside an "
                               "interleave block (or 'end')");
    }
}

/* fail heap|pages N [once|always] | fail off */
static bool parse_fail(struct parser *ps, struct mmsim_scenario_stmt *s)
{
    s->kind = MMSIM_SC_FAIL;
    if (accept(ps, "off"))
        return true;
    if (accept(ps, "heap"))
        s->alloc_kind = MMSIM_ALLOC_HEAP;
    else if (accept(ps, "pages"))
        s->alloc_kind = MMSIM_ALLOC_PAGE;
    else
        return fail(ps, "heap, pages or off");
    if (!ranged(ps, 1, UINT32_MAX, &s->value, "which attempt from now fails (1 = the next)"))
        return false;
    if (accept(ps, "always"))
        s->always = true;
    else
        accept(ps, "once");
    return true;
}

static bool parse_keyword_stmt(struct parser *ps, struct mmsim_scenario_stmt *s, bool *matched)
{
    *matched = true;
    if (accept(ps, "process")) {
        s->kind = MMSIM_SC_PROCESS;
        return new_proc(ps, &s->proc) && (s->name = ps->sc->proc_names[s->proc], true);
    }
    if (accept(ps, "on"))
        return parse_on(ps, s);
    if (accept(ps, "expect"))
        return parse_expect(ps, s);
    if (accept(ps, "check"))
        return s->kind = MMSIM_SC_CHECK, true;
    if (accept(ps, "stats"))
        return s->kind = MMSIM_SC_STATS, s->json = accept(ps, "json"), true;
    if (accept(ps, "dump"))
        return parse_dump(ps, s);
    if (accept(ps, "say"))
        return parse_say(ps, s);
    if (accept(ps, "interleave"))
        return parse_interleave(ps, s);
    if (accept(ps, "fail"))
        return parse_fail(ps, s);
    *matched = false;
    return false;
}

static bool parse_stmt(struct parser *ps)
{
    if (accept(ps, "set"))
        return parse_set(ps);
    if (accept(ps, "end"))
        return parse_end(ps);
    struct mmsim_scenario_stmt *s = new_stmt(ps, MMSIM_SC_CHECK);
    if (!s || !stmt_text(ps, s))
        return fail_msg(ps, 1, "expected a shorter file (out of memory)");
    ps->acted = true;
    bool matched;
    bool ok = parse_keyword_stmt(ps, s, &matched);
    if (!matched) {
        const struct sc_token *t = peek(ps);
        int slot = t ? slot_of(ps, t) : -1;
        if (slot >= 0) {
            ps->i++;
            s->proc = slot;
            ok = parse_proc_stmt(ps, s);
        } else if (t && (sc_tok_is(t, "read") || sc_tok_is(t, "write") || sc_tok_is(t, "exec") ||
                         sc_tok_is(t, "el0") || sc_tok_is(t, "el1") || sc_tok_is(t, "inject"))) {
            ok = parse_access_tail(ps, s);
        } else {
            return fail(ps, "a statement (set, process, on, expect, check, stats, dump, say, interleave, "
                            "end, fail, read, write, exec, inject) or the name of a live process");
        }
    }
    if (!ok || !end_of_line(ps) || !check_in_block(ps, s))
        return false;
    if (s->kind != MMSIM_SC_EXPECT)
        ps->group = (s->kind == MMSIM_SC_ACCESS || s->kind == MMSIM_SC_INJECT) ? (long)(s - ps->sc->stmts) : -1;
    return true;
}

/* ---- the file ---- */

static void parser_init(struct parser *ps, struct mmsim_scenario *sc, struct mmsim_scenario_error *err)
{
    memset(ps, 0, sizeof *ps);
    ps->sc = sc;
    ps->err = err;
    ps->group = ps->block = -1;
    ps->ncpus = 1;
}

static bool parse_lines(struct parser *ps, const char *text)
{
    static struct sc_line empty;
    struct sc_line ln = { 0 };
    int lineno = 0;
    bool ok = true;
    for (const char *p = text; ok && *p;) {
        ok = sc_lex_line(&ln, p, ++lineno, ps->err);
        ps->ln = &ln;
        ps->i = 0;
        if (ok && ln.n > 0)
            ok = parse_stmt(ps);
        p += ln.len;
        if (*p == '\n')
            p++;
    }
    if (ok && ps->block >= 0) {
        ln = empty; /* the error points at the block's own line */
        ln.lineno = ps->sc->stmts[ps->block].line;
        ps->ln = &ln;
        ok = fail_msg(ps, 1, "expected 'end' to close this interleave block, found end of file");
    }
    sc_line_release(&ln);
    return ok;
}

struct mmsim_scenario *mmsim_scenario_parse(const char *name, const char *text, struct mmsim_scenario_error *err)
{
    struct mmsim_scenario_error local;
    if (!err)
        err = &local;
    memset(err, 0, sizeof *err);
    struct mmsim_scenario *sc = calloc(1, sizeof *sc);
    if (!sc || !(sc->name = strdup(name))) {
        free(sc);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    struct parser ps;
    parser_init(&ps, sc, err);
    if (!parse_lines(&ps, text)) {
        mmsim_scenario_free(sc);
        return NULL;
    }
    return sc;
}

struct mmsim_scenario *mmsim_scenario_parse_file(const char *path, struct mmsim_scenario_error *err)
{
    FILE *f = fopen(path, "rb");
    struct sc_bytes b = { 0 };
    char chunk[4096];
    size_t got;
    bool ok = f != NULL;
    while (ok && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = sc_bytes_put(&b, chunk, got);
    int e = errno;
    if (f && ferror(f))
        ok = false;
    if (f)
        fclose(f);
    if (!ok || !sc_bytes_put(&b, "", 1) || memchr(b.p, 0, b.len - 1)) {
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->msg, sizeof err->msg, "cannot read the file: %s",
                     !f ? strerror(e) : b.p && memchr(b.p, 0, b.len) ? "it contains NUL bytes" : "read error");
        }
        free(b.p);
        return NULL;
    }
    struct mmsim_scenario *sc = mmsim_scenario_parse(path, (const char *)b.p, err);
    free(b.p);
    return sc;
}

void mmsim_scenario_error_print(const char *name, const struct mmsim_scenario_error *err, FILE *out)
{
    if (err->line > 0)
        fprintf(out, "%s:%d:%d: %s\n", name, err->line, err->col, err->msg);
    else
        fprintf(out, "%s: %s\n", name, err->msg);
}

void mmsim_scenario_free(struct mmsim_scenario *sc)
{
    if (!sc)
        return;
    for (size_t k = 0; k < sc->n; k++) {
        free(sc->stmts[k].data);
        free((char *)sc->stmts[k].text);
        free((char *)sc->stmts[k].where);
        free((char *)sc->stmts[k].comment);
    }
    for (int k = 0; k < sc->nprocs; k++)
        free(sc->proc_names[k]);
    free(sc->stmts);
    free(sc->name);
    free(sc);
}

const char *mmsim_scenario_name(const struct mmsim_scenario *sc) { return sc->name; }
size_t mmsim_scenario_count(const struct mmsim_scenario *sc) { return sc->n; }
const struct mmsim_scenario_config *mmsim_scenario_config(const struct mmsim_scenario *sc) { return &sc->cfg; }

const struct mmsim_scenario_stmt *mmsim_scenario_stmt(const struct mmsim_scenario *sc, size_t i)
{
    return i < sc->n ? &sc->stmts[i] : NULL;
}

const char *mmsim_scenario_proc_name(const struct mmsim_scenario *sc, int slot)
{
    return slot >= 0 && slot < sc->nprocs ? sc->proc_names[slot] : "?";
}
