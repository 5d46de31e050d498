/* The emulated PC's ACPI tables (hvm_acpi.c) as a directly booted Linux finds them: the RSDP
 * in boot_params and at 0xe0000, every checksum, the FADT's registers equal to the acpi-pm
 * model's (kxend/hvm_acpi.h), the MADT's CPUs, IOAPIC and SCI override, a DSDT with the PCI
 * root bridge, its \_PRT routes as the toolstack presets them, and \_S5. Set KXEN_ACPI_DUMP=DIR
 * to write the tables there (for `iasl -d`). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kxend/hvm_internal.h"
#include "kxen/ctl_hvm.h"
#include "kxend/guest_mem.h"
#include "kxend/hvm_acpi.h"

static struct domain *pc(unsigned vcpus)
{
    static struct accel_ops ops;
    ops = *accel_find("soft");
    ops.hvm_init = NULL;
    kxend_accel = &ops;
    struct domain_config cfg = {.name = "acpi", .ram_bytes = 32ull << 20, .nr_vcpus = vcpus};
    struct domain *d;
    cr_assert_eq(domain_create(&cfg, &d), 0);
    char msg[256] = "";
    cr_assert_eq(hvm_prepare(d, false, false, 0, 0, msg, sizeof(msg)), 0, "%s", msg);
    return d;
}

static void drop(struct domain *d)
{
    domain_destroy(d);
    domain_put(d);
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return s;
}

/* The table at gpa with signature sig: its checksum holds. */
static const uint8_t *table(struct domain *d, uint64_t gpa, const char *sig)
{
    const uint8_t *t = guest_phys_ptr(d, gpa, 36);
    cr_assert_not_null(t);
    cr_assert_eq(memcmp(t, sig, 4), 0, "%.4s at %#llx", sig, (unsigned long long)gpa);
    uint32_t len = rd32(t + 4);
    t = guest_phys_ptr(d, gpa, len);
    cr_assert_eq(sum(t, len), 0, "%s checksum", sig);
    const char *dir = getenv("KXEN_ACPI_DUMP");
    if (dir) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%.4s.dat", dir, sig);
        FILE *f = fopen(path, "w");
        if (f) {
            fwrite(t, 1, len, f);
            fclose(f);
        }
    }
    return t;
}

/* The XSDT's entry with signature sig. */
static const uint8_t *find(struct domain *d, const uint8_t *xsdt, const char *sig)
{
    for (uint32_t off = 36; off < rd32(xsdt + 4); off += 8) {
        const uint8_t *t = guest_phys_ptr(d, rd64(xsdt + off), 4);
        if (t && !memcmp(t, sig, 4))
            return table(d, rd64(xsdt + off), sig);
    }
    cr_assert_fail("no %s in the XSDT", sig);
    return NULL;
}

static const uint8_t *memmem_in(const uint8_t *t, size_t len, const void *what, size_t n)
{
    return memmem(t, len, what, n);
}

Test(hvm_acpi, the_tables_describe_the_pm_device_the_cpus_the_ioapic_and_the_pci_routes)
{
    struct domain *d = pc(3);
    uint64_t rsdp_gpa = 0;
    cr_assert_eq(hvm_acpi_tables(d, 3, &rsdp_gpa), 0);
    cr_assert_eq(rsdp_gpa, 0xe0000, "where Linux's legacy scan finds it");
    const uint8_t *rsdp = guest_phys_ptr(d, rsdp_gpa, 36);
    cr_assert_eq(memcmp(rsdp, "RSD PTR ", 8), 0);
    cr_assert_eq(sum(rsdp, 20), 0);
    cr_assert_eq(sum(rsdp, 36), 0);
    const uint8_t *xsdt = table(d, rd64(rsdp + 24), "XSDT");

    const uint8_t *fadt = find(d, xsdt, "FACP");
    cr_assert_eq(fadt[46] | fadt[47] << 8, ACPI_SCI_IRQ);
    cr_assert_eq(rd32(fadt + 48), 0, "no SMI command port: always in ACPI mode");
    cr_assert_eq(rd32(fadt + 56), ACPI_PM1A_EVT);
    cr_assert_eq(rd32(fadt + 64), ACPI_PM1A_CNT);
    cr_assert_eq(rd32(fadt + 76), ACPI_PM_TMR);
    cr_assert_eq(fadt[88], 4);
    cr_assert_eq(fadt[89], 2);
    cr_assert_eq(fadt[91], 4);
    uint32_t flags = rd32(fadt + 112);
    cr_assert_eq(flags & (1u << 20), 0, "not hardware-reduced");
    cr_assert_eq(flags & (1u << 4), 0, "a fixed power button");
    cr_assert_neq(flags & (1u << 5), 0, "no fixed sleep button");
    const uint8_t *facs = guest_phys_ptr(d, rd32(fadt + 36), 64);
    cr_assert_eq(memcmp(facs, "FACS", 4), 0);
    cr_assert_eq(rd32(facs + 24) & 1, 0, "no S4BIOS");
    const uint8_t *dsdt = table(d, rd32(fadt + 40), "DSDT");
    cr_assert_eq(rd64(fadt + 140), rd32(fadt + 40), "X_DSDT");

    const uint8_t *madt = find(d, xsdt, "APIC");
    uint32_t mlen = rd32(madt + 4);
    unsigned lapics = 0, ioapics = 0, sci_level = 0;
    for (uint32_t off = 44; off < mlen; off += madt[off + 1]) {
        const uint8_t *e = madt + off;
        cr_assert_geq(e[1], 2);
        if (e[0] == 0) {
            cr_assert_eq(e[2], lapics, "UID = vCPU id");
            cr_assert_eq(e[3], lapics, "APIC id = vCPU id");
            lapics++;
        } else if (e[0] == 1) {
            cr_assert_eq(rd32(e + 4), 0xfec00000u);
            cr_assert_eq(rd32(e + 8), 0, "GSI base");
            ioapics++;
        } else if (e[0] == 2) {
            cr_assert_eq(e[3], ACPI_SCI_IRQ, "the only override is the SCI's");
            cr_assert_eq(rd32(e + 4), ACPI_SCI_IRQ);
            cr_assert_eq(e[8] | e[9] << 8, 0x0d, "level, active high");
            sci_level++;
        }
    }
    cr_assert_eq(lapics, 3);
    cr_assert_eq(ioapics, 1);
    cr_assert_eq(sci_level, 1);
    cr_assert_eq(rd32(madt + 40) & 1, 1, "the PC's 8259 pair is there too");

    uint32_t dlen = rd32(dsdt + 4);
    cr_assert_not_null(memmem_in(dsdt, dlen, "PCI0", 4));
    cr_assert_not_null(memmem_in(dsdt, dlen, "\x0c\x41\xd0\x0a\x03", 5), "PNP0A03");
    cr_assert_not_null(memmem_in(dsdt, dlen, "\x08_S5_\x12\x08\x04\x0a\x05\x0a\x05", 11));
    const uint8_t *prt = memmem_in(dsdt, dlen, "\x08_PRT\x12", 6);
    cr_assert_not_null(prt);
    /* 00:03.0 (the NIC) INTA: PIRQ (3 + 0) & 3 = D. */
    const uint8_t nic_inta[] = {0x12,
                                0x0c,
                                0x04,
                                0x0c,
                                0xff,
                                0xff,
                                0x03,
                                0x00,
                                0x0a,
                                0x00,
                                0x00,
                                0x0a,
                                (uint8_t)KXEN_HVM_PIRQ_IRQ(3)};
    cr_assert_not_null(memmem_in(prt, dlen - (size_t)(prt - dsdt), nic_inta, sizeof(nic_inta)));
    drop(d);
}

Test(hvm_acpi, direct_boot_with_acpi_hands_linux_the_rsdp_and_reserves_the_tables)
{
    struct domain *d = pc(1);
    static uint8_t img[0x3000];
    memset(img, 0, sizeof(img));
    img[0x1f1] = 1;
    img[0x1fe] = 0x55, img[0x1ff] = 0xaa;
    img[0x200] = 0xeb, img[0x201] = 0x6a;
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = 0x0e, img[0x207] = 0x02; /* 2.14 */
    img[0x211] = 0x01;
    uint32_t v = 0x1000;
    memcpy(img + 0x260, &v, 4);
    char msg[256] = "";
    cr_assert_eq(hvm_load_linux(d, img, sizeof(img), -1, "", true, msg, sizeof(msg)), 0, "%s", msg);
    const uint8_t *zp = guest_phys_ptr(d, d->vcpus[0]->boot.rsi, 4096);
    cr_assert_eq(rd64(zp + 0x70), 0xe0000, "boot_params.acpi_rsdp_addr");
    bool reserved = false;
    for (unsigned i = 0; i < zp[0x1e8]; i++) {
        const uint8_t *e = zp + 0x2d0 + 20 * i;
        if (rd64(e) <= 0xe0000 && rd64(e) + rd64(e + 8) >= 0x100000 && rd32(e + 16) == 2)
            reserved = true;
    }
    cr_assert(reserved, "e820 reserves 0xe0000-0x100000");
    drop(d);
}

Test(hvm_acpi, a_vcpu_count_the_madt_cannot_hold_is_refused)
{
    struct domain *d = pc(1);
    uint64_t rsdp;
    cr_assert_eq(hvm_acpi_tables(d, 0, &rsdp), -EINVAL);
    cr_assert_eq(hvm_acpi_tables(d, 256, &rsdp), -EINVAL);
    drop(d);
}
