/* ACPI table building blocks (acpi_tables.h), shared by the PVH and HVM builders' tables. */
#include <string.h>

#include "acpi_tables.h"

struct acpi_rsdp {
    char signature[8];
    uint8_t checksum; /* first 20 bytes */
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt;
    uint32_t length;
    uint64_t xsdt;
    uint8_t ext_checksum; /* all 36 bytes */
    uint8_t reserved[3];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "ACPI 2.0 RSDP is 36 bytes");

uint8_t acpi_sum(const void *p, size_t len)
{
    uint8_t s = 0;
    for (size_t i = 0; i < len; i++)
        s += ((const uint8_t *)p)[i];
    return (uint8_t)-s;
}

void acpi_header(uint8_t *at, const char *sig, uint32_t len, uint8_t rev, const char *table_id)
{
    struct acpi_header h = {
        .length = len, .revision = rev, .oem_revision = 1, .creator_revision = 1};
    memcpy(h.signature, sig, 4);
    memcpy(h.oem_id, "KXEN  ", 6);
    memcpy(h.oem_table_id, table_id, 8);
    memcpy(h.creator_id, "KXEN", 4);
    memcpy(at, &h, sizeof(h));
}

void acpi_finish(uint8_t *at, uint32_t len)
{
    at[offsetof(struct acpi_header, checksum)] = 0;
    at[offsetof(struct acpi_header, checksum)] = acpi_sum(at, len);
}

void acpi_gas_io(uint8_t *at, uint16_t port, uint8_t bits, uint8_t access_size)
{
    struct acpi_gas g = {
        .space_id = 1, .bit_width = bits, .access_size = access_size, .address = port};
    memcpy(at, &g, sizeof(g));
}

void acpi_put16(uint8_t *at, uint16_t v)
{
    memcpy(at, &v, 2);
}

void acpi_put32(uint8_t *at, uint32_t v)
{
    memcpy(at, &v, 4);
}

void acpi_put64(uint8_t *at, uint64_t v)
{
    memcpy(at, &v, 8);
}

uint32_t acpi_madt_lapics(uint8_t *e, unsigned nr_vcpus)
{
    for (unsigned i = 0; i < nr_vcpus; i++, e += ACPI_MADT_LAPIC_LEN) {
        e[0] = 0; /* processor local APIC */
        e[1] = ACPI_MADT_LAPIC_LEN;
        e[2] = (uint8_t)i;    /* ACPI processor UID = Xen vCPU id */
        e[3] = (uint8_t)i;    /* APIC id (KVM's default: the vCPU id) */
        acpi_put32(e + 4, 1); /* enabled */
    }
    return ACPI_MADT_LAPIC_LEN * nr_vcpus;
}

void acpi_root(uint8_t *base, uint64_t base_gpa, uint32_t xsdt_off, const char *table_id,
               const uint64_t *tables, unsigned n)
{
    uint8_t *x = base + xsdt_off;
    uint32_t xsdt_len = (uint32_t)(sizeof(struct acpi_header) + 8 * n);
    acpi_header(x, "XSDT", xsdt_len, 1, table_id);
    memcpy(x + sizeof(struct acpi_header), tables, 8 * n);
    acpi_finish(x, xsdt_len);

    struct acpi_rsdp r = {.revision = 2, .length = sizeof(r), .xsdt = base_gpa + xsdt_off};
    memcpy(r.signature, "RSD PTR ", 8);
    memcpy(r.oem_id, "KXEN  ", 6);
    r.checksum = acpi_sum(&r, 20);
    r.ext_checksum = acpi_sum(&r, sizeof(r));
    memcpy(base, &r, sizeof(r));
}
