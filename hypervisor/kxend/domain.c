/* The domain table and domain lifecycle: create (memfd RAM, vCPUs, the accelerator's state,
 * then every registered subsystem's: kxend/subsys.h), start, pause, shutdown, destroy
 * (leaves no memfd, thread or fd behind). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <kxen/hvm/params.h>
#include <kxen/sched.h>
#include <kxen/xen.h>

#include "core.h"
#include "kxen/ctl_domain.h"
#include "kxen/log.h"
#include "kxen/util.h"
#include "kxend/evtchn.h"
#include "kxend/subsys.h"

const struct accel_ops *kxend_accel;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct domain *table[KXEN_MAX_DOMID + 1];
/* Like Xen, free ids are handed out round robin after the last one, so a destroyed domain's
 * id is not reused at once (xenstored and xl may still be releasing it). */
static unsigned domid_rover;

static void domain_free(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu *v = d->vcpus[i];
        if (!v)
            continue;
        pthread_mutex_destroy(&v->wait_lock);
        pthread_cond_destroy(&v->wait_cond);
        free(v);
    }
    if (d->ram)
        munmap(d->ram, d->ram_size);
    if (d->mem_fd >= 0)
        close(d->mem_fd);
    free((void *)d->dirty_bitmap);
    free(d->ballooned);
    console_domain_free(d);
    pthread_mutex_destroy(&d->console_lock);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

struct domain *domain_get(uint16_t domid)
{
    struct domain *d = NULL;
    if (domid > KXEN_MAX_DOMID)
        return NULL;
    pthread_mutex_lock(&table_lock);
    if (table[domid]) {
        d = table[domid];
        atomic_fetch_add(&d->refs, 1);
    }
    pthread_mutex_unlock(&table_lock);
    return d;
}

struct domain *domain_get_next(uint16_t domid)
{
    struct domain *d = NULL;
    pthread_mutex_lock(&table_lock);
    for (unsigned id = domid; id <= KXEN_MAX_DOMID; id++) {
        if (table[id]) {
            d = table[id];
            atomic_fetch_add(&d->refs, 1);
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return d;
}

void domain_put(struct domain *d)
{
    if (d && atomic_fetch_sub(&d->refs, 1) == 1)
        domain_free(d);
}

bool domain_name_valid(const char *name)
{
    size_t n = strnlen(name, KXEN_CTL_NAME_MAX);
    if (n == 0 || n >= KXEN_CTL_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (name[i] <= ' ' || name[i] > '~' || name[i] == '/')
            return false;
    return true;
}

/* table_lock held */
static bool name_taken(const char *name, const struct domain *except)
{
    for (unsigned id = 1; id <= KXEN_MAX_DOMID; id++)
        if (table[id] && table[id] != except && !strcmp(table[id]->name, name))
            return true;
    return false;
}

/* Under table_lock. A uuid names one domain (Xen's toolstack refuses a second one); the
 * all-zero uuid means "none given" and may repeat. */
static bool uuid_taken(const uint8_t uuid[16])
{
    static const uint8_t none[16];
    if (!memcmp(uuid, none, 16))
        return false;
    for (unsigned id = 1; id <= KXEN_MAX_DOMID; id++)
        if (table[id] && !memcmp(table[id]->uuid, uuid, 16))
            return true;
    return false;
}

bool domain_overcommit;

/* The last id handed out, kept in <rundir>/kxend.domid while kxend runs: a kxend started
 * after a crash goes on from there instead of from 1, so that no new domain gets the id of
 * a dead one whose state (xenstore nodes, console log) other daemons may still hold. A clean
 * exit removes the file (every domain was destroyed through the toolstack). */
static int domid_fd = -1;
static char domid_path[4096];

int domain_ids_restore(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    char buf[16] = "";
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    unsigned long last = n > 0 ? strtoul(buf, NULL, 10) : 0;
    pthread_mutex_lock(&table_lock);
    if (last >= 1 && last <= KXEN_MAX_DOMID)
        domid_rover = (unsigned)last;
    domid_fd = fd;
    snprintf(domid_path, sizeof(domid_path), "%s", path);
    pthread_mutex_unlock(&table_lock);
    return last >= 1 && last <= KXEN_MAX_DOMID ? (int)last : 0;
}

void domain_ids_forget(void)
{
    pthread_mutex_lock(&table_lock);
    if (domid_fd >= 0) {
        unlink(domid_path);
        close(domid_fd);
        domid_fd = -1;
    }
    pthread_mutex_unlock(&table_lock);
}

/* Under table_lock. */
static void domain_ids_save(void)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%u\n", domid_rover);
    if (domid_fd >= 0 && (ftruncate(domid_fd, 0) < 0 || pwrite(domid_fd, buf, (size_t)n, 0) != n))
        log_warn("cannot record the last domain id in %s: %s", domid_path, strerror(errno));
}

/* The host's MemAvailable in bytes; 0 when unknown. */
static uint64_t host_mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[128];
    unsigned long long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* Under table_lock. As Xen, a domain is built only when its RAM fits: guest RAM is a memfd
 * filled as the guest touches it, so what the running domains may still take (RAM not yet
 * backed) is promised and subtracted from what the host has available. Without this check
 * a guest touching its RAM brings in the OOM killer, which takes kxend and every guest. */
static int ram_fits(uint64_t bytes)
{
    uint64_t avail = domain_overcommit ? 0 : host_mem_available();
    if (!avail)
        return 0;
    uint64_t promised = 0;
    for (unsigned id = 1; id <= KXEN_MAX_DOMID; id++) {
        struct stat st;
        struct domain *o = table[id];
        if (!o || o->mem_fd < 0 || fstat(o->mem_fd, &st) < 0)
            continue;
        uint64_t backed = (uint64_t)st.st_blocks * 512;
        promised += o->ram_size > backed ? o->ram_size - backed : 0;
    }
    return bytes + promised > avail ? -ENOMEM : 0;
}

static int vcpu_alloc(struct domain *d, unsigned id)
{
    struct vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->dom = d;
    v->id = id;
    atomic_init(&v->state, id == 0 ? VCPU_RUNNABLE : VCPU_DOWN);
    v->vcpu_info_gpa = KXEN_NO_GPA;
    v->runstate_gpa = KXEN_NO_GPA;
    v->runstate = id == 0 ? 1 /* RUNSTATE_runnable */ : 3 /* RUNSTATE_offline */;
    v->runstate_entry_ns = kxen_system_time_ns();
    pthread_mutex_init(&v->wait_lock, NULL);
    pthread_cond_init(&v->wait_cond, NULL);
    d->vcpus[id] = v;
    return 0;
}

int domain_create(const struct domain_config *cfg, struct domain **out)
{
    struct domain *d;
    int rc;

    *out = NULL;
    if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > KXEN_MAX_VCPUS)
        return -EINVAL;
    if (cfg->ram_bytes < KXEN_MIN_RAM || cfg->ram_bytes > KXEN_MAX_RAM ||
        cfg->ram_bytes % KXEN_PAGE_SIZE)
        return -EINVAL;
    if (cfg->max_ram_bytes &&
        (cfg->max_ram_bytes < cfg->ram_bytes || cfg->max_ram_bytes > KXEN_MAX_RAM))
        return -EINVAL;
    if (cfg->domid > KXEN_MAX_DOMID)
        return -EINVAL;
    if (cfg->name && cfg->name[0] && !domain_name_valid(cfg->name))
        return -EINVAL;

    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->mem_fd = -1;
    atomic_init(&d->refs, 1);
    atomic_init(&d->state, DOM_BUILDING);
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->console_lock, NULL);
    d->ram_size = cfg->ram_bytes;
    d->max_ram_size = cfg->max_ram_bytes ? cfg->max_ram_bytes : cfg->ram_bytes;
    d->privileged = cfg->privileged;
    d->ssidref = cfg->ssidref;
    d->target = DOMID_INVALID;
    d->accel = kxend_accel;
    d->create_time_ns = kxen_now_ns();
    d->shared_info_gpa = KXEN_NO_GPA;
    if (cfg->uuid)
        memcpy(d->uuid, cfg->uuid, 16);
    d->nr_vcpus = cfg->nr_vcpus;
    for (unsigned i = 0; i < cfg->nr_vcpus; i++)
        if ((rc = vcpu_alloc(d, i)) < 0)
            goto fail;

    /* Guest RAM: a memfd so that dom0 processes can map the same pages. */
    d->mem_fd = memfd_create("kxen-guest-ram", MFD_CLOEXEC);
    if (d->mem_fd < 0 || ftruncate(d->mem_fd, (off_t)d->ram_size) < 0) {
        rc = -errno;
        goto fail;
    }
    d->ram = mmap(NULL, d->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, d->mem_fd, 0);
    if (d->ram == MAP_FAILED) {
        d->ram = NULL;
        rc = -errno;
        goto fail;
    }

    /* Reserve the id and the name. */
    pthread_mutex_lock(&table_lock);
    unsigned id = cfg->domid;
    if (id) {
        if (table[id]) {
            pthread_mutex_unlock(&table_lock);
            rc = -EEXIST;
            goto fail;
        }
    } else {
        unsigned n;
        id = domid_rover;
        for (n = 0; n < KXEN_MAX_DOMID; n++) {
            id = id >= KXEN_MAX_DOMID ? 1 : id + 1;
            if (!table[id])
                break;
        }
        if (n == KXEN_MAX_DOMID) {
            pthread_mutex_unlock(&table_lock);
            rc = -ENOSPC;
            goto fail;
        }
        domid_rover = id;
        domain_ids_save();
    }
    if (cfg->name && cfg->name[0])
        snprintf(d->name, sizeof(d->name), "%s", cfg->name);
    else
        snprintf(d->name, sizeof(d->name), "domain-%u", id);
    if (name_taken(d->name, NULL) || uuid_taken(d->uuid)) {
        pthread_mutex_unlock(&table_lock);
        rc = -EEXIST;
        goto fail;
    }
    if ((rc = ram_fits(d->ram_size)) < 0) {
        pthread_mutex_unlock(&table_lock);
        goto fail;
    }
    d->domid = (uint16_t)id;
    table[id] = d; /* placeholder: not returned by lookups until fully built */
    atomic_fetch_add(&d->refs, 1);
    pthread_mutex_unlock(&table_lock);

    if ((rc = d->accel->domain_init(d)) < 0)
        goto fail_table;
    if ((rc = domain_subsys_init_all(d)) < 0)
        goto fail_accel;
    log_info("domain %u (%s) created: %llu MiB, %u vCPU(s)", d->domid, d->name,
             (unsigned long long)(d->ram_size >> 20), d->nr_vcpus);
    domain_events_notify(d->domid, KXEN_DOMEV_CREATED, 0);
    *out = d;
    return 0;

fail_accel:
    d->accel->domain_destroy(d);
fail_table:
    pthread_mutex_lock(&table_lock);
    table[d->domid] = NULL;
    pthread_mutex_unlock(&table_lock);
    atomic_fetch_sub(&d->refs, 1);
fail:
    domain_free(d);
    return rc;
}

int domain_set_boot(struct domain *d, const struct vcpu_boot *boot)
{
    if (atomic_load(&d->state) != DOM_BUILDING || d->vcpus[0]->boot_set)
        return -EBUSY;
    d->vcpus[0]->boot = *boot;
    d->vcpus[0]->boot_set = true;
    return 0;
}

int domain_start(struct domain *d)
{
    return domain_start_ex(d, false);
}

int domain_start_ex(struct domain *d, bool paused)
{
    int rc = domain_vcpus_create(d, paused);
    if (rc < 0)
        return rc;
    rc = d->accel->start(d);
    if (rc < 0) {
        atomic_store(&d->state, DOM_BUILDING);
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            d->accel->vcpu_destroy(d->vcpus[i]);
    }
    return rc;
}

int domain_vcpus_create(struct domain *d, bool paused)
{
    int rc;
    pthread_mutex_lock(&d->lock);
    if (atomic_load(&d->state) != DOM_BUILDING || !d->vcpus[0]->boot_set) {
        pthread_mutex_unlock(&d->lock);
        return -EBUSY;
    }
    for (unsigned i = 0; i < d->nr_vcpus; i++) {
        struct vcpu_boot none = {.mode = VCPU_BOOT_LONG64};
        rc = d->accel->vcpu_init(d->vcpus[i], i == 0 ? &d->vcpus[0]->boot : &none);
        if (rc < 0) {
            while (i-- > 0)
                d->accel->vcpu_destroy(d->vcpus[i]);
            pthread_mutex_unlock(&d->lock);
            return rc;
        }
    }
    atomic_store(&d->state, paused ? DOM_PAUSED : DOM_RUNNING);
    pthread_mutex_unlock(&d->lock);
    return 0;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int domain_pause(struct domain *d)
{
    int rc = 0;
    pthread_mutex_lock(&d->lock);
    int st = atomic_load(&d->state);
    if (st == DOM_RUNNING) {
        atomic_store(&d->state, DOM_PAUSED);
        atomic_store(&d->stop_ns, realtime_ns());
    } else if (st != DOM_PAUSED)
        rc = st == DOM_BUILDING ? -EBUSY : -EINVAL;
    pthread_mutex_unlock(&d->lock);
    if (rc == 0)
        domain_kick_all(d);
    return rc;
}

int domain_unpause(struct domain *d)
{
    int rc = 0;
    pthread_mutex_lock(&d->lock);
    int st = atomic_load(&d->state);
    if (st == DOM_PAUSED) {
        atomic_store(&d->first_entry_ns, 0);
        atomic_store(&d->stamp_entry, true);
        atomic_store(&d->state, DOM_RUNNING);
    } else if (st != DOM_RUNNING)
        rc = st == DOM_BUILDING ? -EBUSY : -EINVAL;
    pthread_mutex_unlock(&d->lock);
    if (rc == 0)
        domain_kick_all(d);
    return rc;
}

int domain_rename(struct domain *d, const char *name)
{
    if (!domain_name_valid(name))
        return -EINVAL;
    pthread_mutex_lock(&table_lock);
    if (name_taken(name, d)) {
        pthread_mutex_unlock(&table_lock);
        return -EEXIST;
    }
    snprintf(d->name, sizeof(d->name), "%s", name);
    pthread_mutex_unlock(&table_lock);
    return 0;
}

void vcpu_kick(struct vcpu *v)
{
    atomic_store(&v->kicked, true);
    pthread_mutex_lock(&v->wait_lock);
    pthread_cond_broadcast(&v->wait_cond);
    pthread_mutex_unlock(&v->wait_lock);
    if (v->dom->accel && v->dom->accel->kick)
        v->dom->accel->kick(v);
}

void domain_kick_all(struct domain *d)
{
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        vcpu_kick(d->vcpus[i]);
}

void domain_shutdown(struct domain *d, unsigned reason)
{
    pthread_mutex_lock(&d->lock);
    int st = atomic_load(&d->state);
    if (st == DOM_SHUTDOWN || st == DOM_DYING) {
        pthread_mutex_unlock(&d->lock);
        return;
    }
    d->shutdown_reason = reason;
    if (reason == SHUTDOWN_suspend)
        atomic_store(&d->stop_ns, realtime_ns());
    atomic_store(&d->state, DOM_SHUTDOWN);
    /* vCPUs the guest never brought up stay DOWN: like Xen's nr_online_vcpus, getinfo and
     * `xl list` count only the ones that were online when the domain shut down. */
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        if (atomic_load(&d->vcpus[i]->state) != VCPU_DOWN)
            atomic_store(&d->vcpus[i]->state, VCPU_STOPPED);
    pthread_mutex_unlock(&d->lock);
    log_info("domain %u (%s) shut down, reason %u", d->domid, d->name, reason);
    console_hv_printf("(XEN) domain %u shut down, reason %u\n", d->domid, reason);
    domain_kick_all(d);
    domain_events_notify(d->domid, KXEN_DOMEV_SHUTDOWN, reason);
    /* As Xen: dom0 (xenstored) learns of it through VIRQ_DOM_EXC and fires @releaseDomain. */
    evtchn_dom0_send_virq(VIRQ_DOM_EXC);
}

bool domain_sync_before_entry(struct vcpu *v)
{
    struct domain *d = v->dom;
    if (atomic_load(&d->stamp_entry) && atomic_exchange(&d->stamp_entry, false))
        atomic_store(&d->first_entry_ns, realtime_ns());
    sched_vcpu_before_entry(v);
    time_check_timers(v);
    time_update_vcpu(v);
    atomic_store(&v->kicked, false);
    bool pending = evtchn_sync(v);
    if (d->hvm && v->id == 0)
        hvm_callback_line_sync(v, pending);
    return pending && v->upcall_vector != 0;
}

uint64_t domain_cpu_time(struct domain *d)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        t += atomic_load(&d->vcpus[i]->cpu_time_ns);
    return t;
}

uint64_t vcpu_info_gpa(struct vcpu *v)
{
    if (v->vcpu_info_gpa != KXEN_NO_GPA)
        return v->vcpu_info_gpa;
    if (v->dom->shared_info_gpa == KXEN_NO_GPA || v->id >= XEN_LEGACY_MAX_VCPUS)
        return KXEN_NO_GPA;
    return v->dom->shared_info_gpa + v->id * sizeof(struct vcpu_info);
}

int domain_destroy(struct domain *d)
{
    pthread_mutex_lock(&d->lock);
    int st = atomic_load(&d->state);
    if (st == DOM_DYING) {
        pthread_mutex_unlock(&d->lock);
        return -EINVAL;
    }
    bool started = st != DOM_BUILDING;
    atomic_store(&d->state, DOM_DYING);
    for (unsigned i = 0; i < d->nr_vcpus; i++)
        atomic_store(&d->vcpus[i]->state, VCPU_STOPPED);
    pthread_mutex_unlock(&d->lock);

    if (started) {
        d->accel->stop(d); /* joins the vCPU threads: nothing runs guest code after this */
        for (unsigned i = 0; i < d->nr_vcpus; i++)
            d->accel->vcpu_destroy(d->vcpus[i]);
    }
    pthread_mutex_lock(&table_lock);
    table[d->domid] = NULL;
    pthread_mutex_unlock(&table_lock);
    domain_subsys_destroy_all(d); /* devices, io, grant tables, then event channels */
    d->accel->domain_destroy(d);
    klog_dom_forget(d->domid); /* its suppressed-line count, before its id can be reused */
    log_info("domain %u (%s) destroyed", d->domid, d->name);
    domain_events_notify(d->domid, KXEN_DOMEV_DESTROYED, d->shutdown_reason);
    evtchn_dom0_send_virq(VIRQ_DOM_EXC);
    domain_put(d); /* the table's reference */
    return 0;
}

void domain_destroy_all(void)
{
    struct domain *d;
    while ((d = domain_get_next(1)) != NULL) {
        domain_destroy(d);
        domain_put(d);
    }
}
