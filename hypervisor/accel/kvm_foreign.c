/* The kvm accelerator's foreign (grant) pages: each sits in a one-page KVM memory slot whose
 * host page is a mapping of kxend's own, and a slot stays registered after its unmap so the
 * next map at the same guest-physical address only swaps the page underneath it.
 *
 * Why: adding or deleting a memory slot makes KVM wait for every vCPU of the VM (SRCU) and
 * drop its mappings of the slot, which nested KVM pays dearly for; a backend that maps and
 * unmaps a request's pages from a window of addresses it reuses (blkback in a driver domain)
 * paid two slot changes per page. Swapping the host page is an mmap over the slot's host
 * address: KVM's MMU notifier drops the guest's mapping of the old page before mmap returns,
 * exactly as a slot deletion did.
 *
 * Invariants: a slot is live (the granter's page behind it) from map to unmap and parked
 * (a fresh zero page of kxend's, private to this slot) otherwise, so after an unmap the guest
 * never reaches the granter's page; a parked slot keeps its read-only flag and is reused only
 * for a map of the same address and access, or re-registered when every slot is taken. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kxen/log.h"
#include "kvm_priv.h"

static int set_region(struct kvm_dom *kd, unsigned i, uint64_t gpa, void *hva, bool writable,
                      uint64_t size)
{
    struct kvm_userspace_memory_region r = {
        .slot = KXEN_KVM_FOREIGN_SLOT0 + i,
        /* Read-only: KVM turns writes into MMIO exits, which io_mmio_access drops. */
        .flags = writable ? 0 : KVM_MEM_READONLY,
        .guest_phys_addr = gpa,
        .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    return ioctl(kd->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* A fresh zero page at the slot's host address, replacing whatever was there. */
static int park_page(void *hva)
{
    void *p = mmap(hva, KXEN_PAGE_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    return p == MAP_FAILED ? -errno : 0;
}

/* The granter's page (host: a shared mapping, kxend's) also at the slot's host address, with
 * host's protection; what was there is replaced atomically. */
static int place_page(void *hva, void *host)
{
    void *p = mremap(host, 0, KXEN_PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, hva);
    return p == MAP_FAILED ? -errno : 0;
}

static void drop_slot(struct kvm_dom *kd, unsigned i)
{
    struct kvm_foreign_slot *s = &kd->foreign[i];
    /* Size 0 deletes the slot; KVM zaps the guest's mappings of it before returning. */
    if (s->gpa && set_region(kd, i, s->gpa, NULL, true, 0) < 0)
        log_err("kvm: removing the grant slot at %#llx: %s", (unsigned long long)s->gpa,
                strerror(errno));
    s->gpa = 0;
    s->live = false;
}

/* The slot to use for gpa: its parked slot when one matches, else an unused or parked one
 * (re-registered below); -EEXIST when gpa is live, -ENOSPC when every slot is live. */
static int pick_slot(struct kvm_dom *kd, uint64_t gpa, bool writable, bool *registered)
{
    int unused = -1, parked = -1;
    for (unsigned i = 0; i < KXEN_ACCEL_MAX_FOREIGN; i++) {
        struct kvm_foreign_slot *s = &kd->foreign[i];
        if (s->gpa == gpa && s->live)
            return -EEXIST;
        if (s->gpa == gpa) {
            *registered = s->writable == writable;
            return (int)i;
        }
        if (!s->gpa && unused < 0)
            unused = (int)i;
        else if (s->gpa && !s->live && parked < 0)
            parked = (int)i;
    }
    *registered = false;
    return unused >= 0 ? unused : parked >= 0 ? parked : -ENOSPC;
}

int kvm_map_foreign_page(struct domain *d, uint64_t gpa, void *host, bool writable)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    bool registered;
    int i = pick_slot(kd, gpa, writable, &registered);
    if (i < 0)
        return i;
    struct kvm_foreign_slot *s = &kd->foreign[i];
    if (!s->hva) {
        void *p =
            mmap(NULL, KXEN_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -errno;
        s->hva = p;
    }
    /* A slot registered elsewhere or with the other access goes first: the granter's page
     * must never appear at another address, nor writable when granted read-only. */
    if (!registered)
        drop_slot(kd, (unsigned)i);
    int rc = place_page(s->hva, host);
    if (rc) /* the granter's page is not a shared mapping: the slot stays parked */
        return rc;
    if (!registered) {
        rc = set_region(kd, (unsigned)i, gpa, s->hva, writable, KXEN_PAGE_SIZE);
        if (rc) {
            park_page(s->hva);
            return rc;
        }
        s->gpa = gpa;
        s->writable = writable;
    }
    s->live = true;
    return 0;
}

void kvm_unmap_foreign_page(struct domain *d, uint64_t gpa)
{
    struct kvm_dom *kd = kvm_dom_of(d);
    for (unsigned i = 0; gpa && i < KXEN_ACCEL_MAX_FOREIGN; i++) {
        struct kvm_foreign_slot *s = &kd->foreign[i];
        if (s->gpa != gpa || !s->live)
            continue;
        if (park_page(s->hva) < 0) { /* cannot swap the page out: delete the slot instead */
            log_err("kvm: dom%u: parking the grant slot at %#llx: %s", d->domid,
                    (unsigned long long)gpa, strerror(errno));
            drop_slot(kd, i);
        }
        s->live = false;
    }
}

void kvm_foreign_release(struct kvm_dom *kd)
{
    for (unsigned i = 0; i < KXEN_ACCEL_MAX_FOREIGN; i++)
        if (kd->foreign[i].hva)
            munmap(kd->foreign[i].hva, KXEN_PAGE_SIZE);
}
