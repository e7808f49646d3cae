/* conn.h — one TCP connection to an SMTP server on a libuv loop: connect
 * with a timeout, line-buffered reading with a bounded line length, queued
 * writes, one timer, and STARTTLS (OpenSSL with memory BIOs pumped from the
 * libuv reads and writes; see tls.h).
 *
 * Owns its uv_tcp_t, uv_timer_t, buffers and TLS state. The caller owns the
 * conn object's lifetime only through conn_close(): memory is released after
 * the on_closed callback returns (libuv frees nothing before its close
 * callbacks run). Every callback receives the conn and the caller's data.
 */
#ifndef MAILVET_CONN_H
#define MAILVET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#define CONN_LINE_MAX 2048       /* longest reply line accepted (RFC 5321 says 512) */

/* Errors besides libuv's negative codes (UV_EOF, UV_ECONNRESET, UV_ETIMEDOUT…). */
enum {
    CONN_ELINE = -100001,        /* a line longer than CONN_LINE_MAX */
    CONN_ETLS = -100002,         /* TLS handshake or record failure */
    CONN_EEGRESS = -100003,      /* the route out failed, not the server: the SOCKS5
                                    proxy is unreachable, refused us or broke the
                                    protocol, or the --bind address is unusable */
};

typedef struct conn conn;
struct egress;

typedef struct conn_events {
    void (*on_connect)(conn *c, void *ud, int status);   /* 0, or <0 (UV_ETIMEDOUT, UV_ECONNREFUSED…) */
    void (*on_line)(conn *c, void *ud, const char *line, size_t len);  /* without CR/LF; NUL-terminated */
    void (*on_tls)(conn *c, void *ud, int status);       /* handshake finished: 0 or CONN_ETLS */
    void (*on_error)(conn *c, void *ud, int err);        /* after connect: EOF, reset, timer, CONN_E* */
    void (*on_closed)(conn *c, void *ud);                /* last call; the conn is freed after it */
} conn_events;

/* A new, unconnected conn; NULL on out of memory. */
conn *conn_new(uv_loop_t *loop, const conn_events *ev, void *ud);

/* Connect to SA (with its port set). on_connect reports the outcome within
 * TIMEOUT_MS. Returns 0 or a negative libuv error (then no callback). */
int conn_connect(conn *c, const struct sockaddr *sa, int timeout_ms);

/* Connect to SA through route E (NULL or EGRESS_DIRECT: as conn_connect;
 * EGRESS_BIND: from E's address; EGRESS_SOCKS5: TCP to the proxy, method
 * negotiation, RFC 1929 login when E has a user, CONNECT to SA's address and
 * port). TIMEOUT_MS covers the whole setup. on_connect reports 0 once the
 * tunnel is up (lines then flow as on a direct connection), a libuv error
 * about the server (the proxy's replies 4/5/6 map to UV_EHOSTUNREACH,
 * UV_ECONNREFUSED, UV_ETIMEDOUT), or CONN_EEGRESS with conn_egress_error()
 * saying what went wrong with the route (an unusable --bind address too).
 * Returns 0, or a negative libuv error and then no callback: misuse, out of
 * memory, or UV_EAFNOSUPPORT when a --bind address and SA are of different
 * families (an IPv4 source cannot reach an IPv6 server: pick another route).
 * E must stay valid until on_connect: its label names the route in errors. */
int conn_connect_via(conn *c, const struct sockaddr *sa, const struct egress *e, int timeout_ms);

/* After CONN_EEGRESS: what failed, for humans ("proxy 127.0.0.1:1080:
 * connection refused", "proxy …: authentication rejected"). */
const char *conn_egress_error(const conn *c);

/* Queue LEN bytes (encrypted once TLS is up). Returns 0 or <0. */
int conn_send(conn *c, const char *data, size_t len);

/* Arm the one timer: on_error(UV_ETIMEDOUT) after MS unless re-armed or
 * disarmed (MS = 0) first. */
void conn_timer(conn *c, int ms);

/* Start TLS as a client (after the server's 220 to STARTTLS). Bytes already
 * received in plaintext are discarded (STARTTLS injection). SERVER_NAME is
 * sent as SNI; certificates are not verified (opportunistic TLS, as MTAs do).
 * on_tls reports the handshake; reading resumes through TLS afterwards. */
int conn_starttls(conn *c, const char *server_name);

bool conn_is_tls(const conn *c);

/* Stop reading, cancel the timer, close the socket; on_closed follows.
 * Safe to call more than once and from inside any callback. */
void conn_close(conn *c);

#endif
