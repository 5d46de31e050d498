/* The kvm accelerator's emulated-PC state in the save stream (accel.h hvm_save/hvm_load):
 * KVM's in-kernel 8259 pair, IOAPIC and PIT as KVM's own uapi structs (KXEN_SREC_KVM_IRQCHIP,
 * what restore reads), and the same state in Xen's public layouts (PIC, IOAPIC, PIT:
 * KXEN_SREC_XEN_HVM) for the libxc HVM_CONTEXT. The LAPICs travel per vCPU (kvm_state.c).
 *
 * Invariant: a record from a file is checked whole before the first KVM_SET_*: the fields a
 * guest cannot produce (a moved IOAPIC, a PIC's fixed edge mask, PIT modes and counts out of
 * the i8254's range) refuse the image. KVM takes the PIT's counts and restarts them from the
 * time of the load (count_load_time is not restored), so a guest's timer runs on from its
 * programmed count. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>

#include "kvm_priv.h"
#include "kxen/log.h"
#include "kxend/save.h"

_Static_assert(sizeof(struct kvm_pic_state) <= 512 && sizeof(struct kvm_ioapic_state) <= 512,
               "irqchip payloads fit the record");
_Static_assert(sizeof(struct kvm_pit_state2) == 112, "PIT blob size");

#define IOAPIC_BASE 0xfec00000ull
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE 0xde

static int get_chip(int vm_fd, unsigned id, void *out)
{
    struct kvm_irqchip c = {.chip_id = id};
    if (ioctl(vm_fd, KVM_GET_IRQCHIP, &c) < 0)
        return -errno;
    memcpy(out, &c.chip, sizeof(c.chip));
    return 0;
}

static void xen_pic(const struct kvm_pic_state *k, bool master, struct hvm_hw_vpic *x)
{
    memset(x, 0, sizeof(*x));
    x->irr = k->irr, x->imr = k->imr, x->isr = k->isr, x->irq_base = k->irq_base;
    x->init_state = k->init_state & 0xf, x->priority_add = k->priority_add & 0xf;
    x->readsel_isr = k->read_reg_select & 1, x->poll = k->poll & 1;
    x->auto_eoi = k->auto_eoi & 1, x->rotate_on_auto_eoi = k->rotate_on_auto_eoi & 1;
    x->special_fully_nested_mode = k->special_fully_nested_mode & 1;
    x->special_mask_mode = k->special_mask & 1, x->is_master = master, x->elcr = k->elcr;
}

static void xen_ioapic(const struct kvm_ioapic_state *k, struct hvm_hw_vioapic *x)
{
    memset(x, 0, sizeof(*x));
    x->base_address = k->base_address, x->ioregsel = k->ioregsel, x->id = k->id;
    for (unsigned i = 0; i < KVM_IOAPIC_NUM_PINS; i++)
        x->redirtbl[i].bits = k->redirtbl[i].bits;
    for (unsigned i = KVM_IOAPIC_NUM_PINS; i < sizeof(x->redirtbl) / sizeof(x->redirtbl[0]); i++)
        x->redirtbl[i].fields.mask = 1; /* pins KVM's IOAPIC does not have */
}

static void xen_pit(const struct kvm_pit_state2 *k, struct hvm_hw_pit *x)
{
    memset(x, 0, sizeof(*x));
    for (unsigned i = 0; i < 3; i++) {
        const struct kvm_pit_channel_state *c = &k->channels[i];
        x->channels[i] = (struct hvm_hw_pit_channel){
            c->count,   c->latched_count, c->count_latched, c->status_latched,
            c->status,  c->read_state,    c->write_state,   c->write_latch,
            c->rw_mode, c->mode,          c->bcd,           c->gate};
    }
    x->speaker_data_on = 0;
}

static int put_xen(struct kxend_save_ctx *ctx, uint16_t code, uint16_t inst, const void *b,
                   uint32_t len)
{
    return kxend_save_put(ctx, KXEN_SREC_XEN_HVM, KXEN_SREC_XEN_INSTANCE(code, inst), b, len);
}

int kvm_hvm_save(struct domain *d, struct kxend_save_ctx *ctx)
{
    int fd = kvm_dom_of(d)->vm_fd;
    struct kxen_srec_kvm_irqchip r;
    memset(&r, 0, sizeof(r));
    struct kvm_pit_state2 pit;
    int rc = get_chip(fd, KVM_IRQCHIP_PIC_MASTER, r.pic[0]);
    if (rc == 0)
        rc = get_chip(fd, KVM_IRQCHIP_PIC_SLAVE, r.pic[1]);
    if (rc == 0)
        rc = get_chip(fd, KVM_IRQCHIP_IOAPIC, r.ioapic);
    if (rc == 0 && ioctl(fd, KVM_GET_PIT2, &pit) < 0)
        rc = -errno;
    if (rc < 0) {
        log_err("kvm: dom%u: reading the interrupt controllers and PIT: %s", d->domid,
                strerror(-rc));
        return rc;
    }
    memcpy(r.pit, &pit, sizeof(pit));
    if ((rc = kxend_save_put(ctx, KXEN_SREC_KVM_IRQCHIP, 0, &r, sizeof(r))) < 0)
        return rc;
    struct hvm_hw_vpic vpic;
    for (unsigned i = 0; i < 2 && rc == 0; i++) {
        struct kvm_pic_state k;
        memcpy(&k, r.pic[i], sizeof(k));
        xen_pic(&k, i == 0, &vpic);
        rc = put_xen(ctx, HVM_SAVE_CODE(PIC), (uint16_t)i, &vpic, sizeof(vpic));
    }
    struct kvm_ioapic_state kio;
    memcpy(&kio, r.ioapic, sizeof(kio));
    struct hvm_hw_vioapic xio;
    xen_ioapic(&kio, &xio);
    if (rc == 0)
        rc = put_xen(ctx, HVM_SAVE_CODE(IOAPIC), 0, &xio, sizeof(xio));
    /* Xen's LAPIC_REGS is the APIC register page, as KVM's struct kvm_lapic_state is. */
    _Static_assert(sizeof(struct hvm_hw_lapic_regs) == sizeof(struct kvm_lapic_state),
                   "LAPIC register page");
    for (unsigned i = 0; i < d->nr_vcpus && rc == 0; i++) {
        struct kvm_lapic_state l;
        if (!d->vcpus[i]->accel_priv)
            continue;
        if (ioctl(kvm_vcpu_of(d->vcpus[i])->fd, KVM_GET_LAPIC, &l) < 0)
            return -errno;
        rc = put_xen(ctx, HVM_SAVE_CODE(LAPIC_REGS), (uint16_t)i, &l, sizeof(l));
    }
    struct hvm_hw_pit xpit;
    xen_pit(&pit, &xpit);
    return rc < 0 ? rc : put_xen(ctx, HVM_SAVE_CODE(PIT), 0, &xpit, sizeof(xpit));
}

static int check_pic(struct kxend_save_ctx *ctx, const struct kvm_pic_state *p, unsigned i)
{
    uint8_t mask = i ? PIC_ELCR_MASK_SLAVE : PIC_ELCR_MASK_MASTER;
    if (p->elcr_mask != mask || (p->elcr & ~mask) || p->irq_base & 7 || p->priority_add > 7 ||
        p->init_state > 3 || p->read_reg_select > 1 || p->poll > 1 || p->special_mask > 1 ||
        p->auto_eoi > 1 || p->rotate_on_auto_eoi > 1 || p->special_fully_nested_mode > 1 ||
        p->init4 > 1)
        return kxend_load_refuse(ctx,
                                 "KVM irqchip record: PIC %u state out of the 8259's range "
                                 "(elcr %#x/%#x, irq_base %#x, init_state %u)",
                                 i, p->elcr, p->elcr_mask, p->irq_base, p->init_state);
    return 0;
}

static int check_pit(struct kxend_save_ctx *ctx, const struct kvm_pit_state2 *p)
{
    if (p->flags & ~KVM_PIT_FLAGS_HPET_LEGACY)
        return kxend_load_refuse(ctx, "KVM irqchip record: PIT flags %#x", p->flags);
    for (unsigned i = 0; i < 3; i++) {
        const struct kvm_pit_channel_state *c = &p->channels[i];
        /* KVM leaves a channel nobody programmed in mode 0xff. */
        if (c->count > 0x10000 || (c->mode > 5 && c->mode != 0xff) || c->rw_mode > 3 ||
            c->read_state > 4 || c->write_state > 4 || c->bcd > 1 || c->gate > 1 ||
            c->count_latched > 3 || c->status_latched > 1)
            return kxend_load_refuse(ctx,
                                     "KVM irqchip record: PIT channel %u (count %u, mode %u, "
                                     "rw_mode %u) out of the i8254's range",
                                     i, c->count, c->mode, c->rw_mode);
    }
    return 0;
}

int kvm_hvm_load(struct domain *d, struct kxend_save_ctx *ctx)
{
    struct kxen_srec_kvm_irqchip r;
    int len = kxend_save_get(ctx, KXEN_SREC_KVM_IRQCHIP, 0, &r, sizeof(r));
    if (len != (int)sizeof(r))
        return kxend_load_refuse(ctx, "KVM irqchip record: %s (length %d, expected %zu)",
                                 len == -ENOENT ? "missing" : "bad length", len, sizeof(r));
    struct kvm_pic_state pic[2];
    struct kvm_ioapic_state io;
    struct kvm_pit_state2 pit;
    memcpy(&pic[0], r.pic[0], sizeof(pic[0]));
    memcpy(&pic[1], r.pic[1], sizeof(pic[1]));
    memcpy(&io, r.ioapic, sizeof(io));
    memcpy(&pit, r.pit, sizeof(pit));
    int rc = check_pic(ctx, &pic[0], 0);
    if (rc == 0)
        rc = check_pic(ctx, &pic[1], 1);
    if (rc == 0 && io.base_address != IOAPIC_BASE)
        rc = kxend_load_refuse(ctx, "KVM irqchip record: IOAPIC at %#llx, not %#llx",
                               (unsigned long long)io.base_address, IOAPIC_BASE);
    if (rc == 0)
        rc = check_pit(ctx, &pit);
    if (rc < 0)
        return rc;
    int fd = kvm_dom_of(d)->vm_fd;
    static const unsigned ids[3] = {KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
                                    KVM_IRQCHIP_IOAPIC};
    const void *src[3] = {&pic[0], &pic[1], &io};
    const size_t sz[3] = {sizeof(pic[0]), sizeof(pic[1]), sizeof(io)};
    for (unsigned i = 0; i < 3; i++) {
        struct kvm_irqchip c = {.chip_id = ids[i]};
        memcpy(&c.chip, src[i], sz[i]);
        if (ioctl(fd, KVM_SET_IRQCHIP, &c) < 0)
            return -errno;
    }
    return ioctl(fd, KVM_SET_PIT2, &pit) < 0 ? -errno : 0;
}
