/* The save image and migration stream as Xen's tools write them, field for field: the xl
 * save-file header (Xen's tools/xl/xl.h), the libxl stream v2
 * (docs/specs/libxl-migration-stream.pandoc in Xen) and the libxc stream v3
 * (docs/specs/libxc-migration-stream.pandoc). Only structs and numbers; docs/save-format.md
 * says how kxen fills them. Headers marked "big-endian" are; everything else is the host's
 * (little-endian) order. Every record body is padded with zeros to a multiple of 8. */
#ifndef KXL_STREAM_FORMAT_H
#define KXL_STREAM_FORMAT_H

#include <stdint.h>

/* ---- xl save-file header ---- */
#define XL_SAVE_MAGIC "Xen saved domain, xl format\n \0 \r" /* 32 bytes, no terminator */
#define XL_SAVE_MAGIC_LEN 32
#define XL_SAVE_BYTEORDER 0x01020304u
#define XL_MANDATORY_FLAG_JSON (1u << 0)     /* config is JSON, else xl.cfg text */
#define XL_MANDATORY_FLAG_STREAMv2 (1u << 1) /* a libxl stream follows, else a bare libxc one */
struct xl_save_header {
    char magic[XL_SAVE_MAGIC_LEN];
    uint32_t byteorder;
    uint32_t mandatory_flags; /* unknown bits: refuse */
    uint32_t optional_flags;
    uint32_t optional_data_len; /* then: uint32_t config_len, config bytes */
};

/* ---- libxl stream v2 ---- */
#define LIBXL_STREAM_IDENT 0x4c6962786c466d74ull /* "LibxlFmt" */
#define LIBXL_STREAM_VERSION 2
struct libxl_stream_hdr { /* big-endian */
    uint64_t ident;
    uint32_t version;
    uint32_t options; /* bit 0: big-endian records, bit 1: converted legacy stream */
};
#define LIBXL_REC_END 0
#define LIBXL_REC_LIBXC_CONTEXT 1 /* empty; the libxc stream follows */
#define LIBXL_REC_EMULATOR_XENSTORE_DATA 2
#define LIBXL_REC_EMULATOR_CONTEXT 3
#define LIBXL_REC_CHECKPOINT_END 4
#define LIBXL_REC_CHECKPOINT_STATE 5
#define LIBXL_EMULATOR_UNKNOWN 0 /* the id kxen's own state travels under */
struct libxl_emulator_hdr {
    uint32_t id;
    uint32_t index;
};
/* kxen's prologue: an EMULATOR_CONTEXT record (id UNKNOWN, index 1) before LIBXC_CONTEXT that
 * says what the domain needs, so a receiver builds it before the pages arrive and writes them
 * straight into its memory. kxend's state (index 0) at the end must agree with it. */
#define KXL_PROLOGUE_INDEX 1
#define KXL_PROLOGUE_MAGIC 0x5250584bu /* "KXPR" */
#define KXL_PROLOGUE_VERSION 1
struct kxl_prologue {
    uint32_t magic, version;
    char accel[16];
    uint64_t ram_size;
    uint32_t nr_vcpus, pad;
    uint64_t store_pfn, console_pfn;
};

/* ---- libxc stream v3 ---- */
#define LIBXC_IHDR_MARKER 0xffffffffffffffffull
#define LIBXC_IHDR_ID 0x58454e46u /* "XENF" */
#define LIBXC_IHDR_VERSION 3
struct libxc_ihdr { /* big-endian */
    uint64_t marker;
    uint32_t id;
    uint32_t version;
    uint16_t options; /* bit 0: big-endian */
    uint16_t reserved1;
    uint32_t reserved2;
};
#define LIBXC_DHDR_TYPE_X86_PV 1
#define LIBXC_DHDR_TYPE_X86_HVM 2
struct libxc_dhdr {
    uint32_t type;
    uint16_t page_shift;
    uint16_t reserved;
    uint32_t xen_major, xen_minor;
};
struct stream_rhdr { /* both streams' record header */
    uint32_t type;
    uint32_t length; /* of the body, without padding */
};
#define LIBXC_REC_END 0
#define LIBXC_REC_PAGE_DATA 1
#define LIBXC_REC_X86_TSC_INFO 8
#define LIBXC_REC_HVM_CONTEXT 9
#define LIBXC_REC_HVM_PARAMS 10
#define LIBXC_REC_STATIC_DATA_END 16
#define LIBXC_REC_X86_CPUID_POLICY 17
#define LIBXC_REC_X86_MSR_POLICY 18

struct libxc_page_data_hdr {
    uint32_t count;
    uint32_t reserved;
    /* uint64_t pfn[count]; then 4096 bytes for each pfn whose type carries data */
};
#define LIBXC_PFN_MASK ((1ull << 52) - 1)
#define LIBXC_PFN_TYPE_SHIFT 60
#define LIBXC_PFN_TYPE_NOTAB 0x0ull  /* a normal page, with data */
#define LIBXC_PFN_TYPE_XALLOC 0xeull /* allocate only, no data: kxen's zero pages */
#define LIBXC_PFN_TYPE_XTAB 0xfull   /* not present */
#define LIBXC_MAX_BATCH 1024         /* pfns per PAGE_DATA record (Xen's MAX_BATCH_SIZE) */

#define LIBXC_TSC_MODE_DEFAULT 0 /* X86_TSC_INFO mode: native TSC (Xen's TSC_MODE_DEFAULT) */
struct libxc_tsc_info {
    uint32_t mode;
    uint32_t khz;
    uint64_t nsec;
    uint32_t incarnation;
    uint32_t reserved;
};
struct libxc_hvm_param {
    uint64_t index, value;
};
struct libxc_hvm_params_hdr {
    uint32_t count;
    uint32_t reserved;
};

/* HVM_CONTEXT body: descriptors {typecode, instance, length} each followed by its data
 * (Xen's public/hvm/save.h): HEADER, the records kxend copied in Xen's layouts (an HVM
 * domain's PIC, IOAPIC, LAPIC_REGS, PCI_IRQ, PCI_LINK, PIT, RTC), END. */
struct hvm_save_desc {
    uint16_t typecode;
    uint16_t instance;
    uint32_t length;
};
#define HVM_SAVE_CODE_END 0
#define HVM_SAVE_CODE_HEADER 1
#define HVM_SAVE_CODE_MAX 20 /* typecodes are below this (Xen 4.17) */
#define HVM_FILE_MAGIC 0x54381286u
#define HVM_FILE_VERSION 1
struct hvm_save_header_rec {
    uint32_t magic;
    uint32_t version;
    uint64_t changeset;
    uint32_t cpuid;
    uint32_t gtsc_khz;
};

#endif
