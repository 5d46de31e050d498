/* Criterion helpers over the fake machine (test_dev_fake.h): model creation that asserts. */
#include "test_dev_fake.h"

void *dev_create(const char *name, const char *options)
{
    const struct device_model *m = device_model_find(name);
    cr_assert_not_null(m, "model %s is registered", name);
    void *state = NULL;
    int rc = m->create(&fake_dom, options, &state);
    cr_assert_eq(rc, 0, "%s(%s): %d", name, options ? options : "", rc);
    return state;
}

void dev_destroy(const char *name, void *state)
{
    device_model_find(name)->destroy(&fake_dom, state);
}
