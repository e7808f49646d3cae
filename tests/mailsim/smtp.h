/* smtp.h — mailsim's SMTP server: one listener for every 127.x.y.z (and
 * ::1), behaviour chosen per dialled host from the world. */
#ifndef MAILSIM_SMTP_H
#define MAILSIM_SMTP_H

#include <openssl/ssl.h>
#include <stdio.h>
#include <uv.h>

#include "world.h"

typedef struct smtp_opts {
    int port;
    int idle_timeout_ms;   /* waiting for a command (and tarpit hold) */
    int ipv6;              /* also listen on [::] (IPv6-only socket) */
    SSL_CTX *tls;          /* NULL: STARTTLS is never offered */
    FILE *rcpt_log;        /* one line per RCPT TO received ("address"), or NULL */
    FILE *conn_log;        /* one line per closed connection (README "--conn-log"), or NULL */
} smtp_opts;

/* Returns 0 or a negative libuv error. */
int smtp_start(uv_loop_t *loop, world *w, const smtp_opts *o);
void smtp_stop(void);
/* open SMTP connections right now */
unsigned long smtp_open_connections(void);

#endif
