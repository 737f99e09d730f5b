/* Internals shared by the scenario parser and executor (sim/scenario/). */
#ifndef MMSIM_SCENARIO_INT_H
#define MMSIM_SCENARIO_INT_H

#include <stdarg.h>
#include "scenario.h"

struct mmsim_scenario
{
    char *name;
    struct mmsim_scenario_stmt *stmts;
    size_t n, cap;
    struct mmsim_scenario_config cfg;
    char *proc_names[MMSIM_SCENARIO_MAX_PROCS];
    int nprocs;
};

/* ---- growable byte buffer ---- */

struct sc_bytes
{
    uint8_t *p;
    size_t len, cap;
};
bool sc_bytes_put(struct sc_bytes *b, const void *src, size_t len);
bool sc_bytes_fill(struct sc_bytes *b, const uint8_t *pat, size_t plen, size_t total);

/* ---- lexer (scenario_lex.c) ---- */

#define SC_MAX_TOKENS 64

/* A word or a quoted string on one line; a string's decoded bytes live in
 * the line's buffer at [str_off, str_off + str_len). */
struct sc_token
{
    const char *p;
    int len;
    int col;
    bool quoted;
    size_t str_off, str_len;
};

struct sc_line
{
    int lineno;
    const char *start;   /* first character of the line */
    size_t len;          /* up to the newline, comment included */
    int end_col;         /* column just after the last token */
    struct sc_token tok[SC_MAX_TOKENS];
    int n;
    struct sc_bytes str; /* decoded string bytes of this line */
};

/* Split the line starting at `start` (ending at '\n' or NUL) into tokens.
 * False with *err filled for an unterminated string, a bad escape or too
 * many words; the line's buffer must be freed with sc_line_release. */
bool sc_lex_line(struct sc_line *ln, const char *start, int lineno, struct mmsim_scenario_error *err);
void sc_line_release(struct sc_line *ln);
/* Whether token `t` is exactly the word `w` (strings never are). */
bool sc_tok_is(const struct sc_token *t, const char *w);
/* A number: decimal or 0x hex, '_' between digits allowed, an optional
 * K/M/G suffix when `suffix`; false on anything else or overflow. */
bool sc_number(const struct sc_token *t, bool suffix, uint64_t *out);

/* ---- names shared by parser and executor ---- */

/* enum mmsim_fault (mmsim/vmsa.h) by scenario name, -1 unknown. */
int sc_fault_kind(const char *word, size_t len);
const char *sc_fault_kind_name(int kind);
/* enum mmsim_access_status by scenario name ("use-after-free"), -1 unknown. */
int sc_status(const char *word, size_t len);
const char *sc_status_name(int status);

/* ---- executor internals (scenario_run.c and friends) ---- */

#include <mm_aspace.h>
#include <mmsim/mm_check.h>
#include <mmsim/vmsa.h>
#include "simcpu.h"

/* One run of a scenario on one machine. */
struct sc_run
{
    const struct mmsim_scenario *sc;
    FILE *out, *err;
    bool verbose;
    uint64_t seed;
    struct mmsim_proc *procs[MMSIM_SCENARIO_MAX_PROCS];
    unsigned ncpus;
    unsigned cur_cpu;                        /* for accesses that name no CPU */
    /* the last access: its report, the bytes it read, an inject's answer */
    struct mmsim_access_report rep;
    struct sc_bytes got;
    int inject_rc;
    size_t ran;
    struct mmsim_mm_info shown;              /* counts last narrated */
    bool shown_valid;
    int failed_line;
};

/* "file:line: <headline>: <statement>" on r->err, then detail lines. */
void sc_fail_head(struct sc_run *r, const struct mmsim_scenario_stmt *s, const char *headline);
/* A process slot's process, or NULL after reporting that it is gone. */
struct mmsim_proc *sc_proc(struct sc_run *r, const struct mmsim_scenario_stmt *s, int slot);
/* Bytes as a "string" when printable, else as hex (at most `max` shown). */
void sc_print_bytes(FILE *out, const uint8_t *p, size_t len, size_t max);
/* Machine-wide counts (mmsim_mm_check_machine, no report). */
void sc_machine_info(struct mmsim_mm_info *info);
/* "status: cause" in words, the status said once. */
void sc_status_words(char *buf, size_t n, int status, const char *cause);
/* enum mmsim_fault of a fault status code. */
int sc_fsc_kind(uint8_t fsc);
/* A fault record in words. */
void sc_print_fault(FILE *out, const struct mmsim_fault_record *f, const char *indent);

/* Evaluate one `expect`; false after printing what differed. */
bool sc_expect_eval(struct sc_run *r, const struct mmsim_scenario_stmt *s);
/* The leaf va is under (valid, or with AF clear): true with the decoded
 * descriptor; `span` = bytes from va to the end of the leaf, or to the end
 * of the empty range to skip when false. */
bool sc_leaf(rt_aspace_t as, uint64_t va, struct mmsim_desc *d, uint64_t *span);
/* The dumps. */
void sc_dump_vareas(struct sc_run *r, int slot);
void sc_dump_tables(struct sc_run *r, int slot);
void sc_dump_sharing(struct sc_run *r);

#endif
