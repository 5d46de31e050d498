/* The selftest guest's test groups in their own files. */
#ifndef SELFTEST_H
#define SELFTEST_H

/* exceptions.c: #UD, #DE and #BP reach the guest's IDT handlers and the guest resumes. */
void test_exceptions(void);

#endif
