/* One fuzz input through the daemon: shared by the corpus replay test and the fuzz driver. */
#ifndef XENSTORED_FUZZ_ONE_H
#define XENSTORED_FUZZ_ONE_H
#include <stddef.h>
#include <stdint.h>

/* Input format: chunks of [who:1][len:2 little-endian][bytes:len]; who's low bit picks the
 * dom0 or the domain-5 connection, bit 1 asks to deliver the bytes one at a time. Returns 0
 * if the daemon still answers correctly afterwards, -1 otherwise. */
int xs_fuzz_one(const uint8_t *data, size_t len);
/* Requests the daemon handled over all inputs so far (shows the inputs got through). */
extern unsigned long long xs_fuzz_requests;

#endif
