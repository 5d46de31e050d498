/* The models' save and load hooks on the fake machine: a body taken in the middle of an IDE
 * PIO read puts the drive back at the same word, the UART and CMOS get their registers back,
 * and corrupt bodies (a PIO position past its buffer, a transfer beyond the disk, an
 * impossible BAR, a NIC ring offset outside the ring, a CMOS index past the NVRAM, a short
 * body) are refused naming the field, with the instance left as it was. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../devices/pci.h"
#include "test_dev_fake.h"

#define IDE_FN PCI_DEVFN(1, 1)
/* Offsets in the IDE body: config[256], then channel 0's buffer, lba, left, buf_pos. */
#define IDE_LBA (256 + 8192)
#define IDE_BUF_POS (256 + 8192 + 16)
#define BODY_MAX (64 * 1024)

static char img[] = "/tmp/kxen-idesave-XXXXXX";
static void *host, *piix, *ide, *uart, *cmos;
static uint8_t body[BODY_MAX];

static int save(const char *model, void *state)
{
    return device_model_find(model)->save(state, body, sizeof(body));
}

static int load(const char *model, void *state, uint32_t len, char *why)
{
    return device_model_find(model)->load(state, body, len, why, 160);
}

static void setup(void)
{
    fake_machine_reset();
    int fd = mkstemp(img);
    cr_assert_geq(fd, 0);
    uint8_t s[512];
    for (unsigned l = 0; l < 64; l++) {
        for (unsigned i = 0; i < 512; i++)
            s[i] = (uint8_t)(l * 5 + i);
        cr_assert_eq(pwrite(fd, s, 512, (off_t)l * 512), 512);
    }
    close(fd);
    char opts[64];
    snprintf(opts, sizeof(opts), "hda=%s", img);
    host = dev_create("pci-host", NULL);
    piix = dev_create("piix3", NULL);
    cmos = dev_create("cmos", "lowmem=0x1000000");
    uart = dev_create("uart", NULL);
    ide = dev_create("piix3-ide", opts);
    pci_cfg_wr(IDE_FN, 0x20, 4, 0xc000);
    pci_cfg_wr(IDE_FN, 4, 2, PCI_CMD_IO | PCI_CMD_MASTER);
}

static void teardown(void)
{
    dev_destroy("piix3-ide", ide);
    dev_destroy("uart", uart);
    dev_destroy("cmos", cmos);
    dev_destroy("piix3", piix);
    dev_destroy("pci-host", host);
    cr_assert_eq(fake_io_count(), 0);
    unlink(img);
}

TestSuite(dev_save, .init = setup, .fini = teardown);

/* A 2-sector PIO read of LBA 10, read up to byte 300 of its first sector. */
static void pio_read_midway(void)
{
    pout(0x1f6, 1, 0xe0);
    pout(0x1f2, 1, 2);
    pout(0x1f3, 1, 10);
    pout(0x1f4, 1, 0);
    pout(0x1f5, 1, 0);
    pout(0x1f7, 1, 0x20);
    for (unsigned i = 0; i < 300; i += 2)
        pin(0x1f0, 2);
}

static uint16_t expected_word(unsigned lba, unsigned byte)
{
    return (uint16_t)((uint8_t)(lba * 5 + byte) | (uint8_t)(lba * 5 + byte + 1) << 8);
}

Test(dev_save, an_ide_pio_read_goes_on_from_the_saved_word)
{
    pio_read_midway();
    int len = save("piix3-ide", ide);
    cr_assert_gt(len, 0);
    for (unsigned i = 300; i < 512; i += 2) /* the rest of the sector moves the drive on */
        pin(0x1f0, 2);
    char why[160] = "";
    cr_assert_eq(load("piix3-ide", ide, (uint32_t)len, why), 0, "%s", why);
    cr_assert_eq(pin(0x1f0, 2), expected_word(10, 300), "back at byte 300 of LBA 10");
    for (unsigned i = 302; i < 512; i += 2)
        pin(0x1f0, 2);
    cr_assert_eq(pin(0x1f0, 2), expected_word(11, 0), "then the second sector");
}

Test(dev_save, corrupt_ide_bodies_are_refused_naming_the_field)
{
    pio_read_midway();
    int len = save("piix3-ide", ide);
    char why[160] = "";
    uint32_t bad = 0x10000;
    memcpy(body + IDE_BUF_POS, &bad, 4);
    cr_assert_eq(load("piix3-ide", ide, (uint32_t)len, why), -EINVAL);
    cr_assert(strstr(why, "channel 0: PIO buffer position 65536"), "%s", why);
    cr_assert_eq(pin(0x1f0, 2), expected_word(10, 300), "the drive did not move");

    save("piix3-ide", ide);
    uint64_t lba = 64; /* the sector still to come would lie past the disk's 64 */
    memcpy(body + IDE_LBA, &lba, 8);
    cr_assert_eq(load("piix3-ide", ide, (uint32_t)len, why), -EINVAL);
    cr_assert(strstr(why, "at LBA 64, the disk has 64"), "%s", why);

    save("piix3-ide", ide);
    uint32_t bar = 0xc003; /* an I/O BAR of 16 bytes with a stray bit */
    memcpy(body + 0x20, &bar, 4);
    cr_assert_eq(load("piix3-ide", ide, (uint32_t)len, why), -EINVAL);
    cr_assert(strstr(why, "PCI BAR4 is 0xc003"), "%s", why);

    cr_assert_eq(load("piix3-ide", ide, (uint32_t)len - 8, why), -EINVAL, "a short body");
    cr_assert(strstr(why, "length"), "%s", why);
}

Test(dev_save, the_uart_and_cmos_get_their_registers_back)
{
    pout(0x3f8 + 7, 1, 0x5a); /* scratch */
    pout(0x3f8 + 3, 1, 0x1b); /* LCR */
    pout(0x70, 1, 0x40);
    pout(0x71, 1, 0x77); /* NVRAM */
    int ulen = save("uart", uart);
    cr_assert_gt(ulen, 0);
    pout(0x3f8 + 7, 1, 0);
    pout(0x3f8 + 3, 1, 0x03);
    char why[160] = "";
    cr_assert_eq(load("uart", uart, (uint32_t)ulen, why), 0, "%s", why);
    cr_assert_eq(pin(0x3f8 + 7, 1), 0x5a);
    cr_assert_eq(pin(0x3f8 + 3, 1), 0x1b);

    int clen = save("cmos", cmos);
    pout(0x70, 1, 0x40);
    pout(0x71, 1, 0);
    cr_assert_eq(load("cmos", cmos, (uint32_t)clen, why), 0, "%s", why);
    pout(0x70, 1, 0x40);
    cr_assert_eq(pin(0x71, 1), 0x77);
    body[14] = 0x90; /* cmos_index */
    cr_assert_eq(load("cmos", cmos, (uint32_t)clen, why), -EINVAL);
    cr_assert(strstr(why, "cmos_index 144"), "%s", why);
}

Test(dev_save, a_nic_ring_offset_outside_its_ring_is_refused)
{
    void *nic = dev_create("rtl8139", NULL);
    int len = save("rtl8139", nic);
    cr_assert_gt(len, 0);
    char why[160] = "";
    cr_assert_eq(load("rtl8139", nic, (uint32_t)len, why), 0, "%s", why);
    body[256 + 0x3a] = 0x00;
    body[256 + 0x3b] = 0x30; /* CBR 0x3000 in an 8 KiB ring */
    cr_assert_eq(load("rtl8139", nic, (uint32_t)len, why), -EINVAL);
    cr_assert(strstr(why, "CBR 12288"), "%s", why);
    dev_destroy("rtl8139", nic);
}
