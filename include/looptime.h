/* looptime.h — how long the loop itself kept a reply waiting.
 *
 * A reply's wait is measured in loop time (uv_now) from the command to the
 * moment the loop reads the reply. When the loop was busy (a long callback,
 * a burst of work) the reply may have sat in the socket for that long: the
 * server was not slow, we were. probe.c takes that time off a reply's wait
 * before it calls the reply a penalty (probe_opts.penalty_ms), so a stall
 * of mailvet's own never teaches a host a recipient cap.
 *
 * The bound: a reply read now arrived after the previous poll returned (it
 * would have been reported then), so the loop can have kept it at most for
 * the busy stretch between that poll and this one, plus, when this poll
 * reads in several rounds (more ready sockets than one epoll_wait returns),
 * the rounds before the one that reads it.
 *
 * The owner (engine_uv.c) embeds a looptime, starts it on its loop and
 * closes it with the loop's other handles; sessions only query it. */
#ifndef MAILVET_LOOPTIME_H
#define MAILVET_LOOPTIME_H

#include <stdint.h>
#include <uv.h>

typedef struct looptime {
    uv_loop_t *loop;
    uv_prepare_t prepare;        /* just before each poll */
    uv_check_t check;            /* after each poll's callbacks */
    uint64_t returned_ms;        /* uv_now() when the last poll returned, or measuring began */
    uint64_t busy_ms;            /* the busy stretch before the current poll */
    uint64_t first_ms;           /* uv_now() at the first lag query since this poll began */
    uint64_t polls, first_poll;  /* polls begun; the one first_ms belongs to */
    uint64_t busy_max_ms;        /* the longest busy stretch since looptime_take_max */
} looptime;

/* Start measuring on LOOP. The handles never keep the loop running. */
void looptime_start(looptime *t, uv_loop_t *loop);

/* Close both handles; CB is called once for each (2 calls), with DATA as
 * the handle's data. */
void looptime_close(looptime *t, uv_close_cb cb, void *data);

/* Of the loop time since the reply being read now could first have been
 * read, the most the loop spent busy: call it from a read callback. */
uint64_t looptime_lag(looptime *t);

/* The longest busy stretch since the last call (the timeline's column). */
uint64_t looptime_take_max(looptime *t);

/* The bookkeeping behind the handles and looptime_lag, with the loop time
 * passed in (for tests): a poll begins, a poll has returned, a reply is
 * read, at NOW_MS. */
void looptime_poll_begins(looptime *t, uint64_t now_ms);
void looptime_poll_returned(looptime *t, uint64_t now_ms);
uint64_t looptime_lag_at(looptime *t, uint64_t now_ms);

#endif
