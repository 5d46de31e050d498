/* The driver domain's C library: the heap (libc.c). */
#ifndef DDOM_STDLIB_H
#define DDOM_STDLIB_H

#include <stddef.h>

void *malloc(size_t n);
void *calloc(size_t nmemb, size_t n);
void *realloc(void *p, size_t n);
void free(void *p);

#endif
