/*
 * Statistics per CPU and per process, printed as a table or as JSON.
 */
#include <string.h>
#include "cpu_internal.h"

#define NFIELDS (sizeof(struct mmsim_cpu_stats) / sizeof(uint64_t))

void sim_stats_add(struct mmsim_cpu_stats *dst, const struct mmsim_cpu_stats *src)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *s = (const uint64_t *)src;
    for (size_t i = 0; i < NFIELDS; i++)
        d[i] += s[i];
}

static void stats_sub(struct mmsim_cpu_stats *dst, const struct mmsim_cpu_stats *a,
                      const struct mmsim_cpu_stats *b)
{
    uint64_t *d = (uint64_t *)dst;
    const uint64_t *x = (const uint64_t *)a, *y = (const uint64_t *)b;
    for (size_t i = 0; i < NFIELDS; i++)
        d[i] = x[i] - y[i];
}

/* The hot path does not count accesses: they are the sum of the kinds. */
static void finish(struct mmsim_cpu_stats *s)
{
    s->accesses = s->loads + s->stores + s->fetches;
}

void sim_cpu_stats_now(const struct mmsim_cpu *cpu, struct mmsim_cpu_stats *out)
{
    *out = cpu->stats;
    out->tlb_hits = cpu->hot.tlb_hits;
    out->loads = cpu->hot.loads;
    out->stores = cpu->hot.stores;
}

void sim_account(struct mmsim_cpu *cpu)
{
    struct mmsim_cpu_stats now;
    sim_cpu_stats_now(cpu, &now);
    if (cpu->current) {
        struct mmsim_cpu_stats delta;
        stats_sub(&delta, &now, &cpu->mark);
        sim_stats_add(&cpu->current->stats[cpu->id], &delta);
    }
    cpu->mark = now;
}

void mmsim_cpu_stats_get(const struct mmsim_cpu *cpu, struct mmsim_cpu_stats *out)
{
    sim_cpu_stats_now(cpu, out);
    finish(out);
}

void mmsim_proc_stats_get(const struct mmsim_proc *p, struct mmsim_cpu_stats *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < MMSIM_SIM_MAX_CPUS; i++)
        sim_stats_add(out, &p->stats[i]);
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++)
        if (g_sim.cpus[i].current == p) { /* not yet credited */
            struct mmsim_cpu_stats now, delta;
            sim_cpu_stats_now(&g_sim.cpus[i], &now);
            stats_sub(&delta, &now, &g_sim.cpus[i].mark);
            sim_stats_add(out, &delta);
        }
    finish(out);
}

/* The columns, in the struct's order where it matters to the reader. */
static const struct
{
    const char *name;
    size_t offset;
} k_cols[] = {
#define C(f) { #f, offsetof(struct mmsim_cpu_stats, f) }
    C(accesses), C(loads), C(stores), C(fetches), C(tlb_hits), C(tlb_misses), C(tlb_perm_misses),
    C(walks), C(faults), C(fixed), C(segv), C(livelocks), C(cow_copies),
    C(data_frames_alloc), C(data_frames_freed), C(table_pages_alloc), C(table_pages_freed),
#undef C
};
#define NCOLS (sizeof k_cols / sizeof k_cols[0])

static uint64_t col(const struct mmsim_cpu_stats *s, size_t i)
{
    return *(const uint64_t *)((const char *)s + k_cols[i].offset);
}

static const char *const k_kinds[] = { "translation", "access_flag", "permission", "other" };

static void print_row(FILE *out, const char *who, const struct mmsim_cpu_stats *s)
{
    fprintf(out, "%-10s", who);
    for (size_t i = 0; i < NCOLS; i++)
        fprintf(out, " %*llu", (int)strlen(k_cols[i].name), (unsigned long long)col(s, i));
    fprintf(out, "   faults by kind T/AF/P/other %llu/%llu/%llu/%llu, by level -1..3 %llu/%llu/%llu/%llu/%llu\n",
            (unsigned long long)s->faults_by_kind[0], (unsigned long long)s->faults_by_kind[1],
            (unsigned long long)s->faults_by_kind[2], (unsigned long long)s->faults_by_kind[3],
            (unsigned long long)s->faults_by_level[0], (unsigned long long)s->faults_by_level[1],
            (unsigned long long)s->faults_by_level[2], (unsigned long long)s->faults_by_level[3],
            (unsigned long long)s->faults_by_level[4]);
}

static void print_json(FILE *out, const char *who, const struct mmsim_cpu_stats *s, bool last)
{
    fprintf(out, "    {\"name\": \"%s\"", who);
    for (size_t i = 0; i < NCOLS; i++)
        fprintf(out, ", \"%s\": %llu", k_cols[i].name, (unsigned long long)col(s, i));
    fprintf(out, ", \"faults_by_kind\": {");
    for (int k = 0; k < 4; k++)
        fprintf(out, "%s\"%s\": %llu", k ? ", " : "", k_kinds[k], (unsigned long long)s->faults_by_kind[k]);
    fprintf(out, "}, \"faults_by_level\": [");
    for (int l = 0; l < 5; l++)
        fprintf(out, "%s%llu", l ? ", " : "", (unsigned long long)s->faults_by_level[l]);
    fprintf(out, "]}%s\n", last ? "" : ",");
}

static void print_header(FILE *out)
{
    fprintf(out, "%-10s", "");
    for (size_t i = 0; i < NCOLS; i++)
        fprintf(out, " %s", k_cols[i].name);
    fputc('\n', out);
}

void mmsim_sim_stats_print(FILE *out, bool json)
{
    char name[32];
    if (!g_sim.up)
        return;
    if (json)
        fprintf(out, "{\n  \"cpus\": [\n");
    else
        print_header(out);
    for (unsigned i = 0; i < g_sim.cfg.ncpus; i++) {
        struct mmsim_cpu_stats s;
        snprintf(name, sizeof name, "cpu%u", i);
        mmsim_cpu_stats_get(&g_sim.cpus[i], &s);
        if (json)
            print_json(out, name, &s, i + 1 == g_sim.cfg.ncpus);
        else
            print_row(out, name, &s);
    }
    if (json)
        fprintf(out, "  ],\n  \"processes\": [\n");
    pthread_mutex_lock(&g_sim.lock);
    for (struct mmsim_proc *p = g_sim.procs; p; p = p->next) {
        struct mmsim_cpu_stats s;
        mmsim_proc_stats_get(p, &s);
        if (json)
            print_json(out, p->name, &s, p->next == NULL);
        else
            print_row(out, p->name, &s);
    }
    pthread_mutex_unlock(&g_sim.lock);
    if (json)
        fprintf(out, "  ]\n}\n");
}
