/* test_conn.c — conn's one timer on a real loop against a loopback server
 * that greets and then says nothing: a deadline moved later fires at the
 * new time, never at the old one; one moved sooner fires at once at its
 * time; a disarmed timer does not fire. Lower bounds are exact (a
 * deadline never fires early); upper bounds leave room for a loaded run. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "conn.h"

typedef struct fixture {
    uv_loop_t loop;
    uv_tcp_t server, peer;
    uv_timer_t step;             /* the test's own second step */
    conn *c;
    int plan;                    /* which test runs */
    uint64_t start, fired_at;
    int err, closed, peer_open;
} fixture;

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static void on_accept(uv_stream_t *s, int status)
{
    fixture *f = s->data;
    assert_int_equal(status, 0);
    uv_tcp_init(&f->loop, &f->peer);
    assert_int_equal(uv_accept(s, (uv_stream_t *)&f->peer), 0);
    f->peer_open = 1;
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = uv_buf_init((char *)"220 quiet\r\n", 11);
    uv_write(w, (uv_stream_t *)&f->peer, &b, 1, on_written);
}

static void end(fixture *f)
{
    uv_timer_stop(&f->step);
    conn_close(f->c);
}

static void on_step(uv_timer_t *t)
{
    fixture *f = t->data;
    switch (f->plan) {
    case 0: conn_timer(f->c, 300); break;   /* at 100 ms: the deadline goes to 400 */
    case 1: conn_timer(f->c, 50); break;    /* at 100 ms: from 5 s to 150 ms */
    case 2: end(f); break;                  /* at 400 ms: nothing fired */
    }
}

static void on_connect(conn *c, void *ud, int status)
{
    (void)c;
    fixture *f = ud;
    assert_int_equal(status, 0);
    f->start = uv_now(&f->loop);
    conn_timer(f->c, f->plan == 1 ? 5000 : 300);
    if (f->plan == 2)
        conn_timer(f->c, 0);
    uv_timer_start(&f->step, on_step, f->plan == 2 ? 400 : 100, 0);
}

static void on_line(conn *c, void *ud, const char *line, size_t len)
{
    (void)c, (void)ud, (void)line, (void)len;
}

static void on_error(conn *c, void *ud, int err)
{
    (void)c;
    fixture *f = ud;
    f->err = err;
    f->fired_at = uv_now(&f->loop) - f->start;
    end(f);
}

static void on_closed(conn *c, void *ud)
{
    (void)c;
    fixture *f = ud;
    f->closed = 1;
    uv_close((uv_handle_t *)&f->server, NULL);
    uv_close((uv_handle_t *)&f->step, NULL);
    if (f->peer_open)
        uv_close((uv_handle_t *)&f->peer, NULL);
}

static void run(fixture *f, int plan)
{
    memset(f, 0, sizeof *f);
    f->plan = plan;
    assert_int_equal(uv_loop_init(&f->loop), 0);
    uv_tcp_init(&f->loop, &f->server);
    f->server.data = f;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    assert_int_equal(uv_tcp_bind(&f->server, (struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&f->server, 4, on_accept), 0);
    int len = sizeof a;
    uv_tcp_getsockname(&f->server, (struct sockaddr *)&a, &len);
    uv_timer_init(&f->loop, &f->step);
    f->step.data = f;
    static const conn_events ev = {.on_connect = on_connect, .on_line = on_line,
                                   .on_error = on_error, .on_closed = on_closed};
    f->c = conn_new(&f->loop, &ev, f);
    assert_non_null(f->c);
    assert_int_equal(conn_connect(f->c, (struct sockaddr *)&a, 5000), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_true(f->closed);
    assert_int_equal(uv_loop_close(&f->loop), 0);
}

static void test_deadline_moved_later(void **state)
{
    (void)state;
    fixture f;
    run(&f, 0);
    assert_int_equal(f.err, UV_ETIMEDOUT);
    assert_true(f.fired_at >= 400);          /* not at the first deadline, 300 */
    assert_true(f.fired_at < 2000);
}

static void test_deadline_moved_sooner(void **state)
{
    (void)state;
    fixture f;
    run(&f, 1);
    assert_int_equal(f.err, UV_ETIMEDOUT);
    assert_true(f.fired_at >= 150);
    assert_true(f.fired_at < 2000);          /* not at the first deadline, 5 s */
}

static void test_disarmed(void **state)
{
    (void)state;
    fixture f;
    run(&f, 2);
    assert_int_equal(f.err, 0);              /* the test's own step ended it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deadline_moved_later),
        cmocka_unit_test(test_deadline_moved_sooner),
        cmocka_unit_test(test_disarmed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
