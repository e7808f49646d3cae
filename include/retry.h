/* retry.h — the retry queue: a min-heap of (due time, payload). Greylisted
 * and temporarily refused work waits here while everything else goes on;
 * the engine also keeps its resting hosts in one. The queue knows no clock
 * or loop: its owner asks what is due and arms one timer for the earliest.
 *
 * The queue stores the caller's pointers and never frees them.
 */
#ifndef MAILVET_RETRY_H
#define MAILVET_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct retry_queue retry_queue;

retry_queue *retry_new(void);

/* Queue PAYLOAD for DUE (any monotonic scale). Equal due times stay in
 * insertion order. Returns 0 or -1 (out of memory). */
int retry_add(retry_queue *q, uint64_t due, void *payload);

/* The earliest due time, or UINT64_MAX when empty. */
uint64_t retry_next_due(const retry_queue *q);

/* Take the earliest payload if it is due at NOW: true and *PAYLOAD set. */
bool retry_pop_due(retry_queue *q, uint64_t now, void **payload);

size_t retry_count(const retry_queue *q);

/* Hand every queued payload to FN (any order) and empty the queue. */
void retry_drain(retry_queue *q, void (*fn)(void *ud, void *payload), void *ud);

void retry_free(retry_queue *q);

#endif
