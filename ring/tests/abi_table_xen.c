/* The ABI table as Xen's own public headers define it. */
#include "abi_headers_xen.h"
#include "abi_table.h"

const struct abi_row abi_table_xen[] = {
#include "abi_list.h"
#include "abi_list_extra.h"
};
const size_t abi_table_xen_len = sizeof(abi_table_xen) / sizeof(abi_table_xen[0]);
