/* The few C library functions the runtime provides (gcc may also emit calls to the mem*
 * ones). Freestanding: no libc exists in a guest. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Copies at most size-1 bytes and always terminates (size > 0). Returns strlen(src). */
size_t strlcpy(char *dst, const char *src, size_t size);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12

/* Compiler and CPU ordering for memory shared with kxend or a peer domain. */
#define barrier() __asm__ volatile("" ::: "memory")
#define mb() __asm__ volatile("mfence" ::: "memory")
#define rmb() barrier() /* x86: loads are not reordered with loads */
#define wmb() barrier() /* x86: stores are not reordered with stores */
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#endif
