/* Xen platform device: PCI identity and BARs, the unplug protocol's magic and version, and an
 * unplug mask detaching the emulated disks and NIC. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../devices/pci.h"
#include "test_dev_fake.h"

#define PLAT_FN PCI_DEVFN(2, 0)
static void *host, *piix, *ide, *nic, *plat;
static char img[] = "/tmp/kxen-plat-XXXXXX";

static void setup(void)
{
    fake_machine_reset();
    int fd = mkstemp(img);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, 1 << 20), 0);
    close(fd);
    char opts[64];
    snprintf(opts, sizeof(opts), "hda=%s", img);
    host = dev_create("pci-host", NULL);
    piix = dev_create("piix3", NULL);
    ide = dev_create("piix3-ide", opts);
    nic = dev_create("rtl8139", NULL);
    plat = dev_create("xen-platform", NULL);
}

static void teardown(void)
{
    dev_destroy("xen-platform", plat);
    dev_destroy("rtl8139", nic);
    dev_destroy("piix3-ide", ide);
    dev_destroy("piix3", piix);
    dev_destroy("pci-host", host);
    cr_assert_eq(fake_io_count(), 0);
    unlink(img);
}

TestSuite(platform, .init = setup, .fini = teardown);

Test(platform, the_device_is_xensource_0001_with_an_io_and_a_16_mib_mmio_bar)
{
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0, 4), 0x00015853u);
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0x2c, 4), 0x00015853u);
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0x08, 4) >> 16, 0xff80);
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0x3d, 1), 1, "INTA");
    pci_cfg_wr(PLAT_FN, 0x10, 4, ~0u);
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0x10, 4), 0xffffff01u);
    pci_cfg_wr(PLAT_FN, 0x14, 4, ~0u);
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0x14, 4), 0xff000008u, "16 MiB, prefetchable");
}

Test(platform, the_magic_and_protocol_version_answer_and_unplug_detaches_disks_and_nics)
{
    cr_assert_eq(pin(0x10, 2), 0x49d2);
    cr_assert_eq(pin(0x12, 1), 1);
    pout(0x12, 2, 3); /* product: Linux */
    pout(0x10, 4, 1); /* build number */
    cr_assert_eq(pin(0x10, 2), 0x49d2, "Linux re-reads the magic");
    for (const char *s = "hello\n"; *s; s++)
        pout(0x12, 1, (uint8_t)*s);
    cr_assert_eq(pin(0x1f7, 1) & 0x40, 0x40, "a disk before");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(3, 0), 0, 2), 0x10ec);
    pout(0x10, 2, 0x3);
    cr_assert_eq(pin(0x1f7, 1), 0xff, "no disk after");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(3, 0), 0, 4), 0xffffffffu, "no NIC after");
    pout(0x10, 2, 0x3); /* again: nothing left to do */
    cr_assert_eq(pci_cfg_rd(PLAT_FN, 0, 2), 0x5853, "the platform device stays");
}
