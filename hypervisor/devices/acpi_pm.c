/* The ACPI fixed hardware of the emulated PC ("acpi-pm" model): the PM1a event block (PM1_STS
 * write-one-to-clear, PM1_EN), the PM1a control block (SCI_EN, SLP_TYP, SLP_EN) and the
 * 24-bit PM timer, at the ports kxend/hvm_acpi.h names for the builder's FADT. The toolstack's
 * power button (xl trigger DOM power) sets PWRBTN_STS; a guest that writes SLP_TYP = 5 (\_S5)
 * with SLP_EN shuts the domain down with SHUTDOWN_poweroff, as Xen's SCHEDOP_shutdown would.
 *
 * Invariants: the SCI (ISA IRQ 9, level) is asserted exactly while SCI_EN is set and
 * PM1_STS & PM1_EN is not zero; only the bits the machine has (PWRBTN) can be enabled or
 * raised, so a guest probing for the global lock or a fixed sleep button reads them back as
 * absent. The timer counts host monotonic time at 3.579545 MHz from the model's creation;
 * its carry bit and interrupt are not modelled (TMR_EN reads 0). The event state is Xen's
 * struct hvm_hw_pmtimer. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* Before Xen's headers: xen/xen.h defines console_evtchn, a field name of ctl_hvm.h. */
#include "kxen/ctl_hvm.h"
#include <xen/xen.h>
#include <xen/hvm/save.h>
#include <xen/sched.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/hvm_acpi.h"
#include "kxend/io.h"
#include "kxend/irq.h"

#define OFF_STS (ACPI_PM1A_EVT - ACPI_PM_BASE)
#define OFF_EN (OFF_STS + 2)
#define OFF_CNT (ACPI_PM1A_CNT - ACPI_PM_BASE)
#define OFF_TMR (ACPI_PM_TMR - ACPI_PM_BASE)
/* What the machine has: the fixed power button. WAK_STS is status only. */
#define EVENTS ACPI_PM1_PWRBTN
#define CNT_WRITABLE (ACPI_PM1_SCI_EN | ACPI_PM1_SLP_TYP_MASK)

struct acpi_pm {
    struct domain *d;
    pthread_mutex_t lock; /* everything below; vCPUs and the control thread race */
    struct hvm_hw_pmtimer pm;
    uint16_t cnt;
    bool sci; /* the level last given to the SCI line */
    uint64_t t0_ns;
    struct io_region *region;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Lock held. */
static void sci_update(struct acpi_pm *p)
{
    bool level = (p->cnt & ACPI_PM1_SCI_EN) && (p->pm.pm1a_sts & p->pm.pm1a_en & EVENTS);
    if (level != p->sci) {
        p->sci = level;
        domain_irq_set_level(p->d, ACPI_SCI_IRQ, level);
    }
}

static uint32_t timer_value(const struct acpi_pm *p)
{
    /* 128-bit product: a domain may run for years without the count jumping. */
    unsigned __int128 t = (unsigned __int128)(now_ns() - p->t0_ns) * ACPI_PM_TMR_HZ;
    return (uint32_t)(t / 1000000000u) & 0xffffffu;
}

/* One byte of the block at offset off (lock held). */
static uint8_t reg_byte(struct acpi_pm *p, unsigned off)
{
    uint32_t v;
    if (off < OFF_EN)
        v = p->pm.pm1a_sts;
    else if (off < OFF_CNT)
        v = p->pm.pm1a_en;
    else if (off < OFF_CNT + ACPI_PM1_CNT_LEN)
        v = p->cnt;
    else if (off >= OFF_TMR && off < OFF_TMR + ACPI_PM_TMR_LEN)
        return (uint8_t)(timer_value(p) >> (8 * (off - OFF_TMR)));
    else
        return 0xff; /* a hole in the block reads as nothing there */
    return (uint8_t)(v >> (8 * (off & 1)));
}

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *p = opaque;
    uint64_t v = 0;
    pthread_mutex_lock(&p->lock);
    if (offset == OFF_TMR && size == 4) { /* one sample, not four */
        v = timer_value(p);
    } else {
        for (unsigned i = 0; i < size; i++) /* past the block: reg_byte's "nothing there" */
            v |= (uint64_t)reg_byte(p, (unsigned)(offset + i)) << (8 * i);
    }
    pthread_mutex_unlock(&p->lock);
    return v;
}

/* The guest asked for a sleep state: \_S5 is the only one the DSDT offers; any other type
 * (a guest guessing at S1-S4) is ignored, the machine stays in S0. Lock held. */
static void sleep_request(struct acpi_pm *p)
{
    unsigned typ = (p->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
    if (typ == ACPI_S5_SLP_TYP)
        domain_shutdown(p->d, SHUTDOWN_poweroff);
}

/* Writes of size bytes at offset: a word covering STS and EN, or bytes of either, are split
 * by register (Linux's ACPICA writes PM1_STS and PM1_EN as 16-bit registers, a guest may do
 * anything). Lock held. */
static void write_bytes(struct acpi_pm *p, unsigned offset, unsigned size, uint64_t val)
{
    for (unsigned i = 0; i < size; i++) {
        unsigned off = offset + i;
        uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff) << (8 * (off & 1));
        uint16_t mask = (uint16_t)(0xff << (8 * (off & 1)));
        if (off < OFF_EN) {
            p->pm.pm1a_sts &= (uint16_t) ~(b & (EVENTS | ACPI_PM1_WAK)); /* write one to clear */
        } else if (off < OFF_CNT) {
            p->pm.pm1a_en = (p->pm.pm1a_en & ~mask) | (b & EVENTS);
        } else if (off < OFF_CNT + ACPI_PM1_CNT_LEN) {
            p->cnt = (p->cnt & ~(mask & CNT_WRITABLE)) | (b & CNT_WRITABLE);
            if (b & ACPI_PM1_SLP_EN) /* write-only: reads 0 */
                sleep_request(p);
        } /* Buggy or malicious guest: the timer is read-only, and the hole at +6 and bytes
           * of an access running past the block reach no register. */
    }
}

static void pm_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct acpi_pm *p = opaque;
    pthread_mutex_lock(&p->lock);
    write_bytes(p, (unsigned)offset, size, val);
    sci_update(p);
    pthread_mutex_unlock(&p->lock);
}

static const struct io_region_ops pm_ops = {"acpi-pm", pm_read, pm_write};

static int pm_trigger(struct domain *d, void *state, unsigned trigger)
{
    (void)d;
    struct acpi_pm *p = state;
    if (trigger != KXEN_TRIGGER_POWER)
        return -EOPNOTSUPP;
    pthread_mutex_lock(&p->lock);
    p->pm.pm1a_sts |= ACPI_PM1_PWRBTN;
    sci_update(p);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int pm_opt(void *ctx, const char *key, const char *val)
{
    (void)ctx, (void)key, (void)val;
    return -EINVAL;
}

static int pm_create(struct domain *d, const char *options, void **state)
{
    int rc = dev_opts_each(options, pm_opt, NULL);
    if (rc < 0)
        return rc;
    struct acpi_pm *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->d = d;
    pthread_mutex_init(&p->lock, NULL);
    p->cnt = ACPI_PM1_SCI_EN; /* no SMI_CMD in the FADT: the machine is always in ACPI mode */
    p->t0_ns = now_ns();
    if ((rc = io_register_port(d, ACPI_PM_BASE, ACPI_PM_LEN, &pm_ops, p, &p->region)) < 0) {
        pthread_mutex_destroy(&p->lock);
        free(p);
        return rc;
    }
    *state = p;
    return 0;
}

static void pm_destroy(struct domain *d, void *state)
{
    (void)d;
    struct acpi_pm *p = state;
    io_region_unregister(p->region);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Saved state: Xen's PMTIMER record (the timer's count at the save, PM1 status and enable),
 * then the control register. The timer goes on from its saved count. */
struct pm_save {
    struct hvm_hw_pmtimer pm;
    uint16_t cnt;
    uint8_t pad[6];
};

/* Lock held. */
static struct hvm_hw_pmtimer pm_now(const struct acpi_pm *p)
{
    struct hvm_hw_pmtimer pm = p->pm;
    pm.tmr_val = timer_value(p);
    return pm;
}

static int pm_save(void *state, void *buf, uint32_t cap)
{
    struct acpi_pm *p = state;
    struct pm_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pthread_mutex_lock(&p->lock);
    s.pm = pm_now(p);
    s.cnt = p->cnt;
    pthread_mutex_unlock(&p->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int pm_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct acpi_pm *p = state;
    struct pm_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    if (s.pm.tmr_val > 0xffffffu) {
        snprintf(why, whylen, "tmr_val %#x is wider than the 24-bit timer", s.pm.tmr_val);
        return -EINVAL;
    }
    if (s.pm.pm1a_sts & ~(EVENTS | ACPI_PM1_WAK)) {
        snprintf(why, whylen, "pm1a_sts %#x has bits the machine lacks", s.pm.pm1a_sts);
        return -EINVAL;
    }
    if (s.pm.pm1a_en & ~EVENTS) {
        snprintf(why, whylen, "pm1a_en %#x has bits the machine lacks", s.pm.pm1a_en);
        return -EINVAL;
    }
    if (s.cnt & ~CNT_WRITABLE) {
        snprintf(why, whylen, "pm1a_cnt %#x has bits no guest can set", s.cnt);
        return -EINVAL;
    }
    pthread_mutex_lock(&p->lock);
    p->pm.pm1a_sts = s.pm.pm1a_sts;
    p->pm.pm1a_en = s.pm.pm1a_en;
    p->cnt = s.cnt;
    /* The count goes on from where it was: t0 is now less the time the count stands for. */
    p->t0_ns = now_ns() - (uint64_t)s.pm.tmr_val * 1000000000u / ACPI_PM_TMR_HZ;
    sci_update(p);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static int pm_save_xen(void *state, unsigned nr, uint16_t *code, void *buf, uint32_t cap)
{
    struct acpi_pm *p = state;
    if (nr)
        return -ENOENT;
    if (cap < sizeof(struct hvm_hw_pmtimer))
        return -ENOSPC;
    pthread_mutex_lock(&p->lock);
    struct hvm_hw_pmtimer pm = pm_now(p);
    pthread_mutex_unlock(&p->lock);
    memcpy(buf, &pm, sizeof(pm));
    *code = HVM_SAVE_CODE(PMTIMER);
    return sizeof(pm);
}

static const struct device_model acpi_pm_model = {
    .name = "acpi-pm",
    .order = 30,
    .create = pm_create,
    .destroy = pm_destroy,
    .save = pm_save,
    .load = pm_load,
    .save_xen = pm_save_xen,
    .trigger = pm_trigger,
};
DEVICE_MODEL_REGISTER(acpi_pm_model);
