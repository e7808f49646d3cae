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
 *
 * Routes (conn_connect_via, egress.h): a --bind route binds the socket to
 * its source address first; a SOCKS5 route connects to the proxy and then
 * stays in ST_CONNECTING through the handshake, one phase per reply awaited:
 *
 *   PX_TCP → PX_METHOD ─(login chosen)→ PX_LOGIN ─┐
 *                └────────────────────────────────┴→ PX_CONNECT → ST_OPEN
 *
 * socks.c parses each reply from whatever the reads bring; bytes after the
 * CONNECT reply are the server's (often its banner) and go to the line
 * splitter. The connect deadline covers every phase. Failures of the route
 * itself (the proxy refused, silent, closing, speaking garbage, rejecting
 * our login; an unusable source address) reach on_connect as CONN_EEGRESS
 * with a text in conn_egress_error(); what the proxy says about the server
 * (replies 3-6), and a deadline that passes while the proxy is dialling the
 * server (PX_CONNECT), are reported as the same errors a direct connection
 * would give.
 */
#include "conn.h"

#include "egress.h"
#include "socks.h"
#include "tls.h"

#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_READ_BUF 4096           /* one uv read; ciphertext or plaintext */
#define CONN_WRITE_MAX (256 * 1024)  /* unsent bytes allowed before conn_send refuses */

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define CONN_LABEL_MAX 200            /* route label kept for error texts */

enum conn_state { ST_NEW, ST_CONNECTING, ST_OPEN };

/* Where a SOCKS5 setup stands: the reply awaited (PX_OFF: no proxy, or done). */
enum conn_px { PX_OFF, PX_TCP, PX_METHOD, PX_LOGIN, PX_CONNECT };

/* What a SOCKS5 route needs during setup: requests built up front, the
 * reply parser. */
typedef struct conn_proxy {
    socks_reader rd;
    size_t login_len, connect_len;   /* login_len 0: no credentials */
    unsigned char login[SOCKS_LOGIN_MAX];
    unsigned char connect[SOCKS_CONNECT_MAX];
} conn_proxy;

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
    uint64_t due;           /* open: conn_timer()'s deadline, loop ms (0: none) */
    uint64_t fires;         /* open: when the timer, if active, fires */
    size_t wpending;        /* bytes queued in uv_write, not yet written */
    unsigned tls_epoch;     /* bumped by conn_starttls(): drop stale plaintext */
    int pending;            /* a setup error to report from the timer (bind failed) */

    enum egress_kind route; /* how the connection goes out */
    enum conn_px px_phase;
    conn_proxy *px;         /* SOCKS5 routes only, until the conn is freed */
    const char *route_label;/* SOCKS5 and bind routes: E's label, for error
                             * texts (E outlives the attempt: conn.h) */
    char *egress_err;       /* after CONN_EEGRESS */

    tls *tls;
    size_t line_len;
    char *line;             /* a line split over reads: content + a CR that
                             * may precede LF + NUL (CONN_LINE_MAX + 2); most
                             * lines arrive whole and never need it */
};

/* One read buffer for all the connections of a thread's loop: on_read
 * consumes what it gets (into the line, the TLS engine or the SOCKS
 * parser) before libuv reads again, so no connection keeps 4 KiB idle. */
static _Thread_local char conn_rbuf[CONN_READ_BUF];

typedef struct conn_write {
    uv_write_t req;
    size_t len;
    char data[];
} conn_write;

static void on_handle_closed(uv_handle_t *h);
static void conn_setup_failed(conn *c, int status);
static int egress_fail(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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

static int conn_tls_flush(conn *c);

static void on_handle_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    if (c->ev.on_closed)
        c->ev.on_closed(c, c->ud);
    tls_free(c->tls);
    free(c->px);
    free(c->egress_err);
    free(c->line);
    free(c);
}

void conn_close(conn *c)
{
    if (!c || c->closing)
        return;
    /* A TLS session that ends with no failure says close_notify: OpenSSL
     * then keeps the session resumable (tls_cache.h); one that failed is
     * not offered again. A write the socket cannot take at once is dropped
     * by the close, which is all a peer that stopped reading deserves. */
    if (c->tls && !c->failed && !c->handshaking && tls_close(c->tls) == 0)
        conn_tls_flush(c);
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
    if (status < 0 && c->state == ST_CONNECTING)
        conn_setup_failed(c, egress_fail(c, "%s", uv_strerror(status)));  /* to the proxy */
    else if (status < 0)
        conn_fail(c, status);         /* silent when closing */
}

/* Writes what the socket takes now; the rest (all of it while earlier
 * bytes wait) goes into a write request of its own, handed to libuv. */
static int conn_write_raw(conn *c, const char *data, size_t len)
{
    if (len == 0)
        return 0;
    if (c->wpending == 0) {
        int r = uv_try_write((uv_stream_t *)&c->tcp, &(uv_buf_t){.base = (char *)data, .len = len}, 1);
        if (r > 0) {                  /* a failure: uv_write below reports it as before */
            data += r;
            len -= (size_t)r;
            if (len == 0)
                return 0;
        }
    }
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

/* What the timer means while connecting: a setup error waiting to be
 * reported, else the deadline passed. Whose fault depends on the phase:
 * until the proxy has our CONNECT, the route's; after, the server's (the
 * proxy is still dialling it). */
static int setup_deadline_status(conn *c)
{
    if (c->pending)
        return c->pending;
    switch (c->px_phase) {
    case PX_TCP:
        return egress_fail(c, "%s", uv_strerror(UV_ETIMEDOUT));
    case PX_METHOD:
        return egress_fail(c, "no answer to the SOCKS5 greeting within the connect timeout");
    case PX_LOGIN:
        return egress_fail(c, "no answer to the login within the connect timeout");
    default:
        return UV_ETIMEDOUT;
    }
}

static void on_timer(uv_timer_t *t);

static void start_timer(conn *c, uint64_t now)
{
    c->fires = c->due;
    uv_timer_start(&c->timer, on_timer, c->due - now, 0);
}

static void on_timer(uv_timer_t *t)
{
    conn *c = container_of(t, conn, timer);
    if (c->closing)
        return;
    if (c->state == ST_CONNECTING) {
        conn_setup_failed(c, setup_deadline_status(c));
        return;
    }
    uint64_t now = uv_now(c->loop);
    if (c->due > now) {               /* the deadline moved on since it was set */
        start_timer(c, now);
        return;
    }
    if (c->ev.on_error)
        c->ev.on_error(c, c->ud, UV_ETIMEDOUT);
}

/* Every reply moves the deadline; the timer moves only when the deadline
 * comes sooner than it fires, and one that fires early is set again for
 * what is left: a reply costs a store, not a removal and an insertion in
 * libuv's timer heap (uv_timer_stop was 1.3% of mailvet's CPU on world-1,
 * `perf`). */
void conn_timer(conn *c, int ms)
{
    if (c->closing)
        return;
    if (c->state == ST_CONNECTING) {
        /* the connect deadline owns the timer until the outcome is known */
        c->timer_after_connect = ms > 0 ? ms : 0;
        return;
    }
    if (ms <= 0) {
        c->due = 0;
        uv_timer_stop(&c->timer);
        return;
    }
    uint64_t now = uv_now(c->loop);
    c->due = now + (uint64_t)ms;
    if (!uv_is_active((uv_handle_t *)&c->timer) || c->fires > c->due)
        start_timer(c, now);
}

/* ---- reading ------------------------------------------------------------ */

/* Whether N bytes ending in LAST are more than a line may be: CONN_LINE_MAX
 * bytes of content and one CR that may precede the LF. */
static bool line_too_long(size_t n, char last)
{
    return n > CONN_LINE_MAX + 1 || (n == CONN_LINE_MAX + 1 && last != '\r');
}

/* Appends BYTES to the split line; false (after on_error) if it grew too
 * long. */
static bool line_append(conn *c, const char *p, size_t n)
{
    if (line_too_long(c->line_len + n, p[n - 1])) {
        c->line_len = 0;
        conn_fail(c, CONN_ELINE);
        return false;
    }
    if (!c->line && !(c->line = malloc(CONN_LINE_MAX + 2))) {
        conn_fail(c, UV_ENOMEM);
        return false;
    }
    memcpy(c->line + c->line_len, p, n);
    c->line_len += n;
    return true;
}

/* Gives on_line the LEN bytes at P that its LF (at P[LEN]) ended; the CR
 * or the LF becomes the NUL. */
static void line_deliver(conn *c, char *p, size_t len)
{
    if (len > 0 && p[len - 1] == '\r')
        len--;                        /* CRLF; a CR elsewhere is data */
    p[len] = '\0';
    if (c->ev.on_line)
        c->ev.on_line(c, c->ud, p, len);
}

/* Splits plaintext (in a buffer of ours: whole lines are handed over in
 * place) into lines for on_line. Stops as soon as a callback closed the
 * conn or started TLS (the rest is then stale plaintext). */
static void conn_lines(conn *c, char *p, size_t n)
{
    unsigned epoch = c->tls_epoch;
    while (n > 0 && !c->closing && !c->failed && c->tls_epoch == epoch) {
        char *lf = memchr(p, '\n', n);
        size_t take = lf ? (size_t)(lf - p) : n;
        if (!lf || c->line_len > 0) { /* a line split over reads */
            if (take > 0 && !line_append(c, p, take))
                return;
            if (!lf)
                return;
            size_t len = c->line_len;
            c->line_len = 0;
            line_deliver(c, c->line, len);
        } else if (take > 0 && line_too_long(take, p[take - 1])) {
            conn_fail(c, CONN_ELINE);
            return;
        } else {
            line_deliver(c, p, take);
        }
        p += take + 1;
        n -= take + 1;
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
        if (!c->closing && !c->failed && c->tls_epoch == epoch && !tls_has_more(c->tls))
            break;          /* nothing more to read: spare the call that says so */
    }
    if (!c->closing && !c->failed) {
        int w = conn_tls_flush(c);    /* e.g. a KeyUpdate answer */
        if (w < 0)
            conn_fail(c, w);
    }
}

static void conn_socks_input(conn *c, char *p, size_t n);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    (void)h;
    *buf = uv_buf_init(conn_rbuf, sizeof conn_rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = container_of(s, conn, tcp);
    if (c->closing || c->failed || nread == 0)
        return;
    if (nread < 0 && c->state == ST_CONNECTING) {
        conn_setup_failed(c, nread == UV_EOF
                          ? egress_fail(c, "closed the connection during the SOCKS5 handshake")
                          : egress_fail(c, "%s during the SOCKS5 handshake", uv_strerror((int)nread)));
        return;
    }
    if (nread < 0) {
        conn_fail(c, (int)nread);     /* UV_EOF, UV_ECONNRESET, … */
        return;
    }
    if (c->state == ST_CONNECTING)
        conn_socks_input(c, buf->base, (size_t)nread);
    else if (c->tls)
        conn_tls_input(c, buf->base, (size_t)nread);
    else
        conn_lines(c, buf->base, (size_t)nread);
}

/* ---- connecting --------------------------------------------------------- */

/* Keeps a text naming the route and what failed; returns CONN_EEGRESS. */
static int egress_fail(conn *c, const char *fmt, ...)
{
    char what[120];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char text[CONN_LABEL_MAX + 160];
    snprintf(text, sizeof text, "%s %.*s: %s", c->route == EGRESS_SOCKS5 ? "proxy" : "source address",
             CONN_LABEL_MAX, c->route_label ? c->route_label : "", what);   /* a longer label is cut */
    free(c->egress_err);
    c->egress_err = strdup(text);     /* NULL: conn_egress_error says "" */
    return CONN_EEGRESS;
}

/* The connection (through the tunnel, if any) is up: the timer becomes the
 * caller's. */
static void conn_opened(conn *c)
{
    uv_timer_stop(&c->timer);
    c->state = ST_OPEN;
    c->px_phase = PX_OFF;
    if (c->timer_after_connect > 0)
        conn_timer(c, c->timer_after_connect);
    if (c->ev.on_connect)
        c->ev.on_connect(c, c->ud, 0);
}

/* Setup ended in STATUS: report it once, then close (on_closed follows). */
static void conn_setup_failed(conn *c, int status)
{
    if (c->closing || c->state != ST_CONNECTING)
        return;
    uv_timer_stop(&c->timer);
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->state = ST_NEW;
    if (c->ev.on_connect)
        c->ev.on_connect(c, c->ud, status);
    conn_close(c);
}

/* A setup error found inside conn_connect_via: reported from the loop (the
 * timer, at once), as user callbacks never run inside a conn_* call. */
static int conn_report_later(conn *c, int status)
{
    c->pending = status;
    c->state = ST_CONNECTING;
    c->timer_after_connect = 0;
    uv_timer_start(&c->timer, on_timer, 0, 0);
    return 0;
}

/* A failed TCP connect: to the proxy, it is the route's failure; from a
 * --bind address, running out of ports or a clash is the address's. */
static int connect_status(conn *c, int status)
{
    if (c->px_phase == PX_TCP)
        return egress_fail(c, "%s", uv_strerror(status));
    if (c->route == EGRESS_BIND && (status == UV_EADDRNOTAVAIL || status == UV_EADDRINUSE))
        return egress_fail(c, "%s", uv_strerror(status));
    return status;
}

/* Sends a SOCKS5 request; false (after reporting) when it cannot. */
static bool socks_send(conn *c, const unsigned char *msg, size_t len)
{
    int r = conn_write_raw(c, (const char *)msg, len);
    if (r < 0)
        conn_setup_failed(c, egress_fail(c, "%s", uv_strerror(r)));
    return r == 0;
}

/* A reply of the current phase was good: on to the next. */
static bool socks_advance(conn *c, int method)
{
    conn_proxy *px = c->px;
    if (c->px_phase == PX_METHOD && method == SOCKS_METHOD_LOGIN) {
        c->px_phase = PX_LOGIN;
        return socks_send(c, px->login, px->login_len);
    }
    c->px_phase = PX_CONNECT;
    return socks_send(c, px->connect, px->connect_len);
}

/* Proxy bytes while connecting: each reply is parsed from whatever arrived;
 * what follows the CONNECT reply is the server's and goes to the lines. */
static void conn_socks_input(conn *c, char *p, size_t n)
{
    conn_proxy *px = c->px;
    bool up = false;
    while (!up && n > 0 && c->state == ST_CONNECTING && !c->closing) {
        size_t used = 0;
        int method = SOCKS_METHOD_NONE, r;
        if (c->px_phase == PX_METHOD)
            r = socks_read_method(&px->rd, px->login_len > 0, p, n, &used, &method);
        else if (c->px_phase == PX_LOGIN)
            r = socks_read_login(&px->rd, p, n, &used);
        else if (c->px_phase == PX_CONNECT)
            r = socks_read_connect(&px->rd, p, n, &used);
        else
            return;                   /* not reading before the TCP connect */
        p += used;
        n -= used;
        if (r == SOCKS_MORE)
            return;
        if (r == SOCKS_EROUTE) {
            conn_setup_failed(c, egress_fail(c, "%s", px->rd.why));
            return;
        }
        if (r < 0) {                  /* the proxy could not reach the server */
            conn_setup_failed(c, r);
            return;
        }
        if (c->px_phase == PX_CONNECT)
            up = true;
        else if (!socks_advance(c, method))
            return;
    }
    if (!up)
        return;
    unsigned epoch = c->tls_epoch;
    conn_opened(c);
    if (n > 0 && !c->closing && !c->failed && c->tls_epoch == epoch)
        conn_lines(c, p, n);
}

static void on_connected(uv_connect_t *req, int status)
{
    conn *c = container_of(req, conn, creq);
    if (c->closing || c->state != ST_CONNECTING)
        return;                       /* includes UV_ECANCELED from conn_close */
    if (status == 0) {
        uv_tcp_nodelay(&c->tcp, 1);   /* lock-step commands: no Nagle delay */
        status = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (status < 0) {
        conn_setup_failed(c, connect_status(c, status));
        return;
    }
    if (c->px_phase != PX_TCP) {
        conn_opened(c);
        return;
    }
    unsigned char hello[SOCKS_GREETING_MAX];
    c->px_phase = PX_METHOD;
    socks_send(c, hello, socks_greeting(hello, c->px->login_len > 0));
}

/* Starts the TCP connect to SA under the deadline. */
static int conn_start(conn *c, const struct sockaddr *sa, int timeout_ms)
{
    int r = uv_tcp_connect(&c->creq, &c->tcp, sa, on_connected);
    if (r < 0)
        return r;
    c->state = ST_CONNECTING;
    c->timer_after_connect = 0;
    if (timeout_ms > 0)
        uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static int conn_usable(const conn *c)
{
    if (c->closing)
        return UV_ECANCELED;
    return c->state != ST_NEW ? UV_EALREADY : 0;
}

int conn_connect(conn *c, const struct sockaddr *sa, int timeout_ms)
{
    int r = conn_usable(c);
    return r < 0 ? r : conn_start(c, sa, timeout_ms);
}

/* --bind: the source address first. An IPv4 source cannot reach an IPv6
 * server (nor the reverse): that is no fault of the address. */
static int conn_via_bind(conn *c, const struct sockaddr *sa, const egress *e, int timeout_ms)
{
    if (e->addr.ss_family != sa->sa_family)
        return UV_EAFNOSUPPORT;
    int r = uv_tcp_bind(&c->tcp, (const struct sockaddr *)&e->addr, 0);
    if (r < 0)
        return conn_report_later(c, egress_fail(c, "cannot bind: %s", uv_strerror(r)));
    return conn_start(c, sa, timeout_ms);
}

/* SOCKS5: build the requests now (SA's address, never a name), then dial
 * the proxy; the handshake runs from on_connected and the reads. */
static int conn_via_socks(conn *c, const struct sockaddr *sa, const egress *e, int timeout_ms)
{
    conn_proxy *px = calloc(1, sizeof *px);
    if (!px)
        return UV_ENOMEM;
    c->px = px;
    socks_reader_init(&px->rd);
    px->connect_len = socks_connect(px->connect, sa);
    if (e->user[0] && !(px->login_len = socks_login(px->login, e->user, e->pass)))
        return conn_report_later(c, egress_fail(c, "user or password not 1-255 bytes"));
    c->px_phase = PX_TCP;
    int r = conn_start(c, (const struct sockaddr *)&e->addr, timeout_ms);
    if (r < 0)
        return conn_report_later(c, egress_fail(c, "%s", uv_strerror(r)));
    return 0;
}

int conn_connect_via(conn *c, const struct sockaddr *sa, const struct egress *e, int timeout_ms)
{
    if (!e || e->kind == EGRESS_DIRECT)
        return conn_connect(c, sa, timeout_ms);
    int r = conn_usable(c);
    if (r < 0)
        return r;
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return UV_EAFNOSUPPORT;
    c->route = e->kind;
    c->route_label = e->label;
    return e->kind == EGRESS_BIND ? conn_via_bind(c, sa, e, timeout_ms)
                                  : conn_via_socks(c, sa, e, timeout_ms);
}

const char *conn_egress_error(const conn *c)
{
    return c->egress_err ? c->egress_err : "";
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

