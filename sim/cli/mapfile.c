/* The mapping-file language (docs/cli.md): "map" and "vector" lines. Errors
 * name file:line:col and what was expected, so a user can fix the file. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <mm_page.h>
#include "cli.h"

const char cli_default_mapfile[] =
    "# mmsim's built-in machine: one user process and a kernel device mapping\n"
    "map 0x00200000 alloc 0x2000 U_ROCB            # code: EL0 read/execute\n"
    "map 0x10000000 alloc 0x3000 U_RWCB            # data: three pages\n"
    "map 0x40000000 alloc 0x200000 U_RWCB          # a 2 MiB buffer: one block\n"
    "map kernel 0xffff000009000000 0x09000000 0x1000 K_DEVICE  # PL011 UART\n"
    "vector 0x00200010 el0 r\n"
    "vector 0x00200010 el0 x\n"
    "vector 0x00200010 el0 w\n"
    "vector 0x10001008 el0 w\n"
    "vector 0x10001008 el1 x\n"
    "vector 0x10004000 el0 r\n"
    "vector 0x40123456 el1 r\n"
    "vector 0x7fff0000 el0 r\n"
    "vector 0xffff000009000000 el1 w\n"
    "vector 0xffff000009000000 el0 r\n";

struct attr_name
{
    const char *name;
    uint64_t value;
};

static const struct attr_name attr_names[] = {
    { "K_RWCB", MMU_MAP_K_RWCB }, { "K_RW", MMU_MAP_K_RW },     { "K_DEVICE", MMU_MAP_K_DEVICE },
    { "K_ROCB", MMU_MAP_K_ROCB }, { "K_RO", MMU_MAP_K_RO },     { "U_RWCB", MMU_MAP_U_RWCB },
    { "U_RW", MMU_MAP_U_RW },     { "U_DEVICE", MMU_MAP_U_DEVICE }, { "U_ROCB", MMU_MAP_U_ROCB },
    { "U_RO", MMU_MAP_U_RO },
};

struct cursor
{
    const char *name;
    const char *line;
    const char *p;
    int lineno;
};

static int col(const struct cursor *c) { return (int)(c->p - c->line) + 1; }

static bool fail(const struct cursor *c, const char *expected)
{
    const char *end = c->p;
    while (*end && !isspace((unsigned char)*end))
        end++;
    if (end == c->p)
        fprintf(stderr, "%s:%d:%d: expected %s, found end of line\n", c->name, c->lineno, col(c), expected);
    else
        fprintf(stderr, "%s:%d:%d: expected %s, found '%.*s'\n", c->name, c->lineno, col(c), expected,
                (int)(end - c->p), c->p);
    return false;
}

static void skip_ws(struct cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
}

static bool at_end(struct cursor *c)
{
    skip_ws(c);
    return *c->p == '\0' || *c->p == '\n' || *c->p == '#';
}

/* Next word; `len` is its length (0 at end of line). */
static const char *word(struct cursor *c, size_t *len)
{
    skip_ws(c);
    const char *w = c->p;
    while (*c->p && !isspace((unsigned char)*c->p) && *c->p != '#')
        c->p++;
    *len = (size_t)(c->p - w);
    return w;
}

static bool word_is(const char *w, size_t len, const char *lit)
{
    return len == strlen(lit) && strncmp(w, lit, len) == 0;
}

/* A number in C syntax with an optional K/M/G suffix, which must end the word. */
static bool number(struct cursor *c, uint64_t *out, const char *what)
{
    skip_ws(c);
    const char *start = c->p;
    if (!isdigit((unsigned char)*start))
        return fail(c, what);
    errno = 0;
    char *end;
    unsigned long long v = strtoull(start, &end, 0);
    unsigned shift = 0;
    if (*end == 'K' || *end == 'M' || *end == 'G') {
        shift = *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
        end++;
    }
    if (errno || (*end && !isspace((unsigned char)*end) && *end != '#') ||
        (shift && (v >> (64 - shift)) != 0))
        return fail(c, what);
    *out = (uint64_t)v << shift;
    c->p = end;
    return true;
}

static bool aligned_number(struct cursor *c, uint64_t *out, const char *what)
{
    struct cursor at = *c;
    skip_ws(&at);
    if (!number(c, out, what))
        return false;
    if (*out & ARCH_PAGE_MASK)
        return fail(&at, "a 4 KiB-aligned value");
    return true;
}

static bool parse_attr(struct cursor *c, uint64_t *out)
{
    skip_ws(c);
    if (isdigit((unsigned char)*c->p))
        return number(c, out, "an attribute (MMU_MAP_* name such as U_RWCB, or a number)");
    struct cursor at = *c;
    size_t len;
    const char *w = word(c, &len);
    for (size_t i = 0; i < sizeof attr_names / sizeof attr_names[0]; i++)
        if (word_is(w, len, attr_names[i].name)) {
            *out = attr_names[i].value;
            return true;
        }
    return fail(&at, "an attribute (K_RWCB, K_RW, K_DEVICE, K_ROCB, K_RO, U_RWCB, U_RW, U_DEVICE, U_ROCB, U_RO or a number)");
}

static bool parse_map(struct cursor *c, struct cli_mapfile *mf)
{
    if (mf->nmaps == sizeof mf->maps / sizeof mf->maps[0])
        return fail(c, "at most 256 map lines");
    struct cli_map m = { 0 };
    struct cursor save = *c;
    size_t len;
    const char *w = word(c, &len);
    if (word_is(w, len, "kernel"))
        m.kernel = true;
    else
        *c = save;
    if (!aligned_number(c, &m.va, "a virtual address"))
        return false;
    save = *c;
    w = word(c, &len);
    if (word_is(w, len, "alloc")) {
        m.pa = CLI_PA_ALLOC;
    } else {
        *c = save;
        if (!aligned_number(c, &m.pa, "a physical address or 'alloc'"))
            return false;
    }
    struct cursor size_at = *c;
    if (!aligned_number(c, &m.size, "a size in bytes"))
        return false;
    if (m.size == 0) {
        skip_ws(&size_at);
        return fail(&size_at, "a non-zero size");
    }
    if (!parse_attr(c, &m.attr))
        return false;
    mf->maps[mf->nmaps++] = m;
    return true;
}

static bool parse_vector(struct cursor *c, struct cli_mapfile *mf)
{
    if (mf->nvectors == sizeof mf->vectors / sizeof mf->vectors[0])
        return fail(c, "at most 1024 vector lines");
    struct mmsim_export_vector v = { 0 };
    if (!number(c, &v.va, "a virtual address"))
        return false;
    struct cursor at = *c;
    size_t len;
    const char *w = word(c, &len);
    if (word_is(w, len, "el0") || word_is(w, len, "el1"))
        v.el = (uint8_t)(w[2] - '0');
    else
        return fail((skip_ws(&at), &at), "an exception level: el0 or el1");
    at = *c;
    w = word(c, &len);
    if (word_is(w, len, "r"))
        v.op = MMSIM_OP_READ;
    else if (word_is(w, len, "w"))
        v.op = MMSIM_OP_WRITE;
    else if (word_is(w, len, "x"))
        v.op = MMSIM_OP_EXEC;
    else
        return fail((skip_ws(&at), &at), "an access: r, w or x");
    mf->vectors[mf->nvectors++] = v;
    return true;
}

static bool parse_line(struct cursor *c, struct cli_mapfile *mf)
{
    if (at_end(c))
        return true;
    struct cursor at = *c;
    size_t len;
    const char *w = word(c, &len);
    bool ok;
    if (word_is(w, len, "map"))
        ok = parse_map(c, mf);
    else if (word_is(w, len, "vector"))
        ok = parse_vector(c, mf);
    else
        return fail(&at, "'map', 'vector' or a comment");
    if (ok && !at_end(c))
        return fail(c, "end of line");
    return ok;
}

bool cli_mapfile_parse_text(const char *name, const char *text, struct cli_mapfile *out)
{
    memset(out, 0, sizeof *out);
    struct cursor c = { name, text, text, 1 };
    while (*c.line) {
        c.p = c.line;
        if (!parse_line(&c, out))
            return false;
        const char *nl = strchr(c.line, '\n');
        if (!nl)
            break;
        c.line = nl + 1;
        c.lineno++;
    }
    return true;
}

bool cli_mapfile_parse(const char *path, struct cli_mapfile *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s:1:1: expected a readable mapping file (%s)\n", path, strerror(errno));
        return false;
    }
    char *text = NULL;
    size_t cap = 0, len = 0;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                fclose(f);
                fprintf(stderr, "%s: out of memory\n", path);
                return false;
            }
            text = grown;
        }
        memcpy(text + len, buf, n);
        len += n;
    }
    fclose(f);
    if (!text)
        text = calloc(1, 1);
    else
        text[len] = '\0';
    bool ok = text && memchr(text, '\0', len) == NULL && cli_mapfile_parse_text(path, text, out);
    if (text && memchr(text, '\0', len))
        fprintf(stderr, "%s:1:1: expected a text file, found a NUL byte\n", path);
    free(text);
    return ok;
}

static bool map_one(struct cli_world *w, const struct cli_map *m, FILE *log)
{
    uint64_t pa = m->pa;
    if (pa == CLI_PA_ALLOC) {
        unsigned order = (unsigned)rt_page_bits(m->size);
        void *frames = rt_pages_alloc_ext(order, 0);
        if (!frames) {
            fprintf(stderr, "mmsim: no memory for %#llx bytes of frames\n", (unsigned long long)m->size);
            return false;
        }
        w->frames[w->nframes] = frames;
        w->frame_orders[w->nframes++] = order;
        pa = (uint64_t)(uintptr_t)rt_kmem_v2p(frames);
    }
    struct rt_aspace *as = m->kernel ? &rt_kernel_space : &w->user;
    if (!rt_hw_mmu_map(as, (void *)(uintptr_t)m->va, (void *)(uintptr_t)pa, m->size, m->attr)) {
        fprintf(stderr, "mmsim: mapping VA %#llx failed\n", (unsigned long long)m->va);
        return false;
    }
    if (log)
        fprintf(log, "  map %-6s VA 0x%016llx -> PA 0x%09llx  %7llu KiB  attr 0x%llx\n",
                m->kernel ? "kernel" : "user", (unsigned long long)m->va, (unsigned long long)pa,
                (unsigned long long)(m->size >> 10), (unsigned long long)m->attr);
    return true;
}

bool cli_world_build(struct cli_world *w, const struct cli_mapfile *mf, FILE *log)
{
    memset(w, 0, sizeof *w);
    w->user.page_table = rt_hw_mmu_pgtbl_create();
    if (!w->user.page_table)
        return false;
    w->user.start = (void *)0x200000;
    w->user.size = 0x0001000000000000UL - 0x200000;
    w->user.asid = 1;
    rt_spin_lock_init(&w->user.pgtbl_lock);
    for (size_t i = 0; i < mf->nmaps; i++)
        if (!map_one(w, &mf->maps[i], log))
            return false;
    return true;
}

void cli_world_destroy(struct cli_world *w, const struct cli_mapfile *mf)
{
    for (size_t i = 0; i < mf->nmaps; i++) {
        const struct cli_map *m = &mf->maps[i];
        rt_hw_mmu_unmap(m->kernel ? &rt_kernel_space : &w->user, (void *)(uintptr_t)m->va, m->size);
    }
    for (size_t i = 0; i < w->nframes; i++)
        rt_pages_free(w->frames[i], w->frame_orders[i]);
    if (w->user.page_table)
        rt_hw_mmu_pgtbl_delete(w->user.page_table);
    w->user.page_table = NULL;
}
