/* looptime.c — the loop's own busy stretches (looptime.h): a prepare
 * handle sees each poll begin, a check handle sees it end, and a read
 * callback asks how long the loop may have kept its reply. */
#include "looptime.h"

void looptime_poll_begins(looptime *t, uint64_t now_ms)
{
    t->busy_ms = now_ms > t->returned_ms ? now_ms - t->returned_ms : 0;
    if (t->busy_ms > t->busy_max_ms)
        t->busy_max_ms = t->busy_ms;
    t->polls++;
}

void looptime_poll_returned(looptime *t, uint64_t now_ms)
{
    t->returned_ms = now_ms;
}

uint64_t looptime_lag_at(looptime *t, uint64_t now_ms)
{
    if (t->first_poll != t->polls) {       /* the first read of this poll */
        t->first_poll = t->polls;
        t->first_ms = now_ms;
    }
    /* libuv reads a poll's ready sockets in rounds of at most 1,024, the
     * clock moving between them: a later round waited for the earlier */
    return t->busy_ms + (now_ms > t->first_ms ? now_ms - t->first_ms : 0);
}

uint64_t looptime_take_max(looptime *t)
{
    uint64_t m = t->busy_max_ms;
    t->busy_max_ms = 0;
    return m;
}

static void on_prepare(uv_prepare_t *h)
{
    looptime *t = h->data;
    uv_update_time(t->loop);               /* else uv_now() is when this iteration began */
    looptime_poll_begins(t, uv_now(t->loop));
}

static void on_check(uv_check_t *h)
{
    looptime *t = h->data;
    looptime_poll_returned(t, uv_now(t->loop));   /* set as the poll returned */
}

uint64_t looptime_lag(looptime *t)
{
    return looptime_lag_at(t, uv_now(t->loop));
}

void looptime_start(looptime *t, uv_loop_t *loop)
{
    uv_update_time(loop);
    /* nothing read in the first poll can have come before now */
    *t = (looptime){.loop = loop, .returned_ms = uv_now(loop)};
    uv_prepare_init(loop, &t->prepare);
    uv_check_init(loop, &t->check);
    t->prepare.data = t->check.data = t;
    uv_prepare_start(&t->prepare, on_prepare);
    uv_check_start(&t->check, on_check);
    uv_unref((uv_handle_t *)&t->prepare);
    uv_unref((uv_handle_t *)&t->check);
}

void looptime_close(looptime *t, uv_close_cb cb, void *data)
{
    uv_prepare_stop(&t->prepare);
    uv_check_stop(&t->check);
    t->prepare.data = t->check.data = data;
    uv_close((uv_handle_t *)&t->prepare, cb);
    uv_close((uv_handle_t *)&t->check, cb);
}
