/* ACPI table building blocks shared by the builders' tables (loader_acpi.c for Linux PVH,
 * hvm_acpi.c for the emulated PC): the common header, generic addresses, checksums, the
 * RSDP -> XSDT root and the MADT's local APIC entries. Layouts are the ACPI specification's
 * (5.2 "ACPI System Description Tables"); every table is built in a host buffer that is guest
 * RAM, little-endian, unaligned fields written with memcpy. */
#ifndef KXEND_ACPI_TABLES_H
#define KXEND_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    char creator_id[4];
    uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {     /* generic address structure */
    uint8_t space_id; /* 1: system I/O */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size; /* 1: byte */
    uint64_t address;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header is 36 bytes");
_Static_assert(sizeof(struct acpi_gas) == 12, "ACPI GAS is 12 bytes");

#define ACPI_MADT_HEADER_LEN 44u /* header, local APIC address, flags */
#define ACPI_MADT_LAPIC_LEN 8u
#define ACPI_MAX_VCPUS 255 /* MADT local APIC entries carry 8-bit ids */

/* The checksum byte that makes len bytes at p sum to zero. */
uint8_t acpi_sum(const void *p, size_t len);
/* A table header at at: signature sig, length len, revision rev, OEM table id (8 chars). */
void acpi_header(uint8_t *at, const char *sig, uint32_t len, uint8_t rev, const char *table_id);
/* Fills the header's checksum over the table's len bytes (last step of a table). */
void acpi_finish(uint8_t *at, uint32_t len);
/* A system-I/O generic address: bits wide, accessed access_size (1 byte .. 4 dword) at a time. */
void acpi_gas_io(uint8_t *at, uint16_t port, uint8_t bits, uint8_t access_size);
void acpi_put16(uint8_t *at, uint16_t v);
void acpi_put32(uint8_t *at, uint32_t v);
void acpi_put64(uint8_t *at, uint64_t v);
/* nr_vcpus processor local APIC entries at e: ACPI processor UID = APIC id = vCPU id (KVM's
 * default APIC ids; Linux takes the UID as the Xen vCPU id), all enabled. Returns their size. */
uint32_t acpi_madt_lapics(uint8_t *e, unsigned nr_vcpus);
/* The root: an ACPI 2.0 RSDP at base (guest-physical base_gpa) pointing to an XSDT at
 * base + xsdt_off (OEM table id table_id) that lists the n tables at the guest-physical
 * addresses tables[]. */
void acpi_root(uint8_t *base, uint64_t base_gpa, uint32_t xsdt_off, const char *table_id,
               const uint64_t *tables, unsigned n);

#endif
