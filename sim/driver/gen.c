/*
 * The operation generator: chooses the next operation from the state the
 * lane is in (which processes live, what their models have mapped, what
 * each CPU runs). Its choices come from a PRNG seeded by the run's seed, or
 * from the bytes of a fuzz input — the same code, so a fuzz input is an
 * operation stream of the same interpreter.
 */
#include <string.h>
#include "driver_int.h"

uint32_t drv_pick(struct drv_chooser *c, uint32_t n)
{
    if (n <= 1)
        return 0;
    if (!c->bytes)
        return (uint32_t)(mmsim_sim_rand(&c->rng) % n);
    uint32_t v = 0;
    for (uint32_t span = 1, shift = 0; span < n && shift < 32; span <<= 8, shift += 8) {
        uint32_t byte = c->pos < c->size ? c->data[c->pos++] : 0;
        v |= byte << shift;
        if (span > (UINT32_MAX >> 8))
            break;
    }
    return v % n;
}

bool drv_chance(struct drv_chooser *c, unsigned pct)
{
    return drv_pick(c, 100) < pct;
}

uint64_t drv_rand64(struct drv_chooser *c)
{
    if (!c->bytes)
        return mmsim_sim_rand(&c->rng);
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)drv_pick(c, 256) << (8 * i);
    return v;
}

/* FSCs to inject: translation at every level (−1 too), permission, access
 * flag, address size, a synchronous external abort, alignment. */
static const uint8_t k_fscs[] = { 0x04, 0x05, 0x06, 0x07, 0x2b, 0x0c, 0x0d, 0x0e, 0x0f, 0x07, 0x0f,
                                  0x09, 0x0a, 0x0b, 0x00, 0x03, 0x10, 0x21 };

struct gen_state
{
    int live[DRV_MAX_SLOTS], nlive;
    int free[DRV_MAX_SLOTS], nfree;
    struct drv_proc *cur;
    int cur_slot;
};

static int pick_live(struct drv_lane *L, const struct gen_state *g)
{
    return g->live[drv_pick(&L->ch, (uint32_t)g->nlive)];
}

/* A page of the model: mostly one that is mapped (if `m` has any). */
static unsigned pick_model_page(struct drv_lane *L, const struct drv_model *m, unsigned pct_mapped)
{
    struct drv *d = L->d;
    if (m && drv_chance(&L->ch, pct_mapped)) {
        unsigned mapped[MMSIM_DRIVER_MAX_WINDOW + DRV_STACK_PAGES], n = 0;
        for (unsigned p = 0; p < d->npages; p++)
            if (m->mapped[p])
                mapped[n++] = p;
        if (n)
            return mapped[drv_pick(&L->ch, n)];
    }
    return drv_chance(&L->ch, 15) ? d->cfg.window_pages + drv_pick(&L->ch, DRV_STACK_PAGES)
                                  : drv_pick(&L->ch, d->cfg.window_pages);
}

static void pick_range(struct drv_lane *L, struct drv_op *op, const struct drv_model *m, unsigned pct_mapped)
{
    struct drv *d = L->d;
    op->page = pick_model_page(L, m, pct_mapped);
    unsigned room = drv_region_end(d, op->page) - op->page;
    unsigned max = room < 8 ? room : 8;
    op->npages = 1 + drv_pick(&L->ch, max);
}

/* Where an access goes: the CPU's process's mapped pages mostly, sometimes
 * anywhere in the window or stack, sometimes a wild address. On the shared
 * process (threads), only this lane's bytes of the shared region. */
static void pick_target(struct drv_lane *L, const struct gen_state *g, struct drv_op *op, unsigned len, bool bulk)
{
    struct drv *d = L->d;
    struct drv_chooser *c = &L->ch;
    if (g->cur_slot == DRV_SLOT_SHARED) {
        op->page = drv_pick(c, DRV_SHARED_PAGES);
        if (bulk) {
            op->off = L->lane_off + drv_pick(c, L->lane_len);
            op->len = 1 + drv_pick(c, L->lane_off + L->lane_len - op->off);
        } else {
            op->off = L->lane_off + drv_pick(c, L->lane_len - len + 1);
        }
        return;
    }
    unsigned r = drv_pick(c, 100);
    if (r < 94)
        op->page = pick_model_page(L, g->cur ? &g->cur->m : NULL, r < 80 ? 100 : 0);
    else
        op->page = d->npages + drv_pick(c, DRV_WILD_PAGES);
    if (bulk) {
        unsigned f = drv_pick(c, 3);
        len = 1 + drv_pick(c, f == 0 ? 64 : f == 1 ? DRV_PAGE : DRV_MAX_BULK);
        op->len = len;
    }
    if (drv_chance(c, 25) && len <= 16)
        op->off = DRV_PAGE - 1 - drv_pick(c, 16); /* near the end: crossing into the next page */
    else
        op->off = drv_pick(c, DRV_PAGE);
    if (drv_is_wild(d, op->page) && op->off + len > DRV_PAGE)
        op->off = DRV_PAGE - (len < DRV_PAGE ? len : DRV_PAGE);
}

static void gen_state_get(struct drv_lane *L, unsigned cpu, struct gen_state *g)
{
    struct drv *d = L->d;
    g->nlive = g->nfree = 0;
    for (unsigned s = L->slot0; s < L->slot0 + L->nslot; s++) {
        if (d->procs[s].p)
            g->live[g->nlive++] = (int)s;
        else
            g->free[g->nfree++] = (int)s;
    }
    g->cur = drv_current(L, cpu, &g->cur_slot);
}

enum
{
    W_KINDS = DRV_RACE + 1
};

void drv_gen(struct drv_lane *L, struct drv_op *op)
{
    struct drv *d = L->d;
    struct drv_chooser *c = &L->ch;
    memset(op, 0, sizeof *op);
    op->cpu = L->cpu0 + drv_pick(c, L->ncpu);
    struct gen_state g;
    gen_state_get(L, op->cpu, &g);
    bool live = g.nlive > 0, cur = g.cur != NULL;
    unsigned w[W_KINDS] = {
        [DRV_CREATE] = g.nfree ? (live ? 3 : 30) : 0,
        [DRV_FORK] = live && g.nfree ? 3 : 0,
        [DRV_EXIT] = live ? (g.nlive > 1 ? 2 : 1) : 0,
        [DRV_RUN] = cur ? 6 : 14,
        [DRV_MMAP] = live ? 7 : 0,
        [DRV_MUNMAP] = live ? 4 : 0,
        [DRV_MAPP] = live ? 5 : 0,
        [DRV_PROTECT] = live ? 4 : 0,
        [DRV_LOAD] = cur ? 12 : 1,
        [DRV_STORE] = cur ? 12 : 1,
        [DRV_FETCH] = cur ? 2 : 0,
        [DRV_READ] = cur ? 5 : 1,
        [DRV_WRITE] = cur ? 5 : 1,
        [DRV_FAULT] = cur ? 7 : 1,
        [DRV_RACE] = !d->cfg.threads && d->cfg.ncpus > 1 && live ? 3 : 0,
    };
    unsigned total = 0;
    for (unsigned k = 0; k < W_KINDS; k++)
        total += w[k];
    unsigned r = drv_pick(c, total);
    unsigned k = 0;
    while (r >= w[k])
        r -= w[k++];
    op->kind = (enum drv_kind)k;
    /* mm operations: the running process mostly, a sleeping one sometimes */
    int target = live ? (g.cur_slot >= 0 && drv_chance(c, 70) ? g.cur_slot : pick_live(L, &g)) : 0;
    const struct drv_model *tm = live ? &d->procs[target].m : NULL;
    switch (op->kind) {
    case DRV_CREATE:
        op->slot = g.free[drv_pick(c, (uint32_t)g.nfree)];
        break;
    case DRV_FORK:
        op->slot = target;
        op->slot2 = g.free[drv_pick(c, (uint32_t)g.nfree)];
        break;
    case DRV_EXIT:
        op->slot = target;
        break;
    case DRV_RUN: {
        unsigned x = drv_pick(c, 100);
        if (d->cfg.threads && x < 30)
            op->slot = DRV_SLOT_SHARED;
        else if (!live || x >= 90)
            op->slot = DRV_SLOT_IDLE;
        else
            op->slot = pick_live(L, &g);
        break;
    }
    case DRV_MMAP:
    case DRV_MAPP:
        op->slot = target;
        pick_range(L, op, tm, 30);
        op->flag = op->kind == DRV_MAPP && drv_chance(c, 20); /* nocache */
        break;
    case DRV_MUNMAP:
        op->slot = target;
        pick_range(L, op, tm, 80);
        break;
    case DRV_PROTECT:
        op->slot = target;
        op->page = pick_model_page(L, tm, 85);
        op->flag = drv_chance(c, 50);
        break;
    case DRV_LOAD:
    case DRV_STORE:
        op->len = 1u << drv_pick(c, 4);
        pick_target(L, &g, op, op->len, false);
        if (op->kind == DRV_STORE)
            op->value = drv_rand64(c) & (op->len == 8 ? ~0ull : (1ull << (8 * op->len)) - 1);
        break;
    case DRV_FETCH:
        pick_target(L, &g, op, 4, false);
        op->off &= ~3u;
        break;
    case DRV_READ:
    case DRV_WRITE:
        pick_target(L, &g, op, 0, true);
        if (op->kind == DRV_WRITE)
            op->value = drv_rand64(c);
        break;
    case DRV_FAULT:
        pick_target(L, &g, op, 1, false);
        op->aop = drv_pick(c, 3);
        op->fsc = k_fscs[drv_pick(c, sizeof k_fscs)];
        op->repeat = drv_chance(c, 25) ? 2 + drv_pick(c, 3) : 1;
        break;
    case DRV_RACE:
        op->slot = target;
        op->cpu2 = (op->cpu + 1 + drv_pick(c, d->cfg.ncpus - 1)) % d->cfg.ncpus;
        op->page = pick_model_page(L, tm, 85);
        op->off = drv_pick(c, DRV_PAGE / 8) * 8;
        op->value = drv_rand64(c);
        break;
    default:
        break;
    }
    if (d->cfg.inject_pct && op->kind != DRV_RUN && op->kind != DRV_EXIT && drv_chance(c, d->cfg.inject_pct)) {
        op->fail_kind = 1 + drv_pick(c, 2);
        op->fail_nth = 1 + drv_pick(c, 4);
    }
}

bool drv_gen_sabotage(struct drv_lane *L, struct drv_op *op)
{
    struct drv *d = L->d;
    memset(op, 0, sizeof *op);
    op->cpu = L->cpu0;
    if (d->cfg.sabotage == MMSIM_DRIVER_SABOTAGE_LEAK) {
        op->kind = DRV_LEAK;
        return true;
    }
    for (unsigned s = L->slot0; s < L->slot0 + L->nslot; s++) {
        struct drv_proc *P = &d->procs[s];
        for (unsigned p = 0; P->p && p < d->npages; p++) {
            if (!P->m.mapped[p] || !drv_has_pte(d, P, p))
                continue;
            op->kind = d->cfg.sabotage == MMSIM_DRIVER_SABOTAGE_POKE ? DRV_POKE : DRV_REF;
            op->slot = (int)s;
            op->page = p;
            if (op->kind == DRV_POKE) {
                op->off = drv_pick(&L->ch, DRV_PAGE);
                op->value = drv_pick(&L->ch, 255) + 1;
            }
            return true;
        }
    }
    return false;
}
