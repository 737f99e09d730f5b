/* `mmsim export`: build the mappings of a mapping file (or the built-in
 * set), then write the page-table image, registers and translation vectors
 * of the user address space for an external MMU model (docs/export.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <mm_page.h>
#include <mmsim/machine.h>
#include <mmsim/pgtable.h>
#include "cli.h"

struct export_opts
{
    const char *mapfile;
    const char *outdir;
    unsigned long nrandom;
    unsigned long long seed;
    unsigned long long ram_base;
};

static bool parse_ulong(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    *out = strtoull(s, &end, 0);
    return *s && !*end && !errno;
}

static int parse_opts(int argc, char **argv, struct export_opts *o)
{
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->ram_base = 0x40000000ULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        unsigned long long v;
        if ((!strcmp(a, "-m") || !strcmp(a, "-n") || !strcmp(a, "-s") || !strcmp(a, "-b")) && i + 1 >= argc) {
            fprintf(stderr, "mmsim export: %s needs a value\n", a);
            return CLI_EXIT_USAGE;
        }
        if (!strcmp(a, "-m")) {
            o->mapfile = argv[++i];
        } else if (!strcmp(a, "-b")) {
            const char *val = argv[++i];
            if (!parse_ulong(val, &v) || (v & 0x3fffff)) {
                fprintf(stderr, "mmsim export: -b expects a 4 MiB-aligned RAM base address, got '%s'\n", val);
                return CLI_EXIT_USAGE;
            }
            o->ram_base = v;
        } else if (!strcmp(a, "-n") || !strcmp(a, "-s")) {
            const char *val = argv[++i];
            if (!parse_ulong(val, &v) || (a[1] == 'n' && v > 1000000)) {
                fprintf(stderr, "mmsim export: %s expects a number%s, got '%s'\n", a,
                        a[1] == 'n' ? " up to 1000000" : "", val);
                return CLI_EXIT_USAGE;
            }
            if (a[1] == 'n')
                o->nrandom = (unsigned long)v;
            else
                o->seed = v;
        } else if (a[0] == '-' || o->outdir) {
            fprintf(stderr, "mmsim export: unexpected argument '%s'\n", a);
            return CLI_EXIT_USAGE;
        } else {
            o->outdir = a;
        }
    }
    if (!o->outdir) {
        fprintf(stderr, "usage: mmsim export [-m MAPFILE] [-n N] [-s SEED] [-b RAM_BASE] OUTDIR\n");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static uint64_t next_rand(unsigned long long *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* User data vectors from the file (AT checks reads and writes only), then
 * `n` random ones near the user mappings so most hit something. */
static struct mmsim_export_vector *collect_vectors(const struct cli_mapfile *mf, const struct export_opts *o,
                                                   size_t *count)
{
    size_t cap = mf->nvectors + o->nrandom;
    struct mmsim_export_vector *v = calloc(cap ? cap : 1, sizeof *v);
    size_t n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < mf->nvectors; i++)
        if (mf->vectors[i].op != MMSIM_OP_EXEC && (mf->vectors[i].va >> 48) != 0xffff)
            v[n++] = mf->vectors[i];
    unsigned long long s = o->seed ? o->seed : 1;
    size_t user_maps = 0;
    for (size_t i = 0; i < mf->nmaps; i++)
        user_maps += !mf->maps[i].kernel;
    for (unsigned long i = 0; i < o->nrandom && user_maps; i++) {
        const struct cli_map *m;
        do
            m = &mf->maps[next_rand(&s) % mf->nmaps];
        while (m->kernel);
        uint64_t r = next_rand(&s);
        v[n].va = m->va + r % (m->size + 0x4000) - 0x1000;
        v[n].el = (uint8_t)((r >> 40) & 1);
        v[n].op = (r >> 41) & 1 ? MMSIM_OP_WRITE : MMSIM_OP_READ;
        n++;
    }
    *count = n;
    return v;
}

int cli_export(int argc, char **argv)
{
    struct export_opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != CLI_EXIT_OK)
        return rc;
    static struct cli_mapfile mf;
    bool parsed = o.mapfile ? cli_mapfile_parse(o.mapfile, &mf)
                            : cli_mapfile_parse_text("<built-in>", cli_default_mapfile, &mf);
    if (!parsed)
        return CLI_EXIT_USAGE;
    struct mmsim_machine_config cfg;
    mmsim_machine_config_default(&cfg);
    cfg.ram_base = o.ram_base;
    if (mmsim_machine_boot(&cfg) != 0) {
        fprintf(stderr, "mmsim export: cannot boot a machine with RAM at 0x%llx\n", o.ram_base);
        return CLI_EXIT_USAGE;
    }
    static struct cli_world w;
    size_t nvec = 0;
    struct mmsim_export_vector *vec = NULL;
    rc = CLI_EXIT_FAIL;
    if (cli_world_build(&w, &mf, NULL) && (vec = collect_vectors(&mf, &o, &nvec))) {
        struct mmsim_export_job job = { .mem = mmsim_mmu_ram_mem(), .vectors = vec, .nvectors = nvec };
        mmsim_mmu_regs(&w.user, &job.regs);
        int err = mmsim_export_write(o.outdir, &job);
        if (err == 0) {
            printf("exported %zu vector(s) to %s\n", nvec, o.outdir);
            rc = CLI_EXIT_OK;
        } else {
            fprintf(stderr, "mmsim export: cannot write into '%s' (error %d: it must be an existing, writable directory)\n", o.outdir, err);
        }
    }
    free(vec);
    cli_world_destroy(&w, &mf);
    mmsim_machine_shutdown(NULL);
    return rc;
}
