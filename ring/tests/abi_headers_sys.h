/* The system headers both ABI header sets pull in: their macros are not ABI facts. */
#include <errno.h>
#include <stdint.h>
