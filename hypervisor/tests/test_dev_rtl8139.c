/* RTL8139: identity and the EEPROM's MAC as 8139too reads it, transmit to the tap, receive
 * into the ring with its interrupt, bad buffers and rings outside RAM, unplug, random pokes.
 * A datagram socket pair stands in for the tap (one frame per read and write). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../devices/devices.h"
#include "../devices/pci.h"
#include "test_dev_fake.h"

#define NIC_FN PCI_DEVFN(3, 0)
#define IO 0xc100
#define MMIO 0xe0001000u
static void *host, *piix, *nic;
static int peer;

static void setup(void)
{
    fake_machine_reset();
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    peer = sv[0];
    char opts[64];
    snprintf(opts, sizeof(opts), "fd=%d,mac=52:54:00:ab:cd:ef", sv[1]);
    host = dev_create("pci-host", NULL);
    piix = dev_create("piix3", NULL);
    nic = dev_create("rtl8139", opts);
    pci_cfg_wr(NIC_FN, 0x10, 4, IO);
    pci_cfg_wr(NIC_FN, 0x14, 4, MMIO);
    pci_cfg_wr(NIC_FN, 4, 2, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER);
    pci_cfg_wr(PCI_DEVFN(1, 0), 0x63, 1, 11); /* slot 3 pin A is PIRQD */
}

static void teardown(void)
{
    dev_destroy("rtl8139", nic);
    dev_destroy("piix3", piix);
    dev_destroy("pci-host", host);
    cr_assert_eq(fake_io_count(), 0);
    close(peer);
}

TestSuite(rtl8139, .init = setup, .fini = teardown);

/* 93C46 read as the Linux driver bit-bangs it through 9346CR. */
static uint16_t eeprom_read(unsigned addr, unsigned addr_len)
{
    unsigned cmd = addr | 6u << addr_len;
    pout(IO + 0x50, 1, 0x80 | 0x08);
    for (int i = (int)addr_len + 2; i >= 0; i--) {
        uint8_t di = cmd >> i & 1 ? 0x02 : 0;
        pout(IO + 0x50, 1, 0x88 | di);
        pout(IO + 0x50, 1, 0x88 | di | 0x04);
    }
    pout(IO + 0x50, 1, 0x88);
    uint16_t v = 0;
    for (int i = 0; i < 16; i++) {
        pout(IO + 0x50, 1, 0x88 | 0x04);
        v = (uint16_t)(v << 1 | (pin(IO + 0x50, 1) & 1));
        pout(IO + 0x50, 1, 0x88);
    }
    pout(IO + 0x50, 1, 0x00);
    return v;
}

Test(rtl8139, identity_revision_and_the_eeprom_mac)
{
    cr_assert_eq(pci_cfg_rd(NIC_FN, 0, 4), 0x813910ecu);
    cr_assert_lt(pci_cfg_rd(NIC_FN, 0x08, 1), 0x20, "8139too, not 8139cp");
    cr_assert_eq(pin(IO + 0x40, 4) & 0x7cc00000u, 0x74000000u, "RTL8139C");
    cr_assert_eq(eeprom_read(0, 6), 0x8129);
    cr_assert_neq(eeprom_read(0, 8), 0x8129, "a 93C46, not a 93C56");
    cr_assert_eq(eeprom_read(1, 6), 0x10ec, "%#x", eeprom_read(1, 6));
    cr_assert_eq(eeprom_read(2, 6), 0x8139, "%#x", eeprom_read(2, 6));
    uint16_t w7 = eeprom_read(7, 6);
    cr_assert_eq(w7, 0x5452, "%#x", w7);
    cr_assert_eq(eeprom_read(8, 6), 0xab00);
    cr_assert_eq(eeprom_read(9, 6), 0xefcd);
    cr_assert_eq(pin(IO, 4), 0xab005452u, "IDR0-3");
    cr_assert_eq(mmio_rd(MMIO + 4, 2), 0xefcd, "the same registers through BAR1");
    cr_assert_eq(pin(IO + 0x64, 2) & 0x04, 0x04, "PHY link up");
}

Test(rtl8139, a_transmitted_frame_reaches_the_tap_and_completes_its_slot)
{
    pout(IO + 0x37, 1, 0x0c);
    pout(IO + 0x3c, 2, 0x000f);
    uint8_t *frame = fake_dom.ram + 0x5000;
    for (unsigned i = 0; i < 60; i++)
        frame[i] = (uint8_t)i;
    pout(IO + 0x24, 4, 0x5000); /* slot 1 */
    pout(IO + 0x14, 4, 60);
    uint8_t got[128];
    cr_assert_eq(recv(peer, got, sizeof(got), MSG_DONTWAIT), 60);
    cr_assert_eq(memcmp(got, frame, 60), 0);
    uint32_t tsd = pin(IO + 0x14, 4);
    cr_assert_eq(tsd & 0xa000, 0xa000, "OWN and TOK");
    cr_assert_eq(pin(IO + 0x3e, 2) & 0x04, 0x04);
    cr_assert(fake_irq_level[11], "INTx through PIRQD");
    pout(IO + 0x3e, 2, 0x04);
    cr_assert_not(fake_irq_level[11]);
}

Test(rtl8139, a_transmit_buffer_outside_ram_or_too_long_aborts)
{
    pout(IO + 0x37, 1, 0x0c);
    pout(IO + 0x20, 4, FAKE_RAM_SIZE - 10);
    pout(IO + 0x10, 4, 60);
    cr_assert_eq(pin(IO + 0x10, 4) & 0x40000000u, 0x40000000u, "TABT");
    cr_assert_eq(pin(IO + 0x3e, 2) & 0x08, 0x08, "TER");
    pout(IO + 0x20, 4, 0x1000);
    pout(IO + 0x10, 4, 0x1fff);
    cr_assert_eq(pin(IO + 0x10, 4) & 0x40000000u, 0x40000000u);
    uint8_t got[8];
    cr_assert_lt(recv(peer, got, sizeof(got), MSG_DONTWAIT), 0, "nothing sent");
}

static bool wait_isr(uint16_t bit)
{
    for (int i = 0; i < 200; i++) {
        if (pin(IO + 0x3e, 2) & bit)
            return true;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

Test(rtl8139, received_frames_land_in_the_ring_with_their_header)
{
    pout(IO + 0x30, 4, 0x10000);
    pout(IO + 0x44, 4, 0x0a | 0x80); /* APM, AB, no wrap; 8 KiB ring */
    pout(IO + 0x3c, 2, 0x0001);
    pout(IO + 0x37, 1, 0x0c);
    cr_assert_eq(pin(IO + 0x37, 1) & 1, 1, "empty");
    uint8_t frame[64] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef, 2, 0, 0, 0, 0, 1, 0x08, 0x00};
    frame[20] = 0x77;
    uint8_t other[64] = {0x52, 0x54, 0x00, 0, 0, 1};
    cr_assert_eq(send(peer, other, sizeof(other), 0), 64, "not for this MAC");
    cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
    cr_assert(wait_isr(0x01), "ROK");
    cr_assert(fake_irq_level[11]);
    const uint8_t *ring = fake_dom.ram + 0x10000;
    cr_assert_eq(ring[0] & 1, 1, "status ROK");
    cr_assert_eq(ring[1] & 0x10, 0x10, "physical address match");
    cr_assert_eq(ring[2] | ring[3] << 8, 64 + 4, "length with the CRC");
    cr_assert_eq(memcmp(ring + 4, frame, 64), 0);
    cr_assert_eq(pin(IO + 0x3a, 2), 72, "CBR past header, frame, CRC");
    cr_assert_eq(pin(IO + 0x37, 1) & 1, 0, "not empty");
    pout(IO + 0x38, 2, 72 - 16);
    cr_assert_eq(pin(IO + 0x37, 1) & 1, 1, "the driver caught up");
}

Test(rtl8139, in_loopback_a_sent_frame_comes_back_and_the_tap_sees_nothing)
{
    pout(IO + 0x30, 4, 0x10000);
    pout(IO + 0x44, 4, 0x0a | 0x80);
    pout(IO + 0x40, 4, 0xffffffffu);
    cr_assert_eq(pin(IO + 0x40, 4) & 0x7cc00000u, 0x74000000u, "the revision stays");
    pout(IO + 0x40, 4, 0x00060000u);
    pout(IO + 0x37, 1, 0x0c);
    uint8_t *frame = fake_dom.ram + 0x10010; /* inside the ring the frame lands in */
    static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
    memcpy(frame, mac, 6);
    memset(frame + 6, 0x42, 58);
    uint8_t copy[64];
    memcpy(copy, frame, 64);
    pout(IO + 0x20, 4, 0x10010);
    pout(IO + 0x10, 4, 64);
    cr_assert_eq(pin(IO + 0x3e, 2) & 0x05, 0x05, "TOK and ROK");
    cr_assert_eq(memcmp(fake_dom.ram + 0x10004, copy, 64), 0);
    uint8_t got[8];
    cr_assert_lt(recv(peer, got, sizeof(got), MSG_DONTWAIT), 0, "nothing on the wire");
}

Test(rtl8139, a_ring_outside_ram_drops_frames_and_counts_them)
{
    pout(IO + 0x30, 4, FAKE_RAM_SIZE - 0x10); /* the first header would end past RAM */
    pout(IO + 0x44, 4, 0x0f);
    pout(IO + 0x37, 1, 0x0c);
    uint8_t frame[64];
    memset(frame, 0xff, sizeof(frame));
    cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
    cr_assert_eq(send(peer, frame, sizeof(frame), 0), 64);
    for (int i = 0; i < 200 && pin(IO + 0x4c, 4) < 1; i++) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    cr_assert_geq(pin(IO + 0x4c, 4), 1, "missed packet counter");
    cr_assert_eq(pin(IO + 0x3e, 2) & 1, 0);
    pout(IO + 0x4c, 4, 0x1234);
    cr_assert_eq(pin(IO + 0x4c, 4), 0, "a write resets it");
}

Test(rtl8139, an_unplugged_nic_leaves_the_bus)
{
    pci_bus_unplug(pci_bus_of(&fake_dom), UNPLUG_IDE_DISKS);
    cr_assert_eq(pci_cfg_rd(NIC_FN, 0, 2), 0x10ec);
    pci_bus_unplug(pci_bus_of(&fake_dom), UNPLUG_NICS);
    cr_assert_eq(pci_cfg_rd(NIC_FN, 0, 4), 0xffffffffu);
    cr_assert_eq(pin(IO + 0x37, 1), 0xff);
    cr_assert_eq(mmio_rd(MMIO, 4), 0xffffffffu);
}

Test(rtl8139, random_register_values_never_crash_the_model)
{
    srand(2);
    for (unsigned i = 0; i < 200000; i++) {
        uint16_t off = (uint16_t)(rand() % 0x100);
        unsigned size = 1u << (rand() % 3);
        uint32_t v = (uint32_t)rand();
        if (rand() % 2)
            pout(IO + off, size, v);
        else
            pin(IO + off, size);
    }
    uint8_t frame[1600];
    memset(frame, 0xff, sizeof(frame));
    pout(IO + 0x37, 1, 0x0c);
    for (unsigned i = 0; i < 50; i++)
        send(peer, frame, 60 + (size_t)rand() % 1540, 0);
}
