/* What the fuzz harness (fuzz_ring.c) saw during its last input, so that a replay test can
 * check that a hand-made input did what it was written to do (and not merely "no crash"). */
#ifndef KXEN_RING_TESTS_FUZZ_RING_H
#define KXEN_RING_TESTS_FUZZ_RING_H

struct fuzz_ring_report {
    unsigned backend_steps;    /* blkif backend steps run */
    unsigned backend_requests; /* requests those steps consumed */
    unsigned backend_errors;   /* steps whose consumer reported -EPROTO */
    int blk_dead;              /* the blkif guard's state after the last step */
};

extern struct fuzz_ring_report fuzz_ring_last;

#endif
