/* doctor_smtp.h — `mailvet doctor`'s port-25 test: connect to one MX
 * address (directly or through a route), read the banner, EHLO, QUIT.
 * Never MAIL, RCPT or DATA. Every wait is bounded: the connect timeout, then
 * the command timeout for the banner and the EHLO reply, a short one for
 * QUIT's. The session owns its conn and frees itself after the callback.
 */
#ifndef MAILVET_DOCTOR_SMTP_H
#define MAILVET_DOCTOR_SMTP_H

#include <stdbool.h>
#include <sys/socket.h>
#include <uv.h>

#include "egress.h"

#define DOCTOR_SMTP_TEXT 300    /* reply kept: code, enhanced code, text (raw bytes) */

typedef enum doctor_smtp_stage {
    DSMTP_CONNECT,      /* the connection (or the route) failed */
    DSMTP_BANNER,       /* connected; no 220 banner */
    DSMTP_EHLO,         /* 220 banner; EHLO not answered 250 */
    DSMTP_DONE,         /* banner and EHLO answered */
} doctor_smtp_stage;

typedef struct doctor_smtp_result {
    doctor_smtp_stage stage;        /* where it stopped */
    int err;                        /* at STAGE: a libuv/CONN_E* error, UV_EPROTO for a
                                       reply that is not SMTP, 0 when a reply said no */
    char egress[256];               /* CONN_EEGRESS: what went wrong with the route */
    int banner_code, ehlo_code;     /* 0: no such reply */
    char banner[DOCTOR_SMTP_TEXT];  /* "220 mx.example.com ESMTP" (or the non-SMTP line), raw */
    char ehlo[DOCTOR_SMTP_TEXT];    /* "250 mx.example.com Hello …" (keywords follow), raw */
    double connect_s, banner_s;     /* seconds from the start to connected / to the banner */
} doctor_smtp_result;

typedef struct doctor_smtp_opts {
    const char *helo;
    const struct egress *route;     /* NULL: direct */
    int connect_timeout_ms, command_timeout_ms;
} doctor_smtp_opts;

typedef void (*doctor_smtp_cb)(void *ud, const doctor_smtp_result *res);

/* Start a session with SA (port set). CB runs exactly once, from the loop,
 * after the connection closed. False on out of memory (then no callback). */
bool doctor_smtp_start(uv_loop_t *loop, const struct sockaddr *sa, const doctor_smtp_opts *o,
                       doctor_smtp_cb cb, void *ud);

#endif
