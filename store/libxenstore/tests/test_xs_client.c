/* libxenstore against a scripted fake daemon on a private socket: framing, error names,
 * DIRECTORY_PART fallback, watch queueing and xs_fileno, XS_UNWATCH_FILTER, transactions,
 * concurrency, and hostile replies. */
#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <xenstore.h>

typedef void (*fake_handler)(int fd, const struct xsd_sockmsg *req, const char *body);

static struct {
    char dir[64], path[96];
    int listen_fd;
    pthread_t thread;
    fake_handler handler;
    pthread_mutex_t lock;
    char last_body[4200];
    struct xsd_sockmsg last;
} fake = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void fake_send(int fd, uint32_t type, uint32_t req_id, uint32_t tx, const void *p,
                      uint32_t len)
{
    struct xsd_sockmsg h = {.type = type, .req_id = req_id, .tx_id = tx, .len = len};
    cr_assert_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
    if (len)
        cr_assert_eq(write(fd, p, len), (ssize_t)len);
}

static void fake_reply(int fd, const struct xsd_sockmsg *req, const void *p, uint32_t len)
{
    fake_send(fd, req->type, req->req_id, req->tx_id, p, len);
}

static void fake_error(int fd, const struct xsd_sockmsg *req, const char *name)
{
    fake_send(fd, XS_ERROR, req->req_id, req->tx_id, name, (uint32_t)strlen(name) + 1);
}

static void fake_event(int fd, const char *path, const char *token)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "%s%c%s", path, 0, token);
    fake_send(fd, XS_WATCH_EVENT, 0, 0, buf, (uint32_t)n + 1);
}

static int read_exact(int fd, void *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p = (char *)p + r;
        n -= (size_t)r;
    }
    return 0;
}

static void *fake_main(void *arg)
{
    (void)arg;
    int fd = accept(fake.listen_fd, NULL, NULL);
    if (fd < 0)
        return NULL;
    for (;;) {
        struct xsd_sockmsg req;
        char body[4200];
        if (read_exact(fd, &req, sizeof(req)) || req.len > 4096 || read_exact(fd, body, req.len))
            break;
        body[req.len] = '\0';
        pthread_mutex_lock(&fake.lock);
        fake.last = req;
        memcpy(fake.last_body, body, req.len + 1);
        pthread_mutex_unlock(&fake.lock);
        fake.handler(fd, &req, body);
    }
    close(fd);
    return NULL;
}

/* Starts the fake daemon and points the library at it through XENSTORED_PATH. */
static struct xs_handle *fake_start(fake_handler handler, unsigned long flags)
{
    strcpy(fake.dir, "/tmp/xs-client-XXXXXX");
    cr_assert_not_null(mkdtemp(fake.dir));
    snprintf(fake.path, sizeof(fake.path), "%s/socket", fake.dir);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, fake.path);
    fake.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cr_assert_eq(bind(fake.listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fake.listen_fd, 1), 0);
    fake.handler = handler;
    pthread_create(&fake.thread, NULL, fake_main, NULL);
    setenv("XENSTORED_PATH", fake.path, 1);
    struct xs_handle *h = xs_open(flags);
    cr_assert_not_null(h, "xs_open: %s", strerror(errno));
    return h;
}

static void fake_stop(struct xs_handle *h)
{
    xs_close(h);
    pthread_join(fake.thread, NULL);
    close(fake.listen_fd);
    unlink(fake.path);
    rmdir(fake.dir);
}

static void ok_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    if (req->type == XS_READ && strcmp(body, "/a") == 0)
        fake_reply(fd, req, "hello", 5);
    else if (req->type == XS_READ && strcmp(body, "/denied") == 0)
        fake_error(fd, req, "EACCES");
    else if (req->type == XS_READ && strcmp(body, "/odd") == 0)
        fake_error(fd, req, "EWHATEVER");
    else if (req->type == XS_READ) /* echo the path: lets concurrent readers check their reply */
        fake_reply(fd, req, body, req->len - 1);
    else if (req->type == XS_TRANSACTION_START)
        fake_reply(fd, req, "42", 3);
    else if (req->type == XS_GET_PERMS)
        fake_reply(fd, req, "w3\0r0\0b-1", 10);
    else
        fake_reply(fd, req, "OK", 3);
}

Test(xs_client, read_returns_value_length_and_sends_the_path, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    unsigned int len = 0;
    char *v = xs_read(h, XBT_NULL, "/a", &len);
    cr_assert_not_null(v);
    cr_assert_eq(len, 5);
    cr_assert_str_eq(v, "hello");
    cr_assert_eq(fake.last.type, XS_READ);
    cr_assert_eq(fake.last.len, 3);
    free(v);
    fake_stop(h);
}

Test(xs_client, error_reply_sets_errno_from_its_name_unknown_names_are_einval, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    errno = 0;
    cr_assert_null(xs_read(h, XBT_NULL, "/denied", NULL));
    cr_assert_eq(errno, EACCES);
    cr_assert_null(xs_read(h, XBT_NULL, "/odd", NULL));
    cr_assert_eq(errno, EINVAL);
    fake_stop(h);
}

Test(xs_client, write_sends_path_then_raw_bytes_without_terminator, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    cr_assert(xs_write(h, XBT_NULL, "/w", "ab\0c", 4));
    cr_assert_eq(fake.last.type, XS_WRITE);
    cr_assert_eq(fake.last.len, 7);
    cr_assert_arr_eq(fake.last_body, "/w\0ab\0c", 7);
    fake_stop(h);
}

Test(xs_client, request_over_4096_bytes_fails_with_e2big_before_sending, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    static char big[5000];
    memset(big, 'x', sizeof(big));
    cr_assert_not(xs_write(h, XBT_NULL, "/w", big, sizeof(big)));
    cr_assert_eq(errno, E2BIG);
    cr_assert(xs_write(h, XBT_NULL, "/w", "1", 1), "connection still usable");
    fake_stop(h);
}

/* Replies to a batch: /denied fails; /first notes whether the rest of the batch was already
 * queued on the socket when the first request was answered (sent before any reply). */
static int batch_seen, batch_queued_behind_first;

static void batch_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    batch_seen++;
    if (strcmp(body, "/first") == 0) {
        char c;
        batch_queued_behind_first = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
    }
    if (strcmp(body, "/denied") == 0)
        fake_error(fd, req, "EACCES");
    else
        ok_handler(fd, req, body);
}

Test(xs_client, request_batch_is_sent_before_the_first_reply_and_reports_each_result, .timeout = 20)
{
    struct xs_handle *h = fake_start(batch_handler, 0);
    const char perms[] = "n0\0r3";
    struct xs_request_op ops[] = {{XS_WRITE, "/first", "v", 1},
                                  {XS_SET_PERMS, "/first", perms, sizeof(perms)},
                                  {XS_WRITE, "/denied", "", 0},
                                  {XS_MKDIR, "/d", NULL, 0},
                                  {XS_RM, "/last", NULL, 0}};
    int errs[5] = {-1, -1, -1, -1, -1};
    cr_assert(xs_request_batch(h, 42, ops, 5, errs), "%s", strerror(errno));
    cr_assert(batch_queued_behind_first, "pipelined: the second request waited on the socket");
    cr_assert_eq(batch_seen, 5);
    cr_assert_eq(errs[0], 0);
    cr_assert_eq(errs[1], 0);
    cr_assert_eq(errs[2], EACCES);
    cr_assert_eq(errs[3], 0);
    cr_assert_eq(errs[4], 0);
    cr_assert_eq(fake.last.type, XS_RM);
    cr_assert_eq(fake.last.tx_id, 42);
    cr_assert(xs_write(h, XBT_NULL, "/after", "1", 1), "the handle stays in step");
    fake_stop(h);
}

Test(xs_client, request_batch_with_a_malformed_op_sends_nothing, .timeout = 20)
{
    struct xs_handle *h = fake_start(batch_handler, 0);
    static char big[5000];
    struct xs_request_op read_op[] = {{XS_WRITE, "/a", "1", 1}, {XS_READ, "/a", NULL, 0}};
    struct xs_request_op too_big[] = {{XS_WRITE, "/a", big, sizeof(big)}};
    int errs[2];
    batch_seen = 0;
    cr_assert_not(xs_request_batch(h, XBT_NULL, read_op, 2, errs));
    cr_assert_eq(errno, EINVAL);
    cr_assert_not(xs_request_batch(h, XBT_NULL, too_big, 1, errs));
    cr_assert_eq(errno, E2BIG);
    cr_assert(xs_write(h, XBT_NULL, "/after", "1", 1));
    cr_assert_eq(batch_seen, 1, "only the write after them reached the daemon");
    fake_stop(h);
}

Test(xs_client, transaction_id_travels_in_the_header_and_end_sends_t_or_f, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    xs_transaction_t t = xs_transaction_start(h);
    cr_assert_eq(t, 42);
    cr_assert(xs_write(h, t, "/x", "1", 1));
    cr_assert_eq(fake.last.tx_id, 42);
    cr_assert(xs_transaction_end(h, t, true));
    cr_assert_eq(fake.last.type, XS_TRANSACTION_END);
    cr_assert_str_eq(fake.last_body, "F");
    cr_assert(xs_transaction_end(h, t, false));
    cr_assert_str_eq(fake.last_body, "T");
    fake_stop(h);
}

Test(xs_client, permissions_round_trip_in_xen_string_form, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    unsigned int n;
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, "/p", &n);
    cr_assert_not_null(p);
    cr_assert_eq(n, 3);
    cr_assert_eq(p[0].id, 3);
    cr_assert_eq(p[0].perms, XS_PERM_WRITE);
    cr_assert_eq(p[2].id, (unsigned int)-1);
    cr_assert(xs_set_permissions(h, XBT_NULL, "/p", p, n));
    cr_assert_eq(fake.last.type, XS_SET_PERMS);
    cr_assert_arr_eq(fake.last_body, "/p\0w3\0r0\0b-1", 13);
    free(p);
    fake_stop(h);
}

static void dirpart_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    if (req->type == XS_DIRECTORY) {
        fake_error(fd, req, "E2BIG");
        return;
    }
    const char *off = body + strlen(body) + 1;
    if (req->type == XS_DIRECTORY_PART && strcmp(off, "0") == 0)
        fake_reply(fd, req, "7\0a\0bb", 7); /* generation 7, first slice */
    else if (req->type == XS_DIRECTORY_PART && strcmp(off, "5") == 0)
        fake_reply(fd, req, "7\0ccc\0", 7); /* last slice: ends with an empty name */
    else
        fake_error(fd, req, "EINVAL");
}

Test(xs_client, directory_falls_back_to_directory_part_when_too_big, .timeout = 20)
{
    struct xs_handle *h = fake_start(dirpart_handler, 0);
    unsigned int n = 0;
    char **names = xs_directory(h, XBT_NULL, "/big", &n);
    cr_assert_not_null(names, "xs_directory: %s", strerror(errno));
    cr_assert_eq(n, 3);
    cr_assert_str_eq(names[0], "a");
    cr_assert_str_eq(names[1], "bb");
    cr_assert_str_eq(names[2], "ccc");
    free(names);
    fake_stop(h);
}

static void event_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    (void)body;
    if (req->type == XS_WRITE || req->type == XS_WATCH) {
        /* Events before the reply: queued by the time the call returns. */
        fake_event(fd, "/w/x", "tok");
        fake_event(fd, "/other", "tok2");
    }
    fake_reply(fd, req, "OK", 3);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

Test(xs_client, events_arriving_during_a_request_are_queued_and_make_fileno_readable, .timeout = 20)
{
    struct xs_handle *h = fake_start(event_handler, 0);
    int fd = xs_fileno(h);
    cr_assert_geq(fd, 0);
    cr_assert_not(readable(fd));
    cr_assert(xs_write(h, XBT_NULL, "/w/x", "1", 1));
    cr_assert(readable(fd));
    char **ev = xs_check_watch(h);
    cr_assert_not_null(ev);
    cr_assert_str_eq(ev[XS_WATCH_PATH], "/w/x");
    cr_assert_str_eq(ev[XS_WATCH_TOKEN], "tok");
    free(ev);
    cr_assert(readable(fd), "one event still queued");
    free(xs_check_watch(h));
    cr_assert_not(readable(fd));
    errno = 0;
    cr_assert_null(xs_check_watch(h));
    cr_assert_eq(errno, EAGAIN);
    fake_stop(h);
}

Test(xs_client, read_watch_blocks_until_the_reader_thread_queues_an_event, .timeout = 20)
{
    struct xs_handle *h = fake_start(event_handler, 0);
    cr_assert(xs_watch(h, "/w", "tok"));
    unsigned int num = 0;
    char **ev = xs_read_watch(h, &num);
    cr_assert_not_null(ev);
    cr_assert_eq(num, 2);
    cr_assert_str_eq(ev[XS_WATCH_PATH], "/w/x");
    free(ev);
    fake_stop(h);
}

Test(xs_client, request_batch_goes_one_by_one_once_the_reader_thread_runs, .timeout = 20)
{
    struct xs_handle *h = fake_start(event_handler, 0);
    cr_assert(xs_watch(h, "/w", "tok"));
    struct xs_request_op ops[] = {{XS_WRITE, "/b1", "1", 1}, {XS_WRITE, "/b2", "2", 1}};
    int errs[2] = {-1, -1};
    cr_assert(xs_request_batch(h, XBT_NULL, ops, 2, errs), "%s", strerror(errno));
    cr_assert_eq(errs[0], 0);
    cr_assert_eq(errs[1], 0);
    cr_assert_str_eq(fake.last_body, "/b2");
    fake_stop(h);
}

Test(xs_client, unwatch_filter_drops_queued_events_of_that_watch_only, .timeout = 20)
{
    struct xs_handle *h = fake_start(event_handler, XS_UNWATCH_FILTER);
    cr_assert(xs_watch(h, "/w", "tok"));
    cr_assert(xs_unwatch(h, "/w", "tok"));
    char **ev = xs_check_watch(h);
    cr_assert_not_null(ev);
    cr_assert_str_eq(ev[XS_WATCH_PATH], "/other");
    free(ev);
    cr_assert_null(xs_check_watch(h));
    cr_assert_eq(errno, EAGAIN);
    fake_stop(h);
}

Test(xs_client, without_unwatch_filter_queued_events_survive_unwatch, .timeout = 20)
{
    struct xs_handle *h = fake_start(event_handler, 0);
    cr_assert(xs_watch(h, "/w", "tok"));
    cr_assert(xs_unwatch(h, "/w", "tok"));
    char **ev = xs_check_watch(h);
    cr_assert_not_null(ev);
    cr_assert_str_eq(ev[XS_WATCH_PATH], "/w/x");
    free(ev);
    fake_stop(h);
}

static void hostile_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    if (strcmp(body, "/huge") == 0) {
        struct xsd_sockmsg h = {.type = XS_READ, .req_id = req->req_id, .len = 100000};
        cr_assert_eq(write(fd, &h, sizeof(h)), (ssize_t)sizeof(h));
    } else if (strcmp(body, "/wrongid") == 0) {
        fake_send(fd, XS_READ, req->req_id + 7, 0, "x", 1);
    } else if (strcmp(body, "/hangup") == 0) {
        shutdown(fd, SHUT_RDWR);
    } else {
        fake_reply(fd, req, "fine", 4);
    }
}

Test(xs_client, oversized_reply_is_refused_and_the_connection_is_dead, .timeout = 20)
{
    struct xs_handle *h = fake_start(hostile_handler, 0);
    cr_assert_null(xs_read(h, XBT_NULL, "/huge", NULL));
    cr_assert_eq(errno, E2BIG);
    cr_assert_null(xs_read(h, XBT_NULL, "/a", NULL), "a desynchronised stream is not reused");
    fake_stop(h);
}

Test(xs_client, reply_with_another_request_id_is_ebadmsg, .timeout = 20)
{
    struct xs_handle *h = fake_start(hostile_handler, 0);
    cr_assert_null(xs_read(h, XBT_NULL, "/wrongid", NULL));
    cr_assert_eq(errno, EBADMSG);
    fake_stop(h);
}

Test(xs_client, daemon_hangup_fails_requests_and_wakes_watch_readers, .timeout = 20)
{
    struct xs_handle *h = fake_start(hostile_handler, 0);
    cr_assert(xs_watch(h, "/w", "t") || errno == EINVAL); /* fake answers "fine" */
    cr_assert_null(xs_read(h, XBT_NULL, "/hangup", NULL));
    cr_assert_eq(errno, ECONNRESET);
    cr_assert_null(xs_read_watch(h, NULL));
    cr_assert_eq(errno, ECONNRESET);
    fake_stop(h);
}

struct reader_arg {
    struct xs_handle *h;
    int id, bad;
};

static void *reader_thread(void *p)
{
    struct reader_arg *a = p;
    for (int i = 0; i < 200; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/t%d/%d", a->id, i);
        char *v = xs_read(a->h, XBT_NULL, path, NULL);
        if (!v || strcmp(v, path) != 0)
            a->bad++;
        free(v);
    }
    return NULL;
}

Test(xs_client, concurrent_requests_on_one_handle_each_get_their_own_reply, .timeout = 20)
{
    struct xs_handle *h = fake_start(ok_handler, 0);
    cr_assert(xs_watch(h, "/w", "tok")); /* with the reader thread running too */
    pthread_t t[4];
    struct reader_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct reader_arg){.h = h, .id = i};
        pthread_create(&t[i], NULL, reader_thread, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(a[i].bad, 0, "thread %d got %d wrong replies", i, a[i].bad);
    }
    fake_stop(h);
}

Test(xs_client, open_fails_with_enoent_when_no_daemon_listens, .timeout = 20)
{
    setenv("XENSTORED_PATH", "/nonexistent/xs-socket", 1);
    errno = 0;
    cr_assert_null(xs_open(XS_OPEN_SOCKETONLY));
    cr_assert_eq(errno, ENOENT);
}

static void malformed_event_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    (void)body;
    if (req->type == XS_WATCH) {
        fake_send(fd, XS_WATCH_EVENT, 0, 0, "only-a-path", 12); /* no token */
        return;
    }
    if (req->type == XS_READ) {
        fake_send(fd, XS_WRITE, req->req_id, 0, "OK", 3); /* reply of another type */
        return;
    }
    fake_reply(fd, req, "OK", 3);
}

Test(xs_client, watch_event_without_token_is_a_protocol_error, .timeout = 20)
{
    struct xs_handle *h = fake_start(malformed_event_handler, 0);
    cr_assert_not(xs_watch(h, "/w", "tok"));
    cr_assert_eq(errno, EBADMSG);
    cr_assert_null(xs_read_watch(h, NULL));
    cr_assert_eq(errno, EBADMSG);
    fake_stop(h);
}

Test(xs_client, reply_of_another_message_type_is_ebadmsg, .timeout = 20)
{
    struct xs_handle *h = fake_start(malformed_event_handler, 0);
    cr_assert_null(xs_read(h, XBT_NULL, "/x", NULL));
    cr_assert_eq(errno, EBADMSG);
    fake_stop(h);
}

static void domain_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    if (req->type == XS_IS_DOMAIN_INTRODUCED)
        fake_reply(fd, req, strcmp(body, "3") == 0 ? "T" : "F", 2);
    else if (req->type == XS_GET_DOMAIN_PATH)
        fake_reply(fd, req, "/local/domain/9", 16);
    else if (req->type == XS_READ &&
             strcmp(body, "/local/domain/4/device/suspend/event-channel") == 0)
        fake_reply(fd, req, "17", 2);
    else if (req->type == XS_READ)
        fake_error(fd, req, "ENOENT");
    else
        fake_reply(fd, req, "OK", 3);
}

Test(xs_client, domain_calls_send_decimal_ids_and_parse_answers, .timeout = 20)
{
    struct xs_handle *h = fake_start(domain_handler, 0);
    cr_assert(xs_is_domain_introduced(h, 3));
    cr_assert_not(xs_is_domain_introduced(h, 5));
    char *p = xs_get_domain_path(h, 9);
    cr_assert_str_eq(p, "/local/domain/9");
    cr_assert_str_eq(fake.last_body, "9");
    free(p);
    cr_assert(xs_introduce_domain(h, 4, 123456ul, 12));
    cr_assert_eq(fake.last.type, XS_INTRODUCE);
    cr_assert_eq(fake.last.len, 12);
    cr_assert_arr_eq(fake.last_body,
                     "4\0"
                     "123456\0"
                     "12",
                     12);
    cr_assert(xs_set_target(h, 6, 2));
    cr_assert_arr_eq(fake.last_body,
                     "6\0"
                     "2",
                     4);
    cr_assert(xs_release_domain(h, 4));
    cr_assert_eq(fake.last.type, XS_RELEASE);
    fake_stop(h);
}

Test(xs_client, suspend_evtchn_port_reads_the_guest_advertised_port, .timeout = 20)
{
    struct xs_handle *h = fake_start(domain_handler, 0);
    /* It opens its own connection; the fake serves one, so hand it over first. */
    xs_close(h);
    pthread_join(fake.thread, NULL);
    pthread_create(&fake.thread, NULL, fake_main, NULL);
    cr_assert_eq(xs_suspend_evtchn_port(4), 17);
    pthread_join(fake.thread, NULL);
    pthread_create(&fake.thread, NULL, fake_main, NULL);
    cr_assert_eq(xs_suspend_evtchn_port(5), -1);
    pthread_join(fake.thread, NULL);
    close(fake.listen_fd);
    unlink(fake.path);
    rmdir(fake.dir);
}

/* Garbage from the daemon: whatever arrives, calls return a result or NULL/false with errno,
 * never crash, hang or leak (run under ASan/LSan). Deterministic seed, many connections. */
static unsigned int garbage_seed = 12345;

static void garbage_handler(int fd, const struct xsd_sockmsg *req, const char *body)
{
    (void)body;
    char buf[64];
    unsigned int r = (unsigned int)rand_r(&garbage_seed);
    struct xsd_sockmsg h = {
        .type = (r & 1) ? req->type : (r >> 1) % 24,
        .req_id = (r & 2) ? req->req_id : (unsigned int)rand_r(&garbage_seed),
        .len = (r & 4) ? (unsigned int)rand_r(&garbage_seed) % sizeof(buf) : 5000 + r % 100,
    };
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (r & 8) ? (char)rand_r(&garbage_seed) : "ab\0"[i % 3];
    if (write(fd, &h, sizeof(h)) != (ssize_t)sizeof(h))
        return;
    if (h.len <= sizeof(buf) && write(fd, buf, h.len) != (ssize_t)h.len)
        return;
    if (r & 16)
        shutdown(fd, SHUT_RDWR);
}

static void *garbage_server(void *arg)
{
    int n = *(int *)arg;
    for (int i = 0; i < n; i++) {
        int fd = accept(fake.listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        struct xsd_sockmsg req;
        char body[4200];
        while (read_exact(fd, &req, sizeof(req)) == 0 && req.len <= 4096 &&
               read_exact(fd, body, req.len) == 0)
            garbage_handler(fd, &req, body);
        close(fd);
    }
    return NULL;
}

Test(xs_client, garbage_replies_never_crash_the_library, .timeout = 20)
{
    signal(SIGPIPE, SIG_IGN); /* the fake's writes to closed clients; the library never raises it */
    struct xs_handle *h = fake_start(ok_handler, 0);
    xs_close(h);
    pthread_join(fake.thread, NULL);
    int rounds = 300;
    pthread_create(&fake.thread, NULL, garbage_server, &rounds);
    for (int i = 0; i < rounds; i++) {
        h = xs_open(0);
        cr_assert_not_null(h);
        unsigned int n;
        for (int op = 0; op < 4; op++) {
            void *p = NULL;
            errno = 0;
            switch ((i + op) % 4) {
            case 0:
                p = xs_read(h, XBT_NULL, "/x", &n);
                break;
            case 1:
                p = xs_directory(h, XBT_NULL, "/x", &n);
                break;
            case 2:
                p = xs_get_permissions(h, XBT_NULL, "/x", &n);
                break;
            case 3:
                p = xs_get_domain_path(h, 1);
                break;
            }
            cr_assert(p || errno, "a failure must set errno");
            free(p);
        }
        if (i % 3 == 0 && xs_watch(h, "/w", "t"))
            free(xs_check_watch(h));
        xs_close(h);
    }
    pthread_join(fake.thread, NULL);
    close(fake.listen_fd);
    unlink(fake.path);
    rmdir(fake.dir);
}

/* A path that is not a socket is a xenbus-like device: opened with open() and spoken to with
 * plain read/write. A FIFO opened read-write loops each request back as its own "reply", which
 * has the right type and id, so the whole device path runs, including xs_close cancelling the
 * reader thread (a device cannot be shut down). */
Test(xs_client, non_socket_path_is_used_as_a_xenbus_device, .timeout = 20)
{
    char dir[] = "/tmp/xs-dev-XXXXXX", path[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/xenbus", dir);
    cr_assert_eq(mkfifo(path, 0600), 0);
    setenv("XENSTORED_PATH", path, 1);
    struct xs_handle *h = xs_open(0);
    cr_assert_not_null(h, "xs_open: %s", strerror(errno));
    unsigned int len;
    char *v = xs_read(h, XBT_NULL, "/loop", &len);
    cr_assert_not_null(v, "xs_read: %s", strerror(errno));
    cr_assert_eq(len, 6);
    cr_assert_str_eq(v, "/loop");
    free(v);
    cr_assert(xs_watch(h, "/w", "t"));
    xs_close(h);
    unlink(path);
    rmdir(dir);
}
