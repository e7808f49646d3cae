/* tls.h — a TLS client session over memory BIOs (OpenSSL 3.0), independent of
 * any socket: the caller feeds received ciphertext in, drains ciphertext to
 * send, and reads/writes plaintext. conn.c pumps it from libuv.
 *
 * tls_new() returns a session the caller frees with tls_free(). One shared
 * SSL_CTX is created on first use and lives for the process. A session
 * the server issues is kept under SERVER_NAME (tls_cache.h) and the next
 * tls_new() for that name offers it.
 */
#ifndef MAILVET_TLS_H
#define MAILVET_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct tls tls;

tls *tls_new(const char *server_name);
void tls_free(tls *t);

/* Feed LEN bytes received from the network. Returns 0 or -1 (fatal). */
int tls_feed(tls *t, const char *data, size_t len);

/* Advance the handshake: 1 done, 0 needs more input/output, -1 failed. */
int tls_handshake(tls *t);

/* Plaintext received: up to LEN bytes into BUF; returns bytes (0 = none yet), -1 fatal. */
ssize_t tls_read(tls *t, char *buf, size_t len);

/* Whether the handshake resumed a session the cache held. */
bool tls_resumed(const tls *t);

/* Whether tls_read may have more: plaintext or ciphertext not read yet. A
 * reader that stops when it has none saves the call that would only say
 * "none yet" (a record a reply: on world-1 half of the SSL_read calls). */
bool tls_has_more(const tls *t);

/* Plaintext to send. Returns 0 or -1. */
int tls_write(tls *t, const char *data, size_t len);

/* Ends the session cleanly: queues close_notify (tls_drain yields it),
 * which also keeps the session resumable; OpenSSL marks the session of a
 * connection freed without it as not to be resumed. 0, or -1 if the
 * handshake never finished. */
int tls_close(tls *t);

/* Ciphertext waiting to go to the network: up to LEN bytes into BUF; 0 = none. */
size_t tls_drain(tls *t, char *buf, size_t len);

/* A short description of the last error, for transcripts. */
const char *tls_error(const tls *t);

#endif
