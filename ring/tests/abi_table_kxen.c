/* The ABI table as kxen's headers define it. */
#include "abi_headers_kxen.h"
#include "abi_table.h"

const struct abi_row abi_table_kxen[] = {
#include "abi_list.h"
#include "abi_list_extra.h"
};
const size_t abi_table_kxen_len = sizeof(abi_table_kxen) / sizeof(abi_table_kxen[0]);
