/* The scenario executor: boots the machine a file configures, runs its
 * statements one by one through the lwp/mm API and the simulated CPUs, stops
 * at the first expectation that does not hold, and tears down with a leak
 * check. Narration (-v) says in words what each step did. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <lwp.h>
#include <mm_aspace.h>
#include <mmsim/alloc.h>
#include <mmsim/machine.h>
#include <mmsim/mm_check.h>
#include "scenario_int.h"

/* ---- reporting ---- */

void sc_fail_head(struct sc_run *r, const struct mmsim_scenario_stmt *s, const char *headline)
{
    fflush(r->out);
    fprintf(r->err, "%s:%d: %s: %s\n", r->sc->name, s->line, headline, s->text);
    r->failed_line = s->line;
}

static bool fail_stmt(struct sc_run *r, const struct mmsim_scenario_stmt *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail_stmt(struct sc_run *r, const struct mmsim_scenario_stmt *s, const char *fmt, ...)
{
    sc_fail_head(r, s, "failed");
    va_list ap;
    va_start(ap, fmt);
    fputs("  ", r->err);
    vfprintf(r->err, fmt, ap);
    fputc('\n', r->err);
    va_end(ap);
    return false;
}

void sc_machine_info(struct mmsim_mm_info *info)
{
    memset(info, 0, sizeof *info);
    mmsim_mm_check_machine(NULL, 0, NULL, info);
}

/* After a step that can change memory: the machine's counts, when they changed. */
static void narrate_counts(struct sc_run *r)
{
    if (!r->verbose)
        return;
    struct mmsim_mm_info now;
    sc_machine_info(&now);
    const struct mmsim_mm_info *was = &r->shown;
    if (r->shown_valid && now.data_frames == was->data_frames && now.zero_frames == was->zero_frames &&
        now.table_pages == was->table_pages)
        return;
    long dd = (long)now.data_frames - (long)was->data_frames;
    long dt = (long)now.table_pages - (long)was->table_pages;
    fprintf(r->out, "    memory now: %zu data frame%s", now.data_frames, now.data_frames == 1 ? "" : "s");
    if (dd)
        fprintf(r->out, " (%+ld)", dd);
    if (now.zero_frames)
        fprintf(r->out, ", the shared zero page");
    fprintf(r->out, ", %zu page-table page%s", now.table_pages, now.table_pages == 1 ? "" : "s");
    if (dt)
        fprintf(r->out, " (%+ld)", dt);
    fputc('\n', r->out);
    r->shown = now;
    r->shown_valid = true;
}

struct mmsim_proc *sc_proc(struct sc_run *r, const struct mmsim_scenario_stmt *s, int slot)
{
    struct mmsim_proc *p = r->procs[slot];
    if (!p)
        fail_stmt(r, s, "process %s does not exist at this point (it has exited, or an interleaving ran "
                        "this before the line that creates it)", mmsim_scenario_proc_name(r->sc, slot));
    return p;
}

/* The CPU that runs `p`, or NULL. */
static struct mmsim_cpu *cpu_running(struct sc_run *r, const struct mmsim_proc *p)
{
    for (unsigned c = 0; c < r->ncpus; c++) {
        struct mmsim_cpu *cpu = mmsim_sim_cpu(c);
        if (cpu && mmsim_cpu_current(cpu) == p)
            return cpu;
    }
    return NULL;
}

/* A system call runs on the CPU of the process that makes it, if it runs. */
static void enter_for(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    struct mmsim_cpu *cpu = cpu_running(r, p);
    if (cpu)
        mmsim_cpu_enter(cpu);
    mmsim_sim_note_op(s->where);
}

/* ---- processes and system calls ---- */

static bool do_process(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_proc *p = mmsim_proc_create(s->name);
    if (!p)
        return fail_stmt(r, s, "mmsim_proc_create failed (out of memory)");
    r->procs[s->proc] = p;
    if (r->verbose)
        fprintf(r->out, "    %s exists: an empty user address space with a stack that is not touched yet\n",
                s->name);
    return true;
}

static bool do_fork(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    enter_for(r, s, p);
    struct mmsim_proc *c = mmsim_proc_fork(p, s->name);
    if (!c)
        return fail_stmt(r, s, "mmsim_proc_fork failed (out of memory); %s is unchanged",
                         mmsim_scenario_proc_name(r->sc, s->proc));
    r->procs[s->proc2] = c;
    const char *parent = mmsim_scenario_proc_name(r->sc, s->proc);
    if (r->verbose)
        fprintf(r->out, "    %s has %s's layout with nothing mapped: their pages are shared copy-on-write\n"
                        "    %s continues in a fresh address space; the old one keeps the frames as a "
                        "read-only store\n", s->name, parent, parent);
    return true;
}

static bool do_exit(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    enter_for(r, s, p);
    mmsim_proc_exit(p);
    r->procs[s->proc] = NULL;
    if (r->verbose)
        fprintf(r->out, "    %s is gone: its address space, its page tables and every frame only it used "
                        "were freed\n", mmsim_scenario_proc_name(r->sc, s->proc));
    return true;
}

/* lwp_mmap2 returns the VA or a negated errno cast to a pointer. */
static bool do_mmap(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    enter_for(r, s, p);
    void *va = lwp_mmap2(mmsim_proc_lwp(p), (void *)(uintptr_t)s->va, s->size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    intptr_t rc = (intptr_t)va;
    if (rc < 0 && rc > -4096)
        return fail_stmt(r, s, "lwp_mmap2 failed: %s (-%ld)", strerror((int)-rc), (long)-rc);
    if ((uint64_t)(uintptr_t)va != s->va)
        return fail_stmt(r, s, "lwp_mmap2 mapped at %p instead", va);
    if (r->verbose)
        fprintf(r->out, "    %" PRIu64 " page%s of anonymous memory at 0x%" PRIx64 ", nothing allocated: "
                        "reads see zeros until a write\n",
                s->size >> 12, s->size >> 12 == 1 ? "" : "s", s->va);
    return true;
}

static bool do_munmap(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    enter_for(r, s, p);
    int rc = lwp_munmap(mmsim_proc_lwp(p), (void *)(uintptr_t)s->va, s->size);
    if (rc != 0)
        return fail_stmt(r, s, "lwp_munmap failed: %s (%d)", strerror(-rc), rc);
    return true;
}

static bool do_map_private(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    enter_for(r, s, p);
    rt_varea_t v = lwp_map_user_varea_ext(mmsim_proc_lwp(p), (void *)(uintptr_t)s->va, s->size,
                                          LWP_MAP_FLAG_MAP_FIXED);
    if (!v)
        return fail_stmt(r, s, "lwp_map_user_varea_ext failed");
    if (r->verbose)
        fprintf(r->out, "    a private anonymous mapping (the process's own object): pages come on first "
                        "touch, not zeroed\n");
    return true;
}

static bool do_protect(struct sc_run *r, const struct mmsim_scenario_stmt *s, struct mmsim_proc *p)
{
    enter_for(r, s, p);
    enum rt_mmu_cntl cmd = s->size ? MMU_CNTL_READONLY : MMU_CNTL_READWRITE;
    int rc = rt_aspace_control(mmsim_proc_aspace(p), (void *)(uintptr_t)s->va, cmd);
    if (rc != RT_EOK)
        return fail_stmt(r, s, "rt_aspace_control failed (%d)", rc);
    return true;
}

static bool do_proc_op(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_proc *p = sc_proc(r, s, s->proc);
    if (!p)
        return false;
    switch (s->kind) {
    case MMSIM_SC_FORK: return do_fork(r, s, p);
    case MMSIM_SC_EXIT: return do_exit(r, s, p);
    case MMSIM_SC_MMAP: return do_mmap(r, s, p);
    case MMSIM_SC_MUNMAP: return do_munmap(r, s, p);
    case MMSIM_SC_MAP_PRIVATE: return do_map_private(r, s, p);
    default: return do_protect(r, s, p);
    }
}

/* ---- CPUs ---- */

static bool do_run(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_cpu *cpu = mmsim_sim_cpu((unsigned)s->cpu);
    struct mmsim_proc *p = NULL;
    if (s->proc >= 0 && !(p = sc_proc(r, s, s->proc)))
        return false;
    struct mmsim_cpu *was = p ? cpu_running(r, p) : NULL;
    if (was && was != cpu)
        mmsim_cpu_run(was, NULL); /* one thread per process: it leaves the other CPU */
    mmsim_cpu_run(cpu, p);
    r->cur_cpu = (unsigned)s->cpu;
    if (r->verbose && p)
        fprintf(r->out, "    cpu%d switches to %s (ASID %u)%s\n", s->cpu, mmsim_proc_name(p), mmsim_proc_asid(p),
                was && was != cpu ? ", which left the CPU it ran on" : "");
    else if (r->verbose)
        fprintf(r->out, "    cpu%d runs a kernel thread: no user address space\n", s->cpu);
    return true;
}

static bool do_pan(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    mmsim_cpu_set_pan(mmsim_sim_cpu((unsigned)s->cpu), s->value != 0);
    return true;
}

/* The CPU an access runs on: named, the subject's, or the current one. */
static struct mmsim_cpu *access_cpu(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (s->cpu >= 0)
        r->cur_cpu = (unsigned)s->cpu;
    else if (s->proc >= 0) {
        struct mmsim_proc *p = sc_proc(r, s, s->proc);
        struct mmsim_cpu *cpu = p ? cpu_running(r, p) : NULL;
        if (!cpu) {
            if (p)
                fail_stmt(r, s, "%s is not running on any CPU: schedule it first ('on cpuN run %s')",
                          mmsim_proc_name(p), mmsim_proc_name(p));
            return NULL;
        }
        r->cur_cpu = mmsim_cpu_id(cpu);
    }
    return mmsim_sim_cpu(r->cur_cpu);
}

static uint64_t le_value(const uint8_t *p, unsigned width)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < width; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

static enum mmsim_access_status access_read(struct sc_run *r, struct mmsim_cpu *cpu,
                                            const struct mmsim_scenario_stmt *s)
{
    size_t len = s->width ? s->width : s->len;
    r->got.len = 0;
    if (!sc_bytes_fill(&r->got, (const uint8_t *)"", 1, len))
        return MMSIM_ACCESS_BAD_ARGUMENT;
    if (s->op == MMSIM_SC_EXEC) {
        uint32_t insn = 0;
        enum mmsim_access_status st = mmsim_cpu_fetch(cpu, s->va, &insn, &r->rep);
        for (unsigned k = 0; k < 4; k++)
            r->got.p[k] = (uint8_t)(insn >> (8 * k));
        return st;
    }
    if (!s->width)
        return mmsim_cpu_read(cpu, s->va, r->got.p, len, &r->rep);
    uint64_t v = 0;
    enum mmsim_access_status st = mmsim_cpu_load(cpu, s->va, s->width, &v, &r->rep);
    for (unsigned k = 0; k < s->width; k++)
        r->got.p[k] = (uint8_t)(v >> (8 * k));
    return st;
}

static enum mmsim_access_status access_do(struct sc_run *r, struct mmsim_cpu *cpu,
                                          const struct mmsim_scenario_stmt *s)
{
    memset(&r->rep, 0, sizeof r->rep);
    if (s->op != MMSIM_SC_WRITE)
        return access_read(r, cpu, s);
    r->got.len = 0;
    if (s->width)
        return mmsim_cpu_store(cpu, s->va, s->width, le_value(s->data, s->width), &r->rep);
    return mmsim_cpu_write(cpu, s->va, s->data, s->len, &r->rep);
}

/* ---- narration of an access ---- */

static const char *fault_meaning(int kind)
{
    switch (kind) {
    case MMSIM_FAULT_TRANSLATION: return "nothing is mapped there (yet)";
    case MMSIM_FAULT_ACCESS_FLAG: return "mapped, but its access flag is clear";
    case MMSIM_FAULT_PERMISSION: return "mapped, but this access is not allowed there";
    default: return "the tables point outside memory";
    }
}

int sc_fsc_kind(uint8_t fsc)
{
    if (fsc == 0x2b)
        return MMSIM_FAULT_TRANSLATION;
    if (fsc == 0x29)
        return MMSIM_FAULT_ADDR_SIZE;
    switch (fsc & 0x3c) {
    case 0x00: return MMSIM_FAULT_ADDR_SIZE;
    case 0x04: return MMSIM_FAULT_TRANSLATION;
    case 0x08: return MMSIM_FAULT_ACCESS_FLAG;
    case 0x0c: return MMSIM_FAULT_PERMISSION;
    default: return MMSIM_FAULT_EXT_ABORT;
    }
}

static const char *esr_class(uint64_t esr)
{
    switch ((esr >> 26) & 0x3f) {
    case 0x20: return "instruction abort from EL0";
    case 0x21: return "instruction abort from EL1";
    case 0x24: return "data abort from EL0";
    case 0x25: return "data abort from EL1";
    default: return "not an abort";
    }
}

void sc_print_fault(FILE *out, const struct mmsim_fault_record *f, const char *indent)
{
    int kind = sc_fsc_kind(f->fsc);
    bool data = ((f->esr >> 26) & 0x3e) == 0x24;
    fprintf(out, "%s%s fault at level %d: %s\n", indent, sc_fault_kind_name(kind), f->level, fault_meaning(kind));
    fprintf(out, "%s  ESR_EL1 0x%08" PRIx64 " (%s%s, FSC 0x%02x), FAR 0x%" PRIx64 "\n", indent, f->esr,
            esr_class(f->esr), data ? ((f->esr >> 6) & 1 ? ", a write" : ", a read") : "", f->fsc, f->far);
    fprintf(out, "%s  %s\n", indent, f->fixed ? "the kernel fixed it (rt_aspace_fault_try_fix): the access is retried"
                                               : "the kernel could not fix it");
}

void sc_print_bytes(FILE *out, const uint8_t *p, size_t len, size_t max)
{
    size_t same = 1;
    while (same < len && p[same] == p[0])
        same++;
    if (len > 8 && same == len) {
        fprintf(out, "%zu bytes of 0x%02x", len, p[0]);
        return;
    }
    size_t n = len < max ? len : max;
    bool text = n > 0;
    for (size_t k = 0; k < n; k++)
        text = text && p[k] >= 0x20 && p[k] < 0x7f && p[k] != '"' && p[k] != '\\';
    if (text)
        fprintf(out, "\"%.*s\"", (int)n, (const char *)p);
    else
        for (size_t k = 0; k < n; k++)
            fprintf(out, "%s%02x", k ? " " : "", p[k]);
    if (n < len)
        fprintf(out, " ... (%zu bytes)", len);
}

static void narrate_access(struct sc_run *r, struct mmsim_cpu *cpu, const struct mmsim_scenario_stmt *s)
{
    const struct mmsim_access_report *rep = &r->rep;
    struct mmsim_proc *p = mmsim_cpu_current(cpu);
    fprintf(r->out, "    on cpu%u (%s, EL%u):", mmsim_cpu_id(cpu), p ? mmsim_proc_name(p) : "kernel thread",
            rep->el);
    fprintf(r->out, rep->faults ? " %u fault%s\n" : " no fault\n", rep->faults, rep->faults == 1 ? "" : "s");
    unsigned skipped = rep->faults > rep->nhistory ? rep->faults - rep->nhistory : 0;
    if (skipped)
        fprintf(r->out, "      (%u earlier faults not remembered)\n", skipped);
    for (unsigned k = 0; k < rep->nhistory; k++)
        sc_print_fault(r->out, &rep->history[k], "      ");
    if (rep->status != MMSIM_ACCESS_OK) {
        char words[256];
        sc_status_words(words, sizeof words, rep->status, rep->cause);
        fprintf(r->out, "    result: %s\n", words);
        return;
    }
    if (s->op == MMSIM_SC_WRITE) {
        fprintf(r->out, "    wrote %zu byte%s\n", s->len, s->len == 1 ? "" : "s");
        return;
    }
    fprintf(r->out, s->op == MMSIM_SC_EXEC ? "    fetched " : "    read ");
    sc_print_bytes(r->out, r->got.p, r->got.len, 48);
    fputc('\n', r->out);
}

static bool finish_access(struct sc_run *r, const struct mmsim_scenario_stmt *s, enum mmsim_access_status st);

/* "status: cause", without saying the status twice when the cause starts
 * with it (the CPU's causes read "livelock: 16 faults ..."). */
void sc_status_words(char *buf, size_t n, int status, const char *cause)
{
    const char *name = sc_status_name(status);
    size_t len = strlen(name);
    if (strncmp(cause, name, len) == 0 && cause[len] == ':')
        snprintf(buf, n, "%s", cause);
    else
        snprintf(buf, n, "%s%s%s", name, cause[0] ? ": " : "", cause);
}

static bool check_read_value(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (r->got.len == s->len && memcmp(r->got.p, s->data, s->len) == 0)
        return true;
    sc_fail_head(r, s, "expectation failed");
    fputs("  expected: ", r->err);
    sc_print_bytes(r->err, s->data, s->len, 64);
    fputs("\n  actual:   ", r->err);
    sc_print_bytes(r->err, r->got.p, r->got.len, 64);
    fputc('\n', r->err);
    return false;
}

/* The kernel copying for P (a system call's buffer): through the page
 * I/O path, not a CPU; a short copy ends as SEGV with the count. */
static enum mmsim_access_status kernel_copy(struct sc_run *r, const struct mmsim_scenario_stmt *s,
                                            struct mmsim_proc *p)
{
    void *uva = (void *)(uintptr_t)s->va;
    size_t done;
    memset(&r->rep, 0, sizeof r->rep);
    r->got.len = 0;
    enter_for(r, s, p);
    if (s->op == MMSIM_SC_WRITE) {
        done = lwp_data_put(mmsim_proc_lwp(p), uva, s->data, s->len);
    } else {
        if (!sc_bytes_fill(&r->got, (const uint8_t *)"", 1, s->len))
            return MMSIM_ACCESS_BAD_ARGUMENT;
        done = lwp_data_get(mmsim_proc_lwp(p), r->got.p, uva, s->len);
    }
    r->rep.va = s->va + done;
    if (done == s->len)
        return MMSIM_ACCESS_OK;
    snprintf(r->rep.cause, sizeof r->rep.cause, "%s copied %zu of %zu bytes",
             s->op == MMSIM_SC_WRITE ? "lwp_data_put" : "lwp_data_get", done, s->len);
    return MMSIM_ACCESS_SEGV;
}

static bool do_kernel_copy(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_proc *p = sc_proc(r, s, s->proc);
    if (!p)
        return false;
    enum mmsim_access_status st = kernel_copy(r, s, p);
    r->rep.status = st;
    if (r->verbose && st == MMSIM_ACCESS_OK)
        fprintf(r->out, "    the kernel copied %zu byte%s %s %s's memory (%s)\n", s->len, s->len == 1 ? "" : "s",
                s->op == MMSIM_SC_WRITE ? "into" : "out of", mmsim_proc_name(p),
                s->op == MMSIM_SC_WRITE ? "lwp_data_put" : "lwp_data_get");
    return finish_access(r, s, st);
}

static bool do_access(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (s->kcopy)
        return do_kernel_copy(r, s);
    struct mmsim_cpu *cpu = access_cpu(r, s);
    if (!cpu)
        return false;
    mmsim_cpu_enter(cpu);
    unsigned el = mmsim_cpu_el(cpu);
    if (s->el >= 0)
        mmsim_cpu_set_el(cpu, (unsigned)s->el);
    enum mmsim_access_status st = access_do(r, cpu, s);
    if (s->el >= 0)
        mmsim_cpu_set_el(cpu, el);
    r->rep.status = st;
    if (r->verbose)
        narrate_access(r, cpu, s);
    return finish_access(r, s, st);
}

/* An access's status and its inline data check. */
static bool finish_access(struct sc_run *r, const struct mmsim_scenario_stmt *s, enum mmsim_access_status st)
{
    if (r->verbose && st != MMSIM_ACCESS_OK && s->kcopy)
        fprintf(r->out, "    result: %s: %s\n", sc_status_name(st), r->rep.cause);
    if (st != MMSIM_ACCESS_OK && !s->status_expected) {
        char words[256];
        sc_status_words(words, sizeof words, st, r->rep.cause);
        fail_stmt(r, s, "the access ended with %s", words);
        fprintf(r->err, "  (write 'expect %s' after it if that is what should happen)\n", sc_status_name(st));
        return false;
    }
    if (s->check_value && st != MMSIM_ACCESS_OK)
        return fail_stmt(r, s, "the access ended with %s, so there is no data to compare", sc_status_name(st));
    return !s->check_value || check_read_value(r, s);
}

static bool do_inject(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    struct mmsim_cpu *cpu = access_cpu(r, s);
    if (!cpu)
        return false;
    mmsim_cpu_enter(cpu);
    uint8_t fsc = mmsim_vmsa_fsc((enum mmsim_fault)s->inject_kind, s->inject_level);
    r->inject_rc = mmsim_cpu_inject_fault(cpu, s->va, (enum mmsim_access_op)s->op, fsc);
    if (r->verbose)
        fprintf(r->out, "    the kernel's fault path ran for a %s fault (FSC 0x%02x) on cpu%u: %s\n",
                sc_fault_kind_name(s->inject_kind), fsc, mmsim_cpu_id(cpu),
                r->inject_rc == MM_FAULT_FIXABLE_TRUE ? "fixable (retry the access)" : "not fixable");
    return true;
}

/* ---- machine-wide statements ---- */

static bool do_check(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *report = open_memstream(&buf, &len);
    struct mmsim_mm_info info;
    int problems = mmsim_mm_check_machine(NULL, 0, report, &info);
    if (report)
        fclose(report);
    if (problems) {
        fail_stmt(r, s, "the invariant checker found %d problem%s:", problems, problems == 1 ? "" : "s");
        fprintf(r->err, "%s", buf ? buf : "");
    } else if (r->verbose) {
        fprintf(r->out, "    invariants hold in %zu address space%s (fork stores included), %zu data frame%s: "
                        "reference counts match the mappings\n",
                info.aspaces, info.aspaces == 1 ? "" : "s", info.data_frames, info.data_frames == 1 ? "" : "s");
    }
    free(buf);
    return problems == 0;
}

static bool do_dump(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (s->dump == 2) {
        sc_dump_sharing(r);
        return true;
    }
    if (!sc_proc(r, s, s->proc))
        return false;
    if (s->dump != 1)
        sc_dump_vareas(r, s->proc);
    if (s->dump != 0)
        sc_dump_tables(r, s->proc);
    return true;
}

/* Arm (or disarm) allocation failure injection; a run never ends armed. */
static bool do_fail(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    if (!s->value) {
        mmsim_inject_disarm_all();
        return true;
    }
    mmsim_inject_arm((enum mmsim_alloc_kind)s->alloc_kind, s->value,
                     s->always ? MMSIM_INJECT_PERSISTENT : MMSIM_INJECT_ONCE);
    if (r->verbose)
        fprintf(r->out, "    %s allocation attempt %" PRIu64 " from now %s\n",
                s->alloc_kind == MMSIM_ALLOC_HEAP ? "heap" : "page", s->value,
                s->always ? "and every one after it fail" : "fails");
    return true;
}

static bool exec_simple(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    switch (s->kind) {
    case MMSIM_SC_PROCESS: return do_process(r, s);
    case MMSIM_SC_RUN: return do_run(r, s);
    case MMSIM_SC_PAN: return do_pan(r, s);
    case MMSIM_SC_ACCESS: return do_access(r, s);
    case MMSIM_SC_INJECT: return do_inject(r, s);
    case MMSIM_SC_EXPECT: return sc_expect_eval(r, s);
    case MMSIM_SC_CHECK: return do_check(r, s);
    case MMSIM_SC_STATS: mmsim_sim_stats_print(r->out, s->json); return true;
    case MMSIM_SC_DUMP: return do_dump(r, s);
    case MMSIM_SC_SAY: return r->verbose ? fprintf(r->out, "%s\n", (const char *)s->data), true : true;
    case MMSIM_SC_FAIL: return do_fail(r, s);
    default: return do_proc_op(r, s);
    }
}

/* A line as the narration shows it, its comment (the why) after it. */
static void echo_line(struct sc_run *r, const char *prefix, const struct mmsim_scenario_stmt *s)
{
    int len = fprintf(r->out, "%s%s", prefix, s->text);
    if (s->comment)
        fprintf(r->out, "%*s# %s", len < 44 ? 44 - len : 2, "", s->comment);
    fputc('\n', r->out);
}

static bool exec_stmt(struct sc_run *r, const struct mmsim_scenario_stmt *s)
{
    bool echo = r->verbose && s->kind != MMSIM_SC_SAY && s->kind != MMSIM_SC_EXPECT;
    if (echo)
        echo_line(r, "> ", s);
    r->ran++;
    bool ok = exec_simple(r, s);
    if (ok && r->verbose && s->kind == MMSIM_SC_EXPECT)
        echo_line(r, "  ok: ", s);
    if (ok && echo && s->kind != MMSIM_SC_DUMP && s->kind != MMSIM_SC_STATS)
        narrate_counts(r);
    return ok;
}

/* ---- interleaving ---- */

/* Who runs a unit: its CPU, or its process (slots after the CPUs). */
static int lane_of(const struct mmsim_scenario_stmt *s)
{
    return s->cpu >= 0 ? s->cpu : (int)MMSIM_SCENARIO_MAX_CPUS + s->proc;
}

struct block_plan
{
    size_t unit[256], nunits;       /* first statement of each unit (a lead and its expects) */
    int lane[256];
};

static bool plan_block(struct block_plan *b, const struct mmsim_scenario_stmt *first, size_t len)
{
    b->nunits = 0;
    for (size_t k = 0; k < len; k++) {
        if (first[k].kind == MMSIM_SC_EXPECT)
            continue;
        if (b->nunits == sizeof b->unit / sizeof *b->unit)
            return false;
        b->lane[b->nunits] = lane_of(&first[k]);
        b->unit[b->nunits++] = k;
    }
    return true;
}

/* The next unit: a lane drawn at random among those with work left, and
 * that lane's earliest unit not yet run (so each lane keeps its order). */
static size_t pick_unit(struct block_plan *b, bool *done, uint64_t *rng)
{
    int lanes[MMSIM_SCENARIO_MAX_CPUS + MMSIM_SCENARIO_MAX_PROCS];
    int n = 0;
    for (size_t u = 0; u < b->nunits; u++) {
        bool seen = false;
        for (int k = 0; k < n; k++)
            seen = seen || lanes[k] == b->lane[u];
        if (!done[u] && !seen)
            lanes[n++] = b->lane[u];
    }
    int lane = lanes[mmsim_sim_rand(rng) % (uint64_t)n];
    for (size_t u = 0; u < b->nunits; u++)
        if (!done[u] && b->lane[u] == lane)
            return u;
    return 0;
}

static bool run_range(struct sc_run *r, size_t from, size_t to);

static bool run_block(struct sc_run *r, size_t at)
{
    const struct mmsim_scenario_stmt *blk = &r->sc->stmts[at];
    const struct mmsim_scenario_stmt *first = blk + 1;
    struct block_plan b;
    bool done[256] = { false };
    if (!plan_block(&b, first, blk->block_len))
        return fail_stmt(r, blk, "an interleave block holds at most 256 statements besides expectations");
    uint64_t rng = (blk->has_seed ? blk->value : r->seed) ^ ((uint64_t)at << 32);
    if (r->verbose)
        fprintf(r->out, "> %s\n    %zu steps in an order drawn from seed %" PRIu64 "; each CPU or process keeps "
                        "its own order\n", blk->text, b.nunits, blk->has_seed ? blk->value : r->seed);
    r->ran++;
    for (size_t step = 0; step < b.nunits; step++) {
        size_t u = pick_unit(&b, done, &rng);
        done[u] = true;
        size_t end = u + 1 < b.nunits ? b.unit[u + 1] : blk->block_len;
        if (!run_range(r, at + 1 + b.unit[u], at + 1 + end))
            return false;
    }
    return true;
}

static bool run_range(struct sc_run *r, size_t from, size_t to)
{
    for (size_t k = from; k < to; k++) {
        const struct mmsim_scenario_stmt *s = &r->sc->stmts[k];
        if (s->kind == MMSIM_SC_INTERLEAVE) {
            if (!run_block(r, k))
                return false;
            k += s->block_len;
        } else if (!exec_stmt(r, s)) {
            return false;
        }
    }
    return true;
}

/* ---- the machine ---- */

static void machine_config(const struct mmsim_scenario_config *c, struct mmsim_machine_config *mc)
{
    mmsim_machine_config_default(mc);
    if (c->given[MMSIM_SC_KEY_RAM])
        mc->ram_size = c->value[MMSIM_SC_KEY_RAM];
    if (c->given[MMSIM_SC_KEY_RAM_BASE])
        mc->ram_base = c->value[MMSIM_SC_KEY_RAM_BASE];
    if (c->given[MMSIM_SC_KEY_INSTALL])
        mc->install_size = c->value[MMSIM_SC_KEY_INSTALL];
    if (c->given[MMSIM_SC_KEY_HEAP])
        mc->heap_size = (size_t)c->value[MMSIM_SC_KEY_HEAP];
    if (c->given[MMSIM_SC_KEY_DEBUG_AIDS])
        mc->debug_aids = c->value[MMSIM_SC_KEY_DEBUG_AIDS] != 0;
    if (c->given[MMSIM_SC_KEY_QUARANTINE])
        mc->quarantine_frames = (unsigned)c->value[MMSIM_SC_KEY_QUARANTINE];
}

static void sim_config(const struct mmsim_scenario_config *c, struct mmsim_sim_config *sc)
{
    mmsim_sim_config_default(sc);
    /* a scenario is a test: every check on, in release builds too, unless it says otherwise */
    sc->walk_crosscheck = sc->stale_check = sc->uaf_check = true;
    const struct { enum mmsim_scenario_key key; bool *flag; } flags[] = {
        { MMSIM_SC_KEY_HW_AF, &sc->hw_af },
        { MMSIM_SC_KEY_HW_DIRTY, &sc->hw_dirty },
        { MMSIM_SC_KEY_SW_AF, &sc->sw_af },
        { MMSIM_SC_KEY_WALK_CROSSCHECK, &sc->walk_crosscheck },
        { MMSIM_SC_KEY_STALE_CHECK, &sc->stale_check },
        { MMSIM_SC_KEY_UAF_CHECK, &sc->uaf_check },
        { MMSIM_SC_KEY_SWITCH_FLUSH, &sc->switch_flush },
    };
    for (size_t k = 0; k < sizeof flags / sizeof *flags; k++)
        if (c->given[flags[k].key])
            *flags[k].flag = c->value[flags[k].key] != 0;
    if (c->given[MMSIM_SC_KEY_CPUS])
        sc->ncpus = (unsigned)c->value[MMSIM_SC_KEY_CPUS];
    if (c->given[MMSIM_SC_KEY_TLB_ENTRIES])
        sc->tlb_entries = (unsigned)c->value[MMSIM_SC_KEY_TLB_ENTRIES];
    if (c->given[MMSIM_SC_KEY_ASID_BITS])
        sc->asid_bits = (unsigned)c->value[MMSIM_SC_KEY_ASID_BITS];
    if (c->given[MMSIM_SC_KEY_LIVELOCK])
        sc->livelock_faults = (unsigned)c->value[MMSIM_SC_KEY_LIVELOCK];
}

static bool start(struct sc_run *r)
{
    struct mmsim_machine_config mc;
    struct mmsim_sim_config scfg;
    machine_config(&r->sc->cfg, &mc);
    sim_config(&r->sc->cfg, &scfg);
    int rc = mmsim_machine_boot(&mc);
    if (rc != 0) {
        fprintf(r->err, "%s: the machine did not boot (%d): check ram, ram-base, install and heap\n", r->sc->name, rc);
        return false;
    }
    rc = mmsim_sim_start(&scfg);
    if (rc != 0) {
        fprintf(r->err, "%s: the simulator did not start (%d): check cpus, tlb-entries, asid-bits and the "
                        "access-flag settings\n", r->sc->name, rc);
        mmsim_machine_shutdown(NULL);
        return false;
    }
    r->ncpus = scfg.ncpus;
    if (r->verbose) {
        fprintf(r->out, "Machine: %" PRIu64 " MiB of RAM at PA 0x%" PRIx64 ", %u CPU%s, %u TLB entries each, "
                        "%u-bit ASIDs%s%s%s\n", mc.ram_size >> 20, mc.ram_base, scfg.ncpus, scfg.ncpus == 1 ? "" : "s",
                scfg.tlb_entries, scfg.asid_bits, scfg.hw_af ? ", hardware AF" : "",
                scfg.hw_dirty ? ", hardware dirty bit" : "", scfg.sw_af ? ", software-managed AF" : "");
        sc_machine_info(&r->shown);
        r->shown_valid = true;
    }
    return true;
}

/* Stop the simulator (every process exits) and require the machine to be
 * back to exactly what boot left: a leak is a failure. */
static bool teardown(struct sc_run *r)
{
    mmsim_inject_disarm_all(); /* a `fail` left armed must not fail the teardown */
    mmsim_sim_stop();
    char *buf = NULL;
    size_t len = 0;
    FILE *report = open_memstream(&buf, &len);
    int problems = mmsim_mm_check_boot_counts(report, NULL);
    if (report)
        fclose(report);
    struct mmsim_leak_report leaks;
    int leaked = mmsim_machine_shutdown(&leaks);
    bool ok = problems == 0 && leaked == 0;
    FILE *out = ok ? r->out : r->err;
    if (!ok || r->verbose) {
        fflush(r->out);
        fprintf(out, "%s: teardown: every process exited, the machine shut down; ", r->sc->name);
        mmsim_leak_report_print(&leaks, out);
        if (problems)
            fprintf(out, "%s", buf ? buf : "");
    }
    free(buf);
    return ok;
}

static uint64_t pick_seed(const struct mmsim_scenario *sc, const struct mmsim_scenario_options *opt)
{
    if (opt && opt->has_seed)
        return opt->seed;
    return sc->cfg.given[MMSIM_SC_KEY_SEED] ? sc->cfg.value[MMSIM_SC_KEY_SEED] : 1;
}

static bool has_block(const struct mmsim_scenario *sc)
{
    for (size_t k = 0; k < sc->n; k++)
        if (sc->stmts[k].kind == MMSIM_SC_INTERLEAVE)
            return true;
    return false;
}

static void report_stop(struct sc_run *r)
{
    fprintf(r->err, "%s: stopped at line %d: %zu statement%s passed, that one failed, %zu did not run",
            r->sc->name, r->failed_line, r->ran - 1, r->ran == 2 ? "" : "s", r->sc->n - r->ran);
    if (has_block(r->sc))
        fprintf(r->err, " (interleave seed %" PRIu64 ": rerun with --seed %" PRIu64 ")", r->seed, r->seed);
    fputc('\n', r->err);
}

int mmsim_scenario_run(const struct mmsim_scenario *sc, const struct mmsim_scenario_options *opt,
                       struct mmsim_scenario_outcome *outcome)
{
    struct sc_run r;
    memset(&r, 0, sizeof r);
    r.sc = sc;
    r.out = opt && opt->out ? opt->out : stdout;
    r.err = opt && opt->err ? opt->err : stderr;
    r.verbose = opt && opt->verbose;
    r.seed = pick_seed(sc, opt);
    bool ok = start(&r);
    if (ok) {
        ok = run_range(&r, 0, sc->n);
        if (!ok)
            report_stop(&r);
        if (opt && (opt->stats || opt->json))
            mmsim_sim_stats_print(opt->stats_out ? opt->stats_out : r.out, opt->json);
        ok = teardown(&r) && ok;
    }
    free(r.got.p);
    fflush(r.out);
    if (outcome)
        *outcome = (struct mmsim_scenario_outcome){ ok ? MMSIM_SCENARIO_PASS : MMSIM_SCENARIO_FAIL, r.ran, sc->n,
                                                    r.failed_line, r.seed };
    return ok ? MMSIM_SCENARIO_PASS : MMSIM_SCENARIO_FAIL;
}
