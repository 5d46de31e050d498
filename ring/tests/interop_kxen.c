/* The interop sides built on kxen's ring.h, blkif.h and libkxenring. */
#include "interop_side.h"
