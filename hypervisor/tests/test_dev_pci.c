/* PCI bus, i440FX and PIIX3: mechanism #1, identity, BAR sizing and moving, INTx routing
 * through the PIRQ links, ELCR. */
#include "../devices/pci.h"
#include "test_dev_fake.h"

static void *host, *piix;

static void setup(void)
{
    fake_machine_reset();
    host = dev_create("pci-host", NULL);
    piix = dev_create("piix3", "");
}

static void teardown(void)
{
    dev_destroy("piix3", piix);
    dev_destroy("pci-host", host);
    cr_assert_eq(fake_io_count(), 0, "every region was released");
}

TestSuite(pci, .init = setup, .fini = teardown);

static uint64_t test_bar_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque, (void)size;
    return 0xab00 | off;
}

static void test_bar_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    (void)opaque, (void)off, (void)size, (void)val;
}

static const struct io_region_ops test_bar_ops = {"test-bar", test_bar_read, test_bar_write};

Test(pci, the_address_register_reads_back_and_the_host_bridge_and_isa_bridge_answer)
{
    pout(0xcf8, 4, 0x80000000u);
    cr_assert_eq(pin(0xcf8, 4), 0x80000000u, "firmware's PCI probe");
    cr_assert_eq(pci_cfg_rd(0, 0, 4), 0x12378086u);
    cr_assert_eq(pci_cfg_rd(0, 0x2c, 4), 0x11001af4u, "subsystem firmware looks for");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(1, 0), 0, 4), 0x70008086u);
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(1, 0), 0x0a, 2), 0x0601);
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(1, 0), 0x0e, 1), 0x80, "multi-function");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(5, 0), 0, 4), 0xffffffffu, "empty slot");
    pout(0xcf8, 4, 0x80010000u);
    cr_assert_eq(pin(0xcfc, 4), 0xffffffffu, "only bus 0");
    pout(0xcf8, 4, 0);
    cr_assert_eq(pin(0xcfc, 2), 0xffffu, "disabled address");
    cr_assert_eq(pin(0xcfe, 4), 0xffffffffu, "an access past the data window");
    pci_cfg_wr(0, 0, 4, 0);
    cr_assert_eq(pci_cfg_rd(0, 0, 4), 0x12378086u, "identity is read-only");
    pci_cfg_wr(0, 4, 2, PCI_CMD_IO | PCI_CMD_MEM | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE);
    cr_assert_eq(pci_cfg_rd(0, 4, 2) & 0x7, 0x7, "a function without INTx takes a command");
    pci_cfg_wr(0, 0x59, 1, 0x30);
    cr_assert_eq(pci_cfg_rd(0, 0x59, 1), 0x30, "PAM registers are writable");
}

Test(pci, bars_are_sized_by_the_guest_and_follow_its_moves)
{
    struct pci_function f = {.devfn = PCI_DEVFN(4, 0)};
    pci_config_init(&f, 0x1234, 0x5678, 0, 0x020000, 1);
    f.bars[0] = (struct pci_bar){.size = 0x100, .io = true, .ops = &test_bar_ops};
    f.bars[1] = (struct pci_bar){.size = 0x1000, .ops = &test_bar_ops};
    cr_assert_eq(pci_function_register(pci_bus_of(&fake_dom), &f), 0);
    cr_assert_eq(pci_function_register(pci_bus_of(&fake_dom), &f), -EEXIST);
    unsigned fn = f.devfn;
    pci_cfg_wr(fn, 0x10, 4, ~0u);
    cr_assert_eq(pci_cfg_rd(fn, 0x10, 4), 0xffffff01u, "I/O BAR size mask");
    pci_cfg_wr(fn, 0x14, 4, ~0u);
    cr_assert_eq(pci_cfg_rd(fn, 0x14, 4), 0xfffff000u, "MMIO BAR size mask");
    cr_assert_eq(pci_cfg_rd(fn, 0x18, 4), 0, "no BAR");
    pci_cfg_wr(fn, 0x10, 4, 0xc000);
    pci_cfg_wr(fn, 0x14, 4, 0xe0000000u);
    cr_assert_eq(pin(0xc010, 2), 0xffff, "not decoded before the command register says so");
    pci_cfg_wr(fn, 4, 2, PCI_CMD_IO | PCI_CMD_MEM);
    cr_assert_eq(pin(0xc010, 2), 0xab10);
    cr_assert_eq(mmio_rd(0xe0000020, 4), 0xab20);
    pci_cfg_wr(fn, 0x10, 4, 0xd000);
    cr_assert_eq(pin(0xc010, 2), 0xffff, "moved away");
    cr_assert_eq(pin(0xd010, 2), 0xab10);
    pci_cfg_wr(fn, 0x11, 1, 0xe1); /* byte write of the BAR */
    cr_assert_eq(pci_cfg_rd(fn, 0x10, 4), 0xe101u);
    cr_assert_eq(pin(0xe110, 2), 0xab10);
    pci_cfg_wr(fn, 0x10, 4, 0x0cf8);
    cr_assert_eq(pin(0xcf8, 4), 0x80002010u, "a BAR over the config ports is not decoded");
    pci_cfg_wr(fn, 4, 2, 0);
    cr_assert_eq(mmio_rd(0xe0000020, 4), 0xffffffffu);
    pci_function_unregister(&f);
    cr_assert_eq(pci_cfg_rd(fn, 0, 4), 0xffffffffu);
}

Test(pci, intx_goes_to_the_gsi_of_its_pirq_link_and_links_sharing_a_gsi_are_ored)
{
    struct pci_function a = {.devfn = PCI_DEVFN(3, 0)}, b = {.devfn = PCI_DEVFN(4, 0)};
    pci_config_init(&a, 0x1234, 1, 0, 0x020000, 1); /* link (3 + 0) & 3 = 3 */
    pci_config_init(&b, 0x1234, 2, 0, 0x020000, 1); /* link 0 */
    struct pci_bus *bus = pci_bus_of(&fake_dom);
    cr_assert_eq(pci_function_register(bus, &a), 0);
    cr_assert_eq(pci_function_register(bus, &b), 0);
    pci_set_intx(&a, true);
    cr_assert_not(fake_irq_level[11], "link not routed yet");
    pci_cfg_wr(PCI_DEVFN(1, 0), 0x60, 4, 0x0b0a0a0bu); /* A=11 B=10 C=10 D=11 */
    cr_assert(fake_irq_level[11], "routing an asserted link raises its GSI");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(0, 0), 0x06, 2) & PCI_STATUS_INTX, 0);
    cr_assert(pci_cfg_rd(a.devfn, 0x06, 2) & PCI_STATUS_INTX, "interrupt status");
    pci_set_intx(&b, true);
    pci_set_intx(&a, false);
    cr_assert(fake_irq_level[11], "b still holds the shared GSI");
    pci_set_intx(&b, false);
    cr_assert_not(fake_irq_level[11]);
    pci_set_intx(&a, true);
    pci_cfg_wr(a.devfn, 4, 2, PCI_CMD_INTX_DISABLE);
    cr_assert_not(fake_irq_level[11], "INTx disabled in the command register");
    pci_cfg_wr(a.devfn, 4, 2, 0);
    cr_assert(fake_irq_level[11]);
    pci_cfg_wr(PCI_DEVFN(1, 0), 0x63, 1, 0x80);
    cr_assert_not(fake_irq_level[11], "unrouting lowers the old GSI");
    pci_cfg_wr(PCI_DEVFN(1, 0), 0x63, 1, 0x05);
    cr_assert(fake_irq_level[5]);
    pci_function_unregister(&a);
    cr_assert_not(fake_irq_level[5], "a removed function's line drops");
    pci_function_unregister(&b);
}

Test(pci, the_elcr_keeps_only_the_bits_a_piix_allows)
{
    pout(0x4d0, 2, 0xffff);
    cr_assert_eq(pin(0x4d0, 1), 0xf8);
    cr_assert_eq(pin(0x4d1, 1), 0xde);
    cr_assert_eq(pin(0x4d0, 2), 0xdef8);
}

Test(pci, unknown_options_and_a_second_bus_are_refused)
{
    void *s;
    cr_assert_eq(device_model_find("pci-host")->create(&fake_dom, NULL, &s), -EEXIST);
    cr_assert_eq(device_model_find("piix3")->create(&fake_dom, "bogus=1", &s), -EINVAL);
}

Test(pci, piix3_options_preset_the_routes_a_firmware_would_leave)
{
    dev_destroy("piix3", piix);
    piix = dev_create("piix3", "pirqa=10,pirqb=10,pirqc=11,pirqd=11");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(1, 0), 0x60, 4), 0x0b0b0a0au);
    struct pci_function a = {.devfn = PCI_DEVFN(3, 0)};
    pci_config_init(&a, 0x1234, 1, 0, 0x020000, 1); /* INTA: link 3 */
    cr_assert_eq(pci_function_register(pci_bus_of(&fake_dom), &a), 0);
    pci_set_intx(&a, true);
    cr_assert(fake_irq_level[11], "routed from power-on");
    pci_set_intx(&a, false);
    pci_function_unregister(&a);
    void *s = NULL;
    const struct device_model *m = device_model_find("piix3");
    dev_destroy("piix3", piix);
    piix = NULL;
    static const char *const bad[] = {"pirqa=2",  "pirqa=8", "pirqb=13", "pirqe=10",
                                      "pirqa=16", "pirq=10", "pirqaa=10"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(m->create(&fake_dom, bad[i], &s), -EINVAL, "%s", bad[i]);
    piix = dev_create("piix3", "");
    cr_assert_eq(pci_cfg_rd(PCI_DEVFN(1, 0), 0x60, 4), 0x80808080u, "unrouted by default");
}
