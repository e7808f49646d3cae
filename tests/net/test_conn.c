/* test_conn.c — drives conn.c against a tiny SMTP-ish server in the same
 * process and on the same libuv loop (127.0.0.1; run it inside `unshare -n`,
 * see conn.sh). Each test records the client's and the server's events in
 * one log string and compares it with the expected one.
 * Prints "conn: N passed, M failed"; exits non-zero on failure. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define GUARD_MS 5000              /* a test that hangs fails after this */

/* ---- the event log ------------------------------------------------------ */

static char logbuf[16384];

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    size_t n = strlen(logbuf);
    if (n + 2 >= sizeof logbuf)
        return;
    if (n)
        logbuf[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(logbuf + n, sizeof logbuf - n, fmt, ap);
    va_end(ap);
}

static const char *errname(int e)
{
    if (e == CONN_ELINE)
        return "ELINE";
    if (e == CONN_ETLS)
        return "ETLS";
    return e == 0 ? "0" : uv_err_name(e);
}

/* Logs a line: short ones verbatim (CR shown as \r), long ones as #length. */
static void log_line(const char *who, const char *line, size_t len)
{
    if (len > 60) {
        logf_("%s:#%zu", who, len);
        return;
    }
    char esc[130];
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\r' || line[i] == '\0') {
            esc[j++] = '\\';
            esc[j++] = line[i] ? 'r' : '0';
        } else {
            esc[j++] = line[i];
        }
    }
    esc[j] = 0;
    logf_("%s:[%s]", who, esc);
}

/* ---- the test server ---------------------------------------------------- */

typedef struct srv srv;

typedef struct chunk {
    const char *data;          /* NULL ends the script */
    size_t len;                /* 0 = strlen(data) */
    int delay_ms;              /* wait before sending this chunk */
} chunk;

enum srv_end { END_NONE, END_FIN, END_RESET };

typedef struct test {
    const char *name;
    const char *expect;
    /* server */
    const chunk *script;       /* sent on accept */
    enum srv_end end;          /* after the script */
    void (*srv_line)(srv *s, const char *line);
    /* client (hooks after the default logging) */
    int port_kind;             /* 0 listener, 1 refused, 2 backlog full */
    int connect_timeout;
    void (*cli_connect)(conn *c, int status);
    void (*cli_line)(conn *c, const char *line, size_t len);
    void (*cli_tls)(conn *c, int status);
    void (*cli_error)(conn *c, int err);
} test;

struct srv {
    uv_tcp_t tcp;
    uv_timer_t timer;
    int handles;
    bool closing;
    SSL *ssl;                  /* after STARTTLS */
    bool garbage;              /* answers anything with plaintext junk */
    const chunk *script;
    size_t step;
    char line[8192];
    size_t line_len;
    srv *next;
};

typedef struct swrite {
    uv_write_t req;
    char data[];
} swrite;

static uv_loop_t *loop;
static const test *cur;
static uv_tcp_t listener;
static bool listener_open;
static uv_timer_t guard;
static int guard_fires;
static srv *servers;
static conn *client;
static int fillers[3] = {-1, -1, -1};
static SSL_CTX *srv_ctx;
static int port;

static void srv_closed(uv_handle_t *h)
{
    srv *s = h->data;
    if (--s->handles > 0)
        return;
    for (srv **p = &servers; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            break;
        }
    SSL_free(s->ssl);
    free(s);
}

static void srv_close(srv *s)
{
    if (s->closing)
        return;
    s->closing = true;
    uv_close((uv_handle_t *)&s->timer, srv_closed);
    uv_close((uv_handle_t *)&s->tcp, srv_closed);
}

static void srv_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void srv_raw(srv *s, const char *data, size_t len)
{
    if (s->closing || len == 0)
        return;
    swrite *w = malloc(sizeof *w + len);
    memcpy(w->data, data, len);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
    if (uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, srv_written) < 0)
        free(w);
}

static void srv_tls_flush(srv *s)
{
    char buf[4096];
    int n;
    while ((n = BIO_read(SSL_get_wbio(s->ssl), buf, sizeof buf)) > 0)
        srv_raw(s, buf, (size_t)n);
}

/* Sends plaintext, through TLS once it is up. */
static void srv_send(srv *s, const char *text)
{
    if (s->ssl) {
        size_t n;
        SSL_write_ex(s->ssl, text, strlen(text), &n);
        srv_tls_flush(s);
    } else {
        srv_raw(s, text, strlen(text));
    }
}

static void srv_shutdown_done(uv_shutdown_t *req, int status)
{
    (void)status;
    srv *s = req->data;
    free(req);
    srv_close(s);
}

static void srv_end(srv *s, enum srv_end how)
{
    if (how == END_FIN) {
        uv_shutdown_t *req = malloc(sizeof *req);
        req->data = s;
        if (uv_shutdown(req, (uv_stream_t *)&s->tcp, srv_shutdown_done) < 0) {
            free(req);
            srv_close(s);
        }
    } else if (how == END_RESET) {
        s->closing = true;
        uv_close((uv_handle_t *)&s->timer, srv_closed);
        uv_tcp_close_reset(&s->tcp, srv_closed);
    }
}

/* Plays the script: one chunk, then a timer for the next one's delay. */
static void srv_step(uv_timer_t *t)
{
    srv *s = t->data;
    while (!s->closing) {
        const chunk *k = &s->script[s->step];
        if (!k->data) {
            srv_end(s, cur->end);
            return;
        }
        s->step++;
        srv_raw(s, k->data, k->len ? k->len : strlen(k->data));
        const chunk *nx = &s->script[s->step];
        if (nx->data && nx->delay_ms > 0) {
            uv_timer_start(&s->timer, srv_step, (uint64_t)nx->delay_ms, 0);
            return;
        }
    }
}

static void srv_lines(srv *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n && !s->closing; i++) {
        if (p[i] != '\n') {
            if (s->line_len < sizeof s->line - 1)
                s->line[s->line_len++] = p[i];
            continue;
        }
        size_t len = s->line_len;
        if (len && s->line[len - 1] == '\r')
            len--;
        s->line[len] = 0;
        s->line_len = 0;
        log_line("S", s->line, len);
        if (cur->srv_line)
            cur->srv_line(s, s->line);
    }
}

static void srv_tls_input(srv *s, const char *p, size_t n)
{
    BIO_write(SSL_get_rbio(s->ssl), p, (int)n);
    if (!SSL_is_init_finished(s->ssl)) {
        int r = SSL_do_handshake(s->ssl);
        srv_tls_flush(s);
        if (r != 1) {
            int e = SSL_get_error(s->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                logf_("S:tls-failed");
                ERR_clear_error();
                srv_close(s);
            }
            return;
        }
        const char *sni = SSL_get_servername(s->ssl, TLSEXT_NAMETYPE_host_name);
        logf_("S:tls-up(sni=%s)", sni ? sni : "-");
    }
    char buf[4096];
    size_t got;
    while (SSL_read_ex(s->ssl, buf, sizeof buf, &got) == 1)
        srv_lines(s, buf, got);
    ERR_clear_error();
    srv_tls_flush(s);
}

static void srv_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    *buf = uv_buf_init(malloc(suggested), (unsigned)suggested);
}

static void srv_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    srv *s = st->data;
    if (nread < 0)
        srv_close(s);
    else if (nread > 0 && s->garbage)
        srv_raw(s, "500 5.5.1 this is not TLS\r\n", 27);
    else if (nread > 0 && s->ssl)
        srv_tls_input(s, buf->base, (size_t)nread);
    else if (nread > 0)
        srv_lines(s, buf->base, (size_t)nread);
    free(buf->base);
}

static void srv_accept(uv_stream_t *l, int status)
{
    if (status < 0)
        return;
    srv *s = calloc(1, sizeof *s);
    uv_tcp_init(loop, &s->tcp);
    uv_timer_init(loop, &s->timer);
    s->tcp.data = s->timer.data = s;
    s->handles = 2;
    s->next = servers;
    servers = s;
    if (uv_accept(l, (uv_stream_t *)&s->tcp) < 0) {
        srv_close(s);
        return;
    }
    uv_tcp_nodelay(&s->tcp, 1);
    uv_read_start((uv_stream_t *)&s->tcp, srv_alloc, srv_read);
    s->script = cur->script;
    if (s->script) {
        int d = s->script[0].delay_ms;
        uv_timer_start(&s->timer, srv_step, (uint64_t)(d > 0 ? d : 0), 0);
    }
}

/* Switches the server side to TLS after it answered STARTTLS. */
static void srv_starttls(srv *s)
{
    s->ssl = SSL_new(srv_ctx);
    BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r, -1);
    BIO_set_mem_eof_return(w, -1);
    SSL_set_bio(s->ssl, r, w);
    SSL_set_accept_state(s->ssl);
}

static SSL_CTX *make_srv_ctx(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"mx.test", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, key);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

/* ---- the client's events ------------------------------------------------ */

static void finish(void)
{
    if (listener_open) {
        listener_open = false;
        uv_close((uv_handle_t *)&listener, NULL);
    }
    for (srv *s = servers; s; s = s->next)
        srv_close(s);
    uv_close((uv_handle_t *)&guard, NULL);
    for (int i = 0; i < 3; i++)
        if (fillers[i] >= 0) {
            close(fillers[i]);
            fillers[i] = -1;
        }
}

static void on_connect(conn *c, void *ud, int status)
{
    (void)ud;
    logf_("C:%s", errname(status));
    if (cur->cli_connect)
        cur->cli_connect(c, status);
}

static void on_line(conn *c, void *ud, const char *line, size_t len)
{
    (void)ud;
    if (line[len] != '\0')
        logf_("NOT-NUL-TERMINATED");
    log_line("L", line, len);
    if (cur->cli_line)
        cur->cli_line(c, line, len);
}

static void on_tls(conn *c, void *ud, int status)
{
    (void)ud;
    logf_("T:%s", errname(status));
    if (cur->cli_tls)
        cur->cli_tls(c, status);
    else if (status != 0)
        conn_close(c);
}

static void on_error(conn *c, void *ud, int err)
{
    (void)ud;
    logf_("E:%s", errname(err));
    if (cur->cli_error)
        cur->cli_error(c, err);
    else
        conn_close(c);
}

static void on_closed(conn *c, void *ud)
{
    (void)ud;
    (void)c;
    logf_("closed");
    client = NULL;
    finish();
}

static const conn_events events = {on_connect, on_line, on_tls, on_error, on_closed};

static void on_guard(uv_timer_t *t)
{
    if (++guard_fires == 1 && client) {
        logf_("GUARD");
        conn_close(client);
        uv_timer_start(t, on_guard, 1000, 0);
        return;
    }
    logf_("HUNG");
    uv_stop(loop);
}

/* ---- the tests ---------------------------------------------------------- */

static bool starts(const char *line, const char *prefix)
{
    return strncmp(line, prefix, strlen(prefix)) == 0;
}

static void send_or_log(conn *c, const char *text)
{
    int r = conn_send(c, text, strlen(text));
    if (r < 0)
        logf_("send-failed:%s", errname(r));
}

/* 1. banner, a command, its reply */
static const chunk banner[] = {{"220 mx.test ESMTP\r\n", 0, 0}, {NULL, 0, 0}};

static void basic_srv(srv *s, const char *line)
{
    if (starts(line, "EHLO"))
        srv_send(s, "250 hello me\r\n");
}

static void basic_cli(conn *c, const char *line, size_t len)
{
    (void)len;
    if (starts(line, "220"))
        send_or_log(c, "EHLO me\r\n");
    else if (starts(line, "250"))
        conn_close(c);
}

/* 2. line endings and lines split across reads */
static const chunk endings[] = {
    {"250-crlf\r\n250-lf only\n250-bare\rcr\r\n", 0, 0},
    {"250-split-", 0, 0},
    {"across\r", 0, 30},
    {"\n\r\n", 0, 30},
    {"250-nul\0byte\r\n", 14, 0},
    {"250 end\r\n", 0, 30},
    {NULL, 0, 0},
};

static void close_any(conn *c, const char *line, size_t len)
{
    (void)line;
    (void)len;
    conn_close(c);
}

static void close_on_end(conn *c, const char *line, size_t len)
{
    (void)len;
    if (starts(line, "250 "))
        conn_close(c);
}

/* 3. a reply dripped one byte per write */
#define D(ch) {ch, 1, 3}
static const chunk drip[] = {
    D("2"), D("5"), D("0"), D(" "), D("d"), D("r"), D("i"), D("p"), D("\r"), D("\n"),
    {NULL, 0, 0},
};

/* 4. a line of exactly CONN_LINE_MAX is fine; one byte more is not */
static char max_line[CONN_LINE_MAX + 3];
static char long_line[10000];
static const chunk too_long[] = {
    {max_line, CONN_LINE_MAX + 2, 0},
    {long_line, 1000, 0},
    {long_line, 1000, 20},
    {long_line, sizeof long_line, 20},      /* never an LF */
    {NULL, 0, 0},
};

/* 5. exactly CONN_LINE_MAX, a CR, then more data: too long */
static char max_cr_line[CONN_LINE_MAX + 4];
static const chunk too_long_cr[] = {
    {max_cr_line, CONN_LINE_MAX + 3, 0},
    {"\n250 never\r\n", 0, 0},
    {NULL, 0, 0},
};

/* 6/7. the server ends the connection */
static const chunk bye[] = {{"421 bye\r\n", 0, 0}, {NULL, 0, 0}};
static const chunk bye_later[] = {{"421 bye\r\n", 0, 0}, {"", 0, 50}, {NULL, 0, 0}};

/* 8. timer on a silent server; 9. timer set while connecting; 10. disarmed */
static void arm_150(conn *c, int status)
{
    if (status == 0)
        conn_timer(c, 150);
}

static void arm_then_disarm(conn *c, int status)
{
    if (status == 0) {
        conn_timer(c, 50);
        conn_timer(c, 0);
    }
}

static const chunk late[] = {{"220 late\r\n", 0, 200}, {NULL, 0, 0}};

/* 11/12. STARTTLS */
static const chunk esmtp[] = {{"220 mx.test ESMTP\r\n", 0, 0}, {NULL, 0, 0}};

static void tls_srv(srv *s, const char *line)
{
    if (starts(line, "EHLO me again"))
        srv_send(s, "250-mx.test\r\n250 over tls\r\n");
    else if (starts(line, "EHLO"))
        srv_send(s, "250-mx.test\r\n250 STARTTLS\r\n");
    else if (starts(line, "STARTTLS")) {
        /* the injection: plaintext right behind the 220, in one write */
        srv_send(s, "220 ready\r\n250-injected\r\n250 partial-inj");
        srv_starttls(s);
    }
}

static void tls_cli(conn *c, const char *line, size_t len)
{
    (void)len;
    if (starts(line, "220 mx.test"))
        send_or_log(c, "EHLO me\r\n");
    else if (starts(line, "250 STARTTLS"))
        send_or_log(c, "STARTTLS\r\n");
    else if (starts(line, "220 ready") || starts(line, "220 go")) {
        logf_("tls=%d", conn_is_tls(c));
        int r = conn_starttls(c, "mx.test");
        if (r < 0)
            logf_("starttls-failed:%s", errname(r));
        if (conn_send(c, "NOOP\r\n", 6) != UV_EAGAIN)
            logf_("send-during-handshake-accepted");
    } else if (starts(line, "250 over tls")) {
        logf_("tls=%d", conn_is_tls(c));
        conn_close(c);
    }
}

static void tls_cli_up(conn *c, int status)
{
    if (status == 0)
        send_or_log(c, "EHLO me again\r\n");
    else
        conn_close(c);
}

static void garbage_srv(srv *s, const char *line)
{
    if (starts(line, "EHLO"))
        srv_send(s, "250 STARTTLS\r\n");
    else if (starts(line, "STARTTLS")) {
        srv_send(s, "220 go ahead\r\n");
        s->garbage = true;
    }
}

/* 13. conn_close from inside on_line, with more lines in the same read */
static const chunk many[] = {{"250-a\r\n250-b\r\n250-c\r\n250 d\r\n", 0, 0}, {NULL, 0, 0}};

static void close_first(conn *c, const char *line, size_t len)
{
    (void)line;
    (void)len;
    conn_close(c);
    conn_close(c);                       /* idempotent */
    if (conn_send(c, "QUIT\r\n", 6) == 0)
        logf_("send-after-close-accepted");
    conn_timer(c, 10);                   /* must not fire */
}

/* 14. conn_close right after conn_connect: no on_connect at all */
/* (handled in run_one via port_kind 3) */

/* 15. pipelined writes arrive in order */
static void pipeline_cli(conn *c, const char *line, size_t len)
{
    (void)len;
    if (starts(line, "220")) {
        send_or_log(c, "MAIL FROM:<>\r\n");
        send_or_log(c, "RCPT TO:<a@x.test>\r\n");
        send_or_log(c, "RCPT TO:<b@x.test>\r\n");
        send_or_log(c, "QUIT\r\n");
        static char big[300 * 1024];     /* beyond conn.c's write bound */
        if (conn_send(c, big, sizeof big) != UV_ENOBUFS)
            logf_("unbounded-send-accepted");
    } else if (starts(line, "221")) {
        conn_close(c);
    }
}

static void pipeline_srv(srv *s, const char *line)
{
    if (starts(line, "QUIT"))
        srv_send(s, "221 bye\r\n");
}

/* 16. conn_close from inside on_connect */
static void close_in_connect(conn *c, int status)
{
    (void)status;
    conn_close(c);
}

/* 17. conn_close from inside on_tls(0) while the server's next flight waits */
static void close_in_tls(conn *c, int status)
{
    (void)status;
    conn_close(c);
}

static const test tests[] = {
    {"banner and reply", "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250 hello me] closed",
     banner, END_NONE, basic_srv, 0, 2000, NULL, basic_cli, NULL, NULL},
    {"CRLF, LF, bare CR, split lines",
     "C:0 L:[250-crlf] L:[250-lf only] L:[250-bare\\rcr] L:[250-split-across] L:[] "
     "L:[250-nul\\0byte] L:[250 end] closed",
     endings, END_NONE, NULL, 0, 2000, NULL, close_on_end, NULL, NULL},
    {"dripped one byte per write", "C:0 L:[250 drip] closed",
     drip, END_NONE, NULL, 0, 2000, NULL, close_on_end, NULL, NULL},
    {"over-long line", "C:0 L:#2048 E:ELINE closed",
     too_long, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL},
    {"over-long line ending in CR+data", "C:0 E:ELINE closed",
     too_long_cr, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL},
    {"server closes: EOF", "C:0 L:[421 bye] E:EOF closed",
     bye, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL},
    {"server resets", "C:0 L:[421 bye] E:ECONNRESET closed",
     bye_later, END_RESET, NULL, 0, 2000, NULL, NULL, NULL, NULL},
    {"connection refused", "C:ECONNREFUSED closed",
     NULL, END_NONE, NULL, 1, 2000, NULL, NULL, NULL, NULL},
    {"connect timeout (backlog full)", "C:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 2, 300, NULL, NULL, NULL, NULL},
    {"timer on a silent server", "C:0 E:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 0, 2000, arm_150, NULL, NULL, NULL},
    {"timer set while connecting", "C:0 E:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 4, 2000, NULL, NULL, NULL, NULL},
    {"timer disarmed", "C:0 L:[220 late] closed",
     late, END_NONE, NULL, 0, 2000, arm_then_disarm, close_any, NULL, NULL},
    {"STARTTLS with injected plaintext",
     "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250-mx.test] L:[250 STARTTLS] S:[STARTTLS] "
     "L:[220 ready] tls=0 T:0 S:tls-up(sni=mx.test) S:[EHLO me again] L:[250-mx.test] "
     "L:[250 over tls] tls=1 closed",
     esmtp, END_NONE, tls_srv, 0, 2000, NULL, tls_cli, tls_cli_up, NULL},
    {"STARTTLS answered with garbage",
     "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250 STARTTLS] S:[STARTTLS] L:[220 go ahead] "
     "tls=0 T:ETLS closed",
     esmtp, END_NONE, garbage_srv, 0, 2000, NULL, tls_cli, NULL, NULL},
    {"conn_close inside on_line", "C:0 L:[250-a] closed",
     many, END_NONE, NULL, 0, 2000, NULL, close_first, NULL, NULL},
    {"conn_close while connecting", "closed",
     NULL, END_NONE, NULL, 3, 2000, NULL, NULL, NULL, NULL},
    {"pipelined writes in order",
     "C:0 L:[220 mx.test ESMTP] S:[MAIL FROM:<>] S:[RCPT TO:<a@x.test>] S:[RCPT TO:<b@x.test>] "
     "S:[QUIT] L:[221 bye] closed",
     banner, END_NONE, pipeline_srv, 0, 2000, NULL, pipeline_cli, NULL, NULL},
    {"conn_close inside on_connect", "C:0 closed",
     banner, END_NONE, NULL, 0, 2000, close_in_connect, NULL, NULL, NULL},
    {"conn_close inside on_tls",
     "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250-mx.test] L:[250 STARTTLS] S:[STARTTLS] "
     "L:[220 ready] tls=0 T:0 closed",
     esmtp, END_NONE, tls_srv, 0, 2000, NULL, tls_cli, close_in_tls, NULL},
};

/* A 127.0.0.1 port with nothing behind it. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

/* A listener with backlog 0 whose accept queue is filled, so further SYNs
 * are dropped and a connect hangs. Returns its port. */
static int full_backlog_port(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(l, (struct sockaddr *)&a, sizeof a);
    listen(l, 0);
    getsockname(l, (struct sockaddr *)&a, &al);
    fillers[0] = l;
    for (int i = 1; i < 3; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fillers[i], (struct sockaddr *)&a, sizeof a);
    }
    usleep(50 * 1000);          /* let the handshakes settle */
    return ntohs(a.sin_port);
}

static bool run_one(const test *t)
{
    cur = t;
    logbuf[0] = 0;
    guard_fires = 0;
    uv_tcp_init(loop, &listener);
    listener_open = true;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_bind(&listener, (struct sockaddr *)&a, 0);
    uv_listen((uv_stream_t *)&listener, 16, srv_accept);
    int al = sizeof a;
    uv_tcp_getsockname(&listener, (struct sockaddr *)&a, &al);
    port = ntohs(a.sin_port);
    if (t->port_kind == 1)
        port = free_port();
    else if (t->port_kind == 2)
        port = full_backlog_port();
    uv_ip4_addr("127.0.0.1", port, &a);

    uv_timer_init(loop, &guard);
    uv_timer_start(&guard, on_guard, GUARD_MS, 0);
    client = conn_new(loop, &events, NULL);
    if (!client) {
        logf_("conn_new-failed");
        finish();
    } else {
        int r = conn_connect(client, (struct sockaddr *)&a, t->connect_timeout);
        /* misuse while connecting: refused, no callback */
        if (r == 0 && conn_connect(client, (struct sockaddr *)&a, 100) != UV_EALREADY)
            logf_("second-connect-accepted");
        if (r == 0 && conn_send(client, "x", 1) != UV_ENOTCONN)
            logf_("send-before-connect-accepted");
        if (r == 0 && conn_starttls(client, "x") != UV_ENOTCONN)
            logf_("starttls-before-connect-accepted");
        if (r < 0) {
            logf_("connect-failed:%s", errname(r));
            conn_close(client);
        } else if (t->port_kind == 3) {
            conn_close(client);
        } else if (t->port_kind == 4) {
            conn_timer(client, 150);
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    bool ok = strcmp(logbuf, t->expect) == 0;
    if (ok)
        printf("ok   %s\n", t->name);
    else
        printf("FAIL %s\n     got:    %s\n     wanted: %s\n", t->name, logbuf, t->expect);
    fflush(stdout);
    return ok;
}

int main(void)
{
    memset(max_line, 'x', CONN_LINE_MAX);
    memcpy(max_line + CONN_LINE_MAX, "\r\n", 2);
    memset(long_line, 'y', sizeof long_line);
    memset(max_cr_line, 'z', CONN_LINE_MAX);
    memcpy(max_cr_line + CONN_LINE_MAX, "\rzz", 3);

    srv_ctx = make_srv_ctx();
    if (!srv_ctx) {
        fprintf(stderr, "conn: cannot build the test server's TLS context\n");
        return 1;
    }
    static uv_loop_t the_loop;
    loop = &the_loop;
    uv_loop_init(loop);

    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof *tests; i++) {
        if (run_one(&tests[i]))
            passed++;
        else
            failed++;
        if (guard_fires > 1)
            break;              /* a handle leaked: the loop is unusable */
    }
    uv_run(loop, UV_RUN_DEFAULT);
    if (uv_loop_close(loop) != 0) {
        printf("FAIL loop closes cleanly (handles left open)\n");
        failed++;
    } else {
        passed++;
        printf("ok   loop closes cleanly\n");
    }
    SSL_CTX_free(srv_ctx);
    printf("conn: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
