/* hvmtest's bench mode (bench/pvemu, tests/system/hvm_pv_compare.sh): when the primary slave
 * (hdb) holds a sector 0 starting "KXEN-HVMBENCH", its options replace the tests:
 *   path=pio|dma    write the whole of hda, then read it back, through PIO (READ/WRITE SECTORS,
 *                   256 sectors a command, `rep insw`/`rep outsw` per sector, as Linux's
 *                   ata_piix does) or bus-master DMA (READ/WRITE DMA EXT, 1 MiB a command over
 *                   sixteen 64 KiB PRD entries)
 *   path=nictx|nicrx|nicecho   the RTL8139 (bench_nic.c)
 *   path=none       only the set-up every path does (the baseline of the exit counts)
 *   seed=N          the pattern written: the 8-byte little-endian word at byte offset o holds
 *                   o ^ (seed * 0x9e3779b97f4a7c15), as guests/blktest writes it
 *   verify=N        first read the whole disk and check it holds pattern N (untimed)
 *   check=0         do not fill or check the data in the timed passes (the PV bench does not)
 *   frames=N secs=N the NIC paths' counts
 *   quiet=MS        the quiet time after each mark (default 1500)
 *   clock=0         no TSC calibration (figures in microseconds are then guesses)
 * Time is the TSC, calibrated against the CMOS clock's seconds (this guest has no Xen clock).
 * Lines: "bench NAME VALUE UNIT ...", "bench mark NAME console_ios=N" and, last,
 * "bench done errors=N".
 * Exit counting (the host reads `xl vcpu-exits` after each mark line): after a mark the guest
 * spins for quiet= ms (1.5 s) without touching a device, so the host's reading falls there. A mark
 * line's console_ios counts the port accesses of the console lines printed since the
 * previous mark, itself included, so the host can take them out of a phase's exits. */
#include "guest/printf.h"
#include "hvmtest.h"

#define ATA 0x1f0
#define ATA_CTL 0x3f6
#define BM_PORT 0xc000
#define ST_BSY 0x80
#define ST_DRF 0x20
#define ST_DRQ 0x08
#define ST_ERR 0x01
#define PIO_SECTORS 256u   /* one READ/WRITE SECTORS command (count 0) */
#define DMA_SECTORS 2048u  /* one DMA EXT command: 1 MiB */
#define BENCH_BUF 0x400000 /* 1 MiB of scratch, identity-mapped RAM */

struct bench_opts bench;
static uint64_t tsc_hz;
static unsigned errors;

static char *opt_at(const char *key)
{
    unsigned k = 0;
    while (key[k])
        k++;
    for (char *s = bench.line; *s; s++) {
        if (s != bench.line && s[-1] != ' ')
            continue;
        unsigned i = 0;
        while (i < k && s[i] == key[i])
            i++;
        if (i == k && s[k] == '=')
            return s + k + 1;
    }
    return 0;
}

uint64_t bench_opt(const char *key, uint64_t def)
{
    const char *s = opt_at(key);
    if (!s || *s < '0' || *s > '9')
        return def;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (uint64_t)(*s - '0');
    return v;
}

static bool path_is(const char *name)
{
    const char *s = opt_at("path");
    if (!s)
        return false;
    for (; *name; name++, s++)
        if (*s != *name)
            return false;
    return *s == ' ' || *s == 0 || *s == '\n';
}

static uint8_t wait_not_busy(void)
{
    for (unsigned i = 0; i < 10000000; i++) {
        uint8_t s = inb(ATA + 7);
        if (!(s & ST_BSY))
            return s;
    }
    return 0xff;
}

static void taskfile48(unsigned drive, uint64_t lba, unsigned count)
{
    outb(ATA + 6, 0x40 | drive << 4);
    outb(ATA + 2, (count >> 8) & 0xff); /* the high bytes first, as LBA48 wants */
    outb(ATA + 3, (lba >> 24) & 0xff);
    outb(ATA + 4, (lba >> 32) & 0xff);
    outb(ATA + 5, (lba >> 40) & 0xff);
    outb(ATA + 2, count & 0xff);
    outb(ATA + 3, lba & 0xff);
    outb(ATA + 4, (lba >> 8) & 0xff);
    outb(ATA + 5, (lba >> 16) & 0xff);
}

static void taskfile28(unsigned drive, uint32_t lba, unsigned count)
{
    outb(ATA + 6, 0xe0 | drive << 4 | ((lba >> 24) & 0xf));
    outb(ATA + 2, count & 0xff);
    outb(ATA + 3, lba & 0xff);
    outb(ATA + 4, (lba >> 8) & 0xff);
    outb(ATA + 5, (lba >> 16) & 0xff);
}

/* count sectors by PIO from or to buf; false on any error status. */
static bool pio(unsigned drive, bool write, uint32_t lba, unsigned count, void *buf)
{
    taskfile28(drive, lba, count);
    outb(ATA + 7, write ? 0x30 : 0x20);
    uint8_t *p = buf;
    for (unsigned s = 0; s < count; s++, p += 512) {
        uint8_t st = wait_not_busy();
        if ((st & (ST_DRQ | ST_ERR)) != ST_DRQ)
            return false;
        void *q = p;
        unsigned long n = 256;
        if (write)
            __asm__ volatile("rep outsw" : "+S"(q), "+c"(n) : "d"(ATA) : "memory");
        else
            __asm__ volatile("rep insw" : "+D"(q), "+c"(n) : "d"(ATA) : "memory");
    }
    return !(wait_not_busy() & (ST_ERR | ST_DRQ));
}

/* One DMA EXT command over 64 KiB PRD entries; false on any error bit. */
static bool dma(bool write, uint64_t lba, unsigned count, uint64_t buf)
{
    volatile uint32_t *prd = (volatile uint32_t *)SCRATCH_PRD;
    unsigned n = (count * 512 + 0xffff) / 0x10000;
    for (unsigned i = 0; i < n; i++) {
        unsigned len = count * 512 - i * 0x10000;
        prd[2 * i] = (uint32_t)(buf + i * 0x10000);
        prd[2 * i + 1] = (len >= 0x10000 ? 0 : len) | (i == n - 1 ? 0x80000000u : 0);
    }
    uint8_t dir = write ? 0 : 0x08;
    outb(BM_PORT, dir);
    outb(BM_PORT + 2, 0x06);
    outl(BM_PORT + 4, (uint32_t)SCRATCH_PRD);
    taskfile48(0, lba, count);
    outb(ATA + 7, write ? 0x35 : 0x25);
    outb(BM_PORT, dir | 1);
    uint8_t bm = 0;
    for (unsigned i = 0; i < 10000000 && !(bm & 0x06); i++)
        bm = inb(BM_PORT + 2);
    outb(BM_PORT, dir);
    uint8_t st = wait_not_busy();
    outb(BM_PORT + 2, 0x06);
    return !(bm & 0x02) && !(st & ST_ERR);
}

static uint64_t seed_key(uint64_t seed)
{
    return seed * 0x9e3779b97f4a7c15ull;
}

static void fill(uint64_t *w, uint64_t byte_off, unsigned len, uint64_t seed)
{
    for (unsigned i = 0; i < len / 8; i++)
        w[i] = (byte_off + i * 8ull) ^ seed_key(seed);
}

static bool matches(const uint64_t *w, uint64_t byte_off, unsigned len, uint64_t seed)
{
    for (unsigned i = 0; i < len / 8; i++)
        if (w[i] != ((byte_off + i * 8ull) ^ seed_key(seed)))
            return false;
    return true;
}

/* The CMOS seconds register, read until two reads agree (an update may be in progress). */
static uint8_t cmos_seconds(void)
{
    uint8_t a, b;
    do {
        outb(0x70, 0);
        a = inb(0x71);
        outb(0x70, 0);
        b = inb(0x71);
    } while (a != b);
    return a;
}

/* Spins for ticks TSC ticks without an exit. */
static void spin(uint64_t ticks)
{
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < ticks)
        __asm__ volatile("pause");
}

/* TSC ticks in one CMOS second: from one seconds edge to the next, polling about every 2^20
 * ticks (under a millisecond) so the calibration costs a few thousand exits, not millions. */
static uint64_t calibrate_tsc(void)
{
    uint8_t s0 = cmos_seconds();
    while (cmos_seconds() == s0)
        spin(1u << 20);
    uint64_t t0 = rdtsc();
    uint8_t s1 = cmos_seconds();
    while (cmos_seconds() == s1)
        spin(1u << 20);
    return rdtsc() - t0;
}

void bench_mark(const char *name)
{
    /* The line's own accesses are counted too: its length does not depend on the number,
     * which is printed in a fixed width. */
    char line[64];
    unsigned n = (unsigned)guest_snprintf(line, sizeof(line), "bench mark %-6s console_ios=%010llu",
                                          name, 0ull);
    say("bench mark %-6s console_ios=%010llu", name,
        (unsigned long long)(console_ios + say_ios(n)));
    spin(tsc_hz * bench_opt("quiet", 1500) / 1000); /* the host reads the exit counters now */
    console_ios = 0;
}

uint64_t bench_us(uint64_t tsc_delta)
{
    return tsc_hz ? tsc_delta * 1000000ull / tsc_hz : 0;
}

void bench_error(const char *what)
{
    say("bench error: %s", what);
    errors++;
}

/* One pass over the whole disk; returns TSC ticks. */
static uint64_t disk_pass(bool use_dma, bool write, uint64_t sectors, uint64_t seed, bool check)
{
    unsigned chunk = use_dma ? DMA_SECTORS : PIO_SECTORS;
    uint64_t *buf = (uint64_t *)BENCH_BUF;
    uint64_t t0 = rdtsc();
    for (uint64_t lba = 0; lba < sectors; lba += chunk) {
        unsigned n = sectors - lba < chunk ? (unsigned)(sectors - lba) : chunk;
        if (write && check)
            fill(buf, lba * 512, n * 512, seed);
        bool ok = use_dma ? dma(write, lba, n, BENCH_BUF) : pio(0, write, (uint32_t)lba, n, buf);
        if (!ok) {
            bench_error(write ? "a write command failed" : "a read command failed");
            break;
        }
        if (!write && check && !matches(buf, lba * 512, n * 512, seed)) {
            say("bench error: sectors %llu-%llu do not hold pattern %llu", (unsigned long long)lba,
                (unsigned long long)(lba + n - 1), (unsigned long long)seed);
            errors++;
            break;
        }
    }
    return rdtsc() - t0;
}

static void report(const char *name, uint64_t bytes, uint64_t ticks)
{
    uint64_t us = bench_us(ticks);
    say("bench %s %llu KB/s %llu bytes %llu us", name,
        (unsigned long long)(us ? bytes * 1000000ull / 1024 / us : 0), (unsigned long long)bytes,
        (unsigned long long)us);
}

static void disk_bench(bool use_dma)
{
    pci_write((unsigned)bench.ide_devfn, 0x20, BM_PORT | 1);
    pci_write((unsigned)bench.ide_devfn, 0x04, 0x5);
    uint16_t id[256];
    outb(ATA + 6, 0xa0);
    outb(ATA + 7, 0xec);
    if ((wait_not_busy() & (ST_DRQ | ST_ERR)) != ST_DRQ) {
        bench_error("IDENTIFY of hda");
        return;
    }
    for (unsigned i = 0; i < 256; i++)
        id[i] = inw(ATA);
    uint64_t sectors = (uint64_t)id[100] | (uint64_t)id[101] << 16 | (uint64_t)id[102] << 32;
    if (!sectors)
        sectors = (uint64_t)id[60] | (uint64_t)id[61] << 16;
    uint64_t seed = bench_opt("seed", 1);
    bool check = bench_opt("check", 1) != 0;
    const char *p = use_dma ? "dma" : "pio";
    say("bench disk %llu sectors, path %s, seed %llu, check %d", (unsigned long long)sectors, p,
        (unsigned long long)seed, check);
    uint64_t before = bench_opt("verify", 0);
    if (before)
        disk_pass(use_dma, false, sectors, before, true);
    bench_mark("start");
    char name[24];
    guest_snprintf(name, sizeof(name), "%s_write", p);
    report(name, sectors * 512, disk_pass(use_dma, true, sectors, seed, check));
    outb(ATA + 7, 0xe7); /* FLUSH CACHE: the data is in the image file when the host reads it */
    if (wait_not_busy() & ST_ERR)
        bench_error("FLUSH CACHE");
    bench_mark("read");
    guest_snprintf(name, sizeof(name), "%s_read", p);
    report(name, sectors * 512, disk_pass(use_dma, false, sectors, seed, check));
    bench_mark("end");
}

/* The options sector on the primary slave, or false when there is none. */
static bool read_options(int ide_devfn)
{
    if (ide_devfn < 0)
        return false;
    pci_write((unsigned)ide_devfn, 0x04, 0x5);
    outb(ATA_CTL, 0x02); /* nIEN: polled */
    outb(ATA + 6, 0xb0);
    if (inb(ATA + 7) == 0 || !pio(1, false, 0, 1, bench.line)) /* no slave answers */
        return false;
    const char magic[] = "KXEN-HVMBENCH";
    for (unsigned i = 0; i < sizeof(magic) - 1; i++)
        if (bench.line[i] != magic[i])
            return false;
    bench.line[sizeof(bench.line) - 1] = 0;
    for (char *s = bench.line; *s; s++)
        if (*s == '\n')
            *s = 0;
    bench.ide_devfn = ide_devfn;
    return true;
}

bool bench_main(int ide_devfn, int nic_devfn)
{
    if (!read_options(ide_devfn))
        return false;
    outb(ATA + 6, 0xa0); /* back to the master */
    say("bench options: %s", bench.line + 14);
    /* clock=0 (a test that needs no figures): skip the second or two of calibration. */
    tsc_hz = bench_opt("clock", 1) ? calibrate_tsc() : 2000000000ull;
    say("bench tsc %llu Hz", (unsigned long long)tsc_hz);
    if (path_is("pio") || path_is("dma"))
        disk_bench(path_is("dma"));
    else if (path_is("nictx") || path_is("nicrx") || path_is("nicecho")) {
        if (nic_devfn < 0)
            bench_error("no RTL8139 on this machine");
        else
            nic_bench(nic_devfn, path_is("nictx") ? 't' : path_is("nicrx") ? 'r' : 'e');
    } else if (!path_is("none"))
        bench_error("unknown path=");
    say("bench done errors=%u", errors);
    return true;
}
