/* A height-balanced (AVL) binary tree with parent links, over the node type
 * RT-Thread's mm_aspace.h embeds in every varea. The tree knows nothing of
 * keys: callers find the link slot by their own descent and hand it over. */
#ifndef MMSIM_LIB_MM_AVL_H
#define MMSIM_LIB_MM_AVL_H

#include <mm_aspace.h>

/* Hang `node` at *slot (a child link of `parent`, or the root link when
 * parent is NULL) and restore the balance. */
void avl_link(struct _aspace_tree *tree, struct util_avl_struct *node,
              struct util_avl_struct *parent, struct util_avl_struct **slot);
/* Unhang `node` and restore the balance; the node's links are cleared. */
void avl_unlink(struct _aspace_tree *tree, struct util_avl_struct *node);

struct util_avl_struct *avl_first(const struct _aspace_tree *tree);
struct util_avl_struct *avl_last(const struct _aspace_tree *tree);
struct util_avl_struct *avl_next(struct util_avl_struct *node);
struct util_avl_struct *avl_prev(struct util_avl_struct *node);

#endif
