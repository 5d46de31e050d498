/* Fake core for the event-channel and grant-table unit tests (see the header). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kxend/accel.h"
#include "kxend/guest_mem.h"
#include "kxend/evtchn.h"
#include "kxend/gnttab.h"
#include "test_evtchn_fake_domain.h"

static struct domain *fake_domains[8];
static unsigned kicks[8][KXEN_MAX_VCPUS];
static unsigned foreign_mapped[8], foreign_unmapped[8];
static void (*copy_to_guest_fault)(void);

static int fake_slot(const struct domain *d)
{
    for (int i = 0; i < 8; i++)
        if (fake_domains[i] == d)
            return i;
    return -1;
}

/* Grant maps of the fake accelerator: counted, nothing placed. */
static int fake_map_foreign_page(struct domain *d, uint64_t gpa, void *host, bool writable)
{
    (void)gpa, (void)host, (void)writable;
    int i = fake_slot(d);
    if (i >= 0)
        foreign_mapped[i]++;
    return 0;
}

static void fake_unmap_foreign_page(struct domain *d, uint64_t gpa)
{
    (void)gpa;
    int i = fake_slot(d);
    if (i >= 0)
        foreign_unmapped[i]++;
}

static const struct accel_ops fake_accel = {
    .name = "fake",
    .map_foreign_page = fake_map_foreign_page,
    .unmap_foreign_page = fake_unmap_foreign_page,
};

unsigned fake_foreign_mapped(const struct domain *d)
{
    int i = fake_slot(d);
    return i < 0 ? 0 : foreign_mapped[i];
}

unsigned fake_foreign_unmapped(const struct domain *d)
{
    int i = fake_slot(d);
    return i < 0 ? 0 : foreign_unmapped[i];
}

void fake_fail_next_copy_to_guest(void (*before)(void))
{
    copy_to_guest_fault = before;
}

struct domain *domain_get(uint16_t domid)
{
    for (unsigned i = 0; i < 8; i++)
        if (fake_domains[i] && fake_domains[i]->domid == domid) {
            atomic_fetch_add(&fake_domains[i]->refs, 1);
            return fake_domains[i];
        }
    return NULL;
}

void domain_put(struct domain *d)
{
    atomic_fetch_sub(&d->refs, 1);
}

void vcpu_kick(struct vcpu *v)
{
    for (unsigned i = 0; i < 8; i++)
        if (fake_domains[i] == v->dom)
            __atomic_fetch_add(&kicks[i][v->id], 1, __ATOMIC_SEQ_CST);
}

unsigned fake_kicks(const struct vcpu *v)
{
    for (unsigned i = 0; i < 8; i++)
        if (fake_domains[i] == v->dom)
            return __atomic_load_n(&kicks[i][v->id], __ATOMIC_SEQ_CST);
    return 0;
}

void *guest_phys_ptr(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (gpa >= d->ram_size || len > d->ram_size - gpa)
        return NULL;
    return d->ram + gpa;
}

void *fake_gpa(struct domain *d, uint64_t gpa)
{
    return guest_phys_ptr(d, gpa, 1);
}

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gva, size_t len)
{
    void *p = guest_phys_ptr(v->dom, gva, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

int copy_to_guest(struct vcpu *v, uint64_t gva, const void *src, size_t len)
{
    void (*fault)(void) = copy_to_guest_fault;
    if (fault) {
        copy_to_guest_fault = NULL;
        fault();
        return -EFAULT;
    }
    void *p = guest_phys_ptr(v->dom, gva, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

void guest_mark_dirty(struct domain *d, uint64_t gpa, uint64_t len)
{
    (void)d, (void)gpa, (void)len;
}

struct domain *fake_domain_create(uint16_t domid, unsigned nr_vcpus, bool privileged)
{
    struct domain *d = calloc(1, sizeof(*d));
    d->domid = domid;
    d->privileged = privileged;
    d->ram_size = FAKE_RAM_PAGES * KXEN_PAGE_SIZE;
    /* RAM in a memfd, as kxend's: guest grant maps mmap the granter's pages from it. */
    d->mem_fd = memfd_create("fake-ram", MFD_CLOEXEC);
    if (d->mem_fd < 0 || ftruncate(d->mem_fd, (off_t)d->ram_size) < 0)
        abort();
    d->ram = mmap(NULL, d->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->mem_fd, 0);
    if (d->ram == MAP_FAILED)
        abort();
    d->accel = &fake_accel;
    d->shared_info_gpa = FAKE_SHARED_INFO_GPA;
    d->gnttab_base_pfn = FAKE_GNTTAB_BASE_PFN;
    d->nr_vcpus = nr_vcpus;
    atomic_store(&d->refs, 1);
    for (unsigned i = 0; i < nr_vcpus; i++) {
        d->vcpus[i] = calloc(1, sizeof(struct vcpu));
        d->vcpus[i]->dom = d;
        d->vcpus[i]->id = i;
        d->vcpus[i]->vcpu_info_gpa = ~0ull;
    }
    for (unsigned i = 0; i < 8; i++)
        if (!fake_domains[i]) {
            fake_domains[i] = d;
            memset(kicks[i], 0, sizeof(kicks[i]));
            foreign_mapped[i] = foreign_unmapped[i] = 0;
            break;
        }
    evtchn_domain_init(d);
    gnttab_domain_init(d);
    return d;
}

void fake_domain_destroy(struct domain *d)
{
    for (unsigned i = 0; i < 8; i++)
        if (fake_domains[i] == d)
            fake_domains[i] = NULL;
    gnttab_domain_destroy(d);
    evtchn_domain_destroy(d);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        free(d->vcpus[i]);
    munmap(d->ram, d->ram_size);
    close(d->mem_fd);
    free(d);
}

int64_t fake_hypercall(const struct hypercall_family *hc, struct vcpu *v, uint64_t cmd, void *arg,
                       size_t size, uint64_t count)
{
    memcpy(fake_gpa(v->dom, FAKE_ARGS_GPA), arg, size);
    uint64_t args[5] = {cmd, FAKE_ARGS_GPA, count, 0, 0};
    int64_t rc = hc->fn(v, args);
    memcpy(arg, fake_gpa(v->dom, FAKE_ARGS_GPA), size);
    return rc;
}
