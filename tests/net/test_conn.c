/* test_conn.c — drives conn.c against a tiny SMTP-ish server in the same
 * process and on the same libuv loop (127.0.0.1; run it inside `unshare -n`,
 * see conn.sh). Each test records the client's and the server's events in
 * one log string and compares it with the expected one. The server can also
 * play a scripted SOCKS5 proxy (conn_connect_via through it: honest,
 * dripping, refusing, silent, garbage), and --bind routes are checked by
 * the source address the server sees.
 * Prints "conn: N passed, M failed"; exits non-zero on failure. */
#include "conn.h"
#include "egress.h"

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

static conn *client;

static const char *errname(int e)
{
    static char buf[400];
    if (e == CONN_EEGRESS && client) {
        snprintf(buf, sizeof buf, "EEGRESS[%s]", conn_egress_error(client));
        return buf;
    }
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

/* The listener as a SOCKS5 proxy: what it answers to each request (NULL:
 * never answers). The client goes through it to 192.0.2.25:25. */
typedef struct proxy {
    const char *user, *pass;   /* the client's credentials (NULL: none) */
    const chunk *method;       /* to the greeting */
    const chunk *login;        /* to the login */
    const chunk *connect;      /* to CONNECT; the banner may follow */
} proxy;

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
    /* routes */
    const proxy *px;           /* connect through this proxy (the listener) */
    const char *bind;          /* connect from this source address */
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
    int px_stage;              /* proxy: 0 greeting, 1 login or CONNECT, 2 tunnel */
    unsigned char pin[600];    /* proxy: the client's request so far */
    size_t pin_len;
    bool told_peer;            /* bind tests: the client's address was logged */
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

/* Whether the proxy answers nothing after S's current script (the test's
 * end of connection applies then). */
static bool script_is_last(const srv *s)
{
    const proxy *px = cur->px;
    if (!px || s->script == px->connect)
        return true;
    if (s->script == px->login)
        return !px->connect;
    return !px->login && !px->connect;
}

/* Plays the script: one chunk, then a timer for the next one's delay. */
static void srv_step(uv_timer_t *t)
{
    srv *s = t->data;
    while (!s->closing) {
        const chunk *k = &s->script[s->step];
        if (!k->data) {
            if (script_is_last(s))
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
        if (cur->bind && !s->told_peer) {
            struct sockaddr_storage ss;
            int sl = sizeof ss;
            char ip[INET6_ADDRSTRLEN] = "?";
            if (uv_tcp_getpeername(&s->tcp, (struct sockaddr *)&ss, &sl) == 0)
                uv_ip_name((struct sockaddr *)&ss, ip, sizeof ip);
            logf_("S:from(%s)", ip);
            s->told_peer = true;
        }
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

/* ---- the test proxy ------------------------------------------------------ */

/* Starts playing SCRIPT (NULL: stay silent). */
static void srv_play(srv *s, const chunk *script)
{
    if (!script)
        return;
    s->script = script;
    s->step = 0;
    int d = script[0].data ? script[0].delay_ms : 0;
    uv_timer_start(&s->timer, srv_step, (uint64_t)(d > 0 ? d : 0), 0);
}

/* The length of the client's request at the start of s->pin, logged; 0
 * while incomplete. Parsed here independently of socks.c. */
static size_t px_request(srv *s)
{
    const unsigned char *b = s->pin;
    size_t n = s->pin_len;
    if (n < 2)
        return 0;
    if (s->px_stage == 0) {                       /* VER NMETHODS METHODS */
        if (n < 2u + b[1])
            return 0;
        char m[64] = "";
        for (int i = 0; i < b[1] && i < 8; i++)
            snprintf(m + strlen(m), sizeof m - strlen(m), "%s%02x", i ? "," : "", b[2 + i]);
        logf_("P:hello(%s)", m);
        return 2u + b[1];
    }
    if (b[0] == 0x01) {                           /* VER ULEN USER PLEN PASS */
        size_t ul = b[1];
        if (n < 3 + ul || n < 3 + ul + b[2 + ul])
            return 0;
        size_t pl = b[2 + ul];
        logf_("P:login(%.*s:%.*s)", (int)ul, (const char *)b + 2, (int)pl, (const char *)b + 3 + ul);
        return 3 + ul + pl;
    }
    if (n < 4)                                    /* VER CMD RSV ATYP ADDR PORT */
        return 0;
    size_t alen = b[3] == 1 ? 4 : 16, need = 4 + alen + 2;
    if (n < need)
        return 0;
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(b[3] == 1 ? AF_INET : AF_INET6, b + 4, ip, sizeof ip);
    logf_("P:connect(cmd=%d %s:%d)", b[1], ip, b[4 + alen] << 8 | b[5 + alen]);
    return need;
}

/* Client bytes while the proxy handshake runs. */
static void px_input(srv *s, const char *p, size_t n)
{
    if (n > sizeof s->pin - s->pin_len)
        n = sizeof s->pin - s->pin_len;
    memcpy(s->pin + s->pin_len, p, n);
    s->pin_len += n;
    size_t len;
    while (s->px_stage < 2 && (len = px_request(s)) > 0) {
        bool login = s->px_stage == 1 && s->pin[0] == 0x01;
        memmove(s->pin, s->pin + len, s->pin_len - len);
        s->pin_len -= len;
        if (s->px_stage == 0)
            srv_play(s, cur->px->method);
        else if (login)
            srv_play(s, cur->px->login);
        else
            srv_play(s, cur->px->connect);
        s->px_stage = s->px_stage == 0 || login ? 1 : 2;
    }
    if (s->px_stage == 2 && s->pin_len) {
        srv_lines(s, (const char *)s->pin, s->pin_len);
        s->pin_len = 0;
    }
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
    else if (nread > 0 && cur->px && s->px_stage < 2)
        px_input(s, buf->base, (size_t)nread);
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
    s->script = cur->px ? NULL : cur->script;   /* a proxy waits for the greeting */
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

/* 18-. SOCKS5 proxies and --bind */
#define REPLY4 "\x05\x00\x00\x01\x7f\x00\x00\x05\x04\x38"      /* bound 127.0.0.5:1080 */
static const chunk px_none[] = {{"\x05\x00", 2, 0}, {NULL, 0, 0}};
static const chunk px_login[] = {{"\x05\x02", 2, 0}, {NULL, 0, 0}};
static const chunk px_ok[] = {{"\x01\x00", 2, 0}, {NULL, 0, 0}};
static const chunk px_denied[] = {{"\x01\x01", 2, 0}, {NULL, 0, 0}};
static const chunk px_nomethod[] = {{"\x05\xff", 2, 0}, {NULL, 0, 0}};
static const chunk px_http[] = {{"HTTP/1.1 400 Bad Request\r\n\r\n", 0, 0}, {NULL, 0, 0}};
static const chunk px_nothing[] = {{NULL, 0, 0}};
static const chunk px_up_banner[] = {{REPLY4 "220 mx.test ESMTP\r\n", 10 + 19, 0}, {NULL, 0, 0}};
static const chunk px_up[] = {{REPLY4, 10, 0}, {NULL, 0, 0}};
static const chunk px_unreach[] = {{"\x05\x04\x00\x01\0\0\0\0\0\0", 10, 0}, {NULL, 0, 0}};
static const chunk px_general[] = {{"\x05\x01\x00\x01\0\0\0\0\0\0", 10, 0}, {NULL, 0, 0}};
/* a name as the bound address, one byte per write, the banner last */
static const chunk px_drip[] = {
    D("\x05"), D("\x00"), D("\x00"), D("\x03"), D("\x05"), D("p"), D("r"), D("o"), D("x"),
    D("y"), D("\x04"), {"\x38" "220 mx", 7, 3}, {".test ESMTP\r\n", 0, 3}, {NULL, 0, 0},
};

static const proxy px_plain = {NULL, NULL, px_none, NULL, px_up_banner};
static const proxy px_alice = {"alice", "s3cret", px_login, px_ok, px_drip};
static const proxy px_wrong = {"alice", "wrong", px_login, px_denied, NULL};
static const proxy px_needs_login = {NULL, NULL, px_nomethod, NULL, NULL};
static const proxy px_unreachable = {NULL, NULL, px_none, NULL, px_unreach};
static const proxy px_failing = {NULL, NULL, px_none, NULL, px_general};
static const proxy px_silent = {NULL, NULL, NULL, NULL, NULL};
static const proxy px_dialling = {NULL, NULL, px_none, NULL, NULL};
static const proxy px_httpd = {NULL, NULL, px_http, NULL, NULL};
static const proxy px_hangup = {NULL, NULL, px_nothing, NULL, NULL};
static const proxy px_no_banner = {NULL, NULL, px_none, NULL, px_up};

static const test tests[] = {
    {"banner and reply", "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250 hello me] closed",
     banner, END_NONE, basic_srv, 0, 2000, NULL, basic_cli, NULL, NULL, NULL, NULL},
    {"CRLF, LF, bare CR, split lines",
     "C:0 L:[250-crlf] L:[250-lf only] L:[250-bare\\rcr] L:[250-split-across] L:[] "
     "L:[250-nul\\0byte] L:[250 end] closed",
     endings, END_NONE, NULL, 0, 2000, NULL, close_on_end, NULL, NULL, NULL, NULL},
    {"dripped one byte per write", "C:0 L:[250 drip] closed",
     drip, END_NONE, NULL, 0, 2000, NULL, close_on_end, NULL, NULL, NULL, NULL},
    {"over-long line", "C:0 L:#2048 E:ELINE closed",
     too_long, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"over-long line ending in CR+data", "C:0 E:ELINE closed",
     too_long_cr, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"server closes: EOF", "C:0 L:[421 bye] E:EOF closed",
     bye, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"server resets", "C:0 L:[421 bye] E:ECONNRESET closed",
     bye_later, END_RESET, NULL, 0, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"connection refused", "C:ECONNREFUSED closed",
     NULL, END_NONE, NULL, 1, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"connect timeout (backlog full)", "C:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 2, 300, NULL, NULL, NULL, NULL, NULL, NULL},
    {"timer on a silent server", "C:0 E:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 0, 2000, arm_150, NULL, NULL, NULL, NULL, NULL},
    {"timer set while connecting", "C:0 E:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 4, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"timer disarmed", "C:0 L:[220 late] closed",
     late, END_NONE, NULL, 0, 2000, arm_then_disarm, close_any, NULL, NULL, NULL, NULL},
    {"STARTTLS with injected plaintext",
     "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250-mx.test] L:[250 STARTTLS] S:[STARTTLS] "
     "L:[220 ready] tls=0 T:0 S:tls-up(sni=mx.test) S:[EHLO me again] L:[250-mx.test] "
     "L:[250 over tls] tls=1 closed",
     esmtp, END_NONE, tls_srv, 0, 2000, NULL, tls_cli, tls_cli_up, NULL, NULL, NULL},
    {"STARTTLS answered with garbage",
     "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250 STARTTLS] S:[STARTTLS] L:[220 go ahead] "
     "tls=0 T:ETLS closed",
     esmtp, END_NONE, garbage_srv, 0, 2000, NULL, tls_cli, NULL, NULL, NULL, NULL},
    {"conn_close inside on_line", "C:0 L:[250-a] closed",
     many, END_NONE, NULL, 0, 2000, NULL, close_first, NULL, NULL, NULL, NULL},
    {"conn_close while connecting", "closed",
     NULL, END_NONE, NULL, 3, 2000, NULL, NULL, NULL, NULL, NULL, NULL},
    {"pipelined writes in order",
     "C:0 L:[220 mx.test ESMTP] S:[MAIL FROM:<>] S:[RCPT TO:<a@x.test>] S:[RCPT TO:<b@x.test>] "
     "S:[QUIT] L:[221 bye] closed",
     banner, END_NONE, pipeline_srv, 0, 2000, NULL, pipeline_cli, NULL, NULL, NULL, NULL},
    {"conn_close inside on_connect", "C:0 closed",
     banner, END_NONE, NULL, 0, 2000, close_in_connect, NULL, NULL, NULL, NULL, NULL},
    {"conn_close inside on_tls",
     "C:0 L:[220 mx.test ESMTP] S:[EHLO me] L:[250-mx.test] L:[250 STARTTLS] S:[STARTTLS] "
     "L:[220 ready] tls=0 T:0 closed",
     esmtp, END_NONE, tls_srv, 0, 2000, NULL, tls_cli, close_in_tls, NULL, NULL, NULL},
    {"SOCKS5: no login, banner in the CONNECT reply's write",
     "P:hello(00) P:connect(cmd=1 192.0.2.25:25) C:0 L:[220 mx.test ESMTP] S:[EHLO me] "
     "L:[250 hello me] closed",
     NULL, END_NONE, basic_srv, 0, 2000, NULL, basic_cli, NULL, NULL, .px = &px_plain},
    {"SOCKS5: login, then a CONNECT reply dripped byte by byte",
     "P:hello(00,02) P:login(alice:s3cret) P:connect(cmd=1 192.0.2.25:25) C:0 "
     "L:[220 mx.test ESMTP] S:[EHLO me] L:[250 hello me] closed",
     NULL, END_NONE, basic_srv, 0, 2000, NULL, basic_cli, NULL, NULL, .px = &px_alice},
    {"SOCKS5: login rejected",
     "P:hello(00,02) P:login(alice:wrong) "
     "C:EEGRESS[proxy socks5://test: authentication rejected] closed",
     NULL, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL, .px = &px_wrong},
    {"SOCKS5: no acceptable method",
     "P:hello(00) C:EEGRESS[proxy socks5://test: no acceptable authentication method "
     "(the proxy wants a user and password?)] closed",
     NULL, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL, .px = &px_needs_login},
    {"SOCKS5: the proxy cannot reach the server",
     "P:hello(00) P:connect(cmd=1 192.0.2.25:25) C:EHOSTUNREACH closed",
     NULL, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL, .px = &px_unreachable},
    {"SOCKS5: general failure is the route's",
     "P:hello(00) P:connect(cmd=1 192.0.2.25:25) "
     "C:EEGRESS[proxy socks5://test: general SOCKS server failure (reply 1)] closed",
     NULL, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL, .px = &px_failing},
    {"SOCKS5: silent after the greeting",
     "P:hello(00) C:EEGRESS[proxy socks5://test: no answer to the SOCKS5 greeting within the "
     "connect timeout] closed",
     NULL, END_NONE, NULL, 0, 300, NULL, NULL, NULL, NULL, .px = &px_silent},
    {"SOCKS5: still dialling the server at the deadline",
     "P:hello(00) P:connect(cmd=1 192.0.2.25:25) C:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 0, 300, NULL, NULL, NULL, NULL, .px = &px_dialling},
    {"SOCKS5: an HTTP server instead",
     "P:hello(00) C:EEGRESS[proxy socks5://test: not a SOCKS5 proxy (reply version 0x48)] closed",
     NULL, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL, .px = &px_httpd},
    {"SOCKS5: hangs up after the greeting",
     "P:hello(00) C:EEGRESS[proxy socks5://test: closed the connection during the SOCKS5 "
     "handshake] closed",
     NULL, END_FIN, NULL, 0, 2000, NULL, NULL, NULL, NULL, .px = &px_hangup},
    {"SOCKS5: proxy port refused",
     "C:EEGRESS[proxy socks5://test: connection refused] closed",
     NULL, END_NONE, NULL, 1, 2000, NULL, NULL, NULL, NULL, .px = &px_plain},
    {"SOCKS5: proxy never accepts",
     "C:EEGRESS[proxy socks5://test: connection timed out] closed",
     NULL, END_NONE, NULL, 2, 300, NULL, NULL, NULL, NULL, .px = &px_plain},
    {"SOCKS5: conn_close while connecting", "closed",
     NULL, END_NONE, NULL, 3, 2000, NULL, NULL, NULL, NULL, .px = &px_plain},
    {"SOCKS5: timer set while connecting runs after the tunnel",
     "P:hello(00) P:connect(cmd=1 192.0.2.25:25) C:0 E:ETIMEDOUT closed",
     NULL, END_NONE, NULL, 4, 2000, NULL, NULL, NULL, NULL, .px = &px_no_banner},
    {"bind: from 127.0.0.2",
     "C:0 L:[220 mx.test ESMTP] S:from(127.0.0.2) S:[EHLO me] L:[250 hello me] closed",
     banner, END_NONE, basic_srv, 0, 2000, NULL, basic_cli, NULL, NULL, .bind = "127.0.0.2"},
    {"bind: an address this host does not have",
     "C:EEGRESS[source address 192.0.2.1: cannot bind: address not available] closed",
     banner, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL, .bind = "192.0.2.1"},
    {"bind: IPv6 source, IPv4 server", "connect-failed:EAFNOSUPPORT closed",
     banner, END_NONE, NULL, 0, 2000, NULL, NULL, NULL, NULL, .bind = "::1"},
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
    /* the route: through the listener as a proxy to a TEST-NET server, or
     * from a source address */
    static egress route;
    struct sockaddr_in dest = a;
    memset(&route, 0, sizeof route);
    route.kind = EGRESS_DIRECT;
    if (t->px) {
        route.kind = EGRESS_SOCKS5;
        memcpy(&route.addr, &a, sizeof a);
        snprintf(route.user, sizeof route.user, "%s", t->px->user ? t->px->user : "");
        snprintf(route.pass, sizeof route.pass, "%s", t->px->pass ? t->px->pass : "");
        snprintf(route.label, sizeof route.label, "socks5://test");
        uv_ip4_addr("192.0.2.25", 25, &dest);
    } else if (t->bind) {
        route.kind = EGRESS_BIND;
        if (uv_ip4_addr(t->bind, 0, (struct sockaddr_in *)&route.addr) != 0)
            uv_ip6_addr(t->bind, 0, (struct sockaddr_in6 *)&route.addr);
        snprintf(route.label, sizeof route.label, "%s", t->bind);
    }
    client = conn_new(loop, &events, NULL);
    if (!client) {
        logf_("conn_new-failed");
        finish();
    } else {
        int r = conn_connect_via(client, (struct sockaddr *)&dest, &route, t->connect_timeout);
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
