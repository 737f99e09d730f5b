/* `expect` statements: each compares one observable fact with what the file
 * says, and on a difference prints both, so the report alone tells what
 * went wrong. */
#include <inttypes.h>
#include <string.h>
#include <lwp.h>
#include <mm_aspace.h>
#include <mm_page.h>
#include <mmsim/pgtable.h>
#include <mmsim/phys.h>
#include <mmsim/vmsa.h>
#include "scenario_int.h"

static bool mismatch(struct sc_run *r, const struct mmsim_scenario_stmt *s, const char *expected,
                     const char *actual)
{
    sc_fail_head(r, s, "expectation failed");
    fprintf(r->err, "  expected: %s\n  actual:   %s\n", expected, actual);
    return false;
}

static bool count_is(struct sc_run *r, const struct mmsim_scenario_stmt *s, uint64_t got, const char *what)
{
    if (got == s->expect.count)
        return true;
    char e[128], a[128];
    snprintf(e, sizeof e, "%" PRIu64 " %s", s->expect.count, what);
    snprintf(a, sizeof a, "%" PRIu64 " %s", got, what);
    return mismatch(r, s, e, a);
}

static const char *pname(struct sc_run *r, int slot) { return mmsim_scenario_proc_name(r->sc, slot); }

/* ---- the last access ---- */

static bool expect_data(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (r->rep.status != MMSIM_ACCESS_OK) {
        char a[160];
        snprintf(a, sizeof a, "no data: the access ended with %s", sc_status_name(r->rep.status));
        return mismatch(r, s, "data", a);
    }
    if (r->got.len == s->len && memcmp(r->got.p, s->data, s->len) == 0)
        return true;
    sc_fail_head(r, s, "expectation failed");
    fputs("  expected: ", r->err);
    sc_print_bytes(r->err, s->data, s->len, 64);
    fputs("\n  actual:   ", r->err);
    sc_print_bytes(r->err, r->got.p, r->got.len, 64);
    for (size_t k = 0; k < s->len && k < r->got.len; k++)
        if (s->data[k] != r->got.p[k]) {
            fprintf(r->err, "\n  first difference at byte %zu: expected 0x%02x, found 0x%02x", k, s->data[k],
                    r->got.p[k]);
            break;
        }
    fputc('\n', r->err);
    return false;
}

static bool expect_status(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (s->expect.status & (1 << r->rep.status))
        return true;
    char e[160] = "", a[256];
    for (int st = 0; st <= MMSIM_ACCESS_BAD_ARGUMENT; st++)
        if (s->expect.status & (1 << st))
            snprintf(e + strlen(e), sizeof e - strlen(e), "%s%s", e[0] ? " or " : "", sc_status_name(st));
    sc_status_words(a, sizeof a, r->rep.status, r->rep.cause);
    return mismatch(r, s, e, a);
}

static void describe_fault(char *buf, size_t n, const struct mmsim_fault_record *f)
{
    snprintf(buf, n, "%s fault, level %d, FSC 0x%02x, ESR 0x%08" PRIx64 ", WnR %u, %s",
             sc_fault_kind_name(sc_fsc_kind(f->fsc)), f->level, f->fsc, f->esr, (unsigned)((f->esr >> 6) & 1),
             f->fixed ? "fixed" : "unfixed");
}

static void describe_match(char *buf, size_t n, const struct mmsim_scenario_fault_match *m)
{
    int len = snprintf(buf, n, "%s fault", m->kind >= 0 ? sc_fault_kind_name(m->kind) : "a");
    if (m->level >= -1)
        len += snprintf(buf + len, n - (size_t)len, ", level %d", m->level);
    if (m->fsc >= 0)
        len += snprintf(buf + len, n - (size_t)len, ", FSC 0x%02x", m->fsc);
    if (m->esr != MMSIM_SC_ANY64)
        len += snprintf(buf + len, n - (size_t)len, ", ESR 0x%08" PRIx64, m->esr);
    if (m->wnr >= 0)
        len += snprintf(buf + len, n - (size_t)len, ", WnR %d", m->wnr);
    if (m->fixed >= 0)
        snprintf(buf + len, n - (size_t)len, ", %s", m->fixed ? "fixed" : "unfixed");
}

static bool fault_matches(const struct mmsim_fault_record *f, const struct mmsim_scenario_fault_match *m)
{
    return (m->kind < 0 || sc_fsc_kind(f->fsc) == m->kind) && (m->level < -1 || f->level == m->level) &&
           (m->fsc < 0 || f->fsc == m->fsc) && (m->esr == MMSIM_SC_ANY64 || f->esr == m->esr) &&
           (m->wnr < 0 || (int)((f->esr >> 6) & 1) == m->wnr) && (m->fixed < 0 || (int)f->fixed == m->fixed);
}

/* The fault an ordinal names: 0 the last, k the k-th of this access. */
static const struct mmsim_fault_record *pick_fault(struct sc_run *r, int index, char *why, size_t n)
{
    const struct mmsim_access_report *rep = &r->rep;
    if (rep->faults == 0)
        return snprintf(why, n, "no fault"), NULL;
    if (index == 0)
        return &rep->last;
    if ((unsigned)index > rep->faults)
        return snprintf(why, n, "only %u fault%s", rep->faults, rep->faults == 1 ? "" : "s"), NULL;
    if (rep->faults > rep->nhistory)
        return snprintf(why, n, "%u faults, of which only the last %u are remembered", rep->faults,
                        rep->nhistory), NULL;
    return &rep->history[index - 1];
}

static bool expect_fault(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    const struct mmsim_scenario_fault_match *m = &s->expect.fault;
    char e[256], a[256];
    describe_match(e, sizeof e, m);
    const struct mmsim_fault_record *f = pick_fault(r, m->index, a, sizeof a);
    if (!f)
        return mismatch(r, s, e, a);
    if (fault_matches(f, m))
        return true;
    describe_fault(a, sizeof a, f);
    return mismatch(r, s, e, a);
}

static bool expect_cause(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (strstr(r->rep.cause, (const char *)s->data))
        return true;
    char e[300], a[300];
    snprintf(e, sizeof e, "a cause containing \"%s\"", (const char *)s->data);
    snprintf(a, sizeof a, "\"%s\"", r->rep.cause);
    return mismatch(r, s, e, a);
}

static bool expect_inject(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    bool fixed = r->inject_rc == MM_FAULT_FIXABLE_TRUE;
    if (fixed != !s->expect.negate)
        return mismatch(r, s, s->expect.negate ? "unfixed (MM_FAULT_FIXABLE_FALSE)" : "fixed (MM_FAULT_FIXABLE_TRUE)",
                        fixed ? "fixed (MM_FAULT_FIXABLE_TRUE)" : "unfixed (MM_FAULT_FIXABLE_FALSE)");
    return true;
}

/* ---- the machine and processes ---- */

static bool expect_counts(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    const struct mmsim_scenario_expect *e = &s->expect;
    struct mmsim_mm_info info;
    memset(&info, 0, sizeof info);
    if (e->proc < 0) {
        sc_machine_info(&info);
    } else {
        struct mmsim_proc *p = sc_proc(r, s, e->proc);
        if (!p)
            return false;
        rt_aspace_t as = mmsim_proc_aspace(p);
        mmsim_mm_check(&as, 1, NULL, 0, NULL, &info);
    }
    if (e->kind == MMSIM_SC_EX_DATA_FRAMES)
        return count_is(r, s, info.data_frames, "data frames");
    if (e->kind == MMSIM_SC_EX_ZERO_FRAMES)
        return count_is(r, s, info.zero_frames, "zero pages");
    return count_is(r, s, info.table_pages, "table pages");
}

static int count_one(rt_varea_t v, void *arg)
{
    (void)v;
    ++*(uint64_t *)arg;
    return 0;
}

static bool expect_vareas(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_proc *p = sc_proc(r, s, s->expect.proc);
    if (!p)
        return false;
    uint64_t n = 0;
    rt_aspace_traversal(mmsim_proc_aspace(p), count_one, &n);
    return count_is(r, s, n, "vareas");
}

/* The 4 KiB frame P's tables map at va, or false. */
static bool frame_at(struct mmsim_proc *p, uint64_t va, uint64_t *pa)
{
    void *x = lwp_v2p(mmsim_proc_lwp(p), (void *)(uintptr_t)va);
    if (x == ARCH_MAP_FAILED)
        return false;
    *pa = (uint64_t)(uintptr_t)x & ~(uint64_t)0xfff;
    return true;
}

static bool expect_refs(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_proc *p = sc_proc(r, s, s->expect.proc);
    uint64_t pa;
    if (!p)
        return false;
    if (!frame_at(p, s->expect.va, &pa)) {
        char e[64], a[128];
        snprintf(e, sizeof e, "%" PRIu64 " references", s->expect.count);
        snprintf(a, sizeof a, "nothing mapped at 0x%" PRIx64 " in %s", s->expect.va, pname(r, s->expect.proc));
        return mismatch(r, s, e, a);
    }
    int refs = rt_page_ref_get(rt_kmem_p2v((void *)(uintptr_t)pa), 0);
    return count_is(r, s, (uint64_t)refs, "references");
}

static bool expect_mapped(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_proc *p = sc_proc(r, s, s->expect.proc);
    uint64_t pa = 0; /* gcc -O3 cannot see frame_at set it whenever it is printed */
    if (!p)
        return false;
    bool mapped = frame_at(p, s->expect.va, &pa);
    if (mapped != !s->expect.negate) {
        char a[96];
        snprintf(a, sizeof a, mapped ? "mapped to PA 0x%" PRIx64 : "not mapped", pa);
        return mismatch(r, s, s->expect.negate ? "not mapped" : "mapped", a);
    }
    return true;
}

static void describe_frame(char *buf, size_t n, const char *who, bool mapped, uint64_t pa)
{
    if (mapped)
        snprintf(buf, n, "%s maps PA 0x%" PRIx64, who, pa);
    else
        snprintf(buf, n, "%s maps nothing there", who);
}

static bool expect_share(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    const struct mmsim_scenario_expect *e = &s->expect;
    struct mmsim_proc *p = sc_proc(r, s, e->proc), *q = p ? sc_proc(r, s, e->proc2) : NULL;
    uint64_t pa = 0, qa = 0;
    if (!q)
        return false;
    bool pm = frame_at(p, e->va, &pa), qm = frame_at(q, e->va, &qa);
    bool shared = pm && qm && pa == qa;
    if (shared == !e->negate)
        return true;
    char a[256], x[112], y[112];
    describe_frame(x, sizeof x, pname(r, e->proc), pm, pa);
    describe_frame(y, sizeof y, pname(r, e->proc2), qm, qa);
    snprintf(a, sizeof a, "%s, %s", x, y);
    return mismatch(r, s, e->negate ? "different frames (or none)" : "the same frame", a);
}

static void describe_pte(char *buf, size_t n, const struct mmsim_desc *d)
{
    bool w = !(d->ap & 2);
    snprintf(buf, n, "%s, %s, %s%s", d->af ? "af" : "no-af", d->dbm ? "dbm" : "no-dbm", w ? "writable" : "read-only",
             d->dbm ? (w ? ", dirty" : ", clean") : "");
}

static bool expect_pte(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    const struct mmsim_scenario_pte_match *m = &s->expect.pte;
    struct mmsim_proc *p = sc_proc(r, s, s->expect.proc);
    struct mmsim_desc d;
    if (!p)
        return false;
    char e[128], a[128];
    snprintf(e, sizeof e, "%s%s%s%s", m->af < 0 ? "" : m->af ? "af " : "no-af ", m->dbm < 0 ? "" : m->dbm ? "dbm " : "no-dbm ",
             m->writable < 0 ? "" : m->writable ? "writable " : "read-only ",
             m->dirty < 0 ? "" : m->dirty ? "dirty" : "clean");
    uint64_t span;
    if (!sc_leaf(mmsim_proc_aspace(p), s->expect.va, &d, &span))
        return mismatch(r, s, e, "no page-table entry");
    bool w = !(d.ap & 2);
    bool ok = (m->af < 0 || m->af == d.af) && (m->dbm < 0 || m->dbm == d.dbm) && (m->writable < 0 || m->writable == w) &&
              (m->dirty < 0 || (d.dbm && m->dirty == w));
    if (ok)
        return true;
    describe_pte(a, sizeof a, &d);
    return mismatch(r, s, e, a);
}

static bool expect_tlb(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    return count_is(r, s, mmsim_cpu_tlb_entries(mmsim_sim_cpu((unsigned)s->expect.cpu)), "valid TLB entries");
}

bool sc_expect_eval(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    switch (s->expect.kind) {
    case MMSIM_SC_EX_DATA: return expect_data(r, s);
    case MMSIM_SC_EX_STATUS: return expect_status(r, s);
    case MMSIM_SC_EX_FAULTS: return count_is(r, s, r->rep.faults, "faults");
    case MMSIM_SC_EX_FAULT: return expect_fault(r, s);
    case MMSIM_SC_EX_CAUSE: return expect_cause(r, s);
    case MMSIM_SC_EX_INJECT: return expect_inject(r, s);
    case MMSIM_SC_EX_DATA_FRAMES:
    case MMSIM_SC_EX_ZERO_FRAMES:
    case MMSIM_SC_EX_TABLE_PAGES: return expect_counts(r, s);
    case MMSIM_SC_EX_VAREAS: return expect_vareas(r, s);
    case MMSIM_SC_EX_REFS: return expect_refs(r, s);
    case MMSIM_SC_EX_MAPPED: return expect_mapped(r, s);
    case MMSIM_SC_EX_SHARE: return expect_share(r, s);
    case MMSIM_SC_EX_PTE: return expect_pte(r, s);
    default: return expect_tlb(r, s);
    }
}
