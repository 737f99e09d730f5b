/* Private interface between the files of the lwp layer. */
#ifndef MMSIM_LWP_INTERNAL_H
#define MMSIM_LWP_INTERNAL_H

#include <lwp.h>

/* Free the shared zero page if only the layer's own reference is left on it
 * (no PTE maps it any more). Called wherever PTEs of it may have gone. */
void lwp_zero_release_unused(void);

#endif
