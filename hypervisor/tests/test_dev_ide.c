/* PIIX3 IDE: IDENTIFY, PIO reads and writes (LBA28, LBA48, MULTIPLE), bus-master DMA with PRD
 * tables (including tables and buffers outside guest RAM), read-only images, unplug, and a
 * guest poking random values at every port. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../devices/devices.h"
#include "../devices/pci.h"
#include "test_dev_fake.h"

#define SECTORS 2048u
#define BM 0xc000
#define IDE_FN PCI_DEVFN(1, 1)
static char img[] = "/tmp/kxen-ide-XXXXXX";
static void *host, *piix, *ide;

static uint8_t pattern(uint64_t lba, unsigned i)
{
    return (uint8_t)(lba * 7 + i);
}

static void make_image(void)
{
    int fd = mkstemp(img);
    cr_assert_geq(fd, 0);
    uint8_t s[512];
    for (uint64_t l = 0; l < SECTORS; l++) {
        for (unsigned i = 0; i < 512; i++)
            s[i] = pattern(l, i);
        cr_assert_eq(pwrite(fd, s, 512, (off_t)(l * 512)), 512);
    }
    close(fd);
}

static void start(const char *extra)
{
    fake_machine_reset();
    make_image();
    char opts[128];
    snprintf(opts, sizeof(opts), "hda=%s%s", img, extra);
    host = dev_create("pci-host", NULL);
    piix = dev_create("piix3", NULL);
    ide = dev_create("piix3-ide", opts);
    pci_cfg_wr(IDE_FN, 0x20, 4, BM);
    pci_cfg_wr(IDE_FN, 4, 2, PCI_CMD_IO | PCI_CMD_MASTER);
}

static void setup(void)
{
    start("");
}

static void teardown(void)
{
    dev_destroy("piix3-ide", ide);
    dev_destroy("piix3", piix);
    dev_destroy("pci-host", host);
    cr_assert_eq(fake_io_count(), 0);
    unlink(img);
}

TestSuite(ide, .init = setup, .fini = teardown);

static void taskfile(uint8_t dev, uint8_t count, uint32_t lba)
{
    pout(0x1f6, 1, dev | ((lba >> 24) & 0xf));
    pout(0x1f2, 1, count);
    pout(0x1f3, 1, lba & 0xff);
    pout(0x1f4, 1, (lba >> 8) & 0xff);
    pout(0x1f5, 1, (lba >> 16) & 0xff);
}

static void read_pio_sector(uint8_t *buf)
{
    cr_assert_eq(pin(0x1f7, 1) & 0x89, 0x08, "DRQ, not busy, no error");
    for (unsigned i = 0; i < 512; i += 2) {
        uint16_t w = (uint16_t)pin(0x1f0, 2);
        buf[i] = w & 0xff;
        buf[i + 1] = w >> 8;
    }
}

Test(ide, identify_reports_the_image_size_and_the_transfer_modes)
{
    cr_assert_eq(pci_cfg_rd(IDE_FN, 0, 4), 0x70108086u);
    cr_assert_eq(pci_cfg_rd(IDE_FN, 0x08, 4) >> 8, 0x010180u);
    pout(0x1f6, 1, 0xa0);
    pout(0x1f7, 1, 0xec);
    cr_assert(fake_irq_level[14]);
    uint8_t id[512];
    read_pio_sector(id);
    cr_assert_not(fake_irq_level[14], "the status read acknowledged");
    cr_assert_eq(id[120] | id[121] << 8 | id[122] << 16 | id[123] << 24, SECTORS);
    cr_assert_eq(id[200] | id[201] << 8, SECTORS, "LBA48 capacity");
    cr_assert_eq(id[99] & 0x03, 0x03, "LBA and DMA");
    cr_assert_eq(memcmp(&id[54], "XKNEH RADDSI K", 14), 0, "model, byte-swapped");
    cr_assert_eq(pin(0x1f7, 1) & 0x08, 0, "transfer over");
}

Test(ide, pio_reads_and_writes_move_whole_sectors_at_lba28_and_lba48)
{
    uint8_t s[512];
    taskfile(0xe0, 2, 100);
    pout(0x1f7, 1, 0x20);
    for (unsigned k = 0; k < 2; k++) {
        read_pio_sector(s);
        for (unsigned i = 0; i < 512; i++)
            cr_assert_eq(s[i], pattern(100 + k, i));
    }
    cr_assert_eq(pin(0x1f7, 1) & 0xc9, 0x40);

    /* LBA48: the high bytes go first. */
    pout(0x1f6, 1, 0x40);
    pout(0x1f2, 1, 0);
    pout(0x1f3, 1, 0);
    pout(0x1f4, 1, 0);
    pout(0x1f5, 1, 0);
    pout(0x1f2, 1, 1);
    pout(0x1f3, 1, 0x34);
    pout(0x1f4, 1, 0x02);
    pout(0x1f5, 1, 0);
    pout(0x1f7, 1, 0x34); /* WRITE SECTORS EXT */
    cr_assert(pin(0x3f6, 1) & 0x08, "DRQ for the data");
    for (unsigned i = 0; i < 512; i += 4)
        pout(0x1f0, 4, 0xa5a5a5a5u);
    cr_assert_eq(pin(0x1f7, 1) & 0xc9, 0x40);
    int fd = open(img, O_RDONLY);
    cr_assert_eq(pread(fd, s, 512, 0x234 * 512), 512);
    close(fd);
    cr_assert_eq(s[0], 0xa5);
    cr_assert_eq(s[511], 0xa5);
}

Test(ide, every_pio_block_gets_its_own_interrupt_edge)
{
    taskfile(0xe0, 3, 0);
    pout(0x1f7, 1, 0x20);
    for (unsigned k = 0; k < 3; k++) /* data only: the status register is never read */
        for (unsigned i = 0; i < 256; i++)
            pin(0x1f0, 2);
    cr_assert_eq(fake_irq_rises[14], 3, "one edge per sector, %u", fake_irq_rises[14]);
}

Test(ide, read_multiple_needs_set_multiple_and_then_moves_blocks)
{
    taskfile(0xe0, 4, 0);
    pout(0x1f7, 1, 0xc4);
    cr_assert_eq(pin(0x1f7, 1) & 0x01, 1, "aborted: no block size yet");
    cr_assert_eq(pin(0x1f1, 1), 0x04);
    pout(0x1f2, 1, 3);
    pout(0x1f7, 1, 0xc6);
    cr_assert_eq(pin(0x1f7, 1) & 0x01, 1, "3 is not a power of two");
    pout(0x1f2, 1, 4);
    pout(0x1f7, 1, 0xc6);
    cr_assert_eq(pin(0x1f7, 1) & 0x01, 0);
    taskfile(0xe0, 8, 10);
    pout(0x1f7, 1, 0xc4);
    uint8_t s[512];
    for (unsigned k = 0; k < 8; k++) {
        read_pio_sector(s);
        cr_assert_eq(s[3], pattern(10 + k, 3));
    }
}

Test(ide, ranges_past_the_end_and_unknown_commands_are_errors)
{
    taskfile(0xe0, 2, SECTORS - 1);
    pout(0x1f7, 1, 0x20);
    cr_assert_eq(pin(0x1f7, 1) & 0x09, 0x01);
    cr_assert_eq(pin(0x1f1, 1) & 0x10, 0x10, "IDNF");
    pout(0x1f7, 1, 0xa1); /* IDENTIFY PACKET: not a packet device */
    cr_assert_eq(pin(0x1f7, 1) & 0x01, 1);
    cr_assert_eq(pin(0x1f4, 1), 0, "ATA signature");
    pout(0x1f7, 1, 0x00);
    cr_assert_eq(pin(0x1f1, 1), 0x04);
    pout(0x1f7, 1, 0xe7); /* FLUSH CACHE */
    cr_assert_eq(pin(0x1f7, 1), 0x50);
}

Test(ide, absent_drives_and_channels_read_as_nothing)
{
    pout(0x1f6, 1, 0xb0); /* slave */
    cr_assert_eq(pin(0x1f7, 1), 0, "the absent drive of a pair");
    pout(0x1f7, 1, 0xec);
    cr_assert_not(fake_irq_level[14]);
    cr_assert_eq(pin(0x177, 1), 0xff, "no drive on the secondary channel: floating bus");
    cr_assert_eq(pin(0x376, 1), 0xff);
}

static void prd(uint64_t at, uint32_t addr, uint32_t len, bool eot)
{
    uint8_t *p = fake_dom.ram + at;
    memcpy(p, &addr, 4);
    p[4] = len & 0xff;
    p[5] = (len >> 8) & 0xff;
    p[6] = 0;
    p[7] = eot ? 0x80 : 0;
}

static void dma(uint8_t cmd, uint32_t lba, uint8_t count, uint32_t table, bool to_memory)
{
    pout(BM + 4, 4, table);
    pout(BM, 1, to_memory ? 0x08 : 0);
    taskfile(0xe0, count, lba);
    pout(0x1f7, 1, cmd);
    pout(BM, 1, to_memory ? 0x09 : 0x01);
}

Test(ide, dma_reads_scatter_into_the_prd_buffers_and_interrupt)
{
    prd(0x1000, 0x20000, 512, false);
    prd(0x1008, 0x30000, 1024, true);
    dma(0xc8, 50, 3, 0x1000, true);
    cr_assert(fake_irq_level[14]);
    uint8_t st = (uint8_t)pin(BM + 2, 1);
    cr_assert_eq(st & 0x07, 0x04, "interrupt, not active, no error");
    pout(BM, 1, 0x08);
    pout(BM + 2, 1, 0x04);
    cr_assert_eq(pin(BM + 2, 1) & 0x04, 0, "write-one-to-clear");
    cr_assert_eq(pin(0x1f7, 1) & 0xc9, 0x40);
    for (unsigned i = 0; i < 512; i++)
        cr_assert_eq(fake_dom.ram[0x20000 + i], pattern(50, i));
    for (unsigned i = 0; i < 1024; i++)
        cr_assert_eq(fake_dom.ram[0x30000 + i], pattern(51 + i / 512, i % 512));
}

Test(ide, dma_writes_gather_from_guest_memory)
{
    memset(fake_dom.ram + 0x40000, 0x3c, 1024);
    prd(0x2000, 0x40000, 1024, true);
    dma(0xca, 7, 2, 0x2000, false);
    cr_assert_eq(pin(BM + 2, 1) & 0x07, 0x04);
    uint8_t s[1024];
    int fd = open(img, O_RDONLY);
    cr_assert_eq(pread(fd, s, 1024, 7 * 512), 1024);
    close(fd);
    cr_assert_eq(s[0], 0x3c);
    cr_assert_eq(s[1023], 0x3c);
}

Test(ide, prds_outside_ram_or_too_short_set_the_error_bit_and_abort)
{
    prd(0x1000, FAKE_RAM_SIZE - 256, 512, true); /* the buffer runs past the end of RAM */
    dma(0xc8, 0, 1, 0x1000, true);
    cr_assert_eq(pin(BM + 2, 1) & 0x07, 0x06, "error and interrupt");
    cr_assert_eq(pin(0x1f7, 1) & 0x01, 1);
    pout(BM, 1, 0);
    pout(BM + 2, 1, 0x06);

    dma(0xc8, 0, 1, FAKE_RAM_SIZE - 4, true); /* the table itself is not RAM */
    cr_assert_eq(pin(BM + 2, 1) & 0x02, 0x02);
    pout(BM, 1, 0);
    pout(BM + 2, 1, 0x06);

    prd(0x1000, 0x20000, 512, true);
    dma(0xc8, 0, 2, 0x1000, true); /* the table covers one sector of two */
    cr_assert_eq(pin(BM + 2, 1) & 0x02, 0x02);
    pout(BM, 1, 0);
    pout(BM + 2, 1, 0x06);

    dma(0xca, 0, 1, 0x1000, true); /* a write with the engine set to read */
    cr_assert_eq(pin(BM + 2, 1) & 0x02, 0x02);
}

Test(ide, a_table_of_prds_that_never_ends_is_cut_off)
{
    for (unsigned i = 0; i < 8192; i++)
        prd(0x10000 + 8 * i, 0x40000, 0, false); /* 64 KiB each, no end: loops */
    pout(BM + 4, 4, 0x10000);
    pout(BM, 1, 0x08);
    /* LBA48 count 0 = 65536 sectors > the image: IDNF; so a 2048-sector read instead. */
    taskfile(0xe0, 0, 0);
    pout(0x1f7, 1, 0xc8);
    pout(BM, 1, 0x09);
    cr_assert_eq(pin(0x1f7, 1) & 0x01, 0, "256 sectors fit in two 64 KiB entries");
    cr_assert_eq(pin(BM + 2, 1) & 0x01, 0x01, "a longer table leaves the engine active");
}

Test(ide, unplugging_the_disks_leaves_a_controller_without_drives)
{
    pci_bus_unplug(pci_bus_of(&fake_dom), UNPLUG_NICS);
    cr_assert_eq(pin(0x1f7, 1) & 0x40, 0x40, "a NIC unplug leaves disks alone");
    pci_bus_unplug(pci_bus_of(&fake_dom), UNPLUG_IDE_DISKS);
    cr_assert_eq(pin(0x1f7, 1), 0xff);
    cr_assert_eq(pci_cfg_rd(IDE_FN, 0, 2), 0x8086, "the controller stays");
}

Test(ide, random_port_values_never_crash_the_model)
{
    static const uint16_t ports[] = {0x1f0, 0x1f1, 0x1f2,  0x1f3,  0x1f4,  0x1f5, 0x1f6, 0x1f7,
                                     0x3f6, BM,    BM + 2, BM + 4, BM + 8, 0x170, 0x177};
    srand(1);
    for (unsigned i = 0; i < 200000; i++) {
        uint16_t p = ports[rand() % (sizeof(ports) / sizeof(ports[0]))];
        unsigned size = 1u << (rand() % 3);
        uint32_t v = (uint32_t)rand();
        if (p == 0x1f7 && rand() % 4)
            v = 0xc8 + rand() % 4; /* favour DMA commands */
        if (rand() % 2)
            pout(p, size, v);
        else
            pin(p, size);
    }
}

TestSuite(ide_ro);

Test(ide_ro, a_read_only_image_refuses_writes_before_any_data_moves)
{
    start(",hda-ro=1");
    taskfile(0xe0, 1, 0);
    pout(0x1f7, 1, 0x30);
    cr_assert_eq(pin(0x1f7, 1) & 0x09, 0x01);
    pout(0x1f7, 1, 0xca);
    cr_assert_eq(pin(0x1f7, 1) & 0x09, 0x01);
    taskfile(0xe0, 1, 0);
    pout(0x1f7, 1, 0x20);
    uint8_t s[512];
    read_pio_sector(s);
    cr_assert_eq(s[5], pattern(0, 5));
    teardown();
}

Test(ide_ro, bad_options_are_refused)
{
    fake_machine_reset();
    host = dev_create("pci-host", NULL);
    void *s;
    const struct device_model *m = device_model_find("piix3-ide");
    cr_assert_eq(m->create(&fake_dom, "hde=/dev/null", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "hda-ro=2", &s), -EINVAL);
    cr_assert_eq(m->create(&fake_dom, "hda=/nonexistent", &s), -ENOENT);
    cr_assert_eq(m->create(&fake_dom, "hda=/dev/null", &s), -EINVAL, "not a disk");
    dev_destroy("pci-host", host);
    cr_assert_eq(fake_io_count(), 0);
}
