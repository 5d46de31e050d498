/* hvmtest's RTL8139 checks, in internal loopback so no network is needed: the MAC, a frame
 * sent through transmit slot 0 arriving in the receive ring with its header, and a transmit
 * buffer that is not RAM aborting its slot. */
#include "hvmtest.h"

#define NIC_PORT 0xc100
#define RING SCRATCH_NIC
#define TXBUF (SCRATCH_NIC + 0x10000)

static bool wait_bits(uint16_t reg, unsigned size, uint32_t bits)
{
    for (int i = 0; i < 1000000; i++) {
        uint32_t v = size == 4 ? inl(NIC_PORT + reg) : inw(NIC_PORT + reg);
        if ((v & bits) == bits)
            return true;
    }
    return false;
}

void nic_tests(int devfn)
{
    pci_write((unsigned)devfn, 0x10, NIC_PORT | 1);
    pci_write((unsigned)devfn, 0x04, 0x5);
    outb(NIC_PORT + 0x37, 0x10); /* reset */
    bool reset = false;
    for (int i = 0; i < 100000 && !reset; i++)
        reset = !(inb(NIC_PORT + 0x37) & 0x10);
    check(reset, "nic: the reset completes");
    uint8_t mac[6];
    for (unsigned i = 0; i < 6; i++)
        mac[i] = inb(NIC_PORT + i);
    say("nic: MAC %02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    check(!(mac[0] & 1) && (mac[0] | mac[1] | mac[2]), "nic: a unicast MAC");

    outl(NIC_PORT + 0x30, (uint32_t)RING);
    outl(NIC_PORT + 0x44, 0x8a);       /* own MAC, broadcast, 8 KiB ring without wrap */
    outl(NIC_PORT + 0x40, 0x00060000); /* internal loopback */
    outb(NIC_PORT + 0x37, 0x0c);       /* receiver and transmitter on */
    uint8_t *f = (uint8_t *)TXBUF;
    for (unsigned i = 0; i < 64; i++)
        f[i] = (uint8_t)(i < 6 ? mac[i] : i < 12 ? mac[i - 6] : i);
    outl(NIC_PORT + 0x20, (uint32_t)TXBUF);
    outl(NIC_PORT + 0x10, 64);
    check(wait_bits(0x10, 4, 0xa000), "nic: transmit slot 0 completes (OWN, TOK)");
    check(wait_bits(0x3e, 2, 0x0001), "nic: the looped frame is received (ISR ROK)");
    const uint8_t *r = (const uint8_t *)RING;
    bool same = (r[0] & 1) && (r[2] | r[3] << 8) == 64 + 4;
    for (unsigned i = 0; same && i < 64; i++)
        same = r[4 + i] == f[i];
    check(same, "nic: the ring holds the header and the frame");
    outw(NIC_PORT + 0x3e, 0xffff);
    outw(NIC_PORT + 0x38, 72 - 16); /* CAPR: consumed */
    check(inb(NIC_PORT + 0x37) & 1, "nic: the ring is empty again");

    outl(NIC_PORT + 0x24, 0xf0000000u);
    outl(NIC_PORT + 0x14, 64);
    check(wait_bits(0x14, 4, 0x40000000u), "nic: a transmit buffer that is not RAM aborts");
}
