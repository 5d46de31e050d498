/* hvmtest's disk checks on the primary master of the PIIX3 IDE controller: IDENTIFY, a PIO
 * read of the sector the test wrote on the host, PIO and DMA writes the test reads back on the
 * host, a DMA read that scatters over two PRD entries, and a DMA aimed at guest-physical
 * memory that is not RAM, which must end with the bus master's error bit. Polled, nIEN set. */
#include "hvmtest.h"

#define ATA 0x1f0
#define ATA_CTL 0x3f6
#define BM_PORT 0xc000
#define ST_BSY 0x80
#define ST_DRQ 0x08
#define ST_ERR 0x01
#define NOT_RAM 0xf0000000u /* in the PCI hole, below the firmware: nothing there */

static uint8_t sector[512];

uint8_t ide_wait_idle(void)
{
    for (int i = 0; i < 1000000; i++) {
        uint8_t s = inb(ATA + 7);
        if (!(s & ST_BSY))
            return s;
    }
    return 0xff;
}

static void taskfile(uint32_t lba, uint8_t count)
{
    outb(ATA + 6, 0xe0 | ((lba >> 24) & 0xf));
    outb(ATA + 2, count);
    outb(ATA + 3, lba & 0xff);
    outb(ATA + 4, (lba >> 8) & 0xff);
    outb(ATA + 5, (lba >> 16) & 0xff);
}

static bool pio(bool write, uint32_t lba, uint8_t *buf)
{
    taskfile(lba, 1);
    outb(ATA + 7, write ? 0x30 : 0x20);
    uint8_t s = ide_wait_idle();
    if ((s & (ST_DRQ | ST_ERR)) != ST_DRQ)
        return false;
    for (unsigned i = 0; i < 512; i += 2) {
        if (write)
            outw(ATA, (uint16_t)(buf[i] | buf[i + 1] << 8));
        else {
            uint16_t w = inw(ATA);
            buf[i] = w & 0xff;
            buf[i + 1] = w >> 8;
        }
    }
    return !(ide_wait_idle() & (ST_ERR | ST_DRQ));
}

struct dma_result {
    uint8_t bm_status, ata_status;
};

/* One DMA command over n PRD entries; the engine is stopped and its flags cleared after. */
static struct dma_result dma(bool write, uint32_t lba, uint8_t count, const uint32_t *addr,
                             const uint16_t *len, unsigned n)
{
    volatile uint32_t *prd = (volatile uint32_t *)SCRATCH_PRD;
    for (unsigned i = 0; i < n; i++) {
        prd[2 * i] = addr[i];
        prd[2 * i + 1] = len[i] | (i == n - 1 ? 0x80000000u : 0);
    }
    uint8_t dir = write ? 0 : 0x08;
    outb(BM_PORT, dir);
    outb(BM_PORT + 2, 0x06);
    outl(BM_PORT + 4, (uint32_t)SCRATCH_PRD);
    taskfile(lba, count);
    outb(ATA + 7, write ? 0xca : 0xc8);
    outb(BM_PORT, dir | 1);
    struct dma_result r = {0, 0};
    for (int i = 0; i < 1000000; i++) {
        r.bm_status = inb(BM_PORT + 2);
        if (r.bm_status & 0x06)
            break;
    }
    outb(BM_PORT, dir);
    r.ata_status = ide_wait_idle();
    outb(BM_PORT + 2, 0x06);
    return r;
}

static void fill(uint8_t *p, unsigned len, const char *text)
{
    unsigned t = 0;
    for (unsigned i = 0; i < len; i++) {
        p[i] = text[t] ? (uint8_t)text[t++] : '.';
    }
}

static bool starts_with(const uint8_t *p, const char *text)
{
    for (; *text; text++, p++)
        if (*p != (uint8_t)*text)
            return false;
    return true;
}

void ide_dma_read_for_irq(void)
{
    uint32_t addr[1] = {(uint32_t)SCRATCH_DMA};
    uint16_t len[1] = {512};
    volatile uint32_t *prd = (volatile uint32_t *)SCRATCH_PRD;
    prd[0] = addr[0];
    prd[1] = len[0] | 0x80000000u;
    outb(BM_PORT, 0x08);
    outb(BM_PORT + 2, 0x06);
    outl(BM_PORT + 4, (uint32_t)SCRATCH_PRD);
    taskfile(5, 1);
    outb(ATA + 7, 0xc8);
    outb(BM_PORT, 0x09); /* the transfer completes and the drive interrupts */
    outb(BM_PORT, 0x08);
}

void ide_tests(int devfn)
{
    pci_write((unsigned)devfn, 0x20, BM_PORT | 1);
    pci_write((unsigned)devfn, 0x04, 0x5); /* I/O and bus master */
    outb(ATA_CTL, 0x02);                   /* nIEN: this guest polls */

    outb(ATA + 6, 0xa0);
    outb(ATA + 7, 0xec);
    uint8_t s = ide_wait_idle();
    bool id_ok = (s & (ST_DRQ | ST_ERR)) == ST_DRQ;
    uint16_t id[256];
    for (unsigned i = 0; id_ok && i < 256; i++)
        id[i] = inw(ATA);
    uint32_t sectors = id_ok ? (uint32_t)id[60] | (uint32_t)id[61] << 16 : 0;
    check(id_ok && (id[49] & 0x300) == 0x300, "ide: IDENTIFY of a disk with LBA and DMA");
    say("ide: %u sectors", sectors);

    check(pio(false, 5, sector) && starts_with(sector, "KXEN-HVMTEST-SECTOR-5"),
          "ide: PIO read of sector 5 returns what the host wrote");
    fill(sector, sizeof(sector), "hvmtest PIO sector 100");
    check(pio(true, 100, sector), "ide: PIO write of sector 100");

    /* DMA read of sectors 100-101 over two PRD entries (512 + 512 bytes, far apart). */
    uint8_t *a = (uint8_t *)SCRATCH_DMA, *b = (uint8_t *)(SCRATCH_DMA + 0x10000);
    a[0] = b[0] = 0;
    uint32_t addr2[2] = {(uint32_t)SCRATCH_DMA, (uint32_t)SCRATCH_DMA + 0x10000};
    uint16_t len2[2] = {512, 512};
    struct dma_result r = dma(false, 100, 2, addr2, len2, 2);
    check(!(r.bm_status & 0x02) && !(r.ata_status & ST_ERR) &&
              starts_with(a, "hvmtest PIO sector 100"),
          "ide: DMA read scatters over two PRD entries");

    fill(a, 2048, "hvmtest DMA sectors 200-203");
    uint32_t addr1[1] = {(uint32_t)SCRATCH_DMA};
    uint16_t len1[1] = {2048};
    r = dma(true, 200, 4, addr1, len1, 1);
    check(!(r.bm_status & 0x02) && !(r.ata_status & ST_ERR), "ide: DMA write of sectors 200-203");
    check(pio(false, 203, sector) && sector[0] == '.', "ide: PIO reads back the DMA write");

    uint32_t bad[1] = {NOT_RAM};
    r = dma(false, 0, 1, bad, len2, 1);
    check((r.bm_status & 0x02) && (r.ata_status & ST_ERR),
          "ide: DMA into memory that is not RAM ends with the error bit");
    check(pio(false, 5, sector) && starts_with(sector, "KXEN-HVMTEST-SECTOR-5"),
          "ide: the disk still works after the refused DMA");
}
