/* The scenario language's lexer: a line is words and quoted strings, '#'
 * outside a string starts a comment. Numbers are recognised by the parser
 * from the word's text, so an error can point at exactly the word that is
 * not what the statement needs. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <mmsim/vmsa.h>
#include "simcpu.h"
#include "scenario_int.h"

bool sc_bytes_put(struct sc_bytes *b, const void *src, size_t len)
{
    if (len > MMSIM_SCENARIO_MAX_DATA || b->len > MMSIM_SCENARIO_MAX_DATA - len)
        return false;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->len, src, len);
    b->len += len;
    return true;
}

/* Repeat `pat` until `total` bytes were added (the last copy cut short). */
bool sc_bytes_fill(struct sc_bytes *b, const uint8_t *pat, size_t plen, size_t total)
{
    if (plen == 0 || total > MMSIM_SCENARIO_MAX_DATA)
        return false;
    for (size_t done = 0; done < total; done += plen)
        if (!sc_bytes_put(b, pat, total - done < plen ? total - done : plen))
            return false;
    return true;
}

static bool lex_error(struct mmsim_scenario_error *err, int line, int col, const char *msg)
{
    if (err) {
        err->line = line;
        err->col = col;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return false;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One escape after a backslash at *pp; advances past it. -1 if invalid. */
static int lex_escape(const char **pp)
{
    const char *p = *pp;
    static const char from[] = "ntr0\\\"";
    static const char to[] = "\n\t\r\0\\\"";
    const char *hit = *p ? strchr(from, *p) : NULL;
    if (hit) {
        *pp = p + 1;
        return (unsigned char)to[hit - from];
    }
    if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
        *pp = p + 3;
        return hexval(p[1]) << 4 | hexval(p[2]);
    }
    return -1;
}

/* A quoted string starting at p (the opening quote); returns the character
 * after the closing quote, or NULL after filling *err. */
static const char *lex_string(struct sc_line *ln, struct sc_token *t, const char *p,
                              struct mmsim_scenario_error *err)
{
    t->quoted = true;
    t->str_off = ln->str.len;
    for (p++; *p != '"';) {
        int col = (int)(p - ln->start) + 1;
        if (*p == '\0' || *p == '\n') {
            lex_error(err, ln->lineno, col, "expected '\"' to close the string, found end of line");
            return NULL;
        }
        int c = (uint8_t)*p++;
        if (c == '\\' && (c = lex_escape(&p)) < 0) {
            lex_error(err, ln->lineno, col, "expected an escape (\\n \\t \\r \\0 \\\\ \\\" or \\xHH) after '\\'");
            return NULL;
        }
        uint8_t byte = (uint8_t)c;
        if (!sc_bytes_put(&ln->str, &byte, 1)) {
            lex_error(err, ln->lineno, t->col, "expected a shorter string (out of memory)");
            return NULL;
        }
    }
    t->str_len = ln->str.len - t->str_off;
    return p + 1;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

bool sc_lex_line(struct sc_line *ln, const char *start, int lineno, struct mmsim_scenario_error *err)
{
    ln->lineno = lineno;
    ln->start = start;
    ln->n = 0;
    ln->str.len = 0;
    const char *p = start;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '\n' || *p == '#')
            break;
        if (ln->n == SC_MAX_TOKENS)
            return lex_error(err, lineno, (int)(p - start) + 1, "expected at most 64 words on a line");
        struct sc_token *t = &ln->tok[ln->n++];
        memset(t, 0, sizeof *t);
        t->p = p;
        t->col = (int)(p - start) + 1;
        if (*p == '"') {
            if (!(p = lex_string(ln, t, p, err)))
                return false;
        } else {
            while (*p && *p != '\n' && *p != '#' && *p != '"' && !is_blank(*p))
                p++;
        }
        t->len = (int)(p - t->p);
        ln->end_col = (int)(p - start) + 1;
    }
    if (ln->n == 0)
        ln->end_col = (int)(p - start) + 1;
    const char *e = p;
    while (*e && *e != '\n')
        e++;
    ln->len = (size_t)(e - start);
    return true;
}

void sc_line_release(struct sc_line *ln)
{
    free(ln->str.p);
    memset(&ln->str, 0, sizeof ln->str);
}

bool sc_tok_is(const struct sc_token *t, const char *w)
{
    return !t->quoted && (size_t)t->len == strlen(w) && memcmp(t->p, w, (size_t)t->len) == 0;
}

/* Digits of `base` with '_' only between digits; false on overflow. */
static bool digits(const char *p, const char *end, unsigned base, uint64_t *out)
{
    uint64_t v = 0;
    bool prev_digit = false;
    if (p == end)
        return false;
    for (; p < end; p++) {
        if (*p == '_' && prev_digit && p + 1 < end && p[1] != '_') {
            prev_digit = false;
            continue;
        }
        int d = hexval(*p);
        if (d < 0 || (unsigned)d >= base || v > (UINT64_MAX - (unsigned)d) / base)
            return false;
        v = v * base + (unsigned)d;
        prev_digit = true;
    }
    *out = v;
    return prev_digit;
}

bool sc_number(const struct sc_token *t, bool suffix, uint64_t *out)
{
    if (t->quoted || t->len == 0)
        return false;
    const char *p = t->p, *end = t->p + t->len;
    unsigned shift = 0;
    if (suffix && end - p > 1 && strchr("KMG", end[-1])) {
        shift = end[-1] == 'K' ? 10 : end[-1] == 'M' ? 20 : 30;
        end--;
    }
    uint64_t v;
    bool ok = end - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') ? digits(p + 2, end, 16, &v)
                                                                     : digits(p, end, 10, &v);
    if (!ok || (shift && v > (UINT64_MAX >> shift)))
        return false;
    *out = v << shift;
    return true;
}

/* ---- names ---- */

static const char *const fault_names[] = {
    [MMSIM_FAULT_ADDR_SIZE] = "address-size",   [MMSIM_FAULT_TRANSLATION] = "translation",
    [MMSIM_FAULT_ACCESS_FLAG] = "access-flag",  [MMSIM_FAULT_PERMISSION] = "permission",
    [MMSIM_FAULT_EXT_ABORT] = "external-abort",
};

static const char *const status_names[] = {
    [MMSIM_ACCESS_OK] = "ok",
    [MMSIM_ACCESS_SEGV] = "segv",
    [MMSIM_ACCESS_LIVELOCK] = "livelock",
    [MMSIM_ACCESS_USE_AFTER_FREE] = "use-after-free",
    [MMSIM_ACCESS_STALE_TLB] = "stale-tlb",
    [MMSIM_ACCESS_WALK_MISMATCH] = "walk-mismatch",
    [MMSIM_ACCESS_BAD_ARGUMENT] = "bad-argument",
};

static int lookup(const char *const *names, int n, const char *word, size_t len)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strlen(names[i]) == len && memcmp(names[i], word, len) == 0)
            return i;
    return -1;
}

int sc_fault_kind(const char *word, size_t len)
{
    return lookup(fault_names, (int)(sizeof fault_names / sizeof *fault_names), word, len);
}

const char *sc_fault_kind_name(int kind)
{
    if (kind < 0 || kind >= (int)(sizeof fault_names / sizeof *fault_names) || !fault_names[kind])
        return "unknown";
    return fault_names[kind];
}

int sc_status(const char *word, size_t len)
{
    return lookup(status_names, (int)(sizeof status_names / sizeof *status_names), word, len);
}

const char *sc_status_name(int status)
{
    if (status < 0 || status >= (int)(sizeof status_names / sizeof *status_names))
        return "unknown";
    return status_names[status];
}
