/* Values of a frontend's "protocol" key: the ABI its ring structures were laid out with.
 * Xen's strings (checked by ring/tests). kxen is x86-64 only. */
#ifndef KXEN_IO_PROTOCOLS_H
#define KXEN_IO_PROTOCOLS_H

#define XEN_IO_PROTO_ABI_X86_32 "x86_32-abi"
#define XEN_IO_PROTO_ABI_X86_64 "x86_64-abi"
#define XEN_IO_PROTO_ABI_ARM "arm-abi"
#define XEN_IO_PROTO_ABI_NATIVE XEN_IO_PROTO_ABI_X86_64

#endif
