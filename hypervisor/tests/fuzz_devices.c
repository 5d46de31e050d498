/* Fuzz target for the emulated IDE controller and RTL8139 NIC (hypervisor/devices): a guest
 * that writes anything to their ports, MMIO and its own RAM (PRD tables, descriptors, buffers)
 * must get register values or error bits, never a crash or a host access outside its RAM
 * (the sanitizers and the fake machine's bounds catch those).
 *
 * Input: one flags byte (bit 0: the disk is read-only), then 8-byte operations
 * [op, target, size, unused, value (32-bit little endian)]: op % 5 is a port write, a port
 * read, a RAM write (at target:size * 4), a NIC MMIO write or read; a port target below 128
 * picks an IDE, bus-master or PCI configuration port, above it a NIC register. After the run
 * every model is destroyed and must have released every region.
 * Built with clang -fsanitize=fuzzer (make devices-fuzz) and with gcc into test_devices, which
 * replays hypervisor/tests/corpus_devices. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dev_fake_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define PCI_DEVFN_ISA 0x08 /* 00:01.0 */
#define PCI_DEVFN_IDE 0x09 /* 00:01.1 */
#define PCI_DEVFN_NIC 0x18 /* 00:03.0 */
#define BM_BASE 0xc000
#define NIC_IO 0xc100
#define NIC_MMIO 0xe0001000u
#define IMAGE_SECTORS 64

static const uint16_t ports[] = {
    0x1f0,  0x1f1,  0x1f2,  0x1f3,  0x1f4,  0x1f5,  0x1f6,  0x1f7,  0x3f6,  0x170,
    0x171,  0x172,  0x173,  0x174,  0x175,  0x176,  0x177,  0x376,  0xc000, 0xc001,
    0xc002, 0xc003, 0xc004, 0xc005, 0xc006, 0xc007, 0xc008, 0xc009, 0xc00a, 0xc00b,
    0xc00c, 0xc00d, 0xc00e, 0xc00f, 0xcf8,  0xcfc,  0xcfd,  0xcfe,  0xcff,
};

static void *create(const char *name, const char *options)
{
    void *state = NULL;
    const struct device_model *m = device_model_find(name);
    CHECK(m && m->create(&fake_dom, options, &state) == 0);
    return state;
}

static void destroy(const char *name, void *state)
{
    device_model_find(name)->destroy(&fake_dom, state);
}

/* The disk: a memfd named through /proc so the model opens it as it would an image. */
static const char *image_path(void)
{
    static char path[64];
    if (!path[0]) {
        int fd = memfd_create("kxen-fuzz-ide", 0);
        CHECK(fd >= 0 && ftruncate(fd, IMAGE_SECTORS * 512) == 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    return path;
}

static void run(const uint8_t *op)
{
    uint32_t val =
        (uint32_t)op[4] | (uint32_t)op[5] << 8 | (uint32_t)op[6] << 16 | (uint32_t)op[7] << 24;
    unsigned sz = 1u << (op[2] % 3);
    uint16_t port = op[1] < 128 ? ports[op[1] % (sizeof(ports) / sizeof(ports[0]))]
                                : (uint16_t)(NIC_IO + (op[1] - 128) * 2);
    switch (op[0] % 5) {
    case 0:
        pout(port, sz, val);
        break;
    case 1:
        pin(port, sz);
        break;
    case 2: {
        uint32_t at = ((uint32_t)op[1] << 8 | op[2]) * 4;
        memcpy(fake_dom.ram + at % FAKE_RAM_SIZE, &val, 4);
        break;
    }
    case 3:
        mmio_wr(NIC_MMIO + op[1], sz, val);
        break;
    default:
        mmio_rd(NIC_MMIO + op[1], sz);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fake_machine_reset();
    char opts[96];
    snprintf(opts, sizeof(opts), "hda=%s%s", image_path(), data[0] & 1 ? ",hda-ro=1" : "");
    void *host = create("pci-host", NULL), *piix = create("piix3", NULL);
    void *ide = create("piix3-ide", opts), *nic = create("rtl8139", NULL);
    pci_cfg_wr(PCI_DEVFN_IDE, 0x20, 4, BM_BASE);
    pci_cfg_wr(PCI_DEVFN_IDE, 4, 2, 0x5);
    pci_cfg_wr(PCI_DEVFN_NIC, 0x10, 4, NIC_IO);
    pci_cfg_wr(PCI_DEVFN_NIC, 0x14, 4, NIC_MMIO);
    pci_cfg_wr(PCI_DEVFN_NIC, 4, 2, 0x7);
    pci_cfg_wr(PCI_DEVFN_ISA, 0x60, 4, 0x0b0a0a0bu);
    for (size_t i = 1; i + 8 <= size; i += 8)
        run(data + i);
    destroy("rtl8139", nic);
    destroy("piix3-ide", ide);
    destroy("piix3", piix);
    destroy("pci-host", host);
    CHECK(fake_io_count() == 0);
    return 0;
}
