/* nettest's multi-queue roles (README.md): `mq a N Q` drives a vif of Q queues from Q vCPUs,
 * vCPU i sending on queue i and receiving on it; `mq b` echoes from one vCPU through the
 * ordinary calls, which take frames from every queue and spread its sends by flow. The frames
 * are UDP/IPv4 of MQ_FLOWS flows (source ports), so both sides' flow hashes spread them.
 * Every frame is checked byte by byte. Secondary vCPUs run with interrupts off and print
 * nothing: what they saw goes through atomics to vCPU 0, which reports. */
#include <stdint.h>

#include <kxen/errno.h>

#include "guest/lib.h"
#include "guest/netfront.h"
#include "guest/printf.h"
#include "guest/smp.h"
#include "guest/tap.h"
#include "guest/time.h"
#include "nettest.h"

#define MQ_FLOWS 16
#define MQ_MAX_SEQ 1024
#define MQ_HDR 42 /* Ethernet, IPv4, UDP */
#define MQ_LEN(seq) (MQ_HDR + 8 + ((seq)*131) % 1400)

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static uint8_t ap_stack[NETFRONT_MAX_QUEUES][16384] __attribute__((aligned(16)));
static uint8_t mq_out[NETFRONT_MAX_QUEUES][NETFRONT_MTU_FRAME];
static uint8_t mq_in[NETFRONT_MAX_QUEUES][2048];
static unsigned long mq_count;
static unsigned mq_queues;
/* Shared between the vCPUs, only through atomics. */
static uint8_t echoed[MQ_MAX_SEQ];
static unsigned nr_echoed, nr_bad, nr_sent[NETFRONT_MAX_QUEUES], nr_got[NETFRONT_MAX_QUEUES];
static unsigned nr_finished;

static uint16_t ip_csum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint8_t pattern(size_t i, uint32_t seq)
{
    return (uint8_t)(i * 29 + seq * 11);
}

/* A UDP/IPv4 frame of flow seq % MQ_FLOWS: seq, kind, then the pattern. Addresses and ports
 * are swapped for an echo ('E'). */
static size_t mq_frame(uint8_t *f, const uint8_t *dst, uint32_t seq, uint8_t kind)
{
    size_t len = MQ_LEN(seq);
    bool echo = kind == 'E';
    memcpy(f, dst, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((len - 14) >> 8), ip[3] = (uint8_t)(len - 14);
    ip[8] = 64;
    ip[9] = 17;
    const uint8_t a[4] = {10, 99, 1, 1}, b[4] = {10, 99, 1, 2};
    memcpy(ip + 12, echo ? b : a, 4);
    memcpy(ip + 16, echo ? a : b, 4);
    uint16_t c = ip_csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
    uint8_t *udp = ip + 20;
    uint16_t flow_port = (uint16_t)(40000 + seq % MQ_FLOWS), echo_port = 7;
    uint16_t sp = echo ? echo_port : flow_port, dp = echo ? flow_port : echo_port;
    udp[0] = (uint8_t)(sp >> 8), udp[1] = (uint8_t)sp;
    udp[2] = (uint8_t)(dp >> 8), udp[3] = (uint8_t)dp;
    udp[4] = (uint8_t)((len - 34) >> 8), udp[5] = (uint8_t)(len - 34);
    udp[6] = udp[7] = 0; /* no UDP checksum (allowed over IPv4) */
    memcpy(f + MQ_HDR, &seq, 4);
    f[MQ_HDR + 4] = kind;
    for (size_t i = MQ_HDR + 5; i < len; i++)
        f[i] = pattern(i, seq);
    return len;
}

/* A frame of ours of this kind, every byte as mq_frame makes it (apart from the MACs). */
static bool mq_check(const uint8_t *f, int n, uint8_t kind, uint32_t *seq)
{
    if (n < MQ_HDR + 8 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17 || f[MQ_HDR + 4] != kind)
        return false;
    memcpy(seq, f + MQ_HDR, 4);
    if (*seq >= MQ_MAX_SEQ || (size_t)n != MQ_LEN(*seq))
        return false;
    size_t len = (size_t)n;
    const uint8_t a[4] = {10, 99, 1, 1}, b[4] = {10, 99, 1, 2};
    bool echo = kind == 'E';
    if (memcmp(f + 26, echo ? b : a, 4) || memcmp(f + 30, echo ? a : b, 4) ||
        ip_csum(f + 14, 20) != 0)
        return false;
    for (size_t i = MQ_HDR + 5; i < len; i++)
        if (f[i] != pattern(i, *seq))
            return false;
    return true;
}

static bool all_echoed(void)
{
    return __atomic_load_n(&nr_echoed, __ATOMIC_ACQUIRE) >= mq_count;
}

/* vCPU q: sends the frames seq = q, q + Q, ... on queue q, each resent every 200 ms until its
 * echo is in (on whichever queue netback picked), and takes every echo off queue q. */
static void mq_a_vcpu(unsigned q)
{
    uint64_t end = monotonic_ns() + 60 * SEC, resend = 0;
    uint32_t seq = q;
    while (!all_echoed() && monotonic_ns() < end) {
        while (seq < mq_count && __atomic_load_n(&echoed[seq], __ATOMIC_ACQUIRE))
            seq += mq_queues, resend = 0;
        if (seq < mq_count && monotonic_ns() >= resend) {
            size_t len = mq_frame(mq_out[q], bcast, seq, 'P');
            if (netfront_queue_send(q, mq_out[q], len, monotonic_ns() + 2 * SEC) == 0)
                __atomic_fetch_add(&nr_sent[q], 1, __ATOMIC_RELAXED);
            resend = monotonic_ns() + 200 * MS;
        }
        int n = netfront_queue_recv(q, mq_in[q], sizeof(mq_in[q]), monotonic_ns() + MS);
        if (n < 0)
            continue;
        uint32_t s;
        if (n >= MQ_HDR + 5 && mq_in[q][MQ_HDR + 4] != 'E')
            continue; /* our own broadcast, or someone else's */
        if (!mq_check(mq_in[q], n, 'E', &s) || memcmp(mq_in[q], mac, 6) || s >= mq_count) {
            __atomic_fetch_add(&nr_bad, 1, __ATOMIC_RELAXED);
            continue;
        }
        __atomic_fetch_add(&nr_got[q], 1, __ATOMIC_RELAXED);
        if (__atomic_exchange_n(&echoed[s], 1, __ATOMIC_ACQ_REL) == 0)
            __atomic_fetch_add(&nr_echoed, 1, __ATOMIC_ACQ_REL);
    }
    __atomic_fetch_add(&nr_finished, 1, __ATOMIC_ACQ_REL);
}

static bool finished(void *ctx)
{
    return __atomic_load_n(&nr_finished, __ATOMIC_ACQUIRE) == *(unsigned *)ctx;
}

int role_mq_a(unsigned long count, unsigned queues)
{
    mq_count = count < MQ_MAX_SEQ ? count : MQ_MAX_SEQ;
    mq_queues = netfront_nr_queues();
    tap_check(mq_queues == queues, "nettest mq a: %u queues negotiated (%u asked for)", mq_queues,
              queues);
    unsigned started = 1;
    uint64_t t0 = monotonic_ns();
    for (unsigned q = 1; q < mq_queues; q++) {
        long rc = smp_start(q, mq_a_vcpu, ap_stack[q] + sizeof(ap_stack[q]));
        if (!tap_rc(rc, 0, "nettest mq a: vCPU %u drives queue %u", q, q))
            break;
        started++;
    }
    mq_a_vcpu(0);
    wait_until(finished, &started, monotonic_ns() + 10 * SEC);
    tap_check(nr_echoed == mq_count, "nettest mq a: %u of %lu frames echoed", nr_echoed, mq_count);
    hv_printf("nettest mq a: %u round trips in %lu us\n", nr_echoed,
              (unsigned long)((monotonic_ns() - t0) / 1000));
    for (unsigned q = 0; q < mq_queues; q++)
        tap_check(nr_sent[q] > 0 && nr_got[q] > 0,
                  "nettest mq a: queue %u sent %u frames and took %u echoes", q, nr_sent[q],
                  nr_got[q]);
    tap_check(nr_bad == 0, "nettest mq a: every echo byte-for-byte what was sent (%u bad)", nr_bad);
    for (int i = 0; i < 5; i++) {
        size_t len = mq_frame(mq_out[0], bcast, 0, 'S');
        netfront_send(mq_out[0], len, monotonic_ns() + SEC);
        sleep_ns(20 * MS);
    }
    return tap_finish();
}

int role_mq_b(unsigned queues)
{
    static uint8_t in[2048], out[NETFRONT_MTU_FRAME];
    unsigned bad = 0, echoes = 0;
    bool stop = false;
    tap_check(netfront_nr_queues() == queues, "nettest mq b: %u queues negotiated (%u asked for)",
              netfront_nr_queues(), queues);
    uint64_t deadline = monotonic_ns() + 60 * SEC;
    while (!stop && monotonic_ns() < deadline) {
        int n = netfront_recv(in, sizeof(in), monotonic_ns() + SEC);
        uint32_t seq;
        if (n < MQ_HDR + 5 || in[12] != 0x08 || in[13] != 0x00 || in[23] != 17)
            continue;
        if (in[MQ_HDR + 4] == 'S') {
            stop = true;
            break;
        }
        if (in[MQ_HDR + 4] == 'E')
            continue;
        if (!mq_check(in, n, 'P', &seq)) {
            bad++;
            continue;
        }
        /* The echo goes to the sender on the queue its flow hashes to. */
        size_t len = mq_frame(out, in + 6, seq, 'E');
        if (netfront_send(out, len, monotonic_ns() + 2 * SEC) == 0)
            echoes++;
    }
    tap_check(stop, "nettest mq b: the stop frame arrived (%u echoed)", echoes);
    tap_check(bad == 0, "nettest mq b: every frame byte-for-byte as sent (%u bad)", bad);
    return tap_finish();
}
