/* What nettest's roles share: the vif's MAC and the GSO roles (gso.c). */
#ifndef GUESTS_NETTEST_NETTEST_H
#define GUESTS_NETTEST_NETTEST_H

#include <stdbool.h>
#include <stdint.h>

#define MS 1000000ULL
#define SEC 1000000000ULL
#define ETHERTYPE_TEST 0x88b5

extern uint8_t mac[6];

/* gso a N: N TCP/IPv4 super-frames, each resent until the peer acknowledges it whole. */
int role_gso_a(unsigned long count);
/* gso b: checks every segment of them, byte by byte, and acknowledges each whole frame. */
int role_gso_b(void);
/* gso host N: N super-frames, 100 ms apart, for a checker on the host side of the bridge;
 * gso blast N (paced false): as fast as the ring takes them, timed (bench/net). */
int role_gso_host(unsigned long count, bool paced);

/* mq a N Q: N UDP frames of several flows from Q vCPUs, one per queue, each resent until its
 * echo is in; mq b Q: echoes them through the calls that use every queue. */
int role_mq_a(unsigned long count, unsigned queues);
int role_mq_b(unsigned queues);

#endif
