/* savetest's receive log (rxlog.c), with `vif rxlog`: numbered frames go to an echoer on the
 * bridge without pause, the guest notes which receive buffer each echo came in, and on the
 * new host, before the vif reconnects, checks that every buffer still holds the frame last read
 * from it (netback's grant copies carried by the migration) and that the rings' response
 * producers are not behind what was consumed. One check line each:
 * "savetest: check ok - the backend's copies into the receive buffers arrived ..." and
 * "savetest: check ok - the backend's ring updates arrived ...". */
#ifndef GUESTS_SAVETEST_RXLOG_H
#define GUESTS_SAVETEST_RXLOG_H

#include <stdint.h>

/* After the vif connected (mac: its MAC): starts the traffic and registers the check. */
void rxlog_start(const uint8_t mac[6]);
/* One turn of the main loop: reads the echoes there are, sends up to a window of frames. */
void rxlog_step(void);
/* Before the suspend call: stops sending and waits for the echoes still out. */
void rxlog_quiesce(void);
/* After the suspend call returned: the traffic starts again, the log afresh. */
void rxlog_resumed(void);
/* Every 10th tick: one progress line ("savetest: rxlog N frames"). */
void rxlog_tick(uint64_t tick);

#endif
