/* The driver domain's C library: the monotonic clock is the runtime's system time. */
#ifndef DDOM_TIME_H
#define DDOM_TIME_H

#define CLOCK_MONOTONIC 1

typedef long time_t;
typedef int clockid_t;

struct timespec {
    time_t tv_sec;
    long tv_nsec;
};

int clock_gettime(clockid_t clk, struct timespec *ts);

#endif
