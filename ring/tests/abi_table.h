/* One row per ABI fact; abi_list.h enumerates them. Built once with Xen's headers and once with
 * kxen's, so that the two can be compared by row without mixing the colliding names. */
#ifndef KXEN_RING_TESTS_ABI_TABLE_H
#define KXEN_RING_TESTS_ABI_TABLE_H

#include <stddef.h>

struct abi_row {
    const char *name; /* e.g. "sizeof(struct shared_info)" */
    long long value;  /* numeric value, or 0 for strings */
    const char *str;  /* string constants only */
};

extern const struct abi_row abi_table_xen[];
extern const size_t abi_table_xen_len;
extern const struct abi_row abi_table_kxen[];
extern const size_t abi_table_kxen_len;

#define ABI_SIZE(t) {"sizeof(" #t ")", (long long)sizeof(t), NULL},
#define ABI_OFF(t, m) {"offsetof(" #t ", " #m ")", (long long)offsetof(t, m), NULL},
#define ABI_CONST(c) {#c, (long long)(c), NULL},
#define ABI_STR(c) {#c, 0, c},

#endif
