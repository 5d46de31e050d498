/* The MP configuration table of a directly booted HVM guest with more than one vCPU (Intel's
 * MultiProcessor Specification 1.4, chapter 4), the table a BIOS leaves so that an OS without
 * ACPI finds its processors: a floating pointer structure ("_MP_") in the BIOS area, where
 * Linux scans for it (0xf0000-0xfffff, 16-byte aligned), and a configuration table ("PCMP")
 * with one processor entry per vCPU (local APIC id = vCPU id, vCPU 0 the bootstrap processor)
 * and the ISA bus. It names no I/O APIC and sets the IMCR bit (PIC mode): Linux keeps the
 * 8259s behind the boot CPU's LINT0 (ExtINT), as it does without any table, so every
 * interrupt line reaches the guest as before and only the processors are added. A one-vCPU
 * guest gets no table: its boot stays exactly as without one.
 * Invariant: both structures lie in [MP_GPA, MP_GPA + MP_SPAN), after the $PIR table and inside
 * the reserved BIOS area of the e820 map hvm_linux.c writes. */
#include <string.h>

#include "hvm_internal.h"
#include "kxend/guest_mem.h"

#define MP_GPA 0xf0100ull /* after the $PIR table at 0xf0000 */
#define MP_SPAN 0x1000u
#define MP_CONFIG_OFF 0x10u
#define MP_HEADER_LEN 44u
#define MP_CPU_LEN 20u
#define MP_BUS_LEN 8u
#define MP_MAX_CPUS ((MP_SPAN - MP_CONFIG_OFF - MP_HEADER_LEN - MP_BUS_LEN) / MP_CPU_LEN)
#define MP_SPEC_REV 4          /* 1.4 */
#define MP_IMCR_PIC_MODE 0x80u /* feature byte 2: the IMCR is present, the PIC is in use */
#define MP_LAPIC_GPA 0xfee00000u
#define MP_LAPIC_VERSION 0x14
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BSP 0x02
#define MP_CPU_SIGNATURE 0x600u /* family 6: read, never acted on, by Linux */
#define MP_CPU_FEATURE_APIC 0x200u

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

void hvm_mptable_write(struct domain *d)
{
    unsigned n = d->nr_vcpus;
    if (n < 2)
        return;
    if (n > MP_MAX_CPUS)
        n = MP_MAX_CPUS;
    uint8_t t[MP_SPAN];
    memset(t, 0, sizeof(t));
    uint8_t *cfg = t + MP_CONFIG_OFF;
    uint8_t *e = cfg + MP_HEADER_LEN;
    for (unsigned i = 0; i < n; i++, e += MP_CPU_LEN) {
        e[0] = 0; /* processor */
        e[1] = (uint8_t)i;
        e[2] = MP_LAPIC_VERSION;
        e[3] = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0);
        put32(e + 4, MP_CPU_SIGNATURE);
        put32(e + 8, MP_CPU_FEATURE_APIC);
    }
    e[0] = 1; /* bus 0: ISA */
    memcpy(e + 2, "ISA   ", 6);
    e += MP_BUS_LEN;

    uint16_t len = (uint16_t)(e - cfg);
    memcpy(cfg, "PCMP", 4);
    put16(cfg + 4, len);
    cfg[6] = MP_SPEC_REV;
    memcpy(cfg + 8, "KXEN    ", 8);
    memcpy(cfg + 16, "HVM         ", 12);
    put16(cfg + 34, (uint16_t)(n + 1)); /* entry count */
    put32(cfg + 36, MP_LAPIC_GPA);
    cfg[7] = checksum(cfg, len);

    memcpy(t, "_MP_", 4);
    put32(t + 4, (uint32_t)(MP_GPA + MP_CONFIG_OFF));
    t[8] = 1; /* length in 16-byte units */
    t[9] = MP_SPEC_REV;
    t[12] = MP_IMCR_PIC_MODE;
    t[10] = checksum(t, 16);
    copy_to_guest_phys(d, MP_GPA, t, MP_CONFIG_OFF + len);
}
