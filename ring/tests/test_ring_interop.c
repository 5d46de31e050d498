/* Two processes over one shared page: a frontend built on Xen's own ring.h/blkif.h against a
 * backend built on kxen's ring/ (and the reverse). Every request and response is checked field
 * by field on the other side, including discard and indirect layouts. */
#include <criterion/criterion.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "interop.h"

typedef int (*side_fn)(const struct interop_link *, uint32_t);

static void run_pair(side_fn front, side_fn back, uint32_t n)
{
    int mfd = memfd_create("ring-interop", 0);
    cr_assert_geq(mfd, 0);
    cr_assert_eq(ftruncate(mfd, 4096), 0);
    struct interop_link l = {
        .page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0),
        .to_back = eventfd(0, 0),
        .to_front = eventfd(0, 0),
    };
    cr_assert_neq(l.page, MAP_FAILED);
    cr_assert(l.to_back >= 0 && l.to_front >= 0);

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0)
        _exit(back(&l, n));
    int front_rc = front(&l, n);
    if (front_rc) /* unblock a backend waiting for more */
        kill(pid, SIGKILL);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert_eq(front_rc, 0, "frontend failed check %d", front_rc);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "backend failed (status 0x%x)", st);
    munmap(l.page, 4096);
    close(mfd);
    close(l.to_back);
    close(l.to_front);
}

Test(ring_interop, xen_frontend_talks_to_kxen_backend)
{
    run_pair(xen_blk_front, kxen_blk_back, 20000);
}
Test(ring_interop, kxen_frontend_talks_to_xen_backend)
{
    run_pair(kxen_blk_front, xen_blk_back, 20000);
}
Test(ring_interop, kxen_frontend_talks_to_kxen_backend)
{
    run_pair(kxen_blk_front, kxen_blk_back, 20000);
}
Test(ring_interop, xen_frontend_talks_to_xen_backend_reference)
{
    run_pair(xen_blk_front, xen_blk_back, 20000);
}
