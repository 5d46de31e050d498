/* libxenstore internals shared by the connection layer (xs_conn.c) and the API (xs_api.c). */
#ifndef KXEN_XS_INTERNAL_H
#define KXEN_XS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/uio.h>

#include "xenstore.h"

/* Internal helpers share the xs_ prefix but must stay out of the exported xs_* API. */
#define XS_INTERNAL __attribute__((visibility("hidden")))

/* A queued watch event: vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN] in one malloc'd block. */
struct xs_event {
    struct xs_event *next;
    char **vec;
    unsigned int num;
};

/* One connection. Requests are serialised by request_lock: at most one is in flight, so the
 * next non-event message is its reply. Before the first watch, the requesting thread reads
 * the socket itself; from then on a reader thread owns the socket and hands over replies
 * (reply_*) and events (events_*), so events arrive while the application is idle. */
struct xs_handle {
    int fd;
    bool is_socket;   /* else a xenbus-like device */
    int stop_pipe[2]; /* device only: xs_close wakes the reader through it */
    bool unwatch_filter;
    uint32_t next_req_id;

    pthread_mutex_t request_lock; /* held for a whole request/reply exchange */

    pthread_mutex_t state_lock; /* everything below */
    pthread_cond_t reply_cond;  /* a reply arrived or the connection died */
    pthread_cond_t event_cond;  /* an event arrived or the connection died */
    bool reader_running;
    pthread_t reader;
    struct xsd_sockmsg reply_hdr;
    char *reply_body; /* NULL while no reply is waiting */
    struct xs_event *events_head, **events_tail;
    int event_pipe[2]; /* created by xs_fileno: holds one byte while events are queued */
    int dead_errno;    /* non-zero once the connection failed */
};

/* Send one request (iov payload pieces) and wait for its reply. Returns the malloc'd,
 * NUL-terminated reply body and its length, or NULL with errno (the daemon's error name is
 * translated to its errno). */
XS_INTERNAL void *xs_talkv(struct xs_handle *h, uint32_t tx, enum xsd_sockmsg_type type,
                           const struct iovec *iov, unsigned int nr, unsigned int *len);

/* Send nr requests (each a header-less iovec pair: reqs[2i], reqs[2i+1]; types[i]) and wait
 * for their replies in order: pipelined while no reader thread runs, else one by one. errs[i]
 * gets 0 or the errno of the daemon's error reply. 0 or a negative errno (connection). */
XS_INTERNAL int xs_talk_batch(struct xs_handle *h, uint32_t tx, const enum xsd_sockmsg_type *types,
                              const struct iovec *reqs, unsigned int nr, int *errs);

/* Make sure the reader thread runs; 0 or a negative errno. */
XS_INTERNAL int xs_start_reader(struct xs_handle *h);

/* Pop the next queued event; block while none when wait is set. NULL with errno. */
XS_INTERNAL char **xs_pop_event(struct xs_handle *h, unsigned int *num, bool wait);

/* Drop queued events matching (path, token) for XS_UNWATCH_FILTER. */
XS_INTERNAL void xs_filter_events(struct xs_handle *h, const char *path, const char *token);

#endif
