/* The kvm accelerator: guests run under /dev/kvm. This file sets up the VM (memory slot,
 * hypercall-MSR filter), the vCPUs (boot state, CPUID, TSC), and offers register, translation
 * and dirty-log access; kvm_probe.c decides whether this host can run it, kvm_run.c has the
 * vCPU threads and the exit handling.
 *
 * Hypercall mechanism: the hypercall page holds `mov $nr,%eax; out %eax,$0xe8; ret` per
 * entry, and the guest's write to KXEN_HYPERCALL_MSR reaches kxend through a userspace MSR
 * filter (KVM_CAP_X86_USER_SPACE_MSR), which then fills the page; this works on every KVM
 * (Debian 12's is built without CONFIG_KVM_XEN). Linux kernels execute vmcall/vmmcall
 * directly: on hosts whose KVM has Xen support those exit to kxend through KVM's Xen
 * intercept (kvm_xen.c), elsewhere the domain builder rewrites the two instructions into the
 * same port trap (docs/linux-guest.md). Such guests also get an in-kernel local APIC
 * (kvm_irqchip.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kxen/ctl_save.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kvm_priv.h"

#define KVM_CPUID_MAX_ENTRIES 256

static int kvm_set_slot(struct domain *d, uint32_t flags)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    struct kvm_userspace_memory_region r = {
        .slot = KXEN_KVM_MEM_SLOT,
        .flags = flags,
        .guest_phys_addr = 0,
        .memory_size = d->ram_size,
        .userspace_addr = (uint64_t)(uintptr_t)d->ram,
    };
    if (ioctl(kd->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
        return -errno;
    kd->slot_flags = flags;
    return 0;
}

/* Guest writes to the hypercall MSR (and to extra_msr when not 0) exit to kxend
 * (KVM_EXIT_X86_WRMSR); everything else stays with KVM. A clear bit in a write range means
 * "deny in the kernel, ask userspace". */
int kvm_set_msr_filter(struct kvm_dom *kd, uint32_t extra_msr)
{
    static uint8_t deny_one = 0;
    struct kvm_msr_filter filter = {
        .flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
        .ranges = {{
            .flags = KVM_MSR_FILTER_WRITE,
            .nmsrs = 1,
            .base = KXEN_HYPERCALL_MSR,
            .bitmap = &deny_one,
        }},
    };
    if (extra_msr)
        filter.ranges[1] = (struct kvm_msr_filter_range){
            .flags = KVM_MSR_FILTER_WRITE, .nmsrs = 1, .base = extra_msr, .bitmap = &deny_one};
    return ioctl(kd->vm_fd, KVM_X86_SET_MSR_FILTER, &filter) < 0 ? -errno : 0;
}

static int kvm_install_msr_filter(struct kvm_dom *kd)
{
    struct kvm_enable_cap cap = {
        .cap = KVM_CAP_X86_USER_SPACE_MSR,
        .args = {KVM_MSR_EXIT_REASON_FILTER},
    };
    if (ioctl(kd->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
        return -errno;
    return kvm_set_msr_filter(kd, 0);
}

/* KVM_GET_SUPPORTED_CPUID answers the same for every VM of this host's /dev/kvm: it is asked
 * once per kxend (about 0.3 ms, on the path of every create and restore) and the table is
 * kept for kxend's life, shared read-only by every domain. A failure is not kept: the next
 * domain asks again. */
static struct kvm_cpuid2 *supported_cpuid;
static pthread_mutex_t supported_cpuid_lock = PTHREAD_MUTEX_INITIALIZER;

static int kvm_load_supported_cpuid(struct kvm_dom *kd)
{
    int rc = 0;
    pthread_mutex_lock(&supported_cpuid_lock);
    if (!supported_cpuid) {
        size_t sz =
            sizeof(struct kvm_cpuid2) + KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
        struct kvm_cpuid2 *c = calloc(1, sz);
        if (!c) {
            rc = -ENOMEM;
        } else {
            c->nent = KVM_CPUID_MAX_ENTRIES;
            if (ioctl(kd->sys_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
                rc = -errno;
                free(c);
            } else {
                supported_cpuid = c;
            }
        }
    }
    kd->supported = supported_cpuid;
    pthread_mutex_unlock(&supported_cpuid_lock);
    return rc;
}

static void kvm_domain_destroy(struct domain *d)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    if (!kd)
        return;
    if (kd->vm_fd >= 0)
        close(kd->vm_fd);
    kvm_foreign_release(kd);
    if (kd->sys_fd >= 0)
        close(kd->sys_fd);
    pthread_mutex_destroy(&kd->xen_lock);
    free(kd);
    d->accel_priv = NULL;
}

static int kvm_domain_init(struct domain *d)
{
    if (!d->ram || d->ram_size == 0 || d->ram_size % KXEN_PAGE_SIZE)
        return -EINVAL;
    if (d->ram_size > KXEN_KVM_IDENT_MAP_ADDR) {
        log_err("kvm: dom%u: %llu MiB of RAM overlaps the 4 GiB hole (not supported)", d->domid,
                (unsigned long long)(d->ram_size >> 20));
        return -E2BIG;
    }
    struct kvm_dom *kd = calloc(1, sizeof(*kd));
    if (!kd)
        return -ENOMEM;
    kd->vm_fd = -1;
    pthread_mutex_init(&kd->xen_lock, NULL);
    d->accel_priv = kd;
    int rc;
    kd->sys_fd = kvm_open_system();
    if (kd->sys_fd < 0) {
        rc = kd->sys_fd;
        goto fail;
    }
    kd->vm_fd = ioctl(kd->sys_fd, KVM_CREATE_VM, 0);
    if (kd->vm_fd < 0) {
        rc = -errno;
        log_err("kvm: dom%u: KVM_CREATE_VM: %s", d->domid, strerror(-rc));
        goto fail;
    }
    kd->run_size = ioctl(kd->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (kd->run_size < (int)sizeof(struct kvm_run)) {
        rc = -ENODEV;
        goto fail;
    }
    kd->sync_regs = ioctl(kd->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) > 0;
    /* Intel needs these for real-mode emulation; AMD accepts and ignores them. */
    if (ioctl(kd->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KXEN_KVM_TSS_ADDR) < 0)
        log_debug("kvm: dom%u: KVM_SET_TSS_ADDR: %s", d->domid, strerror(errno));
    uint64_t ident = KXEN_KVM_IDENT_MAP_ADDR;
    if (ioctl(kd->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
        log_debug("kvm: dom%u: KVM_SET_IDENTITY_MAP_ADDR: %s", d->domid, strerror(errno));
    /* The filter before the RAM: KVM_X86_SET_MSR_FILTER waits for an SRCU grace period,
     * which is immediate on a VM that has never synchronized and a normal (timer-driven,
     * ~20 ms on a loaded host) one right after the memory slot's expedited grace period. */
    if ((rc = kvm_install_msr_filter(kd)) < 0) {
        log_err("kvm: dom%u: hypercall MSR filter: %s", d->domid, strerror(-rc));
        goto fail;
    }
    if ((rc = kvm_set_slot(d, 0)) < 0) {
        log_err("kvm: dom%u: KVM_SET_USER_MEMORY_REGION: %s", d->domid, strerror(-rc));
        goto fail;
    }
    if ((rc = kvm_load_supported_cpuid(kd)) < 0) {
        log_err("kvm: dom%u: KVM_GET_SUPPORTED_CPUID: %s", d->domid, strerror(-rc));
        goto fail;
    }
    return 0;
fail:
    kvm_domain_destroy(d);
    return rc;
}

/* ---- CPUID ---------------------------------------------------------------------------- */

/* One entry as the guest sees it: the core's answer (cpuid_emulate), with every feature bit
 * limited to what KVM can virtualize, and sizes KVM computes (xsave, address widths) kept. */
static void cpuid_merge(struct vcpu *v, struct kvm_cpuid_entry2 *e)
{
    uint32_t o[4];
    cpuid_emulate(v, e->function, e->index, o);
    switch (e->function) {
    case 0x0:
    case 0x80000000:
        e->eax = KXEN_MIN(o[0], e->eax); /* max leaf: never beyond what KVM lists */
        e->ebx = o[1], e->ecx = o[2], e->edx = o[3];
        break;
    case 0x1:
        e->eax = o[0];
        e->ebx = (o[1] & 0x00ffffffu) | ((uint32_t)v->id << 24); /* initial APIC id */
        e->ecx &= o[2];
        e->edx &= o[3];
        break;
    case 0x7:
    case 0x80000001:
    case 0x80000007:
        e->ebx &= o[1], e->ecx &= o[2], e->edx &= o[3];
        if (e->function == 0x80000001)
            e->eax = o[0];
        break;
    case 0xd:
        if (e->index <= 1) {
            e->eax &= o[0];
            e->edx &= o[3];
        }
        break;
    case 0x80000008:
        e->ebx &= o[1];
        break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004:
    case 0x80000005:
    case 0x80000006:
        e->eax = o[0], e->ebx = o[1], e->ecx = o[2], e->edx = o[3];
        break;
    default:
        break; /* other leaves (caches, topology) as KVM reports them */
    }
}

static int kvm_vcpu_set_cpuid(struct vcpu *v)
{
    struct kvm_dom *kd = kvm_dom_of(v->dom);
    const struct kvm_cpuid2 *sup = kd->supported;
    size_t sz = sizeof(struct kvm_cpuid2) + KVM_CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = calloc(1, sz);
    if (!c)
        return -ENOMEM;
    uint32_t n = 0;
    for (uint32_t i = 0; i < sup->nent && n < KVM_CPUID_MAX_ENTRIES; i++) {
        struct kvm_cpuid_entry2 e = sup->entries[i];
        if (e.function >= 0x40000000u && e.function < 0x50000000u)
            continue; /* KVM's own paravirt leaves: the guest must see Xen instead */
        cpuid_merge(v, &e);
        c->entries[n++] = e;
    }
    /* Xen's leaves, as many as the base leaf announces (at most 0x40000005 here). An
     * emulated PC (HVM) gets none: its kernel is loaded by firmware or decompresses itself,
     * so the builder cannot route its vmcall/vmmcall to kxend when it loads it (the
     * instruction would reach KVM, which answers -KVM_ENOSYS, and Linux BUG()s on its first
     * XENMEM_add_to_physmap); without the signature Linux runs as on a plain PC. A PV-on-HVM
     * guest (vcpu_boot.xen_hvm) gets them: its hypercalls are routed once its kernel runs. */
    if (v->dom->hvm && !v->dom->vcpus[0]->boot.xen_hvm) {
        c->nent = n;
        int rc = ioctl(kvm_vcpu_of(v)->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
        free(c);
        return rc;
    }
    uint32_t o[4];
    cpuid_emulate(v, 0x40000000u, 0, o);
    uint32_t last = KXEN_MIN(o[0], 0x40000005u);
    for (uint32_t fn = 0x40000000u; fn <= last && n < KVM_CPUID_MAX_ENTRIES; fn++) {
        cpuid_emulate(v, fn, 0, o);
        c->entries[n++] = (struct kvm_cpuid_entry2){
            .function = fn, .eax = o[0], .ebx = o[1], .ecx = o[2], .edx = o[3]};
    }
    c->nent = n;
    int rc = ioctl(kvm_vcpu_of(v)->fd, KVM_SET_CPUID2, c) < 0 ? -errno : 0;
    free(c);
    return rc;
}

/* Guest TSC = host TSC, so that vcpu_time_info written from host rdtsc readings is right
 * inside the guest without a per-vCPU offset. */
static void kvm_vcpu_align_tsc(struct vcpu *v)
{
    int fd = kvm_vcpu_of(v)->fd;
    uint64_t offset = 0;
    struct kvm_device_attr attr = {
        .group = KVM_VCPU_TSC_CTRL,
        .attr = KVM_VCPU_TSC_OFFSET,
        .addr = (uint64_t)(uintptr_t)&offset,
    };
    if (ioctl(fd, KVM_HAS_DEVICE_ATTR, &attr) == 0 && ioctl(fd, KVM_SET_DEVICE_ATTR, &attr) == 0)
        return;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = {.hdr.nmsrs = 1, .e = {.index = 0x10 /* IA32_TIME_STAMP_COUNTER */}};
    m.e.data = __builtin_ia32_rdtsc();
    if (ioctl(fd, KVM_SET_MSRS, &m) != 1)
        log_warn("kvm: dom%u vcpu%u: cannot align the guest TSC", v->dom->domid, v->id);
}

/* ---- Boot state ----------------------------------------------------------------------- */

void kvm_cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

void kvm_seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
    *s = (struct kvm_segment){.base = 0,
                              .limit = 0xffffffffu,
                              .selector = sel,
                              .type = type,
                              .present = 1,
                              .dpl = 0,
                              .db = 1,
                              .s = 1,
                              .l = 0,
                              .g = 1};
}

static int kvm_vcpu_boot(struct vcpu *v, const struct vcpu_boot *boot)
{
    int fd = kvm_vcpu_of(v)->fd;
    struct kvm_sregs s;
    if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
        return -errno;
    struct kvm_regs r = {.rflags = 0x2};
    switch (boot->mode) {
    case VCPU_BOOT_PROT32:
        /* PVH: flat 4 GiB code and data, protected mode, paging off (Xen's pvh.pandoc). */
        if (boot->entry > 0xffffffffu || boot->rbx > 0xffffffffu)
            return -EINVAL;
        kvm_seg_flat(&s.cs, 0x08, 0xb); /* execute/read, accessed */
        kvm_seg_flat(&s.ds, 0x10, 0x3); /* read/write, accessed */
        s.es = s.fs = s.gs = s.ss = s.ds;
        s.tr = (struct kvm_segment){.limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1};
        s.ldt = (struct kvm_segment){.limit = 0xffff, .type = 0x2, .present = 1};
        s.cr0 = 0x11; /* PE | ET */
        s.cr3 = s.cr4 = s.efer = 0;
        r.rip = boot->entry;
        r.rbx = boot->rbx;
        r.rsi = boot->rsi; /* Linux's 32-bit boot protocol: esi = boot_params */
        break;
    case VCPU_BOOT_REAL16:
        /* Emulated-hardware guests: KVM's reset state, with cs:ip pointing at the entry. The
         * reset vector itself keeps the CPU's reset cs (0xf000, base 0xffff0000): the
         * firmware's first instruction is the one 16 bytes below 4 GiB. */
        if (boot->entry == 0xfffffff0u) {
            s.cs.selector = 0xf000;
            s.cs.base = 0xffff0000u;
            r.rip = 0xfff0;
            break;
        }
        if (boot->entry >= 0x100000)
            return -EINVAL;
        s.cs.selector = (uint16_t)((boot->entry >> 4) & 0xf000);
        s.cs.base = (uint64_t)s.cs.selector << 4;
        r.rip = boot->entry - s.cs.base;
        break;
    case VCPU_BOOT_LONG64:
        /* Secondary vCPUs come with an empty 64-bit boot: they stay in reset state until the
         * guest brings them up. A real 64-bit entry needs page tables the builder does not
         * make: soft-only. */
        if (boot->entry == 0 && v->id != 0)
            return 0; /* with a LAPIC, KVM holds them until INIT/SIPI */
        return -EOPNOTSUPP;
    default:
        /* The 64-bit entry needs page tables the builder does not make: soft-only. */
        return -EOPNOTSUPP;
    }
    r.rsp = boot->rsp;
    if (ioctl(fd, KVM_SET_SREGS, &s) < 0 || ioctl(fd, KVM_SET_REGS, &r) < 0)
        return -errno;
    return 0;
}

static void kvm_vcpu_destroy(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (!kv)
        return;
    if (kv->run)
        munmap(kv->run, kvm_dom_of(v->dom)->run_size);
    if (kv->fd >= 0)
        close(kv->fd);
    pthread_cond_destroy(&kv->park_cond);
    pthread_mutex_destroy(&kv->park_lock);
    free(kv);
    v->accel_priv = NULL;
}

static int kvm_vcpu_init(struct vcpu *v, const struct vcpu_boot *boot)
{
    struct kvm_dom *kd = kvm_dom_of(v->dom);
    struct kvm_vcpu *kv = calloc(1, sizeof(*kv));
    if (!kv)
        return -ENOMEM;
    kv->fd = -1;
    pthread_mutex_init(&kv->park_lock, NULL);
    kvm_cond_init_monotonic(&kv->park_cond);
    v->accel_priv = kv;
    int rc;
    /* The LAPIC must exist before the first vCPU: vCPU 0 carries the builder's choice. */
    if (v->id == 0 && boot && boot->lapic && (rc = kvm_irqchip_lapic_create(v->dom)) < 0)
        goto fail;
    if (v->id == 0 && boot && boot->xen_hvm && (rc = kvm_hvm_trap_kernel_entry(v->dom)) < 0)
        goto fail;
    kv->fd = ioctl(kd->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->id);
    if (kv->fd < 0) {
        rc = -errno;
        goto fail;
    }
    kv->run = mmap(NULL, kd->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, kv->fd, 0);
    if (kv->run == MAP_FAILED) {
        kv->run = NULL;
        rc = -errno;
        goto fail;
    }
    if (kd->sync_regs)
        kv->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
    if ((rc = kvm_vcpu_set_cpuid(v)) < 0) {
        log_err("kvm: dom%u vcpu%u: KVM_SET_CPUID2: %s", v->dom->domid, v->id, strerror(-rc));
        goto fail;
    }
    kvm_vcpu_align_tsc(v);
    kvm_xen_vcpu_init(v);
    if (kd->lapic)
        kvm_irqchip_vcpu_init(v);
    if (boot && (rc = kvm_vcpu_boot(v, boot)) < 0) {
        log_err("kvm: dom%u vcpu%u: boot mode %d refused: %s", v->dom->domid, v->id,
                (int)boot->mode, strerror(-rc));
        goto fail;
    }
    return 0;
fail:
    kvm_vcpu_destroy(v);
    return rc;
}

/* ---- Registers ------------------------------------------------------------------------ */

static bool on_own_thread(struct vcpu *v)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    return kv->thread_started && pthread_equal(pthread_self(), kv->thread);
}

static void regs_from_kvm(struct vcpu_regs *r, const struct kvm_regs *k)
{
    *r = (struct vcpu_regs){k->rax, k->rbx, k->rcx, k->rdx, k->rsi, k->rdi,
                            k->rsp, k->rbp, k->r8,  k->r9,  k->r10, k->r11,
                            k->r12, k->r13, k->r14, k->r15, k->rip, k->rflags};
}

static void regs_to_kvm(struct kvm_regs *k, const struct vcpu_regs *r)
{
    *k = (struct kvm_regs){r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
                           r->rsp, r->rbp, r->r8,  r->r9,  r->r10, r->r11,
                           r->r12, r->r13, r->r14, r->r15, r->rip, r->rflags};
}

/* On the vCPU's own thread during an exit, the kvm_run sync area is the current state (and
 * may hold writes not yet applied); elsewhere the vCPU is parked and the ioctls are exact. */
int kvm_vcpu_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (kvm_dom_of(v->dom)->sync_regs && on_own_thread(v)) {
        regs_from_kvm(r, &kv->run->s.regs.regs);
        return 0;
    }
    struct kvm_regs k;
    if (ioctl(kv->fd, KVM_GET_REGS, &k) < 0)
        return -errno;
    regs_from_kvm(r, &k);
    return 0;
}

int kvm_vcpu_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
    struct kvm_vcpu *kv = kvm_vcpu_of(v);
    if (kvm_dom_of(v->dom)->sync_regs && on_own_thread(v)) {
        regs_to_kvm(&kv->run->s.regs.regs, r);
        kv->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
        return 0;
    }
    struct kvm_regs k;
    regs_to_kvm(&k, r);
    return ioctl(kv->fd, KVM_SET_REGS, &k) < 0 ? -errno : 0;
}

/* Access rights in VMX layout: type 3:0, S 4, DPL 6:5, P 7, AVL 12, L 13, D/B 14, G 15. */
static uint16_t seg_attrib(const struct kvm_segment *k)
{
    if (k->unusable)
        return 0;
    return (uint16_t)(k->type | k->s << 4 | k->dpl << 5 | k->present << 7 | k->avl << 12 |
                      k->l << 13 | k->db << 14 | k->g << 15);
}

static void seg_to_kvm(struct kvm_segment *k, const struct vcpu_segment *s)
{
    uint16_t a = s->attrib;
    *k = (struct kvm_segment){
        .base = s->base,
        .limit = s->limit,
        .selector = s->selector,
        .type = a & 0xf,
        .s = (a >> 4) & 1,
        .dpl = (a >> 5) & 3,
        .present = (a >> 7) & 1,
        .avl = (a >> 12) & 1,
        .l = (a >> 13) & 1,
        .db = (a >> 14) & 1,
        .g = (a >> 15) & 1,
        .unusable = !((a >> 7) & 1),
    };
}

static void seg_from_kvm(struct vcpu_segment *s, const struct kvm_segment *k)
{
    *s = (struct vcpu_segment){
        .base = k->base, .limit = k->limit, .selector = k->selector, .attrib = seg_attrib(k)};
}

static int kvm_get_sregs(struct vcpu *v, struct vcpu_sregs *s)
{
    struct kvm_sregs k;
    if (ioctl(kvm_vcpu_of(v)->fd, KVM_GET_SREGS, &k) < 0)
        return -errno;
    seg_from_kvm(&s->cs, &k.cs), seg_from_kvm(&s->ds, &k.ds), seg_from_kvm(&s->es, &k.es);
    seg_from_kvm(&s->fs, &k.fs), seg_from_kvm(&s->gs, &k.gs), seg_from_kvm(&s->ss, &k.ss);
    seg_from_kvm(&s->tr, &k.tr), seg_from_kvm(&s->ldt, &k.ldt);
    s->gdt_base = k.gdt.base, s->gdt_limit = k.gdt.limit;
    s->idt_base = k.idt.base, s->idt_limit = k.idt.limit;
    s->cr0 = k.cr0, s->cr2 = k.cr2, s->cr3 = k.cr3, s->cr4 = k.cr4, s->cr8 = k.cr8;
    s->efer = k.efer, s->apic_base = k.apic_base;
    s->fs_base = k.fs.base, s->gs_base = k.gs.base;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = {.hdr.nmsrs = 1, .e = {.index = 0xc0000102 /* KERNEL_GS_BASE */}};
    s->kernel_gs_base = ioctl(kvm_vcpu_of(v)->fd, KVM_GET_MSRS, &m) == 1 ? m.e.data : 0;
    return 0;
}

static int kvm_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
    int fd = kvm_vcpu_of(v)->fd;
    struct kvm_sregs k;
    if (ioctl(fd, KVM_GET_SREGS, &k) < 0) /* keeps the interrupt bitmap as it is */
        return -errno;
    seg_to_kvm(&k.cs, &s->cs), seg_to_kvm(&k.ds, &s->ds), seg_to_kvm(&k.es, &s->es);
    seg_to_kvm(&k.fs, &s->fs), seg_to_kvm(&k.gs, &s->gs), seg_to_kvm(&k.ss, &s->ss);
    seg_to_kvm(&k.tr, &s->tr), seg_to_kvm(&k.ldt, &s->ldt);
    k.cs.unusable = 0; /* CS is always usable; a null attrib only means "not saved" */
    k.fs.base = s->fs_base, k.gs.base = s->gs_base;
    k.gdt.base = s->gdt_base, k.gdt.limit = s->gdt_limit;
    k.idt.base = s->idt_base, k.idt.limit = s->idt_limit;
    k.cr0 = s->cr0, k.cr2 = s->cr2, k.cr3 = s->cr3, k.cr4 = s->cr4, k.cr8 = s->cr8;
    k.efer = s->efer;
    if (s->apic_base)
        k.apic_base = s->apic_base;
    if (ioctl(fd, KVM_SET_SREGS, &k) < 0)
        return -errno;
    struct {
        struct kvm_msrs hdr;
        struct kvm_msr_entry e;
    } m = {.hdr.nmsrs = 1, .e = {.index = 0xc0000102, .data = s->kernel_gs_base}};
    return ioctl(fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EINVAL;
}

static int kvm_get_regs(struct vcpu *v, struct vcpu_regs *r)
{
    return kvm_vcpu_get_regs(v, r);
}

static int kvm_set_regs(struct vcpu *v, const struct vcpu_regs *r)
{
    return kvm_vcpu_set_regs(v, r);
}

/* Walks the guest's page tables in its current mode (KVM does the walk). */
static int kvm_translate(struct vcpu *v, uint64_t gva, uint64_t *gpa)
{
    struct kvm_translation t = {.linear_address = gva};
    if (ioctl(kvm_vcpu_of(v)->fd, KVM_TRANSLATE, &t) < 0)
        return -errno;
    if (!t.valid)
        return -EFAULT;
    *gpa = t.physical_address;
    return 0;
}

/* ---- Dirty log ------------------------------------------------------------------------ */

/* KVM logs the guest's writes; d->dirty_bitmap (allocated here as on soft, freed with the
 * domain) collects kxend's own writes through guest_mark_dirty(). */
static int kvm_dirty_log_start(struct domain *d)
{
    if (!d->dirty_bitmap) {
        uint64_t words = ((d->ram_size >> KXEN_PAGE_SHIFT) + 63) / 64;
        _Atomic uint64_t *bm = calloc(words, sizeof(uint64_t));
        if (!bm)
            return -ENOMEM;
        d->dirty_bitmap = bm;
    }
    return kvm_set_slot(d, KVM_MEM_LOG_DIRTY_PAGES);
}

static int kvm_dirty_log_collect(struct domain *d, uint64_t *bitmap)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    if (!(kd->slot_flags & KVM_MEM_LOG_DIRTY_PAGES))
        return -EINVAL;
    uint64_t pages = d->ram_size / KXEN_PAGE_SIZE;
    size_t words = (pages + 63) / 64;
    uint64_t *log = calloc(words, sizeof(*log));
    if (!log)
        return -ENOMEM;
    struct kvm_dirty_log dl = {.slot = KXEN_KVM_MEM_SLOT, .dirty_bitmap = log};
    int rc = ioctl(kd->vm_fd, KVM_GET_DIRTY_LOG, &dl) < 0 ? -errno : 0;
    if (rc == 0)
        for (size_t i = 0; i < words; i++)
            bitmap[i] |= log[i] | (d->dirty_bitmap ? atomic_exchange(&d->dirty_bitmap[i], 0) : 0);
    free(log);
    return rc;
}

static void kvm_dirty_log_stop(struct domain *d)
{
    if (kvm_set_slot(d, 0) < 0)
        log_warn("kvm: dom%u: cannot turn dirty logging off", d->domid);
}

/* KVM sees host writes to guest RAM directly: nothing is cached outside the guest's CPU. */
static void kvm_flush_code(struct domain *d)
{
    (void)d;
}

const struct accel_ops accel_kvm_ops = {
    .name = "kvm",
    .auto_rank = 10,
    .probe = kvm_probe,
    .domain_init = kvm_domain_init,
    .domain_destroy = kvm_domain_destroy,
    .vcpu_init = kvm_vcpu_init,
    .vcpu_destroy = kvm_vcpu_destroy,
    .start = kvm_accel_start,
    .stop = kvm_accel_stop,
    .kick = kvm_accel_kick,
    .get_regs = kvm_get_regs,
    .set_regs = kvm_set_regs,
    .get_sregs = kvm_get_sregs,
    .set_sregs = kvm_set_sregs,
    .get_cpu_state = kvm_get_cpu_state,
    .set_cpu_state = kvm_set_cpu_state,
    .cpu_state_rec = KXEN_SREC_KVM_VCPU,
    .translate = kvm_translate,
    .dirty_log_start = kvm_dirty_log_start,
    .dirty_log_collect = kvm_dirty_log_collect,
    .dirty_log_stop = kvm_dirty_log_stop,
    .flush_code = kvm_flush_code,
    .hypercall_entry = kvm_hypercall_entry,
    .linux_hypercalls = kvm_xen_linux_hypercalls,
    .evtchn_send = kvm_xen_evtchn_send,
    .map_foreign_page = kvm_map_foreign_page,
    .unmap_foreign_page = kvm_unmap_foreign_page,
    .hvm_init = kvm_hvm_init,
    .irq_line = kvm_hvm_irq_line,
    .map_rom = kvm_hvm_map_rom,
    .hvm_save = kvm_hvm_save,
    .hvm_load = kvm_hvm_load,
};
ACCEL_REGISTER(accel_kvm_ops);
