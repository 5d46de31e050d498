/* PV console ring page shared between a guest and xenconsoled. Xen's layout (checked by
 * ring/tests); kxen's text. Two byte rings with free-running 32-bit indices: in = to the guest,
 * out = from the guest. A reader must treat prod - cons > sizeof(ring) as a broken peer (see
 * kxen/ring_safe.h). */
#ifndef KXEN_IO_CONSOLE_H
#define KXEN_IO_CONSOLE_H

#include <stdint.h>

typedef uint32_t XENCONS_RING_IDX;
#define MASK_XENCONS_IDX(idx, ring) ((idx) & (sizeof(ring) - 1))

struct xencons_interface {
    char in[1024];
    char out[2048];
    XENCONS_RING_IDX in_cons, in_prod;
    XENCONS_RING_IDX out_cons, out_prod;
};

#endif
