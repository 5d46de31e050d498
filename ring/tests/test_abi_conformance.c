/* kxen's ABI headers against Xen's public headers (Debian libxen-dev): the size and every member
 * offset of each shared structure, and the value of each constant both define. The rows come
 * from abi_list.h (ring/tests/gen_abi_list.py), compiled once per header set. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi_table.h"

Test(abi, both_tables_list_the_same_facts)
{
    cr_assert_eq(abi_table_xen_len, abi_table_kxen_len);
    cr_assert_gt(abi_table_kxen_len, 500, "the list is suspiciously short");
    for (size_t i = 0; i < abi_table_kxen_len; i++)
        cr_assert_str_eq(abi_table_xen[i].name, abi_table_kxen[i].name);
}

Test(abi, every_size_offset_and_constant_matches_xen)
{
    size_t bad = 0;
    for (size_t i = 0; i < abi_table_kxen_len; i++) {
        const struct abi_row *x = &abi_table_xen[i], *k = &abi_table_kxen[i];
        int same =
            x->value == k->value && (x->str ? (k->str && strcmp(x->str, k->str) == 0) : !k->str);
        if (!same) {
            bad++;
            if (x->str)
                cr_log_error("%s: Xen %lld \"%s\", kxen %lld \"%s\"", x->name, x->value, x->str,
                             k->value, k->str ? k->str : "(null)");
            else
                cr_log_error("%s: Xen %lld, kxen %lld", x->name, x->value, k->value);
        }
    }
    cr_assert_eq(bad, 0, "%zu of %zu ABI facts differ from Xen (see above)", bad,
                 abi_table_kxen_len);
}

Test(abi, covers_the_shared_pages_and_rings)
{
    static const char *const must[] = {
        "sizeof(struct shared_info)",
        "sizeof(struct start_info)",
        "sizeof(struct vcpu_info)",
        "sizeof(struct grant_entry_v1)",
        "sizeof(struct blkif_sring)",
        "sizeof(struct netif_tx_sring)",
        "sizeof(struct xencons_interface)",
        "sizeof(struct xenstore_domain_interface)",
        "sizeof(struct hvm_start_info)",
        "offsetof(struct start_info, console.domU.evtchn)",
        "__HYPERVISOR_event_channel_op",
        "GNTST_no_space",
        "XEN_ENOSYS",
        "XenbusStateConnected",
        "ring_size(blkif)",
        "sizeof(XEN_GUEST_HANDLE(void))",
    };
    for (size_t m = 0; m < sizeof(must) / sizeof(must[0]); m++) {
        size_t i = 0;
        while (i < abi_table_kxen_len && strcmp(abi_table_kxen[i].name, must[m]) != 0)
            i++;
        cr_expect_lt(i, abi_table_kxen_len, "no row for %s", must[m]);
    }
}

/* The list above is generated from the headers; a header changed without regenerating it would
 * leave new facts unchecked. Needs python3 and clang; skipped without them. */
Test(abi, generated_list_covers_the_current_headers)
{
    if (system("command -v python3 >/dev/null && command -v clang >/dev/null") != 0)
        cr_skip_test("python3 or clang missing");
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "cd '%s' && python3 ring/tests/gen_abi_list.py --check",
             RING_SRC_DIR);
    cr_assert_eq(system(cmd), 0, "run ring/tests/gen_abi_list.py and commit ring/tests/abi_list.h");
}
