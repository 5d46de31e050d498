/* A fake xenbus platform for unit tests: an in-memory xenstore with watches and transactions,
 * event channels that pair a frontend port with the backend's, and a grant table over one
 * memfd of "guest" pages, so a mapped grant really aliases the frontend's page. Single thread. */
#ifndef KXEN_DRIVERS_TESTS_FAKE_PLATFORM_H
#define KXEN_DRIVERS_TESTS_FAKE_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>

#include "../xenbus/platform.h"

#define FAKE_GUEST_PAGES 2048

struct fake_platform;
struct fake_platform *fake_platform_new(uint32_t self_domid);
struct xenbus_platform *fake_platform_base(struct fake_platform *fp);

/* Xenstore, as the toolstack or a frontend sees it (no permission checks). */
int fake_xs_write(struct fake_platform *fp, const char *path, const char *val);
/* Writes <dir>/<key> = the formatted value (as a toolstack or frontend writes its keys). */
void fake_xs_printf(struct fake_platform *fp, const char *dir, const char *key, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));
int fake_xs_read(struct fake_platform *fp, const char *path, char *buf, size_t len);
int fake_xs_rm(struct fake_platform *fp, const char *path);
/* Makes the next n transaction commits fail with -EAGAIN. */
void fake_xs_fail_commits(struct fake_platform *fp, int n);
unsigned int fake_xs_nr_watches(struct fake_platform *fp);

/* Event channels: a frontend allocates an unbound port for the backend to bind. */
uint32_t fake_evtchn_alloc_unbound(struct fake_platform *fp);
/* The frontend notifies its port: the bound backend port becomes pending. */
void fake_evtchn_notify_from_frontend(struct fake_platform *fp, uint32_t fe_port);
/* How many times the backend notified the frontend's port. */
unsigned int fake_evtchn_notified(struct fake_platform *fp, uint32_t fe_port);
unsigned int fake_evtchn_nr_bound(struct fake_platform *fp);

/* Guest pages and grants. */
unsigned int fake_alloc_page(struct fake_platform *fp);
void *fake_page(struct fake_platform *fp, unsigned int page);
uint32_t fake_grant(struct fake_platform *fp, unsigned int page, bool readonly);
void fake_revoke(struct fake_platform *fp, uint32_t gref);
/* Pages the backend has mapped right now (leak checks). */
unsigned int fake_gnttab_nr_mapped(struct fake_platform *fp);
/* Grant-copy calls the backend made so far (batching checks). */
unsigned int fake_gnttab_nr_copy_calls(struct fake_platform *fp);

#endif
