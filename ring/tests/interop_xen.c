/* The interop sides built on Xen's own ring.h and blkif.h. */
#define INTEROP_SIDE_XEN
#include "interop_side.h"
