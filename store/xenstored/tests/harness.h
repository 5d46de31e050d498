/* In-process test harness: a daemon without sockets and "capture" connections whose output
 * stays in memory, so tests drive the real protocol path byte for byte. */
#ifndef XENSTORED_TEST_HARNESS_H
#define XENSTORED_TEST_HARNESS_H

#include "../xenstored.h"

struct th {
    struct event_base *base;
    struct xs_daemon d;
};

struct th_msg {
    struct xsd_sockmsg h;
    char body[XENSTORE_PAYLOAD_MAX + 1]; /* NUL-terminated for convenience */
};

void th_init(struct th *t);
void th_fini(struct th *t);
/* A connection of domain domid whose output the test reads with th_pop(). */
struct xs_conn *th_conn(struct th *t, uint32_t domid);
/* hold: the peer stops reading (output stays queued in the daemon); false resumes. */
void th_hold(struct xs_conn *c, bool hold);
/* Sends raw bytes as if the peer wrote them, then lets the daemon handle them. */
void th_feed(struct xs_conn *c, const void *buf, size_t len);
/* Sends one request (payload = strings joined with NULs, as given by len). */
void th_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx, const void *p,
             size_t len);
/* Pops the next queued message (reply or event); false if none. */
bool th_pop(struct xs_conn *c, struct th_msg *m);
/* Request + reply, skipping (and keeping) watch events. Returns the reply type. */
uint32_t th_call(struct xs_conn *c, uint32_t type, uint32_t tx, const void *p, size_t len,
                 struct th_msg *reply);
/* Pops the next queued watch event of c (events skipped by th_call included). */
bool th_event(struct xs_conn *c, char *path, size_t plen, char *token, size_t tlen);
/* Shortcuts returning 0 or -errno (from the ERROR reply). */
int th_write(struct xs_conn *c, uint32_t tx, const char *path, const char *val);
int th_read(struct xs_conn *c, uint32_t tx, const char *path, char *out, size_t len);
int th_simple(struct xs_conn *c, uint32_t type, uint32_t tx, const char *arg);
int th_2args(struct xs_conn *c, uint32_t type, uint32_t tx, const char *a, const char *b);
int th_txn_start(struct xs_conn *c, uint32_t *tx);
int th_errno(const struct th_msg *m);

#endif
