/* The MC146818 RTC and CMOS of an HVM machine ("cmos" model): ports 0x70 (index, bit 7 masks
 * NMI) and 0x71 (data), IRQ 8. The clock runs as host time plus an offset the guest changes by
 * setting the time; the NVRAM holds what firmware reads at boot: the memory sizes (0x15-0x18,
 * 0x30/0x31, 0x34/0x35, 0x5b-0x5d), the CPU count (0x5f) and the boot order (0x3d, 0x38).
 *
 * Invariants: the clock and status registers and the index are Xen's struct hvm_hw_rtc
 * (cmos_data[0..13], cmos_index, rtc_offset in seconds); while register B's SET bit is on the
 * time registers hold what the guest wrote and the clock is frozen for it. Register C's flags
 * are raised by a timer thread only while an interrupt source is enabled in register B. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xen/xen.h>
#include <xen/hvm/save.h>

#include "devices.h"
#include "kxend/device.h"
#include "kxend/io.h"
#include "kxend/irq.h"

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define REG_B_SET 0x80
#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_DM 0x04 /* binary, not BCD */
#define REG_B_24H 0x02
#define REG_C_IRQF 0x80
#define REG_C_PF 0x40
#define REG_C_AF 0x20
#define REG_C_UF 0x10
#define CMOS_SIZE 128
#define RTC_IRQ 8
#define KIB 1024ull
#define MIB (1024ull * KIB)

struct cmos {
    struct domain *d;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t timer;
    bool stop;
    struct hvm_hw_rtc rtc;
    uint8_t nvram[CMOS_SIZE]; /* indexes >= RTC_CMOS_SIZE */
    bool nmi_masked;
    struct io_region *region;
    /* Option values. */
    uint64_t lowmem, highmem, cpus;
    char boot[4];
};

static uint8_t to_bcd(const struct cmos *c, unsigned v)
{
    return c->rtc.cmos_data[RTC_REG_B] & REG_B_DM ? v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static unsigned from_bcd(const struct cmos *c, uint8_t v)
{
    return c->rtc.cmos_data[RTC_REG_B] & REG_B_DM ? v : (v >> 4) * 10u + (v & 0xf);
}

/* Writes the current guest time into the time registers (lock held). */
static void clock_to_regs(struct cmos *c)
{
    time_t t = time(NULL) + c->rtc.rtc_offset;
    struct tm tm;
    gmtime_r(&t, &tm);
    uint8_t *r = c->rtc.cmos_data;
    r[RTC_SECONDS] = to_bcd(c, tm.tm_sec);
    r[RTC_MINUTES] = to_bcd(c, tm.tm_min);
    unsigned h = tm.tm_hour;
    if (r[RTC_REG_B] & REG_B_24H)
        r[RTC_HOURS] = to_bcd(c, h);
    else /* 12-hour mode: 12 for 0, bit 7 for PM */
        r[RTC_HOURS] = to_bcd(c, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0);
    r[RTC_DAY_OF_WEEK] = to_bcd(c, tm.tm_wday + 1);
    r[RTC_DAY_OF_MONTH] = to_bcd(c, tm.tm_mday);
    r[RTC_MONTH] = to_bcd(c, tm.tm_mon + 1);
    r[RTC_YEAR] = to_bcd(c, tm.tm_year % 100);
    c->nvram[RTC_CENTURY] = to_bcd(c, 19 + tm.tm_year / 100);
}

/* The guest set the clock: the offset becomes what it wrote minus host time (lock held). */
static void regs_to_clock(struct cmos *c)
{
    const uint8_t *r = c->rtc.cmos_data;
    struct tm tm = {0};
    tm.tm_sec = from_bcd(c, r[RTC_SECONDS]);
    tm.tm_min = from_bcd(c, r[RTC_MINUTES]);
    unsigned h = from_bcd(c, r[RTC_HOURS] & 0x7f);
    if (!(r[RTC_REG_B] & REG_B_24H))
        h = (h % 12) + (r[RTC_HOURS] & 0x80 ? 12 : 0);
    tm.tm_hour = h;
    tm.tm_mday = from_bcd(c, r[RTC_DAY_OF_MONTH]);
    tm.tm_mon = (int)from_bcd(c, r[RTC_MONTH]) - 1;
    tm.tm_year = (int)(from_bcd(c, c->nvram[RTC_CENTURY]) * 100 + from_bcd(c, r[RTC_YEAR])) - 1900;
    time_t t = timegm(&tm);
    if (t != (time_t)-1) /* Buggy guest: nonsense dates keep the old offset. */
        c->rtc.rtc_offset = (int64_t)(t - time(NULL));
}

static void irq_update(struct cmos *c)
{
    uint8_t *r = c->rtc.cmos_data;
    bool on = r[RTC_REG_C] & r[RTC_REG_B] & (REG_C_PF | REG_C_AF | REG_C_UF);
    r[RTC_REG_C] = on ? r[RTC_REG_C] | REG_C_IRQF : r[RTC_REG_C] & ~REG_C_IRQF;
    domain_irq_set_level(c->d, RTC_IRQ, on);
}

/* Periodic interrupt period from register A's rate bits (0 = off), in ns. */
static uint64_t periodic_ns(const struct cmos *c)
{
    unsigned rs = c->rtc.cmos_data[RTC_REG_A] & 0xf;
    if (!rs)
        return 0;
    if (rs <= 2)
        rs += 7;
    return 1000000000ull * (1u << (rs - 1)) / 32768;
}

static bool alarm_matches(struct cmos *c)
{
    const uint8_t *r = c->rtc.cmos_data;
    /* 0xC0-0xFF in an alarm byte is "don't care". */
    return ((r[RTC_SECONDS_ALARM] & 0xc0) == 0xc0 || r[RTC_SECONDS_ALARM] == r[RTC_SECONDS]) &&
           ((r[RTC_MINUTES_ALARM] & 0xc0) == 0xc0 || r[RTC_MINUTES_ALARM] == r[RTC_MINUTES]) &&
           ((r[RTC_HOURS_ALARM] & 0xc0) == 0xc0 || r[RTC_HOURS_ALARM] == r[RTC_HOURS]);
}

/* Raises the interrupt flags at their times while an interrupt source is enabled. */
static void *timer_main(void *arg)
{
    struct cmos *c = arg;
    pthread_mutex_lock(&c->lock);
    time_t last_sec = time(NULL);
    while (!c->stop) {
        uint8_t b = c->rtc.cmos_data[RTC_REG_B];
        uint64_t period = b & REG_B_PIE ? periodic_ns(c) : 0;
        if (!period && !(b & (REG_B_AIE | REG_B_UIE))) {
            pthread_cond_wait(&c->cond, &c->lock);
            last_sec = time(NULL);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t step = period && period < 1000000000ull ? period : 1000000000ull;
        uint64_t ns = ts.tv_nsec + step;
        ts.tv_sec += ns / 1000000000ull;
        ts.tv_nsec = ns % 1000000000ull;
        pthread_cond_timedwait(&c->cond, &c->lock, &ts);
        if (c->stop)
            break;
        b = c->rtc.cmos_data[RTC_REG_B];
        if (b & REG_B_PIE && periodic_ns(c))
            c->rtc.cmos_data[RTC_REG_C] |= REG_C_PF;
        time_t now = time(NULL);
        if (now != last_sec && !(b & REG_B_SET)) {
            last_sec = now;
            c->rtc.cmos_data[RTC_REG_C] |= REG_C_UF;
            clock_to_regs(c);
            if (alarm_matches(c))
                c->rtc.cmos_data[RTC_REG_C] |= REG_C_AF;
        }
        irq_update(c);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static uint8_t cmos_read(struct cmos *c, uint8_t idx)
{
    uint8_t *r = c->rtc.cmos_data;
    if (idx >= RTC_CMOS_SIZE)
        return c->nvram[idx];
    if (idx <= RTC_YEAR && !(r[RTC_REG_B] & REG_B_SET) && idx != RTC_SECONDS_ALARM &&
        idx != RTC_MINUTES_ALARM && idx != RTC_HOURS_ALARM)
        clock_to_regs(c);
    uint8_t v = r[idx];
    if (idx == RTC_REG_C) { /* reading C acknowledges every flag */
        r[RTC_REG_C] = 0;
        irq_update(c);
    }
    return v;
}

static void cmos_write(struct cmos *c, uint8_t idx, uint8_t v)
{
    uint8_t *r = c->rtc.cmos_data;
    if (idx >= RTC_CMOS_SIZE) {
        c->nvram[idx] = v;
        return;
    }
    switch (idx) {
    case RTC_REG_A: /* UIP is read-only */
        r[idx] = (r[idx] & 0x80) | (v & 0x7f);
        break;
    case RTC_REG_B:
        if (v & REG_B_SET && !(r[idx] & REG_B_SET))
            clock_to_regs(c); /* freeze: the registers hold the time the guest edits */
        bool was_set = r[idx] & REG_B_SET;
        r[idx] = v;
        if (was_set && !(v & REG_B_SET))
            regs_to_clock(c);
        irq_update(c);
        break;
    case RTC_REG_C:
    case RTC_REG_D: /* read-only */
        break;
    default:
        r[idx] = v;
        if (idx <= RTC_YEAR && !(r[RTC_REG_B] & REG_B_SET) && idx != RTC_SECONDS_ALARM &&
            idx != RTC_MINUTES_ALARM && idx != RTC_HOURS_ALARM)
            regs_to_clock(c);
    }
    pthread_cond_signal(&c->cond);
}

static uint64_t port_read(void *opaque, uint64_t offset, unsigned size)
{
    struct cmos *c = opaque;
    if (offset != 1 || size != 1) /* the index register is write-only */
        return ~0ull;
    pthread_mutex_lock(&c->lock);
    uint8_t v = cmos_read(c, c->rtc.cmos_index);
    pthread_mutex_unlock(&c->lock);
    return v;
}

static void port_write(void *opaque, uint64_t offset, unsigned size, uint64_t val)
{
    struct cmos *c = opaque;
    if (offset > 1 || size != 1)
        return;
    pthread_mutex_lock(&c->lock);
    if (offset == 0) {
        c->nmi_masked = val & 0x80;
        c->rtc.cmos_index = val & 0x7f;
    } else {
        cmos_write(c, c->rtc.cmos_index, (uint8_t)val);
    }
    pthread_mutex_unlock(&c->lock);
}

static const struct io_region_ops cmos_ops = {"cmos", port_read, port_write};

static void put16(uint8_t *p, uint64_t v)
{
    p[0] = v & 0xff;
    p[1] = (v >> 8) & 0xff;
}

static uint8_t boot_code(char c)
{
    return c == 'a' ? 1 : c == 'c' ? 2 : c == 'd' ? 3 : 0;
}

/* The power-on NVRAM and clock registers from the options. */
static void cmos_init(struct cmos *c)
{
    uint8_t *r = c->rtc.cmos_data, *n = c->nvram;
    r[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    r[RTC_REG_B] = REG_B_24H;
    r[RTC_REG_D] = 0x80; /* valid RAM and time */
    clock_to_regs(c);
    n[0x14] = 0x02; /* equipment: FPU, EGA/VGA display */
    put16(&n[0x15], 640);
    uint64_t ext_kib = c->lowmem > MIB ? (c->lowmem - MIB) / KIB : 0;
    put16(&n[0x17], ext_kib > 0xffff ? 0xffff : ext_kib);
    put16(&n[0x30], ext_kib > 0xffff ? 0xffff : ext_kib);
    uint64_t above16 = c->lowmem > 16 * MIB ? (c->lowmem - 16 * MIB) / (64 * KIB) : 0;
    put16(&n[0x34], above16 > 0xffff ? 0xffff : above16);
    uint64_t high = c->highmem / (64 * KIB);
    n[0x5b] = high & 0xff;
    n[0x5c] = (high >> 8) & 0xff;
    n[0x5d] = (high >> 16) & 0xff;
    n[0x5f] = c->cpus ? (uint8_t)(c->cpus - 1) : 0;
    n[0x3d] = boot_code(c->boot[0]) | boot_code(c->boot[1]) << 4;
    n[0x38] = boot_code(c->boot[2]) << 4 | 1; /* bit 0: skip the floppy boot signature check */
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2d; i++)
        sum += n[i];
    n[0x2e] = (sum >> 8) & 0xff;
    n[0x2f] = sum & 0xff;
}

static int cmos_opt(void *ctx, const char *key, const char *val)
{
    struct cmos *c = ctx;
    if (!strcmp(key, "lowmem"))
        return dev_opt_u64(val, 0xffffffffull, &c->lowmem);
    if (!strcmp(key, "highmem"))
        return dev_opt_u64(val, 1ull << 40, &c->highmem);
    if (!strcmp(key, "cpus"))
        return dev_opt_u64(val, 256, &c->cpus);
    if (!strcmp(key, "boot")) {
        size_t len = strlen(val);
        if (!len || len > 3 || strspn(val, "acd") != len)
            return -EINVAL;
        memset(c->boot, 0, sizeof(c->boot));
        memcpy(c->boot, val, len);
        return 0;
    }
    return -EINVAL;
}

static void cmos_free(struct cmos *c)
{
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static int cmos_create(struct domain *d, const char *options, void **state)
{
    struct cmos *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->d = d;
    c->cpus = 1;
    c->boot[0] = 'c';
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    int rc = dev_opts_each(options, cmos_opt, c);
    if (rc == 0) {
        cmos_init(c);
        rc = io_register_port(d, 0x70, 2, &cmos_ops, c, &c->region);
    }
    if (rc == 0 && pthread_create(&c->timer, NULL, timer_main, c)) {
        io_region_unregister(c->region);
        rc = -EAGAIN;
    }
    if (rc) {
        cmos_free(c);
        return rc;
    }
    *state = c;
    return 0;
}

static void cmos_destroy(struct domain *d, void *state)
{
    (void)d;
    struct cmos *c = state;
    io_region_unregister(c->region);
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->timer, NULL);
    cmos_free(c);
}

/* Saved state: Xen's RTC record, the NVRAM above it and the NMI mask. */
struct cmos_save {
    struct hvm_hw_rtc rtc;
    uint8_t nvram[CMOS_SIZE];
    uint8_t nmi_masked;
    uint8_t pad[7];
};
/* A clock offset beyond this (about 3000 years) is no date the registers can hold, and
 * time(NULL) + offset must not overflow. */
#define RTC_OFFSET_MAX (100000ll * 365 * 86400)

static int cmos_save(void *state, void *buf, uint32_t cap)
{
    struct cmos *c = state;
    struct cmos_save s = {0};
    if (cap < sizeof(s))
        return -ENOSPC;
    pthread_mutex_lock(&c->lock);
    s.rtc = c->rtc;
    memcpy(s.nvram, c->nvram, sizeof(s.nvram));
    s.nmi_masked = c->nmi_masked;
    pthread_mutex_unlock(&c->lock);
    memcpy(buf, &s, sizeof(s));
    return sizeof(s);
}

static int cmos_load(void *state, const void *body, uint32_t len, char *why, size_t whylen)
{
    struct cmos *c = state;
    struct cmos_save s;
    if (len != sizeof(s)) {
        snprintf(why, whylen, "length %u, expected %zu", len, sizeof(s));
        return -EINVAL;
    }
    memcpy(&s, body, sizeof(s));
    if (s.rtc.cmos_index >= CMOS_SIZE) {
        snprintf(why, whylen, "cmos_index %u is beyond the %u bytes", s.rtc.cmos_index, CMOS_SIZE);
        return -EINVAL;
    }
    if (s.rtc.rtc_offset > RTC_OFFSET_MAX || s.rtc.rtc_offset < -RTC_OFFSET_MAX) {
        snprintf(why, whylen, "rtc_offset %lld s is no date", (long long)s.rtc.rtc_offset);
        return -EINVAL;
    }
    if (s.nmi_masked > 1) {
        snprintf(why, whylen, "nmi_masked is %u", s.nmi_masked);
        return -EINVAL;
    }
    pthread_mutex_lock(&c->lock);
    c->rtc = s.rtc;
    memcpy(c->nvram, s.nvram, sizeof(c->nvram));
    c->nmi_masked = s.nmi_masked;
    irq_update(c);
    pthread_cond_signal(&c->cond); /* the timer follows register B's sources */
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static int cmos_save_xen(void *state, unsigned nr, uint16_t *code, void *buf, uint32_t cap)
{
    struct cmos *c = state;
    if (nr)
        return -ENOENT;
    if (cap < sizeof(c->rtc))
        return -ENOSPC;
    pthread_mutex_lock(&c->lock);
    memcpy(buf, &c->rtc, sizeof(c->rtc));
    pthread_mutex_unlock(&c->lock);
    *code = HVM_SAVE_CODE(RTC);
    return sizeof(c->rtc);
}

static const struct device_model cmos_model = {
    .name = "cmos",
    .order = 30,
    .create = cmos_create,
    .destroy = cmos_destroy,
    .save = cmos_save,
    .load = cmos_load,
    .save_xen = cmos_save_xen,
};
DEVICE_MODEL_REGISTER(cmos_model);
