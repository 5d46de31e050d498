/* hvmtest's NIC bench (bench.c reads the options): the RTL8139 against the host's pkt.py
 * (bench/net) on the tap's bridge, in pkt.py's frame layout (ethertype, 4-byte sequence
 * number, a kind byte):
 *   nictx   frames=N full-size (1514-byte) bench frames (0x88b6, kind D) to the broadcast
 *           address through the four transmit slots in turn, then stop frames (kind S)
 *   nicrx   counts bench frames until a stop frame or secs=N seconds
 *   nicecho answers test frames (0x88b5, kind P) with kind E, as pkt.py's echo does, until a
 *           stop frame or secs=N seconds
 * Polled as the rest of hvmtest: an empty ring is read again after a short spin (no exit). */
#include "hvmtest.h"

#define NIC_PORT 0xc100
#define RING SCRATCH_NIC              /* 64 KiB ring + the no-wrap overflow */
#define TXBUF (SCRATCH_NIC + 0x20000) /* four 2 KiB transmit buffers */
#define RING_SIZE 0x10000u
#define R_TSD 0x10
#define R_TSAD 0x20
#define R_CR 0x37
#define R_CAPR 0x38
#define R_ISR 0x3e
#define TSD_OWN 0x2000u
#define CR_BUFE 0x01
#define BENCH_TYPE 0x88b6
#define TEST_TYPE 0x88b5

static uint8_t mac[6];
static unsigned tx_slot;
static unsigned rx_off; /* the next frame's offset in the ring */

static void nic_setup(int devfn)
{
    pci_write((unsigned)devfn, 0x10, NIC_PORT | 1);
    pci_write((unsigned)devfn, 0x04, 0x5);
    outb(NIC_PORT + R_CR, 0x10);
    for (int i = 0; i < 100000 && (inb(NIC_PORT + R_CR) & 0x10); i++)
        ;
    for (unsigned i = 0; i < 6; i++)
        mac[i] = inb(NIC_PORT + i);
    outl(NIC_PORT + 0x30, (uint32_t)RING);
    outl(NIC_PORT + 0x44, 3u << 11 | 0x80 | 0x0a); /* 64 KiB, no wrap, own MAC and broadcast */
    outl(NIC_PORT + 0x40, 0);
    for (unsigned i = 0; i < 4; i++)
        outl(NIC_PORT + R_TSAD + 4 * i, (uint32_t)(TXBUF + 0x800 * i));
    outw(NIC_PORT + 0x3c, 0); /* IMR: polled */
    outb(NIC_PORT + R_CR, 0x0c);
    tx_slot = rx_off = 0;
}

/* The next transmit buffer, once its slot is free again. */
static uint8_t *tx_buf(void)
{
    for (unsigned i = 0; i < 10000000; i++)
        if (inl(NIC_PORT + R_TSD + 4 * tx_slot) & TSD_OWN)
            break;
    return (uint8_t *)(TXBUF + 0x800 * tx_slot);
}

static void tx_send(unsigned len)
{
    outl(NIC_PORT + R_TSD + 4 * tx_slot, len);
    tx_slot = (tx_slot + 1) % 4;
}

/* The next received frame (its length without the CRC in *len), or NULL when the ring is
 * empty; rx_done() gives it back. */
static const uint8_t *rx_frame(unsigned *len)
{
    if (inb(NIC_PORT + R_CR) & CR_BUFE)
        return 0;
    const uint8_t *h = (const uint8_t *)(RING + rx_off);
    unsigned n = (unsigned)(h[2] | h[3] << 8);
    *len = n >= 4 ? n - 4 : 0;
    return h + 4;
}

static void rx_done(unsigned len)
{
    rx_off = (rx_off + len + 4 + 4 + 3) & ~3u;
    rx_off %= RING_SIZE;
    outw(NIC_PORT + R_CAPR, (uint16_t)(rx_off - 16));
    outw(NIC_PORT + R_ISR, 0xffff);
}

static void header(uint8_t *f, const uint8_t *dst, uint16_t type, uint32_t seq, char kind)
{
    for (unsigned i = 0; i < 6; i++) {
        f[i] = dst ? dst[i] : 0xff;
        f[6 + i] = mac[i];
    }
    f[12] = type >> 8;
    f[13] = type & 0xff;
    for (unsigned i = 0; i < 4; i++)
        f[14 + i] = (uint8_t)(seq >> (8 * i));
    f[18] = (uint8_t)kind;
}

static void blast(uint64_t frames)
{
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; i < frames; i++) {
        uint8_t *f = tx_buf();
        header(f, 0, BENCH_TYPE, (uint32_t)i, 'D');
        tx_send(1514);
    }
    uint64_t us = bench_us(rdtsc() - t0);
    for (unsigned i = 0; i < 20; i++) {
        uint8_t *f = tx_buf();
        header(f, 0, BENCH_TYPE, 0, 'S');
        tx_send(60);
    }
    say("bench nic_tx %llu frames %llu bytes %llu us", (unsigned long long)frames,
        (unsigned long long)(frames * 1514), (unsigned long long)us);
}

/* Receives until a stop frame of type or the deadline; echo answers test frames. */
static void receive(uint16_t type, bool echo, uint64_t secs)
{
    uint64_t frames = 0, bytes = 0, first = 0, last = 0, polls = 0;
    uint64_t start = rdtsc(), limit = secs * 1000000;
    for (;;) {
        unsigned len;
        const uint8_t *f = rx_frame(&len);
        if (!f) {
            if (bench_us(rdtsc() - start) > limit)
                break;
            polls++;
            for (unsigned i = 0; i < 200; i++) /* a short spin before the next poll */
                __asm__ volatile("pause");
            continue;
        }
        bool mine = len >= 19 && (f[12] << 8 | f[13]) == type;
        char kind = mine ? (char)f[18] : 0;
        if (kind == 'S' && (frames || echo)) {
            rx_done(len);
            break;
        }
        if (kind == (echo ? 'P' : 'D')) {
            last = rdtsc();
            first = first ? first : last;
            frames++;
            bytes += len;
            if (echo) {
                uint8_t *o = tx_buf();
                header(o, f + 6, type,
                       (uint32_t)(f[14] | f[15] << 8 | f[16] << 16 | (uint32_t)f[17] << 24), 'E');
                for (unsigned i = 19; i < len; i++)
                    o[i] = f[i];
                tx_send(len < 60 ? 60 : len);
            }
        }
        rx_done(len);
    }
    say("bench nic_%s %llu frames %llu bytes %llu us (%llu empty polls)", echo ? "echo" : "rx",
        (unsigned long long)frames, (unsigned long long)bytes,
        (unsigned long long)bench_us(last - first), (unsigned long long)polls);
}

void nic_bench(int devfn, char path)
{
    nic_setup(devfn);
    say("bench nic MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
        mac[5]);
    bench_mark("start");
    if (path == 't')
        blast(bench_opt("frames", 1000));
    else
        receive(path == 'e' ? TEST_TYPE : BENCH_TYPE, path == 'e', bench_opt("secs", 30));
    bench_mark("end");
}
