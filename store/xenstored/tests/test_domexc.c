/* Domain exceptions (Xen's VIRQ_DOM_EXC): a ring backend with exc_fd/domain_down makes
 * xenstored fire @releaseDomain when an introduced domain shuts down, once per transition.
 * The "hypervisor" is played by the test: an eventfd for the VIRQ and a flag for the state. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <event2/event.h>

#include "../ring_backend.h"
#include "harness.h"

static struct th t;
static void *page;
static int guest_evfd, exc_evfd;
static int domain6_down; /* what the backend reports for domain 6 */
static unsigned down_queries;

static int be_map(const struct xs_ring_backend *be, uint32_t domid, uint64_t gfn, uint32_t port,
                  struct xs_ring_mapping *m)
{
    (void)be;
    (void)domid;
    (void)gfn;
    (void)port;
    m->page = page;
    m->evfd = guest_evfd;
    m->handle = NULL;
    return 0;
}

static int be_notify(const struct xs_ring_backend *be, struct xs_ring_mapping *m)
{
    (void)be;
    (void)m;
    return 0;
}

static void be_unmap(const struct xs_ring_backend *be, struct xs_ring_mapping *m)
{
    (void)be;
    (void)m;
}

static int be_exc_fd(const struct xs_ring_backend *be)
{
    (void)be;
    return exc_evfd;
}

static int be_domain_down(const struct xs_ring_backend *be, uint32_t domid)
{
    (void)be;
    down_queries++;
    return domid == 6 ? domain6_down : 0;
}

static const struct xs_ring_backend exc_backend = {.name = "exc",
                                                   .map = be_map,
                                                   .notify = be_notify,
                                                   .unmap = be_unmap,
                                                   .exc_fd = be_exc_fd,
                                                   .domain_down = be_domain_down};

static void setup(void)
{
    th_init(&t);
    page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(page, MAP_FAILED);
    guest_evfd = eventfd(0, EFD_NONBLOCK);
    exc_evfd = eventfd(0, EFD_NONBLOCK);
    domain6_down = 0;
    down_queries = 0;
    xenstored_set_ring_backend(&t.d, &exc_backend);
}

static void teardown(void)
{
    th_fini(&t);
    munmap(page, 4096);
    close(guest_evfd);
    close(exc_evfd);
}
TestSuite(domexc, .init = setup, .fini = teardown);

/* The hypervisor raises VIRQ_DOM_EXC; the daemon runs its loop. */
static void raise_dom_exc(void)
{
    uint64_t one = 1;
    cr_assert_eq(write(exc_evfd, &one, sizeof(one)), sizeof(one));
    event_base_loop(t.base, EVLOOP_NONBLOCK);
    event_base_loop(t.base, EVLOOP_NONBLOCK);
}

static unsigned release_events(struct xs_conn *w)
{
    unsigned n = 0;
    char p[128], tok[64];
    while (th_event(w, p, sizeof(p), tok, sizeof(tok))) {
        cr_assert_str_eq(p, "@releaseDomain");
        n++;
    }
    return n;
}

/* dom0 watching @releaseDomain, domain 6 introduced; the registration event is consumed. */
static struct xs_conn *watch_and_introduce(void)
{
    struct xs_conn *w = th_conn(&t, 0);
    cr_assert_eq(th_2args(w, XS_WATCH, 0, "@releaseDomain", "rel"), 0);
    cr_assert_eq(release_events(w), 1);
    struct th_msg m;
    th_call(w, XS_INTRODUCE, 0,
            "6\0"
            "4660\0"
            "9",
            9, &m);
    cr_assert_str_eq(m.body, "OK");
    event_base_loop(t.base, EVLOOP_NONBLOCK);
    return w;
}

Test(domexc, a_shutdown_fires_releaseDomain_before_any_release)
{
    struct xs_conn *w = watch_and_introduce();
    domain6_down = 1;
    raise_dom_exc();
    cr_assert_eq(release_events(w), 1);
    cr_assert_geq(down_queries, 1);
    cr_assert_eq(th_simple(w, XS_IS_DOMAIN_INTRODUCED, 0, "6"), 0, "still introduced");
}

Test(domexc, a_running_domain_fires_nothing)
{
    struct xs_conn *w = watch_and_introduce();
    raise_dom_exc();
    cr_assert_geq(down_queries, 1, "the backend was asked");
    cr_assert_eq(release_events(w), 0);
}

Test(domexc, fires_once_per_transition_and_again_after_resume)
{
    struct xs_conn *w = watch_and_introduce();
    domain6_down = 1;
    raise_dom_exc();
    raise_dom_exc();
    cr_assert_eq(release_events(w), 1, "a second VIRQ for the same shutdown is not reported");
    cr_assert_eq(th_simple(w, XS_RESUME, 0, "6"), 0);
    raise_dom_exc();
    cr_assert_eq(release_events(w), 1, "after XS_RESUME a new shutdown is reported");
}

Test(domexc, release_after_the_shutdown_still_fires)
{
    struct xs_conn *w = watch_and_introduce();
    domain6_down = 1;
    raise_dom_exc();
    cr_assert_eq(release_events(w), 1);
    cr_assert_eq(th_simple(w, XS_RELEASE, 0, "6"), 0);
    cr_assert_eq(release_events(w), 1);
}
