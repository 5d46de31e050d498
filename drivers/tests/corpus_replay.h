/* Replays a fuzz corpus folder through a fuzz target inside a Criterion test: every file (at
 * most maxlen bytes of it) is handed to one(); the folder must hold more than 10 inputs. */
#ifndef DRIVERS_TESTS_CORPUS_REPLAY_H
#define DRIVERS_TESTS_CORPUS_REPLAY_H

#include <stddef.h>

void corpus_replay(const char *dir, size_t maxlen, int (*one)(const unsigned char *, size_t));

#endif
