/*
 * Export of a stage-1 translation regime for hardware verification: the
 * register values, every table reachable from the enabled TTBRs (as a
 * listing and as one raw memory image) and expected AT results. The formats
 * are specified in docs/export.md; a reader is meant to be writable from that
 * document alone, so any change here must be mirrored there.
 */
#include <mmsim/export.h>

#include <rtdef.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_FORMAT_VERSION 1
/* One contiguous image keeps loaders trivial; tables spread wider than this
 * (a TTBR1 tree at the far end of RAM, say) are refused rather than padded
 * into a multi-gigabyte file. */
#define EXPORT_MAX_IMAGE_SIZE (1ULL << 30)

/* One table as the walk sees it: the same memory reached at two levels or
 * from both halves is decoded differently, so it is listed once per view. */
struct xp_table
{
    uint64_t pa;
    int8_t level;
    uint8_t half;
    uint32_t entries;
    bool absent;       /* no entry could be read: not memory, not in the image */
    uint64_t *raw;     /* entries as read; 0 where unreadable; NULL if absent */
    uint8_t *bad;      /* NULL, or 1 per entry whose read failed */
};

struct xp_tables
{
    struct xp_table *v;
    size_t n, cap;
    size_t *slots; /* open-addressed index into v, SIZE_MAX = empty */
    size_t nslots;
};

struct xp_state
{
    const struct mmsim_export_job *job;
    struct mmsim_vmsa_ctx ctx;
    struct xp_tables tables;
    uint64_t image_base;
    uint64_t image_size;
};

/* ---- table set ---------------------------------------------------------- */

static size_t view_hash(uint64_t pa, int level, unsigned half)
{
    uint64_t h = pa ^ ((uint64_t)(level + 1) << 1) ^ half;
    h *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 17);
}

static int tables_rehash(struct xp_tables *t, size_t nslots)
{
    size_t *slots = malloc(nslots * sizeof *slots);
    if (slots == NULL)
        return -RT_ENOMEM;
    for (size_t i = 0; i < nslots; i++)
        slots[i] = SIZE_MAX;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = view_hash(t->v[i].pa, t->v[i].level, t->v[i].half) & (nslots - 1u);
        while (slots[s] != SIZE_MAX)
            s = (s + 1u) & (nslots - 1u);
        slots[s] = i;
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

static bool tables_find(const struct xp_tables *t, uint64_t pa, int level, unsigned half)
{
    if (t->nslots == 0)
        return false;
    for (size_t s = view_hash(pa, level, half) & (t->nslots - 1u); t->slots[s] != SIZE_MAX;
         s = (s + 1u) & (t->nslots - 1u)) {
        const struct xp_table *e = &t->v[t->slots[s]];
        if (e->pa == pa && e->level == level && e->half == half)
            return true;
    }
    return false;
}

static int tables_push(struct xp_tables *t, const struct xp_table *view)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2u : 16u;
        struct xp_table *v = realloc(t->v, cap * sizeof *v);
        if (v == NULL)
            return -RT_ENOMEM;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = *view;
    /* keep the load factor at or below one half */
    if (t->n * 2u > t->nslots)
        return tables_rehash(t, t->nslots ? t->nslots * 2u : 64u);
    size_t s = view_hash(view->pa, view->level, view->half) & (t->nslots - 1u);
    while (t->slots[s] != SIZE_MAX)
        s = (s + 1u) & (t->nslots - 1u);
    t->slots[s] = t->n - 1u;
    return 0;
}

static void tables_free(struct xp_tables *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].raw);
        free(t->v[i].bad);
    }
    free(t->v);
    free(t->slots);
    *t = (struct xp_tables){ 0 };
}

/* ---- discovery ---------------------------------------------------------- */

static uint32_t table_entries(const struct mmsim_vmsa_regime *r, int level)
{
    unsigned bits = level == mmsim_vmsa_start_level(r) ? mmsim_vmsa_index_bits(r, level)
                                                       : r->granule_shift - 3u;
    return 1u << bits;
}

/* Reading a table once and keeping it means the listing, the image and the
 * discovery all see the same bytes, even if `mem` were to change under us. */
static int read_table(const struct mmsim_vmsa_mem *mem, struct xp_table *tab)
{
    tab->raw = calloc(tab->entries, sizeof *tab->raw);
    if (tab->raw == NULL)
        return -RT_ENOMEM;
    uint32_t unreadable = 0;
    for (uint32_t i = 0; i < tab->entries; i++) {
        if (mem->read64(mem->ctx, tab->pa + 8u * i, &tab->raw[i]))
            continue;
        tab->raw[i] = 0;
        if (tab->bad == NULL && (tab->bad = calloc(tab->entries, 1)) == NULL)
            return -RT_ENOMEM;
        tab->bad[i] = 1;
        unreadable++;
    }
    /* A pointer into non-memory (the walk takes an external abort there):
     * padding the image out to it would describe memory that is not there. */
    if (unreadable == tab->entries) {
        tab->absent = true;
        free(tab->raw);
        free(tab->bad);
        tab->raw = NULL;
        tab->bad = NULL;
    }
    return 0;
}

static int add_view(struct xp_state *st, uint64_t pa, int level, unsigned half)
{
    if (tables_find(&st->tables, pa, level, half))
        return 0;
    struct xp_table tab = {
        .pa = pa,
        .level = (int8_t)level,
        .half = (uint8_t)half,
        .entries = table_entries(&st->ctx.half[half], level),
    };
    int err = read_table(st->job->mem, &tab);
    if (err == 0)
        err = tables_push(&st->tables, &tab);
    if (err != 0) {
        free(tab.raw);
        free(tab.bad);
    }
    return err;
}

static bool half_walks(const struct mmsim_vmsa_ctx *ctx, unsigned half)
{
    return ctx->valid[half] && !ctx->half[half].epd &&
           (ctx->root_pa[half] >> ctx->half[half].oa_bits) == 0;
}

/* A table pointer the walk would reject with an address size fault leads
 * nowhere, so it is not followed (the walk never reads below it). */
static int follow_children(struct xp_state *st, size_t index)
{
    const struct xp_table tab = st->tables.v[index]; /* v may move as we push */
    const struct mmsim_vmsa_regime *r = &st->ctx.half[tab.half];
    if (tab.absent)
        return 0;
    for (uint32_t i = 0; i < tab.entries; i++) {
        struct mmsim_desc d;
        mmsim_desc_decode(r, tab.level, tab.raw[i], &d);
        if (d.kind != MMSIM_DESC_TABLE || (d.addr >> r->oa_bits) != 0)
            continue;
        int err = add_view(st, d.addr, tab.level + 1, tab.half);
        if (err != 0)
            return err;
    }
    return 0;
}

static int collect_tables(struct xp_state *st)
{
    for (unsigned half = 0; half < 2u; half++) {
        if (!half_walks(&st->ctx, half))
            continue;
        int err = add_view(st, st->ctx.root_pa[half], mmsim_vmsa_start_level(&st->ctx.half[half]), half);
        if (err != 0)
            return err;
    }
    /* breadth first: the array itself is the queue */
    for (size_t i = 0; i < st->tables.n; i++) {
        int err = follow_children(st, i);
        if (err != 0)
            return err;
    }
    return 0;
}

/* Absent views sort last so the image is planned from a prefix of v. */
static int view_cmp(const void *a, const void *b)
{
    const struct xp_table *x = a, *y = b;
    if (x->absent != y->absent)
        return x->absent ? 1 : -1;
    if (x->pa != y->pa)
        return x->pa < y->pa ? -1 : 1;
    if (x->half != y->half)
        return x->half < y->half ? -1 : 1;
    return (x->level > y->level) - (x->level < y->level);
}

static uint64_t view_end(const struct xp_table *t)
{
    return t->pa + 8u * (uint64_t)t->entries;
}

/* Sorting by PA fixes the listing order and lets the image be streamed. */
static int plan_image(struct xp_state *st)
{
    struct xp_tables *t = &st->tables;
    if (t->n == 0)
        return 0;
    qsort(t->v, t->n, sizeof *t->v, view_cmp);
    /* the hash slots index the old order; nothing looks them up any more */
    free(t->slots);
    t->slots = NULL;
    t->nslots = 0;
    if (t->v[0].absent)
        return 0;
    uint64_t end = 0;
    for (size_t i = 0; i < t->n && !t->v[i].absent; i++)
        end = view_end(&t->v[i]) > end ? view_end(&t->v[i]) : end;
    st->image_base = t->v[0].pa;
    st->image_size = end - t->v[0].pa;
    return st->image_size > EXPORT_MAX_IMAGE_SIZE ? -RT_EINVAL : 0;
}

/* ---- files -------------------------------------------------------------- */

static int open_out(const char *dir, const char *name, const char *mode, FILE **out)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return -RT_EINVAL;
    *out = fopen(path, mode);
    return *out ? 0 : -RT_EIO;
}

/* Any earlier write error shows up in ferror or in fclose's flush. */
static int close_out(FILE *f)
{
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = true;
    return bad ? -RT_EIO : 0;
}

static size_t present_tables(const struct xp_state *st, int half)
{
    size_t count = 0;
    for (size_t i = 0; i < st->tables.n; i++)
        count += !st->tables.v[i].absent && (half < 0 || st->tables.v[i].half == half);
    return count;
}

static void write_half_keys(FILE *f, const struct xp_state *st, unsigned half)
{
    const struct mmsim_vmsa_regime *r = &st->ctx.half[half];
    int start = mmsim_vmsa_start_level(r);
    fprintf(f, "TTBR%u.enabled = %d\n", half, half_walks(&st->ctx, half) ? 1 : 0);
    fprintf(f, "TTBR%u.granule = %u\n", half, 1u << r->granule_shift);
    fprintf(f, "TTBR%u.va_bits = %u\n", half, r->va_bits);
    fprintf(f, "TTBR%u.oa_bits = %u\n", half, r->oa_bits);
    fprintf(f, "TTBR%u.start_level = %d\n", half, start);
    fprintf(f, "TTBR%u.root_pa = 0x%016llx\n", half, (unsigned long long)st->ctx.root_pa[half]);
    fprintf(f, "TTBR%u.root_entries = %u\n", half, table_entries(r, start));
    fprintf(f, "TTBR%u.tables = %zu\n", half, present_tables(st, (int)half));
}

static int write_regs(const char *dir, const struct xp_state *st)
{
    const struct mmsim_vmsa_regs *regs = &st->job->regs;
    FILE *f;
    int err = open_out(dir, "regs.txt", "w", &f);
    if (err != 0)
        return err;
    fprintf(f, "# mmsim export: registers; KEY = VALUE, 0x-prefixed values are hex\n");
    fprintf(f, "FORMAT = %d\n", EXPORT_FORMAT_VERSION);
    fprintf(f, "TCR_EL1 = 0x%016llx\n", (unsigned long long)regs->tcr);
    fprintf(f, "MAIR_EL1 = 0x%016llx\n", (unsigned long long)regs->mair);
    fprintf(f, "SCTLR_EL1 = 0x%016llx\n", (unsigned long long)regs->sctlr);
    fprintf(f, "TTBR0_EL1 = 0x%016llx\n", (unsigned long long)regs->ttbr0);
    fprintf(f, "TTBR1_EL1 = 0x%016llx\n", (unsigned long long)regs->ttbr1);
    fprintf(f, "PARANGE_BITS = %u\n", regs->parange_bits ? regs->parange_bits : 48u);
    fprintf(f, "TABLES_BASE = 0x%016llx\n", (unsigned long long)st->image_base);
    fprintf(f, "TABLES_SIZE = 0x%llx\n", (unsigned long long)st->image_size);
    fprintf(f, "TABLES_COUNT = %zu\n", present_tables(st, -1));
    fprintf(f, "VECTORS_COUNT = %zu\n", st->job->nvectors);
    for (unsigned half = 0; half < 2u; half++)
        write_half_keys(f, st, half);
    return close_out(f);
}

static const char *kind_word(enum mmsim_desc_kind kind)
{
    switch (kind) {
    case MMSIM_DESC_TABLE:
        return "table";
    case MMSIM_DESC_BLOCK:
        return "block";
    case MMSIM_DESC_PAGE:
        return "page";
    default:
        return "invalid";
    }
}

static void write_entry(FILE *f, const struct mmsim_vmsa_regime *r, const struct xp_table *tab, uint32_t i)
{
    if (tab->bad && tab->bad[i]) {
        fprintf(f, "  %u unreadable\n", i);
        return;
    }
    struct mmsim_desc d;
    mmsim_desc_decode(r, tab->level, tab->raw[i], &d);
    fprintf(f, "  %u 0x%016llx %s", i, (unsigned long long)tab->raw[i], kind_word(d.kind));
    if (d.kind != MMSIM_DESC_INVALID)
        fprintf(f, " 0x%016llx", (unsigned long long)d.addr);
    if (d.kind != MMSIM_DESC_INVALID && (d.addr >> r->oa_bits) != 0)
        fputs(" beyond-oa", f);
    fputc('\n', f);
}

static int write_listing(const char *dir, const struct xp_state *st)
{
    FILE *f;
    int err = open_out(dir, "tables.txt", "w", &f);
    if (err != 0)
        return err;
    fprintf(f, "# mmsim export: page tables; non-zero entries as INDEX DESCRIPTOR KIND [ADDR]\n");
    for (size_t t = 0; t < st->tables.n; t++) {
        const struct xp_table *tab = &st->tables.v[t];
        const struct mmsim_vmsa_regime *r = &st->ctx.half[tab->half];
        if (tab->absent) {
            fprintf(f, "absent 0x%016llx level %d ttbr%u\n", (unsigned long long)tab->pa, tab->level,
                    tab->half);
            continue;
        }
        fprintf(f, "table 0x%016llx level %d ttbr%u entries %u\n", (unsigned long long)tab->pa,
                tab->level, tab->half, tab->entries);
        for (uint32_t i = 0; i < tab->entries; i++)
            if (tab->raw[i] != 0 || (tab->bad && tab->bad[i]))
                write_entry(f, r, tab, i);
        fputs("end\n", f);
    }
    return close_out(f);
}

static void put_le64(FILE *f, uint64_t v)
{
    unsigned char b[8];
    for (unsigned i = 0; i < 8u; i++)
        b[i] = (unsigned char)(v >> (8u * i));
    fwrite(b, 1, sizeof b, f);
}

static void put_zeros(FILE *f, uint64_t size)
{
    static const unsigned char zeros[4096];
    while (size > 0) {
        size_t chunk = size < sizeof zeros ? (size_t)size : sizeof zeros;
        fwrite(zeros, 1, chunk, f);
        size -= chunk;
    }
}

/* Views are sorted by PA; overlapping views hold the same bytes, so only the
 * part beyond what was already written is emitted. */
static int write_image(const char *dir, const struct xp_state *st)
{
    FILE *f;
    int err = open_out(dir, "tables.bin", "wb", &f);
    if (err != 0)
        return err;
    uint64_t cursor_pa = st->image_base;
    for (size_t t = 0; t < st->tables.n && !st->tables.v[t].absent; t++) {
        const struct xp_table *tab = &st->tables.v[t];
        if (tab->pa > cursor_pa)
            put_zeros(f, tab->pa - cursor_pa);
        for (uint32_t i = 0; i < tab->entries; i++)
            if (tab->pa + 8u * i >= cursor_pa)
                put_le64(f, tab->raw[i]);
        if (view_end(tab) > cursor_pa)
            cursor_pa = view_end(tab);
    }
    return close_out(f);
}

static const char *fault_word(enum mmsim_fault fault)
{
    switch (fault) {
    case MMSIM_FAULT_ADDR_SIZE:
        return "addrsize";
    case MMSIM_FAULT_TRANSLATION:
        return "translation";
    case MMSIM_FAULT_ACCESS_FLAG:
        return "accessflag";
    case MMSIM_FAULT_PERMISSION:
        return "permission";
    case MMSIM_FAULT_EXT_ABORT:
        return "extabort";
    default:
        return "unknown";
    }
}

static void write_vector(FILE *f, const struct xp_state *st, const struct mmsim_export_vector *v)
{
    const struct mmsim_vmsa_access acc = { .op = v->op, .el = v->el, .at = true };
    struct mmsim_vmsa_result res;
    mmsim_vmsa_translate(&st->ctx, v->va, &acc, st->job->mem, &res);
    fprintf(f, "0x%016llx EL%u %c ", (unsigned long long)v->va, v->el,
            v->op == MMSIM_OP_WRITE ? 'W' : 'R');
    if (res.fault == MMSIM_FAULT_NONE)
        fprintf(f, "OK 0x%016llx 0x%02x %u", (unsigned long long)res.pa, res.mair_attr, res.sh & 3u);
    else
        fprintf(f, "FAULT %s %d 0x%02x", fault_word(res.fault), res.level, res.fsc);
    fprintf(f, " 0x%016llx\n", (unsigned long long)mmsim_vmsa_par(&res));
}

static int write_vectors(const char *dir, const struct xp_state *st)
{
    FILE *f;
    int err = open_out(dir, "vectors.txt", "w", &f);
    if (err != 0)
        return err;
    fprintf(f, "# mmsim export: AT expectations; VA EL OP OK PA ATTR SH PAR | VA EL OP FAULT KIND LEVEL FSC PAR\n");
    for (size_t i = 0; i < st->job->nvectors; i++)
        write_vector(f, st, &st->job->vectors[i]);
    return close_out(f);
}

/* ---- entry point -------------------------------------------------------- */

/* Checked up front so that a too-long path writes nothing at all;
 * "vectors.txt" is the longest name. */
static bool dir_fits(const char *dir)
{
    return strlen(dir) + sizeof "/vectors.txt" <= PATH_MAX;
}

static bool job_valid(const char *dir, const struct mmsim_export_job *job)
{
    if (dir == NULL || !dir_fits(dir) || job == NULL || job->mem == NULL || job->mem->read64 == NULL)
        return false;
    if (job->nvectors > 0 && job->vectors == NULL)
        return false;
    for (size_t i = 0; i < job->nvectors; i++) {
        const struct mmsim_export_vector *v = &job->vectors[i];
        if (v->el > 1u || (v->op != MMSIM_OP_READ && v->op != MMSIM_OP_WRITE))
            return false;
    }
    return true;
}

int mmsim_export_write(const char *dir, const struct mmsim_export_job *job)
{
    if (!job_valid(dir, job))
        return -RT_EINVAL;
    struct xp_state st = { .job = job };
    /* a half with a reserved granule or TxSZ is exported as disabled: its
     * vectors then record the level-0 fault the hardware must give */
    (void)mmsim_vmsa_ctx_init(&st.ctx, &job->regs);
    int err = collect_tables(&st);
    if (err == 0)
        err = plan_image(&st);
    if (err == 0)
        err = write_regs(dir, &st);
    if (err == 0)
        err = write_listing(dir, &st);
    if (err == 0)
        err = write_image(dir, &st);
    if (err == 0)
        err = write_vectors(dir, &st);
    tables_free(&st.tables);
    return err;
}
