/* States of a split device, written to the "state" key of each end's xenstore directory.
 * Xen's values (checked by ring/tests). Usual path: both Initialising -> backend InitWait
 * (features published) -> frontend Initialised (rings published) -> both Connected; shutdown
 * goes Closing -> Closed. */
#ifndef KXEN_IO_XENBUS_H
#define KXEN_IO_XENBUS_H

enum xenbus_state {
    XenbusStateUnknown = 0,
    XenbusStateInitialising = 1,
    XenbusStateInitWait = 2,
    XenbusStateInitialised = 3,
    XenbusStateConnected = 4,
    XenbusStateClosing = 5,
    XenbusStateClosed = 6,
    XenbusStateReconfiguring = 7,
    XenbusStateReconfigured = 8,
};
typedef enum xenbus_state XenbusState;

#endif
