/* The device-model tests' view of the fake machine (dev_fake_machine.h) plus model creation
 * that asserts success. */
#ifndef TEST_DEV_FAKE_H
#define TEST_DEV_FAKE_H

#include <criterion/criterion.h>
#include <errno.h>

#include "dev_fake_machine.h"

/* Creates model name on fake_dom (asserts success) and returns its state. */
void *dev_create(const char *name, const char *options);
void dev_destroy(const char *name, void *state);

#endif
