/* A two-process request/response pump over one kxen ring: the parent is the frontend, a forked
 * child the backend (consuming through libkxenring). Used by the stress test and by
 * bench/ring. Each request carries a sequence number and a payload derived from it; both sides
 * check content and order. Every wait (sleeping or polling) has a deadline, so a broken ring
 * fails the run instead of hanging it. */
#ifndef KXEN_RING_TESTS_PUMP_H
#define KXEN_RING_TESTS_PUMP_H

#include <stdint.h>

enum pump_wait { PUMP_POLL, PUMP_EVENTFD };

struct pump_cfg {
    uint64_t n;          /* requests to send */
    unsigned batch;      /* requests published per push (1..ring size) */
    unsigned window;     /* most requests in flight (0 = the ring size); 1 = ping-pong */
    enum pump_wait wait; /* spin on the indices, or sleep on eventfds with req/rsp_event */
    int pin;             /* pin frontend to CPU 0 and backend to CPU 1 */
    int timeout_ms;      /* longest any one wait (a sleep, a poll, the backend's exit) may
                          * last before the run fails; 0 = 5000 */
};

struct pump_result {
    uint64_t done;      /* responses received and checked */
    double secs;        /* wall time of the whole exchange */
    uint64_t req_kicks; /* frontend -> backend notifications */
    uint64_t rsp_kicks; /* backend -> frontend notifications */
    char error[160];    /* empty on success */
};

/* 0 on success, -1 with result->error set otherwise. */
int pump_run(const struct pump_cfg *cfg, struct pump_result *result);

#endif
