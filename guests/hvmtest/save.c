/* hvmtest's save mode (tests/system/xl_save_hvm.sh): when the primary slave (hdb) holds a
 * sector 0 starting "KXEN-HVMSAVE", the tests are replaced by rounds that run until the domain
 * is destroyed, each using every device and checking what the rounds before it left, so a
 * save, restore or migration between (or inside) rounds shows up as a failed check if any
 * device state was lost. Round N:
 *   - COM1: the scratch register still holds N - 1 and the line settings are still 8N1 with
 *     the FIFO on; then N;
 *   - CMOS: NVRAM byte 0x40 still holds N - 1; then N;
 *   - IDE (hda): four sectors written by PIO with round N's pattern and read back by
 *     bus-master DMA, then the previous round's four sectors read by PIO with a pause after
 *     the first two (a save may fall inside the transfer: the drive keeps its place);
 *   - RTL8139 (when the machine has one): a frame carrying N sent in internal loopback and
 *     found in the receive ring where the previous frames left the card's write offset;
 *   - where a PIC answers (kvm): the PIT's channel 0 interrupts (100 Hz) keep arriving.
 * Each round prints "hvmsave: round N ok" or its "FAIL" lines. */
#include "hvmtest.h"

#define ATA 0x1f0
#define ATA_CTL 0x3f6
#define BM_PORT 0xc000
#define NIC_PORT 0xc100
#define COM1 0x3f8
#define ST_DRQ 0x08
#define ST_ERR 0x01
#define RING SCRATCH_NIC
#define RING_SIZE 8192u
#define TXBUF (SCRATCH_NIC + 0x10000)
#define DATA_LBA 1000u
#define SLOTS 16u /* rounds write DATA_LBA + 4 * (N % SLOTS) */

static unsigned round_nr;
static bool round_ok, have_pic, have_nic;
static unsigned ring_off;
static uint8_t mac[6];
static uint8_t buf[4 * 512], back[4 * 512];

static void expect(bool ok, const char *what)
{
    if (!ok) {
        say("round %u FAIL %s", round_nr, what);
        round_ok = false;
    }
}

static void taskfile(unsigned drive, uint32_t lba, uint8_t count)
{
    outb(ATA + 6, (uint8_t)(0xe0 | drive << 4 | ((lba >> 24) & 0xf)));
    outb(ATA + 2, count);
    outb(ATA + 3, lba & 0xff);
    outb(ATA + 4, (lba >> 8) & 0xff);
    outb(ATA + 5, (lba >> 16) & 0xff);
}

static void spin(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (have_pic)
            __asm__ volatile("sti; nop; cli");
        else
            __asm__ volatile("pause");
    }
}

/* PIO of count sectors, word by word; pause_after sectors in, the guest waits a while with
 * the transfer open. */
static bool pio(unsigned drive, bool write, uint32_t lba, unsigned count, uint8_t *p,
                unsigned pause_after)
{
    taskfile(drive, lba, (uint8_t)count);
    outb(ATA + 7, write ? 0x30 : 0x20);
    for (unsigned s = 0; s < count; s++, p += 512) {
        if (s && s == pause_after)
            spin(20000);
        if ((ide_wait_idle() & (ST_DRQ | ST_ERR)) != ST_DRQ)
            return false;
        for (unsigned i = 0; i < 512; i += 2) {
            if (write) {
                outw(ATA, (uint16_t)(p[i] | p[i + 1] << 8));
            } else {
                uint16_t w = inw(ATA);
                p[i] = w & 0xff;
                p[i + 1] = w >> 8;
            }
        }
    }
    return !(ide_wait_idle() & (ST_ERR | ST_DRQ));
}

static bool dma_read(uint32_t lba, unsigned count, uint64_t to)
{
    volatile uint32_t *prd = (volatile uint32_t *)SCRATCH_PRD;
    prd[0] = (uint32_t)to;
    prd[1] = count * 512 | 0x80000000u;
    outb(BM_PORT, 0x08);
    outb(BM_PORT + 2, 0x06);
    outl(BM_PORT + 4, (uint32_t)SCRATCH_PRD);
    taskfile(0, lba, (uint8_t)count);
    outb(ATA + 7, 0xc8);
    outb(BM_PORT, 0x09);
    uint8_t bm = 0;
    for (int i = 0; i < 1000000 && !(bm & 0x06); i++)
        bm = inb(BM_PORT + 2);
    outb(BM_PORT, 0x08);
    uint8_t st = ide_wait_idle();
    outb(BM_PORT + 2, 0x06);
    return !(bm & 0x02) && !(st & ST_ERR);
}

static void pattern(uint8_t *p, unsigned n, uint32_t lba)
{
    for (unsigned i = 0; i < 4 * 512; i++)
        p[i] = (uint8_t)(i * 7 + n * 13 + lba);
}

static bool same(const uint8_t *a, const uint8_t *b, unsigned len)
{
    for (unsigned i = 0; i < len; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static uint8_t cmos_read(uint8_t idx)
{
    outb(0x70, idx);
    return inb(0x71);
}

static void cmos_write(uint8_t idx, uint8_t v)
{
    outb(0x70, idx);
    outb(0x71, v);
}

static bool nic_wait(uint16_t reg, unsigned size, uint32_t bits)
{
    for (int i = 0; i < 1000000; i++) {
        uint32_t v = size == 4 ? inl(NIC_PORT + reg) : inw(NIC_PORT + reg);
        if ((v & bits) == bits)
            return true;
    }
    return false;
}

static void nic_setup(int devfn)
{
    pci_write((unsigned)devfn, 0x10, NIC_PORT | 1);
    pci_write((unsigned)devfn, 0x04, 0x5);
    outb(NIC_PORT + 0x37, 0x10);
    for (int i = 0; i < 100000 && (inb(NIC_PORT + 0x37) & 0x10); i++)
        ;
    for (unsigned i = 0; i < 6; i++)
        mac[i] = inb(NIC_PORT + i);
    outl(NIC_PORT + 0x30, (uint32_t)RING);
    /* Only frames to its own MAC, 8 KiB ring that wraps: broadcasts on the tap's bridge (a
     * migration's second tap coming up) would land between the rounds' own frames. */
    outl(NIC_PORT + 0x44, 0x02);
    outl(NIC_PORT + 0x40, 0x00060000); /* internal loopback */
    outb(NIC_PORT + 0x37, 0x0c);
    have_nic = true;
}

/* A frame carrying the round's number through slot N % 4, read back from the ring. */
static void nic_round(void)
{
    unsigned slot = round_nr % 4;
    uint8_t *f = (uint8_t *)TXBUF + slot * 2048;
    for (unsigned i = 0; i < 64; i++)
        f[i] = (uint8_t)(i < 6 ? mac[i] : i < 12 ? mac[i - 6] : i + round_nr);
    outw(NIC_PORT + 0x3e, 0xffff);
    outl(NIC_PORT + 0x20 + 4 * slot, (uint32_t)(uintptr_t)f);
    outl(NIC_PORT + 0x10 + 4 * slot, 64);
    expect(nic_wait((uint16_t)(0x10 + 4 * slot), 4, 0xa000), "nic: transmit completes");
    expect(nic_wait(0x3e, 2, 0x0001), "nic: the looped frame arrives");
    expect((inw(NIC_PORT + 0x3a) % RING_SIZE) == (ring_off + 72) % RING_SIZE,
           "nic: the card's write offset follows the previous frames");
    const uint8_t *r = (const uint8_t *)RING;
    bool ok = (r[ring_off] & 1) && (r[(ring_off + 2) % RING_SIZE] == 68);
    for (unsigned i = 0; ok && i < 64; i++)
        ok = r[(ring_off + 4 + i) % RING_SIZE] == f[i];
    expect(ok, "nic: the ring holds the frame at the offset the previous rounds left");
    ring_off = (ring_off + 72) % RING_SIZE;
    outw(NIC_PORT + 0x38, (uint16_t)((ring_off + RING_SIZE - 16) % RING_SIZE));
    outw(NIC_PORT + 0x3e, 0xffff);
}

static void disk_round(void)
{
    uint32_t lba = DATA_LBA + 4 * (round_nr % SLOTS);
    pattern(buf, round_nr, lba);
    expect(pio(0, true, lba, 4, buf, 0), "ide: PIO write of the round's sectors");
    uint8_t *d = (uint8_t *)SCRATCH_DMA;
    d[0] = (uint8_t)~buf[0];
    expect(dma_read(lba, 4, SCRATCH_DMA) && same(d, buf, sizeof(buf)),
           "ide: DMA reads back the PIO write");
    if (!round_nr)
        return;
    uint32_t prev = DATA_LBA + 4 * ((round_nr - 1) % SLOTS);
    pattern(buf, round_nr - 1, prev);
    expect(pio(0, false, prev, 4, back, 2) && same(back, buf, sizeof(buf)),
           "ide: the previous round's sectors read back by PIO (paused mid-transfer)");
}

static void round_run(void)
{
    round_ok = true;
    uint8_t want = (uint8_t)(round_nr - 1);
    if (round_nr) {
        expect(inb(COM1 + 7) == want, "uart: the scratch register keeps the last round");
        expect(inb(COM1 + 3) == 0x03 && (inb(COM1 + 2) & 0xc0) == 0xc0,
               "uart: still 8N1 with its FIFO on");
        expect(cmos_read(0x40) == want, "cmos: NVRAM keeps the last round");
    }
    outb(COM1 + 7, (uint8_t)round_nr);
    cmos_write(0x40, (uint8_t)round_nr);
    disk_round();
    if (have_nic)
        nic_round();
    extern volatile uint32_t irq_count[16];
    uint32_t ticks = irq_count[0];
    for (unsigned i = 0; i < 100 && (have_pic ? irq_count[0] < ticks + 2 : i < 10); i++)
        spin(10000);
    if (have_pic)
        expect(irq_count[0] >= ticks + 2, "pit: timer interrupts arrive");
    if (round_ok)
        say("round %u ok", round_nr);
}

static bool save_mode(void)
{
    outb(ATA_CTL, 0x02); /* nIEN: polled */
    outb(ATA + 6, 0xb0);
    if (inb(ATA + 7) == 0 || !pio(1, false, 0, 1, buf, 0))
        return false;
    const char magic[] = "KXEN-HVMSAVE";
    for (unsigned i = 0; i < sizeof(magic) - 1; i++)
        if (buf[i] != (uint8_t)magic[i])
            return false;
    return true;
}

bool save_main(int ide_devfn, int nic_devfn)
{
    if (ide_devfn < 0)
        return false;
    pci_write((unsigned)ide_devfn, 0x20, BM_PORT | 1);
    pci_write((unsigned)ide_devfn, 0x04, 0x5);
    if (!save_mode())
        return false;
    outb(ATA + 6, 0xa0);
    if (nic_devfn >= 0)
        nic_setup(nic_devfn);
    have_pic = irq_setup(1u << 0);
    if (have_pic) { /* PIT channel 0, mode 2, 100 Hz */
        outb(0x43, 0x34);
        outb(0x40, 11932 & 0xff);
        outb(0x40, 11932 >> 8);
    }
    say("save mode: nic %s, pic %s", have_nic ? "yes" : "no", have_pic ? "yes" : "no");
    for (round_nr = 0;; round_nr++)
        round_run();
}
