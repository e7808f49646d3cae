/* socks.h — the client side of SOCKS5 (RFC 1928) with username/password
 * login (RFC 1929), as pure message logic: builders for the three requests
 * we send and incremental parsers for the three replies we read. No I/O and
 * no allocation: conn.c moves the bytes. CONNECT always names an IPv4 or
 * IPv6 address (ATYP 1/4), never a host name: DNS stays local.
 *
 * A parser is fed whatever arrived, in pieces of any size. It takes only
 * the bytes of its own reply (reported in *USED; what follows belongs to
 * the next reply, or after CONNECT to the tunnelled stream) and answers
 * SOCKS_MORE, 0, or an error. Its state is a socks_reader, which is ready
 * for the next reply once one is complete or failed.
 */
#ifndef MAILVET_SOCKS_H
#define MAILVET_SOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define SOCKS_GREETING_MAX 4      /* VER NMETHODS METHOD METHOD */
#define SOCKS_LOGIN_MAX 513       /* VER ULEN USER(255) PLEN PASS(255) */
#define SOCKS_CONNECT_MAX 22      /* VER CMD RSV ATYP ADDR(16) PORT(2) */
#define SOCKS_WHY_MAX 96

enum {
    SOCKS_METHOD_NONE = 0x00,
    SOCKS_METHOD_LOGIN = 0x02,    /* RFC 1929 username/password */
};

enum {
    SOCKS_MORE = 1,               /* the reply is incomplete: every byte was taken */
    SOCKS_EROUTE = -300001,       /* the proxy refused or broke the protocol: see why */
};

typedef struct socks_reader {
    size_t len;                   /* bytes of the current reply taken so far */
    unsigned char head[5];        /* its first bytes (all a reply's meaning is there) */
    char why[SOCKS_WHY_MAX];      /* after an error: what happened, for humans */
} socks_reader;

void socks_reader_init(socks_reader *r);

/* The requests. Each writes into OUT and returns its length; 0 when it
 * cannot be built (credentials not 1..255 bytes, SA neither IPv4 nor IPv6). */
size_t socks_greeting(unsigned char out[SOCKS_GREETING_MAX], bool with_login);
size_t socks_login(unsigned char out[SOCKS_LOGIN_MAX], const char *user, const char *pass);
size_t socks_connect(unsigned char out[SOCKS_CONNECT_MAX], const struct sockaddr *sa);

/* The method reply (VER METHOD). 0 with *METHOD set to SOCKS_METHOD_NONE or
 * SOCKS_METHOD_LOGIN (only when OFFERED_LOGIN); SOCKS_MORE; SOCKS_EROUTE
 * for a wrong version, "no acceptable methods" (0xFF) or a method we did
 * not offer. */
int socks_read_method(socks_reader *r, bool offered_login, const void *data, size_t n,
                      size_t *used, int *method);

/* The RFC 1929 status (VER STATUS). 0 when accepted, SOCKS_MORE, or
 * SOCKS_EROUTE ("authentication rejected", bad version). */
int socks_read_login(socks_reader *r, const void *data, size_t n, size_t *used);

/* The CONNECT reply (VER REP RSV ATYP BND.ADDR BND.PORT; ATYP 1, 3 or 4).
 * 0 when the tunnel is up; SOCKS_MORE; a negative libuv error when the
 * proxy could not reach the server (REP 3 UV_ENETUNREACH, 4 UV_EHOSTUNREACH,
 * 5 UV_ECONNREFUSED, 6 UV_ETIMEDOUT: about the server, not the route;
 * 8 UV_EAFNOSUPPORT: this proxy cannot reach that address family, so only
 * the (proxy, server) pair fails); or SOCKS_EROUTE (REP 1, 2, 7, unknown
 * codes, bad version or address type). A failure is reported as soon as REP is known. */
int socks_read_connect(socks_reader *r, const void *data, size_t n, size_t *used);

#endif
