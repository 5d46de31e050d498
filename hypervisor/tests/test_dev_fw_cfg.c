/* fw-cfg: the signature, ID and numbered keys through the ports, the file directory, etc/e820
 * from the options and the domain's RAM, the ACPI files run through a table loader written
 * from SeaBIOS's description (files read by DMA into RAM, pointers added, checksums fixed)
 * ending in the same tables the direct boot writes, and a guest that selects anything, reads
 * past the end and points DMA descriptors and buffers outside RAM getting zeros or the error
 * bit. Save and load keep the selector and offset and refuse an offset past the item. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kxend/hvm_acpi.h"
#include "test_dev_fake.h"

#define SEL 0x510
#define DATA 0x511
#define DMA_HI 0x514
#define DMA_LO 0x518
#define DESC_GPA 0x1000u
#define CPUS 3

static void *fw;

static void setup(void)
{
    fake_machine_reset();
    fake_dom.nr_vcpus = CPUS;
}

TestSuite(fw_cfg, .init = setup);

static void sel(uint16_t key)
{
    pout(SEL, 2, key);
}

static void rd(void *buf, size_t n)
{
    uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)pin(DATA, 1);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* A DMA descriptor at desc (guest-physical), started by writing its address; returns the
 * control word the device wrote back. */
static uint32_t dma_at(uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
    uint8_t *d = fake_dom.ram + desc;
    put_be32(d, control);
    put_be32(d + 4, len);
    put_be32(d + 8, (uint32_t)(addr >> 32));
    put_be32(d + 12, (uint32_t)addr);
    pout(DMA_LO, 4, __builtin_bswap32((uint32_t)desc));
    return be32(d);
}

static uint32_t dma(uint32_t control, uint32_t len, uint64_t addr)
{
    return dma_at(DESC_GPA, control, len, addr);
}

/* The directory entry called name: its key and size (asserts it exists). */
static uint16_t file_key(const char *name, uint32_t *size)
{
    uint8_t n[4], e[64];
    sel(0x19);
    rd(n, 4);
    for (uint32_t i = 0; i < be32(n); i++) {
        rd(e, 64);
        if (!strcmp((char *)e + 8, name)) {
            *size = be32(e);
            return (uint16_t)(e[4] << 8 | e[5]);
        }
    }
    cr_assert_fail("no file %s", name);
    return 0;
}

static bool has_file(const char *name)
{
    uint8_t n[4], e[64];
    bool found = false;
    sel(0x19);
    rd(n, 4);
    for (uint32_t i = 0; i < be32(n); i++) {
        rd(e, 64);
        found |= !strcmp((char *)e + 8, name);
    }
    return found;
}

Test(fw_cfg, the_signature_id_ram_and_cpu_keys_answer_on_the_ports)
{
    fw = dev_create("fw-cfg", "lowmem=0xf0000,acpi=1");
    char sig[5] = "";
    sel(0);
    rd(sig, 4);
    cr_assert_str_eq(sig, "QEMU");
    uint8_t b[8];
    sel(1);
    rd(b, 4);
    cr_assert_eq(le32(b), 3, "the traditional and the DMA interface");
    sel(3);
    rd(b, 8);
    cr_assert_eq(le64(b), 0xf0000);
    sel(5);
    rd(b, 2);
    cr_assert_eq(b[0] | b[1] << 8, CPUS);
    sel(0x0f);
    rd(b, 2);
    cr_assert_eq(b[0] | b[1] << 8, CPUS);
    cr_assert_eq(pin(DMA_HI, 4), 0x554d4551u, "the DMA register reads \"QEMU CFG\"");
    cr_assert_eq(pin(DMA_LO, 4), 0x47464320u);
    dev_destroy("fw-cfg", fw);
    cr_assert_eq(fake_io_count(), 0);
}

Test(fw_cfg, the_directory_lists_the_files_in_name_order_and_e820_has_the_reserved_top)
{
    fw = dev_create("fw-cfg", "lowmem=0xfc000,acpi=1");
    uint8_t n[4], e[64];
    sel(0x19);
    rd(n, 4);
    cr_assert_eq(be32(n), 4);
    const char *want[] = {"etc/acpi/rsdp", "etc/acpi/tables", "etc/e820", "etc/table-loader"};
    for (unsigned i = 0; i < 4; i++) {
        rd(e, 64);
        cr_assert_str_eq((char *)e + 8, want[i]);
        cr_assert_eq(e[4] << 8 | e[5], 0x20 + i);
    }
    uint32_t size;
    sel(file_key("etc/e820", &size));
    cr_assert_eq(size, 40);
    uint8_t m[40];
    rd(m, 40);
    cr_assert_eq(le64(m), 0);
    cr_assert_eq(le64(m + 8), 0xfc000);
    cr_assert_eq(le32(m + 16), 1, "RAM");
    cr_assert_eq(le64(m + 20), 0xfc000);
    cr_assert_eq(le64(m + 28), FAKE_RAM_SIZE - 0xfc000);
    cr_assert_eq(le32(m + 36), 2, "the pages above are reserved");
    dev_destroy("fw-cfg", fw);

    fw = dev_create("fw-cfg", NULL);
    cr_assert(!has_file("etc/table-loader"), "no ACPI without acpi=1");
    cr_assert(has_file("etc/e820"));
    sel(file_key("etc/e820", &size));
    cr_assert_eq(size, 20, "all of RAM, nothing reserved");
    dev_destroy("fw-cfg", fw);
}

Test(fw_cfg, bad_options_are_refused)
{
    void *s = NULL;
    const struct device_model *m = device_model_find("fw-cfg");
    cr_assert_eq(m->create(&fake_dom, "port=0x600", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "acpi=2", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "lowmem=0x200000", &s), -EINVAL, "more than the RAM");
    cr_assert_eq(m->create(&fake_dom, "lowmem=0", &s), -EINVAL);
    fake_dom.nr_vcpus = 256;
    cr_assert_eq(m->create(&fake_dom, "acpi=1", &s), -EINVAL, "more vCPUs than the MADT holds");
    cr_assert_eq(fake_io_count(), 0);
}

/* ---- a table loader as SeaBIOS runs one ---- */

struct placed {
    char name[56];
    uint32_t gpa, size;
};

static struct placed *placed_find(struct placed *p, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (!strcmp(p[i].name, name))
            return &p[i];
    return NULL;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Runs etc/table-loader: ALLOCATE reads the file by DMA to the next free address of its zone
 * (FSEG from 0xf0000, HIGH from 0x80000), ADD_POINTER adds the source file's address,
 * ADD_CHECKSUM subtracts the range's sum. Returns the RSDP's address. */
static uint32_t run_loader(void)
{
    uint32_t size;
    uint16_t key = file_key("etc/table-loader", &size);
    cr_assert_eq(size % 128, 0);
    uint8_t *ld = malloc(size);
    sel(key);
    rd(ld, size);
    struct placed p[4];
    unsigned n = 0;
    uint32_t next[3] = {0, 0x80000, 0xf0000};
    uint32_t rsdp = 0;
    for (uint32_t off = 0; off < size; off += 128) {
        const uint8_t *c = ld + off;
        uint8_t *ram = fake_dom.ram;
        switch (le32(c)) {
        case 1: {
            uint32_t align = le32(c + 60);
            uint8_t zone = c[64];
            cr_assert(zone == 1 || zone == 2);
            cr_assert(align && !(align & (align - 1)));
            uint32_t at = (next[zone] + align - 1) & ~(align - 1);
            snprintf(p[n].name, 56, "%s", (const char *)c + 4);
            key = file_key(p[n].name, &p[n].size);
            p[n].gpa = at;
            cr_assert_eq(dma(key << 16 | 0x08 | 0x02, p[n].size, at), 0);
            next[zone] = at + p[n].size;
            if (zone == 2)
                rsdp = at;
            n++;
            break;
        }
        case 2: {
            struct placed *dst = placed_find(p, n, (const char *)c + 4);
            struct placed *src = placed_find(p, n, (const char *)c + 60);
            uint32_t at = le32(c + 116);
            uint8_t w = c[120];
            cr_assert(dst && src && (w == 4 || w == 8) && at + w <= dst->size);
            uint64_t v = 0;
            memcpy(&v, ram + dst->gpa + at, w);
            v += src->gpa;
            memcpy(ram + dst->gpa + at, &v, w);
            break;
        }
        case 3: {
            struct placed *f = placed_find(p, n, (const char *)c + 4);
            uint32_t at = le32(c + 60), start = le32(c + 64), len = le32(c + 68);
            cr_assert(f && at < f->size && start + len <= f->size);
            ram[f->gpa + at] = (uint8_t)(ram[f->gpa + at] - sum(ram + f->gpa + start, len));
            break;
        }
        default:
            cr_assert_fail("unknown loader command %u", le32(c));
        }
    }
    free(ld);
    return rsdp;
}

/* The table at gpa has signature sig and sums to zero. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
    cr_assert_lt(gpa, FAKE_RAM_SIZE);
    const uint8_t *t = fake_dom.ram + gpa;
    cr_assert_eq(memcmp(t, sig, 4), 0, "%.4s at %#llx, expected %s", (const char *)t,
                 (unsigned long long)gpa, sig);
    if (strcmp(sig, "FACS"))
        cr_assert_eq(sum(t, le32(t + 4)), 0, "%s's checksum", sig);
    return t;
}

Test(fw_cfg, the_table_loader_places_the_direct_boot_tables_with_every_pointer_and_checksum_fixed)
{
    fw = dev_create("fw-cfg", "lowmem=0xfc000,acpi=1");
    uint32_t rsdp = run_loader();
    const uint8_t *r = fake_dom.ram + rsdp;
    cr_assert_eq(rsdp & 15, 0);
    cr_assert_eq(memcmp(r, "RSD PTR ", 8), 0);
    cr_assert_eq(sum(r, 20), 0, "the RSDP's checksum");
    cr_assert_eq(sum(r, 36), 0, "the RSDP's extended checksum");
    const uint8_t *x = table_at(le64(r + 24), "XSDT");
    const uint8_t *fadt = table_at(le64(x + 36), "FACP");
    const uint8_t *madt = table_at(le64(x + 44), "APIC");
    const uint8_t *facs = table_at(le32(fadt + 36), "FACS");
    cr_assert_eq((facs - fake_dom.ram) & 63, 0, "the FACS is 64-byte aligned");
    const uint8_t *dsdt = table_at(le32(fadt + 40), "DSDT");
    cr_assert_eq(le64(fadt + 140), (uint64_t)(dsdt - fake_dom.ram));
    cr_assert_eq(le32(madt + 4), 44 + 8 * CPUS + 12 + 10, "%u local APICs", CPUS);

    /* The tables are the direct boot's, built for the address the loader chose. */
    uint32_t base = le64(r + 24) - 0x40;
    static uint8_t img[HVM_ACPI_IMAGE_MAX];
    int len = hvm_acpi_build(img, sizeof(img), base, CPUS);
    cr_assert_gt(len, 0);
    cr_assert_eq(memcmp(fake_dom.ram + base + 0x40, img + 0x40, (size_t)len - 0x40), 0);
    cr_assert_eq(memcmp(r + 9, img + 9, HVM_ACPI_RSDP_LEN - 9), 0);
    dev_destroy("fw-cfg", fw);
}

Test(fw_cfg, the_image_built_at_two_addresses_differs_only_in_the_listed_pointers_and_sums)
{
    static uint8_t a[HVM_ACPI_IMAGE_MAX], b[HVM_ACPI_IMAGE_MAX];
    int la = hvm_acpi_build(a, sizeof(a), 0, 2), lb = hvm_acpi_build(b, sizeof(b), 0x12345000, 2);
    cr_assert(la > 0 && la == lb);
    for (int i = 0; i < la; i++) {
        if (a[i] == b[i])
            continue;
        bool listed = i == HVM_ACPI_RSDP_SUM || i == HVM_ACPI_RSDP_EXT_SUM;
        for (unsigned p = 0; p < hvm_acpi_nr_pointers; p++) {
            const struct hvm_acpi_pointer *ptr = &hvm_acpi_pointers[p];
            listed |= (uint32_t)i >= ptr->field && (uint32_t)i < ptr->field + ptr->size;
            listed |= ptr->table != HVM_ACPI_RSDP && (uint32_t)i == ptr->table + 9;
        }
        cr_assert(listed, "byte %#x depends on the address but is in no listed field", i);
    }
}

/* ---- hostile guests ---- */

Test(fw_cfg, reads_past_the_end_or_of_missing_keys_give_zeros)
{
    fw = dev_create("fw-cfg", NULL);
    uint8_t b[8];
    sel(0);
    rd(b, 8);
    cr_assert_eq(memcmp(b, "QEMU\0\0\0\0", 8), 0);
    for (unsigned key = 0x1a; key < 0x10000; key += 0x1234) {
        if (key == 0x4000 || key == 0x4001)
            continue;
        sel((uint16_t)key);
        rd(b, 4);
        cr_assert_eq(le32(b), 0, "key %#x", key);
    }
    sel(0x4000); /* the old write bit selects the same item */
    rd(b, 4);
    cr_assert_eq(memcmp(b, "QEMU", 4), 0);
    pout(DATA, 1, 0x55); /* ignored */
    pout(SEL, 1, 3);     /* not a selector write */
    pout(SEL, 4, 3);
    cr_assert_eq(pin(DATA, 2), 0, "only byte reads");
    cr_assert_eq(pin(SEL, 2), 0);
    dev_destroy("fw-cfg", fw);
}

Test(fw_cfg, dma_outside_ram_sets_the_error_bit_and_touches_nothing)
{
    fw = dev_create("fw-cfg", NULL);
    cr_assert_eq(dma(0 << 16 | 0x08 | 0x02, 4, 0x2000), 0);
    cr_assert_eq(memcmp(fake_dom.ram + 0x2000, "QEMU", 4), 0, "a good read");
    cr_assert_eq(dma(0x08 | 0x02, 16, FAKE_RAM_SIZE - 8), 1, "a buffer that ends past RAM");
    cr_assert_eq(dma(0x08 | 0x02, 4, 1ull << 40), 1, "a buffer far outside RAM");
    cr_assert_eq(dma(0x08 | 0x02, 0xffffffffu, ~0ull - 0x10), 1, "a buffer that wraps");
    cr_assert_eq(dma(0x08 | 0x02, 0xffffffffu, 0), 1, "longer than RAM");
    cr_assert_eq(dma(0x08 | 0x10, 4, 0x2000), 1, "nothing is writable");
    /* A descriptor outside RAM: dropped (it cannot even take its error bit). */
    pout(DMA_LO, 4, __builtin_bswap32(FAKE_RAM_SIZE - 4));
    pout(DMA_HI, 4, __builtin_bswap32(1));
    pout(DMA_LO, 4, __builtin_bswap32(DESC_GPA));
    pout(DMA_LO, 4, 0xffffffffu);
    /* The high half is used once: the next low write alone means below 4 GiB. */
    cr_assert_eq(dma(0x08 | 0x02, 4, 0x3000), 0);
    cr_assert_eq(memcmp(fake_dom.ram + 0x3000, "QEMU", 4), 0);
    /* A read longer than the item: the rest is zeros; a skip past the end stops at it. */
    memset(fake_dom.ram + 0x4000, 0xee, 16);
    cr_assert_eq(dma(0x08 | 0x02, 16, 0x4000), 0);
    cr_assert_eq(memcmp(fake_dom.ram + 0x4000, "QEMU\0\0\0\0\0\0\0\0\0\0\0\0", 16), 0);
    cr_assert_eq(dma(0x08 | 0x04, 0xffffffffu, 0), 0);
    cr_assert_eq(pin(DATA, 1), 0);
    dev_destroy("fw-cfg", fw);
}

Test(fw_cfg, random_port_and_dma_traffic_never_reaches_outside_ram)
{
    fw = dev_create("fw-cfg", "lowmem=0x80000,acpi=1");
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned port = 0x510 + (unsigned)(x % 12), size = 1u << ((x >> 8) % 3);
        if ((x >> 16) & 1) {
            pin((uint16_t)port, size);
        } else if (port == DMA_LO && ((x >> 17) & 1)) {
            /* a descriptor somewhere in or near RAM, with any control, length and buffer */
            uint64_t desc = (x >> 20) % (FAKE_RAM_SIZE + 64);
            if (desc + 16 <= FAKE_RAM_SIZE) {
                uint8_t *d = fake_dom.ram + desc;
                uint64_t y = x * 0x2545f4914f6cdd1dull;
                put_be32(d, (uint32_t)y);
                put_be32(d + 4, (uint32_t)(y >> 32) % (FAKE_RAM_SIZE * 2));
                put_be32(d + 8, (y >> 40) & 1);
                put_be32(d + 12, (uint32_t)(y >> 12) % (FAKE_RAM_SIZE * 2));
            }
            pout(DMA_LO, 4, __builtin_bswap32((uint32_t)desc));
        } else {
            pout((uint16_t)port, size, (uint32_t)(x >> 24));
        }
    }
    dev_destroy("fw-cfg", fw);
    cr_assert_eq(fake_io_count(), 0);
}

/* ---- save and load ---- */

Test(fw_cfg, save_and_load_keep_the_position_and_refuse_an_offset_past_the_item)
{
    fw = dev_create("fw-cfg", "acpi=1");
    const struct device_model *m = device_model_find("fw-cfg");
    uint8_t body[64], b, two[2];
    char why[160] = "";
    sel(0);
    rd(two, 2);
    int len = m->save(fw, body, sizeof(body));
    cr_assert_eq(len, 16);
    sel(1);
    cr_assert_eq(m->load(fw, body, (uint32_t)len, why, sizeof(why)), 0, "%s", why);
    rd(&b, 1);
    cr_assert_eq(b, 'M', "the third byte of the signature");

    uint8_t bad[16];
    memcpy(bad, body, 16);
    bad[4] = 5; /* offset 5 of the 4-byte signature */
    cr_assert_eq(m->load(fw, bad, 16, why, sizeof(why)), -EINVAL);
    cr_assert(strstr(why, "offset"), "%s", why);
    memcpy(bad, body, 16);
    bad[0] = 0x77, bad[4] = 1; /* a missing key has no bytes */
    cr_assert_eq(m->load(fw, bad, 16, why, sizeof(why)), -EINVAL);
    memcpy(bad, body, 16);
    bad[2] = 1;
    cr_assert_eq(m->load(fw, bad, 16, why, sizeof(why)), -EINVAL, "padding");
    cr_assert_eq(m->load(fw, body, 15, why, sizeof(why)), -EINVAL);
    rd(&b, 1);
    cr_assert_eq(b, 'U', "the refused bodies changed nothing");
    dev_destroy("fw-cfg", fw);
}
