/* tls_cache.h — client TLS sessions kept for resumption, keyed by the
 * server's name (the MX host name tls_new() is given).
 *
 * A fixed table shared by every network thread: memory is bounded whatever
 * the number of hosts, and a name whose slot another name took only costs
 * a full handshake. A TLS 1.3 ticket is handed out once (RFC 8446 C.4: a
 * client should not reuse one); an older session stays for the next
 * connection, as a TLS 1.2 client cache does.
 */
#ifndef MAILVET_TLS_CACHE_H
#define MAILVET_TLS_CACHE_H

#include <openssl/ssl.h>

#define TLS_CACHE_SLOTS 512
#define TLS_CACHE_DEPTH 2    /* sessions kept a name */
#define TLS_CACHE_SESSION_MAX 16384   /* bytes a session may take encoded (its certificates) */

/* Stores SESS for NAME, taking over the caller's reference (freed here if
 * it cannot be kept: not resumable, or larger than TLS_CACHE_SESSION_MAX,
 * which bounds the table at about 16 MiB whatever certificates servers send). Replaces NAME's oldest session when it has
 * TLS_CACHE_DEPTH, and everything when the slot was another name's. */
void tls_cache_put(const char *name, SSL_SESSION *sess);

/* NAME's newest session, which the caller owns (SSL_SESSION_free), or NULL. */
SSL_SESSION *tls_cache_take(const char *name);

/* Sessions held now (tests). */
size_t tls_cache_count(void);

/* Frees every session (tests, and valgrind at exit). */
void tls_cache_clear(void);

#endif
