/* retry.h — the retry queue: a min-heap of (due time, payload) with one
 * libuv timer armed for the earliest entry. Greylisted and temporarily
 * refused work waits here while everything else goes on.
 *
 * The queue stores the caller's pointers and never frees them; retry_close()
 * hands back nothing (the caller keeps its own lists of what it queued).
 */
#ifndef MAILVET_RETRY_H
#define MAILVET_RETRY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct retry_queue retry_queue;

/* FIRE is called from the loop for each payload whose due time (uv_now()
 * milliseconds) has come, earliest first. */
typedef void (*retry_fire_cb)(void *ud, void *payload);

retry_queue *retry_new(uv_loop_t *loop, retry_fire_cb fire, void *ud);

/* Queue PAYLOAD for DUE_MS (uv_now() scale). Returns 0 or -1 (out of memory). */
int retry_add(retry_queue *q, uint64_t due_ms, void *payload);

size_t retry_count(const retry_queue *q);

/* Hand every queued payload to FN (any order) and empty the queue. */
void retry_drain(retry_queue *q, retry_fire_cb fn, void *ud);

/* Stop the timer and free the queue once libuv has closed it. */
void retry_close(retry_queue *q);

#endif
