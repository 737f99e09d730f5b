/*
 * simwalk_xcheck.c — run one translation through both walkers and say where
 * they differ. This is the only file of the simulator's walker that knows
 * the library's walk (mmsim/vmsa.h); simwalk.c never includes it.
 *
 * Hardware updates: the library walks first with write64 = NULL, so it sees
 * the tables as they are and changes nothing (it still treats AF = 0 with HA
 * and DBM with HA+HD as the architecture does, it just skips the write).
 * This walker then walks the same, unchanged tables and performs the update
 * once through cas64. Both therefore judge identical descriptors, and memory
 * ends up exactly as after one real walk. The tables must not change between
 * the two walks (another CPU writing them shows up as a disagreement).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include <mmsim/vmsa.h>

#include "simwalk.h"

#define D_AP2 (1ULL << 7)
#define D_AF (1ULL << 10)
#define D_DBM (1ULL << 51)

/* A bounded, always-terminated message being appended to. */
struct note
{
    char *buf;
    size_t size, len;
    unsigned count;
};

static void note_add(struct note *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note_add(struct note *n, const char *fmt, ...)
{
    n->count++;
    if (n->size == 0 || n->len >= n->size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(n->buf + n->len, n->size - n->len, fmt, ap);
    va_end(ap);
    if (w > 0)
        n->len += (size_t)w < n->size - n->len ? (size_t)w : n->size - n->len - 1;
}

/* The library's permission bits, translated one by one rather than assumed equal. */
static uint8_t perms_from_vmsa(uint8_t p)
{
    static const struct { uint8_t vmsa, mine; } map[] = {
        { MMSIM_PERM_EL0_R, MMSIM_SIMWALK_PERM_EL0_R }, { MMSIM_PERM_EL0_W, MMSIM_SIMWALK_PERM_EL0_W },
        { MMSIM_PERM_EL0_X, MMSIM_SIMWALK_PERM_EL0_X }, { MMSIM_PERM_EL1_R, MMSIM_SIMWALK_PERM_EL1_R },
        { MMSIM_PERM_EL1_W, MMSIM_SIMWALK_PERM_EL1_W }, { MMSIM_PERM_EL1_X, MMSIM_SIMWALK_PERM_EL1_X },
    };
    uint8_t out = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (p & map[i].vmsa)
            out |= map[i].mine;
    return out;
}

static enum mmsim_simwalk_fault fault_from_vmsa(enum mmsim_fault f)
{
    switch (f) {
    case MMSIM_FAULT_NONE: return MMSIM_SIMWALK_OK;
    case MMSIM_FAULT_ADDR_SIZE: return MMSIM_SIMWALK_FAULT_ADDR_SIZE;
    case MMSIM_FAULT_TRANSLATION: return MMSIM_SIMWALK_FAULT_TRANSLATION;
    case MMSIM_FAULT_ACCESS_FLAG: return MMSIM_SIMWALK_FAULT_ACCESS_FLAG;
    case MMSIM_FAULT_PERMISSION: return MMSIM_SIMWALK_FAULT_PERMISSION;
    case MMSIM_FAULT_EXT_ABORT: return MMSIM_SIMWALK_FAULT_EXT_ABORT;
    }
    return (enum mmsim_simwalk_fault)-1;
}

static void library_walk(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                         uint64_t va, struct mmsim_simwalk_access acc, struct mmsim_vmsa_result *out)
{
    const struct mmsim_simwalk_regs *r = &ctx->regs;
    struct mmsim_vmsa_regs regs = {
        .tcr = r->tcr_el1,
        .mair = r->mair_el1,
        .sctlr = r->sctlr_el1,
        .ttbr0 = r->ttbr0_el1,
        .ttbr1 = r->ttbr1_el1,
        .parange_bits = r->parange_bits,
    };
    static const enum mmsim_vmsa_op ops[] = { MMSIM_OP_READ, MMSIM_OP_WRITE, MMSIM_OP_EXEC };
    struct mmsim_vmsa_access lacc = { .op = ops[acc.op], .el = acc.el, .pan = acc.pan, .at = false };
    struct mmsim_vmsa_mem lmem = { .read64 = mem->read64, .write64 = NULL, .ctx = mem->ctx };
    struct mmsim_vmsa_ctx lctx;

    mmsim_vmsa_ctx_init(&lctx, &regs);
    mmsim_vmsa_translate(&lctx, va, &lacc, &lmem, out);
}

/* Whether, given the library's verdict, this walker should have written
 * the descriptor back: a permitted access with AF to set (HA) or a store to
 * a writable-clean page (HA+HD), and somewhere to write it. */
static bool update_due(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                       struct mmsim_simwalk_access acc, const struct mmsim_vmsa_result *lib)
{
    uint64_t d = lib->desc;
    if (lib->fault != MMSIM_FAULT_NONE || !ctx->mmu_on || !mem->cas64)
        return false;
    bool set_af = ctx->ha && !(d & D_AF);
    bool dirty = acc.op == MMSIM_SIMWALK_WRITE && ctx->hd && (d & D_DBM) && (d & D_AP2);
    return set_af || dirty;
}

static void compare_fault(struct note *n, const struct mmsim_simwalk_result *me,
                          const struct mmsim_vmsa_result *lib)
{
    enum mmsim_simwalk_fault lf = fault_from_vmsa(lib->fault);
    if (me->fault != lf || me->level != lib->level || me->fsc != lib->fsc)
        note_add(n, "; fault simwalk=%s L%d fsc 0x%02x, vmsa=%s L%d fsc 0x%02x",
                 mmsim_simwalk_fault_name(me->fault), me->level, me->fsc, mmsim_vmsa_fault_name(lib->fault),
                 lib->level, lib->fsc);
    if (me->desc_pa != lib->desc_pa || me->desc != lib->desc)
        note_add(n, "; descriptor simwalk=0x%016" PRIx64 "@0x%" PRIx64 ", vmsa=0x%016" PRIx64 "@0x%" PRIx64,
                 me->desc, me->desc_pa, lib->desc, lib->desc_pa);
}

/* Leaf fields; meaningful on success and on access-flag/permission faults. */
static void compare_leaf(struct note *n, const struct mmsim_simwalk_ctx *ctx,
                         const struct mmsim_simwalk_result *me, const struct mmsim_vmsa_result *lib)
{
    uint8_t lperms = perms_from_vmsa(lib->perms);
    uint8_t arch_perms = me->perms | me->perms_clean;
    if (me->pa != lib->pa)
        note_add(n, "; pa simwalk=0x%" PRIx64 ", vmsa=0x%" PRIx64, me->pa, lib->pa);
    if (me->leaf_size_bytes != lib->leaf_size)
        note_add(n, "; leaf size simwalk=0x%" PRIx64 ", vmsa=0x%" PRIx64, me->leaf_size_bytes,
                 lib->leaf_size);
    if (arch_perms != lperms)
        note_add(n, "; perms simwalk=0x%02x (cached 0x%02x + clean 0x%02x), vmsa=0x%02x", arch_perms,
                 me->perms, me->perms_clean, lperms);
    if (me->mair_attr != lib->mair_attr)
        note_add(n, "; mair attr simwalk=0x%02x, vmsa=0x%02x", me->mair_attr, lib->mair_attr);
    if (ctx->mmu_on && (me->global != !lib->ng || me->contiguous != lib->contiguous))
        note_add(n, "; global/contiguous simwalk=%d/%d, vmsa=%d/%d", me->global, me->contiguous, !lib->ng,
                 lib->contiguous);
    bool lib_el0_data = (lperms & (MMSIM_SIMWALK_PERM_EL0_R | MMSIM_SIMWALK_PERM_EL0_W)) != 0;
    if (ctx->mmu_on && me->el0_data != lib_el0_data)
        note_add(n, "; el0_data simwalk=%d, vmsa perms 0x%02x", me->el0_data, lperms);
}

static bool leaf_described(enum mmsim_simwalk_fault f)
{
    return f == MMSIM_SIMWALK_OK || f == MMSIM_SIMWALK_FAULT_ACCESS_FLAG ||
           f == MMSIM_SIMWALK_FAULT_PERMISSION;
}

bool mmsim_simwalk_crosscheck(const struct mmsim_simwalk_ctx *ctx, const struct mmsim_simwalk_mem *mem,
                              uint64_t va, struct mmsim_simwalk_access acc,
                              struct mmsim_simwalk_result *res, char *msg, size_t msg_size)
{
    static const char *const op_names[] = { "read", "write", "exec" };
    struct mmsim_vmsa_result lib;
    struct note n = { .buf = msg, .size = msg_size };

    library_walk(ctx, mem, va, acc, &lib);
    bool due = update_due(ctx, mem, acc, &lib);
    mmsim_simwalk_translate(ctx, mem, va, acc, res);

    if (msg_size)
        msg[0] = '\0';
    note_add(&n, "VA 0x%016" PRIx64 " EL%u %s%s", va, acc.el ? 1u : 0u, op_names[acc.op % 3],
             acc.pan ? " PAN" : "");
    compare_fault(&n, res, &lib);
    if (leaf_described(res->fault) && res->fault == fault_from_vmsa(lib.fault))
        compare_leaf(&n, ctx, res, &lib);
    if (res->hw_updated != due)
        note_add(&n, "; hw update simwalk=%d, due=%d", res->hw_updated, due);
    if (n.count > 1)
        return false;
    if (msg_size)
        msg[0] = '\0'; /* agreement: nothing to say */
    return true;
}
