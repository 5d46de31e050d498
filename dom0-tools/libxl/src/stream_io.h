/* Byte streams under the save image and the migration stream: a writer that gzips in
 * independent members compressed on every core (a concatenation of gzip members is one gzip
 * file to zcat and zlib), or passes bytes through; a reader that takes gzip or plain bytes.
 * Private to libkxl. */
#ifndef KXL_STREAM_IO_H
#define KXL_STREAM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kxl_swriter;
/* Writes to fd (not closed), gzip level 1 when compress. 0 or -errno. */
int kxl_swriter_open(int fd, bool compress, struct kxl_swriter **out);
/* framed: for a connection that carries more after the stream (migration): every gzip member
 * is preceded by its length (uint32_t) and a zero length ends the stream, so the reader never
 * reads past it. Always compressed. */
int kxl_swriter_open_framed(int fd, bool compress, bool framed, struct kxl_swriter **out);
int kxl_swriter_write(struct kxl_swriter *w, const void *buf, size_t len);
/* Compresses and writes what is buffered now (a member per partly filled chunk), so the
 * reader gets it without waiting for more: 0 or the first error. */
int kxl_swriter_flush(struct kxl_swriter *w);
/* Flushes what is buffered and frees w; the first error of any write, or 0. */
int kxl_swriter_close(struct kxl_swriter *w);
/* Bytes handed to write so far (before compression). */
uint64_t kxl_swriter_bytes(const struct kxl_swriter *w);

struct kxl_sreader;
int kxl_sreader_open(int fd, struct kxl_sreader **out);
/* Exactly len bytes: 0, -ENODATA at a clean end before the first byte, -EPIPE when the stream
 * ends inside, -EBADMSG when the compressed data is corrupt (CRC, format). */
/* Reads the framed stream of kxl_swriter_open_framed from fd, and nothing after it. */
int kxl_sreader_open_framed(int fd, struct kxl_sreader **out);
/* A framed reader waits at most timeout_ms for each next byte (-ETIMEDOUT), -1 for ever. */
void kxl_sreader_set_timeout(struct kxl_sreader *r, int timeout_ms);
int kxl_sreader_read(struct kxl_sreader *r, void *buf, size_t len);
/* 1 when nothing follows (the stream ended), 0 when bytes follow, or -errno. */
int kxl_sreader_at_end(struct kxl_sreader *r);
void kxl_sreader_close(struct kxl_sreader *r);

/* All len bytes to fd, retrying on EINTR and short writes: 0, -errno, or -EIO when write
 * makes no progress. */
int kxl_write_all(int fd, const void *buf, size_t len);
/* All len bytes from fd, retrying on EINTR and short reads: 0, -errno, -EPIPE at the end of
 * the file, or -ETIMEDOUT when no byte came for timeout_ms (-1: wait for ever). */
int kxl_read_all(int fd, void *buf, size_t len, int timeout_ms);

#endif
