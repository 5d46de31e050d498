/* An RTL8139C network card ("rtl8139" model, 10ec:8139 revision 0x10 so Linux binds 8139too)
 * at 00:03.0: registers in BAR0 (I/O) and BAR1 (MMIO), the 93C46 EEPROM holding the MAC,
 * four transmit slots, the contiguous receive ring, IMR/ISR on INTx, internal loopback
 * (TCR LBK = 11: frames sent come back to the receiver), and an internal PHY that
 * always has a 100 Mbit/s full-duplex link. Frames go to and come from a tap fd (no header);
 * a thread of the model reads the tap.
 *
 * Invariants: every transmit buffer and every receive-ring write is checked against guest RAM
 * first (a bad one aborts that transmit, or drops that frame and counts it missed); INTx is
 * high exactly while ISR & IMR is non-zero; after an unplug the function is gone from the bus
 * and the tap is neither read nor written. Xen has no save record for a NIC, so the state is
 * the register file regs[]. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/guest_mem.h"
#include "kxend/io.h"
#include "pci.h"

#define R_IDR 0x00
#define R_MAR 0x08
#define R_TSD 0x10
#define R_TSAD 0x20
#define R_RBSTART 0x30
#define R_CR 0x37
#define R_CAPR 0x38
#define R_CBR 0x3a
#define R_IMR 0x3c
#define R_ISR 0x3e
#define R_TCR 0x40
#define R_RCR 0x44
#define R_MPC 0x4c
#define R_9346CR 0x50
#define R_CONFIG1 0x52
#define R_MSR 0x58
#define R_TSAD_ALL 0x60
#define R_BMCR 0x62
#define R_BMSR 0x64
#define R_ANAR 0x66
#define R_ANLPAR 0x68
#define CR_RST 0x10
#define CR_RE 0x08
#define CR_TE 0x04
#define CR_BUFE 0x01
#define ISR_ROK 0x0001
#define ISR_TOK 0x0004
#define ISR_TER 0x0008
#define ISR_RXOVW 0x0010
#define TSD_SIZE 0x1fff
#define TSD_OWN 0x2000
#define TSD_TOK 0x8000
#define TSD_TABT 0x40000000u
#define RCR_AAP 0x01
#define RCR_APM 0x02
#define RCR_AM 0x04
#define RCR_AB 0x08
#define RCR_NOWRAP 0x80
#define RX_STATUS_ROK 0x0001
#define RX_STATUS_PAM 0x1000
#define RX_STATUS_BAR 0x2000
#define RX_STATUS_MAR 0x8000
#define TX_MAX 1792
#define FRAME_MAX 1518
#define TCR_LOOPBACK 0x00060000u /* LBK = 11 */
#define RTL_TCR_REV 0x74000000u  /* RTL8139C in the hardware revision bits of TCR */
#define EEPROM_WORDS 64

enum eeprom_state { EE_IDLE, EE_COMMAND, EE_READ };

struct rtl8139 {
    struct pci_function fn;
    struct domain *d;
    pthread_mutex_t lock;
    uint8_t regs[256];
    uint8_t mac[6];
    uint16_t eeprom[EEPROM_WORDS];
    enum eeprom_state ee;
    unsigned ee_bits, ee_count;
    uint16_t ee_word;
    uint8_t ee_addr;
    bool ee_do, ee_cs, ee_sk;
    bool unplugged;
    int tap, stop_pipe[2];
    pthread_t rx_thread;
    bool thread_started;
};

static uint32_t get(const struct rtl8139 *n, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)n->regs[off + i] << (8 * i);
    return v;
}

static void put(struct rtl8139 *n, unsigned off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        n->regs[off + i] = (v >> (8 * i)) & 0xff;
}

static void irq_update(struct rtl8139 *n)
{
    pci_set_intx(&n->fn, (get(n, R_ISR, 2) & get(n, R_IMR, 2)) != 0);
}

static void isr_raise(struct rtl8139 *n, uint16_t bits)
{
    put(n, R_ISR, 2, get(n, R_ISR, 2) | bits);
    irq_update(n);
}

/* ---- Receive ------------------------------------------------------------------------------*/

static unsigned ring_size(const struct rtl8139 *n)
{
    return 8192u << ((get(n, R_RCR, 4) >> 11) & 3);
}

/* Receive buffer empty: the card's write offset reached the driver's read offset. */
static void bufe_update(struct rtl8139 *n)
{
    unsigned read = (get(n, R_CAPR, 2) + 16) % ring_size(n);
    uint8_t cr = n->regs[R_CR] & ~CR_BUFE;
    n->regs[R_CR] = cr | (read == get(n, R_CBR, 2) ? CR_BUFE : 0);
}

static uint16_t accept(const struct rtl8139 *n, const uint8_t *f)
{
    uint32_t rcr = get(n, R_RCR, 4);
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (!memcmp(f, bcast, 6))
        return rcr & (RCR_AB | RCR_AAP) ? RX_STATUS_BAR : 0;
    if (f[0] & 1)
        return rcr & (RCR_AM | RCR_AAP) ? RX_STATUS_MAR : 0;
    if (!memcmp(f, &n->regs[R_IDR], 6))
        return rcr & (RCR_APM | RCR_AAP) ? RX_STATUS_PAM : 0;
    return rcr & RCR_AAP ? RX_STATUS_PAM : 0;
}

/* Copies len bytes at ring offset off (lock held): wrapping at the ring's end, or, with
 * RCR's no-wrap bit, running on past it into the overflow area the driver allocated. */
static bool ring_write(struct rtl8139 *n, unsigned off, const void *src, unsigned len)
{
    unsigned size = ring_size(n);
    uint64_t base = get(n, R_RBSTART, 4);
    const uint8_t *s = src;
    while (len) {
        unsigned chunk = len;
        if (!(get(n, R_RCR, 4) & RCR_NOWRAP) && off + chunk > size)
            chunk = size - off;
        /* Buggy or malicious guest: a receive ring that is not RAM. */
        if (copy_to_guest_phys(n->d, base + off, s, chunk) < 0)
            return false;
        s += chunk;
        len -= chunk;
        off = (off + chunk) % size;
    }
    return true;
}

static void rx_frame(struct rtl8139 *n, const uint8_t *frame, unsigned len)
{
    if (!(n->regs[R_CR] & CR_RE) || len < 14)
        return;
    uint16_t status = accept(n, frame);
    if (!status)
        return;
    unsigned size = ring_size(n), cbr = get(n, R_CBR, 2) % size;
    unsigned read = (get(n, R_CAPR, 2) + 16) % size;
    unsigned need = (4 + len + 4 + 3) & ~3u; /* header, frame, CRC, 32-bit aligned */
    unsigned free_bytes = read > cbr ? read - cbr : size - cbr + read;
    if (need >= free_bytes) {
        put(n, R_MPC, 4, get(n, R_MPC, 4) + 1);
        isr_raise(n, ISR_RXOVW);
        return;
    }
    uint8_t hdr[4] = {(uint8_t)(status | RX_STATUS_ROK), (uint8_t)(status >> 8),
                      (uint8_t)((len + 4) & 0xff), (uint8_t)((len + 4) >> 8)};
    static const uint8_t crc[4]; /* the guest does not check it */
    if (!ring_write(n, cbr, hdr, 4) || !ring_write(n, (cbr + 4) % size, frame, len) ||
        !ring_write(n, (cbr + 4 + len) % size, crc, 4)) {
        put(n, R_MPC, 4, get(n, R_MPC, 4) + 1);
        return;
    }
    put(n, R_CBR, 2, (cbr + need) % size);
    bufe_update(n);
    isr_raise(n, ISR_ROK);
}

static void *rx_main(void *arg)
{
    struct rtl8139 *n = arg;
    uint8_t frame[2048];
    struct pollfd p[2] = {{.fd = n->tap, .events = POLLIN},
                          {.fd = n->stop_pipe[0], .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        ssize_t got = read(n->tap, frame, sizeof(frame));
        if (got <= 0)
            continue;
        if (got > FRAME_MAX)
            continue; /* larger than any frame the card could receive */
        pthread_mutex_lock(&n->lock);
        if (!n->unplugged)
            rx_frame(n, frame, (unsigned)got);
        pthread_mutex_unlock(&n->lock);
    }
    return NULL;
}

/* ---- Transmit -----------------------------------------------------------------------------*/

static void tx_slot(struct rtl8139 *n, unsigned slot)
{
    uint32_t tsd = get(n, R_TSD + 4 * slot, 4);
    unsigned len = tsd & TSD_SIZE;
    uint64_t addr = get(n, R_TSAD + 4 * slot, 4);
    void *buf = len <= TX_MAX ? guest_phys_ptr(n->d, addr, len) : NULL;
    if (!(n->regs[R_CR] & CR_TE) || !buf || len == 0) {
        /* Buggy or malicious guest: a frame too large or not in RAM. */
        put(n, R_TSD + 4 * slot, 4, tsd | TSD_OWN | TSD_TABT);
        isr_raise(n, ISR_TER);
        return;
    }
    if ((get(n, R_TCR, 4) & TCR_LOOPBACK) == TCR_LOOPBACK) {
        /* Internal loopback: the frame comes back in through the receiver. A copy first, as
         * the guest may aim its receive ring at the buffer being sent. */
        uint8_t frame[TX_MAX];
        memcpy(frame, buf, len);
        rx_frame(n, frame, len);
    } else if (n->tap >= 0) {
        ssize_t w = write(n->tap, buf, len); /* a full tap drops, as a busy wire would */
        (void)w;
    }
    put(n, R_TSD + 4 * slot, 4, tsd | TSD_OWN | TSD_TOK);
    uint16_t all = (uint16_t)get(n, R_TSAD_ALL, 2);
    put(n, R_TSAD_ALL, 2, all | (uint16_t)(0x1111u << slot));
    isr_raise(n, ISR_TOK);
}

/* ---- EEPROM (93C46, 6-bit addresses, read command only) -----------------------------------*/

static void eeprom_write(struct rtl8139 *n, uint8_t v)
{
    bool cs = v & 0x08, sk = v & 0x04, di = v & 0x02;
    if (!cs) {
        n->ee = EE_IDLE;
    } else if (!n->ee_cs) {
        n->ee = EE_COMMAND;
        n->ee_bits = n->ee_count = 0;
    }
    if (cs && sk && !n->ee_sk) { /* a rising clock edge */
        if (n->ee == EE_COMMAND) {
            if (n->ee_count || di) { /* wait for the start bit */
                n->ee_bits = n->ee_bits << 1 | di;
                n->ee_count++;
            }
            if (n->ee_count == 9) {
                if ((n->ee_bits >> 6 & 7) == 6) { /* start, opcode 10: READ */
                    n->ee = EE_READ;
                    n->ee_addr = n->ee_bits & 0x3f;
                    n->ee_word = n->eeprom[n->ee_addr];
                    n->ee_count = 0;
                    n->ee_do = false; /* the dummy zero */
                } else {
                    n->ee = EE_IDLE;
                }
            }
        } else if (n->ee == EE_READ) {
            n->ee_do = n->ee_word >> 15;
            n->ee_word <<= 1;
            if (++n->ee_count == 16) { /* sequential read goes on with the next word */
                n->ee_addr = (n->ee_addr + 1) % EEPROM_WORDS;
                n->ee_word = n->eeprom[n->ee_addr];
                n->ee_count = 0;
            }
        }
    }
    n->ee_cs = cs;
    n->ee_sk = sk;
}

/* ---- Registers ----------------------------------------------------------------------------*/

static void chip_reset(struct rtl8139 *n)
{
    uint8_t cfg9346 = n->regs[R_9346CR];
    memset(n->regs, 0, sizeof(n->regs));
    memcpy(&n->regs[R_IDR], n->mac, 6);
    n->regs[R_9346CR] = cfg9346 & 0xc0;
    put(n, R_TCR, 4, RTL_TCR_REV);
    for (unsigned i = 0; i < 4; i++)
        put(n, R_TSD + 4 * i, 4, TSD_OWN);
    put(n, R_CAPR, 2, 0xfff0); /* read offset 0 */
    n->regs[R_CR] = CR_BUFE;
    n->regs[R_CONFIG1] = 0x0d;
    n->regs[R_MSR] = 0x00;     /* link up (LINKB low), 100 Mbit/s */
    put(n, R_BMCR, 2, 0x3100); /* 100 Mbit/s, autonegotiation, full duplex */
    put(n, R_BMSR, 2, 0x782d); /* capable of 10/100 half/full, negotiated, link up */
    put(n, R_ANAR, 2, 0x01e1);
    put(n, R_ANLPAR, 2, 0x45e1);
    put(n, R_TSAD_ALL, 2, 0xf000);
    irq_update(n);
}

/* Guest-writable bits per register byte; everything else is read-only or handled apart. */
static uint8_t wmask(unsigned off)
{
    if (off < 6 || (off >= R_MAR && off < R_MAR + 8) || (off >= R_TSAD && off < R_CR))
        return 0xff;
    if (off >= R_TSD && off < R_TSAD)
        /* size and early-transmit threshold; OWN and the status bits are the card's */
        return (off & 3) == 0 ? 0xff : (off & 3) == 1 ? 0x1f : (off & 3) == 2 ? 0x3f : 0;
    switch (off) {
    case R_CAPR:
    case R_CAPR + 1:
    case R_IMR:
    case R_IMR + 1:
    case R_RCR:
    case R_RCR + 1:
    case R_RCR + 2:
    case R_RCR + 3:
    case R_TCR:
    case R_TCR + 1:
    case R_CONFIG1:
    case 0x59:
    case 0x5a:
    case 0x5c:
    case 0x5d:
    case R_BMCR:
    case R_BMCR + 1:
    case R_ANAR:
    case R_ANAR + 1:
        return 0xff;
    case R_TCR + 2: /* CRC, loopback; the hardware revision bits stay */
        return 0x07;
    case R_TCR + 3: /* interframe gap */
        return 0x03;
    default:
        return 0;
    }
}

static uint64_t reg_read(void *opaque, uint64_t offset, unsigned size)
{
    struct rtl8139 *n = opaque;
    if (offset + size > sizeof(n->regs))
        return ~0ull;
    pthread_mutex_lock(&n->lock);
    uint32_t v = get(n, (unsigned)offset, size);
    if (offset <= R_9346CR && offset + size > R_9346CR) {
        unsigned shift = 8 * (R_9346CR - (unsigned)offset);
        v = (v & ~(1u << shift)) | (uint32_t)n->ee_do << shift;
    }
    pthread_mutex_unlock(&n->lock);
    return v;
}

static void reg_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct rtl8139 *n = opaque;
    if (offset + size > sizeof(n->regs) || size > 4)
        return;
    pthread_mutex_lock(&n->lock);
    unsigned tx = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned o = (unsigned)offset + i;
        uint8_t b = (val >> (8 * i)) & 0xff;
        if (o == R_ISR || o == R_ISR + 1) { /* write one to clear */
            n->regs[o] &= ~b;
        } else if (o >= R_MPC && o < R_MPC + 4) { /* any write resets the missed count */
            put(n, R_MPC, 4, 0);
        } else if (o == R_CR) {
            if (b & CR_RST) {
                chip_reset(n);
            } else {
                n->regs[R_CR] = (n->regs[R_CR] & CR_BUFE) | (b & (CR_RE | CR_TE));
            }
        } else if (o == R_9346CR) {
            n->regs[o] = b & 0xce;
            /* Only program mode drives the EEPROM pins; leaving it deselects the chip. */
            eeprom_write(n, (b & 0xc0) == 0x80 ? b : 0);
            if ((b & 0xc0) == 0x40) /* auto-load: the MAC again from the EEPROM */
                memcpy(&n->regs[R_IDR], n->mac, 6);
        } else {
            n->regs[o] = (n->regs[o] & ~wmask(o)) | (b & wmask(o));
            /* Writing a slot's status with OWN clear hands the buffer to the card. */
            if (o >= R_TSD && o < R_TSAD && (o & 3) == 1 && !(b & (TSD_OWN >> 8)))
                tx |= 1u << ((o - R_TSD) / 4);
        }
    }
    if (offset <= R_CAPR + 1 && offset + size > R_CAPR)
        bufe_update(n);
    if (!n->unplugged)
        for (unsigned s = 0; s < 4; s++)
            if (tx & 1u << s) {
                put(n, R_TSD + 4 * s, 4, get(n, R_TSD + 4 * s, 4) & ~(TSD_TOK | TSD_TABT));
                tx_slot(n, s);
            }
    irq_update(n);
    pthread_mutex_unlock(&n->lock);
}

static const struct io_region_ops io_ops = {"rtl8139-io", reg_read, reg_write};
static const struct io_region_ops mmio_ops = {"rtl8139-mmio", reg_read, reg_write};

/* ---- The model ----------------------------------------------------------------------------*/

static void nic_unplug(struct pci_function *f, unsigned mask)
{
    struct rtl8139 *n = f->opaque;
    if (!(mask & UNPLUG_NICS))
        return;
    pthread_mutex_lock(&n->lock);
    bool was = n->unplugged;
    n->unplugged = true;
    pthread_mutex_unlock(&n->lock);
    if (!was)
        pci_function_unregister(&n->fn);
}

struct nic_opts {
    int fd;
    uint8_t mac[6];
};

static int nic_opt(void *ctx, const char *key, const char *val)
{
    struct nic_opts *o = ctx;
    if (!strcmp(key, "fd")) {
        uint64_t v;
        int rc = dev_opt_u64(val, INT32_MAX, &v);
        if (rc == 0 && fcntl((int)v, F_GETFD) < 0)
            return -EBADF;
        o->fd = (int)v;
        return rc;
    }
    if (!strcmp(key, "mac")) {
        unsigned m[6];
        char tail;
        if (sscanf(val, "%2x:%2x:%2x:%2x:%2x:%2x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
                   &tail) != 6 ||
            (m[0] & 1))
            return -EINVAL;
        for (unsigned i = 0; i < 6; i++)
            o->mac[i] = (uint8_t)m[i];
        return 0;
    }
    return -EINVAL;
}

static void rx_stop(struct rtl8139 *n)
{
    if (n->thread_started) {
        ssize_t w = write(n->stop_pipe[1], "x", 1);
        (void)w;
        pthread_join(n->rx_thread, NULL);
        n->thread_started = false;
    }
}

static void nic_free(struct rtl8139 *n)
{
    rx_stop(n);
    if (n->stop_pipe[0] >= 0) {
        close(n->stop_pipe[0]);
        close(n->stop_pipe[1]);
    }
    pthread_mutex_destroy(&n->lock);
    free(n);
}

static int nic_create(struct domain *d, const char *options, void **state)
{
    struct nic_opts o = {.fd = -1, .mac = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
    int rc = dev_opts_each(options, nic_opt, &o);
    if (rc < 0)
        return rc;
    struct pci_bus *bus = pci_bus_of(d);
    if (!bus)
        return -ENODEV;
    struct rtl8139 *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->d = d;
    n->tap = o.fd;
    n->stop_pipe[0] = n->stop_pipe[1] = -1;
    pthread_mutex_init(&n->lock, NULL);
    memcpy(n->mac, o.mac, 6);
    n->eeprom[0] = 0x8129;
    n->eeprom[1] = 0x10ec;
    n->eeprom[2] = 0x8139;
    for (unsigned i = 0; i < 3; i++)
        n->eeprom[7 + i] = (uint16_t)(n->mac[2 * i] | n->mac[2 * i + 1] << 8);
    struct pci_function *f = &n->fn;
    pci_config_init(f, 0x10ec, 0x8139, 0x10, 0x020000, 1);
    f->config[PCI_CFG_SUBSYS_VENDOR] = 0xec;
    f->config[PCI_CFG_SUBSYS_VENDOR + 1] = 0x10;
    f->config[PCI_CFG_SUBSYS] = 0x39;
    f->config[PCI_CFG_SUBSYS + 1] = 0x81;
    f->devfn = PCI_DEVFN(3, 0);
    f->opaque = n;
    f->unplug = nic_unplug;
    f->bars[0] = (struct pci_bar){.size = 256, .io = true, .ops = &io_ops};
    f->bars[1] = (struct pci_bar){.size = 256, .ops = &mmio_ops};
    chip_reset(n);
    if (pipe2(n->stop_pipe, O_CLOEXEC) < 0) {
        rc = -errno;
        n->stop_pipe[0] = -1;
    }
    if (!rc)
        rc = pci_function_register(bus, f);
    if (!rc && n->tap >= 0) {
        if (pthread_create(&n->rx_thread, NULL, rx_main, n)) {
            pci_function_unregister(f);
            rc = -EAGAIN;
        } else {
            n->thread_started = true;
        }
    }
    if (rc) {
        nic_free(n);
        return rc;
    }
    *state = n;
    return 0;
}

static void nic_destroy(struct domain *d, void *state)
{
    (void)d;
    struct rtl8139 *n = state;
    rx_stop(n); /* before the function goes: the reader raises its INTx */
    pci_function_unregister(&n->fn);
    nic_free(n); /* the tap stays the machine's */
}

/* ---- Save and restore ---------------------------------------------------------------------
 * The register file holds the rings' positions (CAPR, CBR) and the transmit slots; the
 * received frames themselves are in guest RAM and travel with it. A transmit runs whole
 * within the guest's register write, so none is in flight at a save. */
struct nic_save {
    uint8_t config[256];
    uint8_t regs[256];
    uint32_t ee_bits, ee_count;
    uint16_t ee_word;
    uint8_t ee, ee_addr, ee_do, ee_cs, ee_sk, unplugged;
};

static int nic_save(void *state, void *buf, uint32_t cap)
{
    struct rtl8139 *n = state;
    struct nic_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pci_function_save(&n->fn, s.config);
    pthread_mutex_lock(&n->lock);
    memcpy(s.regs, n->regs, sizeof(s.regs));
    s.ee_bits = n->ee_bits, s.ee_count = n->ee_count, s.ee_word = n->ee_word;
    s.ee = (uint8_t)n->ee, s.ee_addr = n->ee_addr, s.ee_do = n->ee_do, s.ee_cs = n->ee_cs;
    s.ee_sk = n->ee_sk, s.unplugged = n->unplugged;
    pthread_mutex_unlock(&n->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

#define NIC_REFUSE(...)                                                                            \
    do {                                                                                           \
        snprintf(why, whylen, __VA_ARGS__);                                                        \
        return -EINVAL;                                                                            \
    } while (0)

static int nic_check(const struct rtl8139 *n, const struct nic_save *s, char *why, size_t whylen)
{
    if (s->ee > EE_READ || s->ee_addr >= EEPROM_WORDS || s->ee_count > 16 ||
        s->ee_bits >= 1u << 9 || s->ee_do > 1 || s->ee_cs > 1 || s->ee_sk > 1)
        NIC_REFUSE("EEPROM state %u, address %u, bit %u of %#x out of range", s->ee, s->ee_addr,
                   s->ee_count, s->ee_bits);
    if (s->unplugged > 1)
        NIC_REFUSE("unplugged is %u", s->unplugged);
    /* Buggy or corrupt image: the card's write offset (which only the card moves) must lie
     * in its ring. CAPR is the driver's and is taken modulo the ring's size. */
    struct rtl8139 tmp;
    memcpy(tmp.regs, s->regs, sizeof(tmp.regs));
    unsigned size = ring_size(&tmp), cbr = get(&tmp, R_CBR, 2);
    if (cbr >= size)
        NIC_REFUSE("receive ring write offset CBR %u beyond its %u bytes", cbr, size);
    return s->unplugged ? 0 : pci_function_check(&n->fn, s->config, why, whylen);
}
#undef NIC_REFUSE

static int nic_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct rtl8139 *n = state;
    struct nic_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    int rc = nic_check(n, &s, why, whylen);
    if (rc < 0)
        return rc;
    if (s.unplugged) { /* gone from the bus on the source: gone here too */
        nic_unplug(&n->fn, UNPLUG_NICS);
    } else {
        pci_function_load(&n->fn, s.config);
    }
    pthread_mutex_lock(&n->lock);
    memcpy(n->regs, s.regs, sizeof(n->regs));
    n->ee_bits = s.ee_bits, n->ee_count = s.ee_count, n->ee_word = s.ee_word;
    n->ee = (enum eeprom_state)s.ee, n->ee_addr = s.ee_addr, n->ee_do = s.ee_do;
    n->ee_cs = s.ee_cs, n->ee_sk = s.ee_sk;
    if (!n->unplugged)
        irq_update(n);
    pthread_mutex_unlock(&n->lock);
    return 0;
}

static const struct device_model rtl8139_model = {
    .name = "rtl8139",
    .order = 50,
    .create = nic_create,
    .destroy = nic_destroy,
    .save = nic_save,
    .load = nic_load,
};
DEVICE_MODEL_REGISTER(rtl8139_model);
