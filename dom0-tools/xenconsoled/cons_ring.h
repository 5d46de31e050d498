/* The console ring page (struct xencons_interface) seen from the backend: drain what the guest
 * wrote to `out`, feed user input into `in`. The guest is a hostile peer: each call reads the
 * indices once into locals, refuses a producer that overran the ring, and only then copies. */
#ifndef XENCONSOLED_CONS_RING_H
#define XENCONSOLED_CONS_RING_H

#include <stddef.h>
#include <sys/types.h>

/* Copies up to cap bytes the guest produced into buf and consumes them. Returns the count
 * (0 = nothing new) or -EPROTO when the guest's indices are impossible. */
ssize_t cons_ring_read_out(void *page, char *buf, size_t cap);
/* Queues up to len bytes of input for the guest. Returns the count accepted (0 = ring full)
 * or -EPROTO when the guest's consumer index is impossible. */
ssize_t cons_ring_write_in(void *page, const char *buf, size_t len);

/* A bounded history of a console's output: replayed to `xl console` on attach (the tail of
 * what went to the log). */
struct cons_history {
    char *buf;
    size_t cap, len, head; /* ring: head = next write position */
};
int cons_history_init(struct cons_history *h, size_t cap);
void cons_history_free(struct cons_history *h);
void cons_history_add(struct cons_history *h, const char *data, size_t len);
/* Copies the history, oldest byte first, into out (at least h->cap bytes). Returns length. */
size_t cons_history_copy(const struct cons_history *h, char *out);

#endif
