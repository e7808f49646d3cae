/* conn.c — one TCP connection to an SMTP server on a libuv loop: connect
 * with a deadline, LF-split bounded lines, a bounded queue of writes, one
 * timer, and STARTTLS through tls.c (memory BIOs pumped from here).
 *
 * Ownership: the conn owns its uv_tcp_t and uv_timer_t (embedded, recovered
 * with container_of), its read and line buffers, its write requests (each a
 * private copy of the data) and its tls session. It is freed only after
 * libuv's close callbacks for both handles have run, right after on_closed.
 *
 * Re-entrancy (OpenSMTPD's "handlers set flags, the dispatcher acts after"):
 * user callbacks are only called from libuv callbacks, never from inside a
 * conn_* call. conn_close() only sets `closing` and asks libuv to close the
 * handles; nothing is freed before the close callbacks, so a caller's
 * conn_close() from inside on_line/on_error/… is safe, and every loop here
 * re-checks the flags after each user callback before touching more data.
 *
 * Error reporting:
 *  - connect failures (refused, unreachable, the connect deadline) go to
 *    on_connect(<0) and the conn then closes itself: on_closed follows
 *    (calling conn_close() as well is harmless);
 *  - after connecting, a fatal transport or protocol error (UV_EOF, reset,
 *    write failure, CONN_ELINE, a TLS record error = CONN_ETLS) is reported
 *    once through on_error; reading stops and the caller is expected to
 *    conn_close(). The conn_timer() timeout (UV_ETIMEDOUT) is not fatal;
 *  - a failed STARTTLS handshake goes to on_tls(CONN_ETLS) (a transport error
 *    during the handshake, e.g. EOF, still goes to on_error).
 *
 * The one timer: while connecting it is the connect deadline; a conn_timer()
 * call made then is remembered and armed once the connection is up (the
 * banner wait), so it never shortens or stretches the connect deadline.
 * conn_send() refuses with UV_EAGAIN during the handshake (send after
 * on_tls(0)) and with UV_ENOBUFS beyond CONN_WRITE_MAX unsent bytes.
 */
#include "conn.h"

#include "egress.h"

#include "tls.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CONN_READ_BUF 4096           /* one uv read; ciphertext or plaintext */
#define CONN_WRITE_MAX (256 * 1024)  /* unsent bytes allowed before conn_send refuses */

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

enum conn_state { ST_NEW, ST_CONNECTING, ST_OPEN };

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t creq;
    uv_loop_t *loop;
    conn_events ev;
    void *ud;

    enum conn_state state;
    bool closing;           /* conn_close() ran: only on_closed may follow */
    bool failed;            /* a fatal error was reported; reading stopped */
    bool handshaking;       /* STARTTLS handshake in progress */
    bool tls_up;            /* the handshake succeeded: traffic is encrypted */
    int open_handles;       /* close callbacks still to come */
    int timer_after_connect;/* conn_timer() while connecting: armed once open */
    size_t wpending;        /* bytes queued in uv_write, not yet written */
    unsigned tls_epoch;     /* bumped by conn_starttls(): drop stale plaintext */

    tls *tls;
    size_t line_len;
    char line[CONN_LINE_MAX + 2];    /* content + a CR that may precede LF + NUL */
    char rbuf[CONN_READ_BUF];
};

typedef struct conn_write {
    uv_write_t req;
    size_t len;
    char data[];
} conn_write;

static void on_handle_closed(uv_handle_t *h);

conn *conn_new(uv_loop_t *loop, const conn_events *ev, void *ud)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->ev = *ev;
    c->ud = ud;
    if (uv_tcp_init(loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 1;
    if (uv_timer_init(loop, &c->timer) != 0) {
        /* the tcp handle must still go through its close callback */
        c->closing = true;
        c->ev.on_closed = NULL;
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return NULL;
    }
    c->open_handles = 2;
    return c;
}

/* ---- closing ------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    if (c->ev.on_closed)
        c->ev.on_closed(c, c->ud);
    tls_free(c->tls);
    free(c);
}

void conn_close(conn *c)
{
    if (!c || c->closing)
        return;
    c->closing = true;
    uv_timer_stop(&c->timer);
    /* Pending connect/write requests get UV_ECANCELED before the close
     * callbacks; their handlers see `closing` and stay silent. */
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* Reports the first fatal error after connecting and stops reading. */
static void conn_fail(conn *c, int err)
{
    if (c->closing || c->failed)
        return;
    c->failed = true;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (c->ev.on_error)
        c->ev.on_error(c, c->ud, err);
}

/* Ends a STARTTLS handshake: STATUS is 0 or CONN_ETLS. */
static void conn_tls_done(conn *c, int status)
{
    c->handshaking = false;
    c->tls_up = status == 0;
    if (status != 0) {
        c->failed = true;
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    if (c->ev.on_tls)
        c->ev.on_tls(c, c->ud, status);
}

/* ---- writing ------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
    conn_write *w = container_of(req, conn_write, req);
    conn *c = container_of(req->handle, conn, tcp);
    c->wpending -= w->len;
    free(w);
    if (status < 0)
        conn_fail(c, status);         /* silent when closing */
}

/* Copies LEN bytes into a write request of their own and hands it to libuv. */
static int conn_write_raw(conn *c, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    conn_write *w = malloc(sizeof *w + len);
    if (!w)
        return UV_ENOMEM;
    memcpy(w->data, data, len);
    w->len = len;
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r < 0) {
        free(w);
        return r;
    }
    c->wpending += len;
    return 0;
}

/* Sends all ciphertext tls.c has produced. Returns 0 or <0. */
static int conn_tls_flush(conn *c)
{
    char buf[CONN_READ_BUF];
    size_t n;
    while ((n = tls_drain(c->tls, buf, sizeof buf)) > 0) {
        int r = conn_write_raw(c, buf, n);
        if (r < 0)
            return r;
    }
    return 0;
}

int conn_send(conn *c, const char *data, size_t len)
{
    if (c->closing)
        return UV_ECANCELED;
    if (c->state != ST_OPEN || c->failed)
        return UV_ENOTCONN;
    /* The bound applies here, before encryption: once tls.c has taken
     * plaintext, its ciphertext must go out whole or the stream breaks. */
    if (c->wpending + len > CONN_WRITE_MAX)
        return UV_ENOBUFS;
    if (!c->tls)
        return conn_write_raw(c, data, len);
    if (c->handshaking)
        return UV_EAGAIN;             /* send after on_tls(0) */
    if (tls_write(c->tls, data, len) < 0)
        return CONN_ETLS;
    return conn_tls_flush(c);
}

/* ---- timer -------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    conn *c = container_of(t, conn, timer);
    if (c->closing)
        return;
    if (c->state == ST_CONNECTING) {
        c->state = ST_NEW;
        if (c->ev.on_connect)
            c->ev.on_connect(c, c->ud, UV_ETIMEDOUT);
        conn_close(c);
        return;
    }
    if (c->ev.on_error)
        c->ev.on_error(c, c->ud, UV_ETIMEDOUT);
}

void conn_timer(conn *c, int ms)
{
    if (c->closing)
        return;
    if (c->state == ST_CONNECTING) {
        /* the connect deadline owns the timer until the outcome is known */
        c->timer_after_connect = ms > 0 ? ms : 0;
        return;
    }
    if (ms <= 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
}

/* ---- reading ------------------------------------------------------------ */

/* Appends BYTES to the line; false (after on_error) if it grew too long.
 * The buffer may hold CONN_LINE_MAX bytes plus one CR awaiting its LF. */
static bool line_append(conn *c, const char *p, size_t n)
{
    if (c->line_len + n > CONN_LINE_MAX + 1 ||
        (c->line_len + n == CONN_LINE_MAX + 1 && p[n - 1] != '\r')) {
        c->line_len = 0;
        conn_fail(c, CONN_ELINE);
        return false;
    }
    memcpy(c->line + c->line_len, p, n);
    c->line_len += n;
    return true;
}

/* Splits plaintext into lines for on_line. Stops as soon as a callback
 * closed the conn or started TLS (the rest is then stale plaintext). */
static void conn_lines(conn *c, const char *p, size_t n)
{
    unsigned epoch = c->tls_epoch;
    while (n > 0 && !c->closing && !c->failed && c->tls_epoch == epoch) {
        const char *lf = memchr(p, '\n', n);
        size_t take = lf ? (size_t)(lf - p) : n;
        if (take > 0 && !line_append(c, p, take))
            return;
        if (!lf)
            return;
        p += take + 1;
        n -= take + 1;
        size_t len = c->line_len;
        if (len > 0 && c->line[len - 1] == '\r')
            len--;                    /* CRLF; a CR elsewhere is data */
        c->line[len] = '\0';
        c->line_len = 0;
        if (c->ev.on_line)
            c->ev.on_line(c, c->ud, c->line, len);
    }
}

/* Handles ciphertext: advances the handshake, then delivers plaintext. */
static void conn_tls_input(conn *c, const char *data, size_t n)
{
    if (tls_feed(c->tls, data, n) < 0) {
        if (c->handshaking)
            conn_tls_done(c, CONN_ETLS);
        else
            conn_fail(c, CONN_ETLS);
        return;
    }
    if (c->handshaking) {
        int h = tls_handshake(c->tls);
        int w = conn_tls_flush(c);    /* our next flight, or an alert */
        if (h < 0) {
            conn_tls_done(c, CONN_ETLS);
            return;
        }
        if (w < 0) {
            conn_fail(c, w);
            return;
        }
        if (h == 0)
            return;
        conn_tls_done(c, 0);
    }
    char plain[CONN_READ_BUF];
    unsigned epoch = c->tls_epoch;
    while (!c->closing && !c->failed && c->tls_epoch == epoch) {
        ssize_t r = tls_read(c->tls, plain, sizeof plain);
        if (r < 0) {
            conn_tls_flush(c);        /* let the alert out */
            conn_fail(c, CONN_ETLS);
            return;
        }
        if (r == 0)
            break;
        conn_lines(c, plain, (size_t)r);
    }
    if (!c->closing && !c->failed) {
        int w = conn_tls_flush(c);    /* e.g. a KeyUpdate answer */
        if (w < 0)
            conn_fail(c, w);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = container_of(h, conn, tcp);
    *buf = uv_buf_init(c->rbuf, sizeof c->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = container_of(s, conn, tcp);
    if (c->closing || c->failed || nread == 0)
        return;
    if (nread < 0) {
        conn_fail(c, (int)nread);     /* UV_EOF, UV_ECONNRESET, … */
        return;
    }
    if (c->tls)
        conn_tls_input(c, buf->base, (size_t)nread);
    else
        conn_lines(c, buf->base, (size_t)nread);
}

/* ---- connecting --------------------------------------------------------- */

static void on_connected(uv_connect_t *req, int status)
{
    conn *c = container_of(req, conn, creq);
    if (c->closing)
        return;                       /* includes UV_ECANCELED from conn_close */
    uv_timer_stop(&c->timer);
    if (status == 0) {
        uv_tcp_nodelay(&c->tcp, 1);   /* lock-step commands: no Nagle delay */
        status = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (status < 0) {
        c->state = ST_NEW;
        if (c->ev.on_connect)
            c->ev.on_connect(c, c->ud, status);
        conn_close(c);
        return;
    }
    c->state = ST_OPEN;
    if (c->timer_after_connect > 0)
        uv_timer_start(&c->timer, on_timer, (uint64_t)c->timer_after_connect, 0);
    if (c->ev.on_connect)
        c->ev.on_connect(c, c->ud, 0);
}

int conn_connect(conn *c, const struct sockaddr *sa, int timeout_ms)
{
    if (c->closing)
        return UV_ECANCELED;
    if (c->state != ST_NEW)
        return UV_EALREADY;
    int r = uv_tcp_connect(&c->creq, &c->tcp, sa, on_connected);
    if (r < 0)
        return r;
    c->state = ST_CONNECTING;
    c->timer_after_connect = 0;
    if (timeout_ms > 0)
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- STARTTLS ----------------------------------------------------------- */

int conn_starttls(conn *c, const char *server_name)
{
    if (c->closing)
        return UV_ECANCELED;
    if (c->state != ST_OPEN || c->failed)
        return UV_ENOTCONN;
    if (c->tls)
        return UV_EALREADY;
    c->tls = tls_new(server_name);
    if (!c->tls)
        return UV_ENOMEM;
    /* Whatever plaintext followed the 220 (in the line buffer or later in
     * the same read) is an injection attempt: conn_lines sees the new epoch
     * and drops it. */
    c->tls_epoch++;
    c->line_len = 0;
    c->handshaking = true;
    if (tls_handshake(c->tls) < 0)
        return CONN_ETLS;             /* cannot even build a ClientHello */
    return conn_tls_flush(c);
}

bool conn_is_tls(const conn *c)
{
    return c->tls_up;
}

int conn_connect_via(conn *c, const struct sockaddr *sa, const struct egress *e, int timeout_ms)
{
    if (e && e->kind != EGRESS_DIRECT)
        return UV_ENOTSUP;
    return conn_connect(c, sa, timeout_ms);
}

const char *conn_egress_error(const conn *c)
{
    (void)c;
    return "";
}
