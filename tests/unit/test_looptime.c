/* test_looptime.c — what the loop may have kept a reply: the busy stretch
 * before the poll that reads it, plus the earlier rounds of that poll; a
 * quiet loop keeps nothing, so a slow server stays slow; what ran before
 * the first poll counts from the start. Then the same on a real loop: a
 * reply that waited through a 300 ms callback (also one that ran before
 * the loop first polled), and one that came while the loop listened. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "looptime.h"

static void test_quiet_loop_keeps_nothing(void **state)
{
    (void)state;
    looptime t = {0};
    looptime_poll_returned(&t, 1000);        /* the command went out then */
    looptime_poll_begins(&t, 1001);
    /* the poll slept until the reply came at 2000: all the server's */
    assert_int_equal(looptime_lag_at(&t, 2000), 1);
}

static void test_stall_is_the_loops(void **state)
{
    (void)state;
    looptime t = {0};
    looptime_poll_returned(&t, 1000);
    looptime_poll_begins(&t, 2900);          /* 1.9 s in callbacks */
    assert_int_equal(looptime_lag_at(&t, 2900), 1900);
    assert_int_equal(looptime_lag_at(&t, 2900), 1900);   /* every reply of that poll */
    assert_int_equal(looptime_take_max(&t), 1900);
    assert_int_equal(looptime_take_max(&t), 0);           /* taken */
}

static void test_later_rounds_waited(void **state)
{
    (void)state;
    looptime t = {0};
    looptime_poll_returned(&t, 1000);
    looptime_poll_begins(&t, 1002);
    assert_int_equal(looptime_lag_at(&t, 1010), 2);      /* the first round */
    assert_int_equal(looptime_lag_at(&t, 1030), 22);     /* a round after 20 ms of reading */
    looptime_poll_returned(&t, 1030);
    looptime_poll_begins(&t, 1031);                      /* a new poll starts afresh */
    assert_int_equal(looptime_lag_at(&t, 1500), 1);
}

static void test_first_poll(void **state)
{
    (void)state;
    looptime t = {.returned_ms = 5000};                  /* measuring began then (looptime_start) */
    looptime_poll_begins(&t, 5300);                      /* busy before the first poll */
    assert_int_equal(looptime_lag_at(&t, 5400), 300);
}

/* ---- on a real loop ---- */

typedef struct live {
    looptime lt;
    uv_loop_t loop;
    uv_timer_t timer;
    uv_pipe_t reader;
    int peer;                 /* the other end of the socket pair: the "server" */
    uint64_t lag;             /* what looptime_lag said when the bytes were read */
    int closed;
} live;

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *buf)
{
    static char space[64];
    (void)h;
    (void)want;
    *buf = uv_buf_init(space, sizeof space);
}

static void on_closed(uv_handle_t *h)
{
    live *l = h->data;
    l->closed++;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    live *l = s->data;
    if (n <= 0)
        return;
    l->lag = looptime_lag(&l->lt);
    uv_read_stop(s);
    uv_close((uv_handle_t *)&l->reader, on_closed);
    uv_close((uv_handle_t *)&l->timer, on_closed);
    looptime_close(&l->lt, on_closed, l);
}

static void on_busy(uv_timer_t *t)
{
    live *l = t->data;
    assert_int_equal(write(l->peer, "250 ok\r\n", 8), 8);   /* the reply is there at once */
    uint64_t until = uv_hrtime() + 300 * 1000000ull;        /* and the loop is busy */
    while (uv_hrtime() < until)
        usleep(10 * 1000);
}

static void on_reply_later(uv_timer_t *t)
{
    live *l = t->data;
    assert_int_equal(write(l->peer, "250 ok\r\n", 8), 8);
}

static void run_live(live *l, uv_timer_cb cb, uint64_t after_ms)
{
    int sv[2];
    memset(l, 0, sizeof *l);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    l->peer = sv[1];
    assert_int_equal(uv_loop_init(&l->loop), 0);
    looptime_start(&l->lt, &l->loop);
    uv_pipe_init(&l->loop, &l->reader, 0);
    assert_int_equal(uv_pipe_open(&l->reader, sv[0]), 0);
    uv_timer_init(&l->loop, &l->timer);
    l->reader.data = l->timer.data = l;
    uv_read_start((uv_stream_t *)&l->reader, on_alloc, on_read);
    uv_timer_start(&l->timer, cb, after_ms, 0);
    uv_run(&l->loop, UV_RUN_DEFAULT);
    assert_int_equal(l->closed, 4);
    assert_int_equal(uv_loop_close(&l->loop), 0);
    close(l->peer);
}

static void test_live_busy_callback(void **state)
{
    (void)state;
    live l;
    run_live(&l, on_busy, 10);
    assert_true(l.lag >= 290);        /* the 300 ms were the loop's, not the server's */
}

static void test_live_busy_before_first_poll(void **state)
{
    (void)state;
    live l;
    run_live(&l, on_busy, 0);         /* due at once: it runs before the loop first polls */
    assert_true(l.lag >= 290);
}

static void test_live_listening(void **state)
{
    (void)state;
    live l;
    run_live(&l, on_reply_later, 200);
    assert_true(l.lag < 100);         /* the 200 ms before the reply were waited in the poll */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_loop_keeps_nothing),
        cmocka_unit_test(test_stall_is_the_loops),
        cmocka_unit_test(test_later_rounds_waited),
        cmocka_unit_test(test_first_poll),
        cmocka_unit_test(test_live_busy_callback),
        cmocka_unit_test(test_live_busy_before_first_poll),
        cmocka_unit_test(test_live_listening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
