/*
 * The varea tree: an AVL tree keyed by varea start (heights kept in each
 * node, NULL has height 0), and RT-Thread's search primitives over it. Vareas
 * never overlap, so a descent comparing against [start, start + size - 1]
 * finds the one containing a key in O(log n).
 */
#include <mm_private.h>
#include "mm/avl.h"

typedef struct util_avl_struct node_t;

/* ---- balancing -------------------------------------------------------------- */

static long height(const node_t *n) { return n ? n->height : 0; }

static void update_height(node_t *n)
{
    long l = height(n->avl_left), r = height(n->avl_right);
    n->height = 1 + (l > r ? l : r);
}

/* Make whatever pointed at `old` point at `new` instead. */
static void replace_child(struct _aspace_tree *tree, node_t *parent, node_t *old, node_t *new)
{
    if (!parent)
        tree->root = new;
    else if (parent->avl_left == old)
        parent->avl_left = new;
    else
        parent->avl_right = new;
    if (new)
        new->parent = parent;
}

static node_t *rotate_left(struct _aspace_tree *tree, node_t *x)
{
    node_t *y = x->avl_right;
    x->avl_right = y->avl_left;
    if (y->avl_left)
        y->avl_left->parent = x;
    replace_child(tree, x->parent, x, y);
    y->avl_left = x;
    x->parent = y;
    update_height(x);
    update_height(y);
    return y;
}

static node_t *rotate_right(struct _aspace_tree *tree, node_t *x)
{
    node_t *y = x->avl_left;
    x->avl_left = y->avl_right;
    if (y->avl_right)
        y->avl_right->parent = x;
    replace_child(tree, x->parent, x, y);
    y->avl_right = x;
    x->parent = y;
    update_height(x);
    update_height(y);
    return y;
}

/* Restore |balance| <= 1 at n; returns the subtree's new top. */
static node_t *balance(struct _aspace_tree *tree, node_t *n)
{
    update_height(n);
    long bf = height(n->avl_left) - height(n->avl_right);
    if (bf > 1) {
        if (height(n->avl_left->avl_left) < height(n->avl_left->avl_right))
            rotate_left(tree, n->avl_left);
        return rotate_right(tree, n);
    }
    if (bf < -1) {
        if (height(n->avl_right->avl_right) < height(n->avl_right->avl_left))
            rotate_right(tree, n->avl_right);
        return rotate_left(tree, n);
    }
    return n;
}

/* Rebalance every ancestor from n up: O(log n) nodes. */
static void rebalance_up(struct _aspace_tree *tree, node_t *n)
{
    while (n)
        n = balance(tree, n)->parent;
}

void avl_link(struct _aspace_tree *tree, node_t *node, node_t *parent, node_t **slot)
{
    node->avl_left = node->avl_right = NULL;
    node->parent = parent;
    node->height = 1;
    *slot = node;
    rebalance_up(tree, parent);
}

static node_t *leftmost(node_t *n)
{
    while (n && n->avl_left)
        n = n->avl_left;
    return n;
}

static node_t *rightmost(node_t *n)
{
    while (n && n->avl_right)
        n = n->avl_right;
    return n;
}

void avl_unlink(struct _aspace_tree *tree, node_t *z)
{
    node_t *fix;
    if (z->avl_left && z->avl_right) {
        /* Put z's successor y where z was. */
        node_t *y = leftmost(z->avl_right);
        fix = y->parent == z ? y : y->parent;
        if (y->parent != z) {
            replace_child(tree, y->parent, y, y->avl_right);
            y->avl_right = z->avl_right;
            y->avl_right->parent = y;
        }
        y->avl_left = z->avl_left;
        y->avl_left->parent = y;
        replace_child(tree, z->parent, z, y);
        y->height = z->height;
    } else {
        fix = z->parent;
        replace_child(tree, z->parent, z, z->avl_left ? z->avl_left : z->avl_right);
    }
    rebalance_up(tree, fix);
    z->avl_left = z->avl_right = z->parent = NULL;
    z->height = 0;
}

/* ---- in-order walk -------------------------------------------------------- */

node_t *avl_first(const struct _aspace_tree *tree) { return leftmost(tree->root); }
node_t *avl_last(const struct _aspace_tree *tree) { return rightmost(tree->root); }

node_t *avl_next(node_t *n)
{
    if (n->avl_right)
        return leftmost(n->avl_right);
    while (n->parent && n->parent->avl_right == n)
        n = n->parent;
    return n->parent;
}

node_t *avl_prev(node_t *n)
{
    if (n->avl_left)
        return rightmost(n->avl_left);
    while (n->parent && n->parent->avl_left == n)
        n = n->parent;
    return n->parent;
}

/* ---- RT-Thread's primitives over the varea tree --------------------------- */

static uintptr_t start_of(const struct rt_varea *v) { return (uintptr_t)v->start; }
/* Inclusive end, so a varea ending at 2^64 does not wrap. */
static uintptr_t last_of(const struct rt_varea *v) { return (uintptr_t)v->start + v->size - 1; }

rt_err_t _aspace_bst_init(struct rt_aspace *aspace)
{
    aspace->tree.root = NULL;
    return RT_EOK;
}

struct rt_varea *_aspace_bst_search(struct rt_aspace *aspace, void *key)
{
    uintptr_t k = (uintptr_t)key;
    node_t *n = aspace->tree.root;
    while (n) {
        struct rt_varea *v = VAREA_ENTRY(n);
        if (k < start_of(v))
            n = n->avl_left;
        else if (k > last_of(v))
            n = n->avl_right;
        else
            return v;
    }
    return NULL;
}

struct rt_varea *_aspace_bst_search_exceed(struct rt_aspace *aspace, void *start)
{
    uintptr_t k = (uintptr_t)start;
    struct rt_varea *best = NULL;
    node_t *n = aspace->tree.root;
    while (n) {
        struct rt_varea *v = VAREA_ENTRY(n);
        if (start_of(v) == k)
            return v;
        if (start_of(v) > k) {
            best = v; /* a candidate; a lower one may sit on the left */
            n = n->avl_left;
        } else {
            n = n->avl_right;
        }
    }
    return best;
}

struct rt_varea *_aspace_bst_search_overlap(struct rt_aspace *aspace, struct _mm_range range)
{
    uintptr_t lo = (uintptr_t)range.start, hi = (uintptr_t)range.end;
    node_t *n = aspace->tree.root;
    while (n) {
        struct rt_varea *v = VAREA_ENTRY(n);
        if (last_of(v) < lo)
            n = n->avl_right;
        else if (start_of(v) > hi)
            n = n->avl_left;
        else
            return v;
    }
    return NULL;
}

void _aspace_bst_insert(struct rt_aspace *aspace, struct rt_varea *varea)
{
    uintptr_t k = start_of(varea);
    node_t *parent = NULL, **slot = &aspace->tree.root;
    while (*slot) {
        uintptr_t pk = start_of(VAREA_ENTRY(*slot));
        if (k == pk)
            return; /* RT-Thread drops a duplicate key without a word */
        parent = *slot;
        slot = k < pk ? &parent->avl_left : &parent->avl_right;
    }
    avl_link(&aspace->tree, &varea->node.node, parent, slot);
}

void _aspace_bst_remove(struct rt_aspace *aspace, struct rt_varea *varea)
{
    avl_unlink(&aspace->tree, &varea->node.node);
}

struct rt_varea *_aspace_bst_first(struct rt_aspace *aspace) { return VAREA_ENTRY(avl_first(&aspace->tree)); }
struct rt_varea *_aspace_bst_last(struct rt_aspace *aspace) { return VAREA_ENTRY(avl_last(&aspace->tree)); }
struct rt_varea *_aspace_bst_next(struct rt_varea *varea) { return VAREA_ENTRY(avl_next(&varea->node.node)); }
struct rt_varea *_aspace_bst_prev(struct rt_varea *varea) { return VAREA_ENTRY(avl_prev(&varea->node.node)); }
