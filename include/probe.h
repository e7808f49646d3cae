/* probe.h — one SMTP session with one MX address for a batch of recipients
 * (of one domain, or of several whose MX records name this host): banner, EHLO (HELO if refused), STARTTLS when offered and
 * allowed, MAIL FROM, RCPT TO for each recipient (pipelined when offered),
 * QUIT. Never DATA, VRFY or EXPN.
 *
 * The caller owns the recipient array and must keep it alive until the done
 * callback; the probe writes each recipient's answer into it. The probe owns
 * itself and its connection and frees both after the done callback returns.
 */
#ifndef MAILVET_PROBE_H
#define MAILVET_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "cli.h"
#include "result.h"
#include "verdict.h"

typedef struct probe_rcpt {
    const char *address;            /* in: local@domain as sent in RCPT TO */
    bool needs_smtputf8;            /* in: the local part is not ASCII */
    /* out: */
    bool answered;                  /* a final reply to this RCPT arrived */
    int code;
    char enhanced[16];
    /* at most RESULT_SMTP_TEXT_MAX bytes, "" when none; kept by the probe
     * (a session's answers share it) until its done callback returns */
    const char *text;
    uint64_t at_ms;                 /* uv_now() when the answer came (mailvet_checked_at) */
} probe_rcpt;

typedef struct probe_opts {
    const char *helo;               /* EHLO name */
    const char *from;               /* envelope sender */
    const char *server_name;        /* MX host name, sent as TLS SNI (may be NULL) */
    cli_starttls starttls;
    const struct egress *route;     /* how to reach the server (NULL: directly) */
    int connect_timeout_ms, command_timeout_ms, session_timeout_ms;
    /* An RCPT reply at least this late (and 3 times the MAIL reply's wait),
     * refused or after a refusal, is a penalty — an error sleep, a tarpit:
     * the session asks nothing more (what is outstanding is abandoned).
     * 0: never. The wait counts only what the server can have taken:
     * what LOOPTIME says the loop kept the reply is taken off. */
    int penalty_ms;
    /* With PIPELINING, at most this many RCPTs outstanding at once (0: all
     * in one group); more go as half of them are answered. A host's
     * recipient limit that is met then costs at most this many refused
     * replies, not the rest of the session's (engine_host_rcpt_window). */
    size_t rcpt_window;
    struct looptime *looptime;      /* the loop's busy stretches (NULL: none measured) */
} probe_opts;

/* How the session ended. Every outcome but PROBE_DONE leaves the
 * unanswered recipients to be tried again (another address, MX or later). */
/* The sender's identity and timeouts from the options: --helo (else this
 * host's name), --from (else verify@<helo>). HELO and FROM are the caller's
 * buffers (at least 256 and 320 bytes); O keeps pointers into them. */
#define PROBE_HELO_MAX 256
#define PROBE_FROM_MAX 320
void probe_opts_init(probe_opts *o, const cli_opts *cli, char helo[PROBE_HELO_MAX],
                     char from[PROBE_FROM_MAX]);

typedef enum probe_outcome {
    PROBE_DONE,            /* reached RCPT; the recipients that were answered are final */
    PROBE_NO_CONNECT,      /* TCP connection refused, reset or unreachable */
    PROBE_TIMEOUT,         /* connect or a reply timed out */
    PROBE_TEMPORARY,       /* 4xx/421 before RCPT, or dropped mid-session: back off, retry */
    PROBE_REFUSED,         /* 5xx before RCPT: the server refused the verifier */
    PROBE_TLS_ERROR,       /* STARTTLS failed, or required and not possible */
    PROBE_PROTOCOL_ERROR,  /* replies broke the protocol */
    PROBE_EGRESS_ERROR,    /* the route (proxy, source address) failed: says nothing
                              about the server; text has conn_egress_error() */
} probe_outcome;

typedef struct probe_result {
    probe_outcome outcome;
    verdict_reason reason;          /* what the outcome means if it is final */
    int code;                       /* the reply that ended the session early, or 0 */
    char enhanced[16];
    char text[RESULT_SMTP_TEXT_MAX + 1];
    size_t answered;                /* recipients with a final answer */
    /* A reply judged the session, not a recipient (verdict_session_limit:
     * 452 4.5.3, "too many bad recipients", or a 421 "too many errors"
     * that closed it): the unanswered go to another session. */
    bool session_limit;
    bool mixed_domains;             /* that reply refused recipients of several domains in
                                       one session (verdict_mixed_domains) */
    size_t refusals;                /* answered recipients refused (4xx/5xx) */
    bool penalised;                 /* a penalty (probe_opts.penalty_ms) ended the asking */
    size_t penalty_after;           /* refusals answered before the penalised reply (the
                                       last of those that arrived with the late one) */
    bool tls;                       /* the session ran over TLS */
    bool connected;                 /* the TCP connection was established */
} probe_result;

typedef struct probe probe;

typedef void (*probe_done_cb)(void *ud, const probe_result *res);
/* One transcript line: DIR is 'C' (sent) or 'S' (received). */
typedef void (*probe_trace_cb)(void *ud, char dir, const char *line, size_t len);

/* Start a session with SA (port set). Returns NULL on out of memory; else
 * DONE is called exactly once, from the loop, after the connection closed. */
probe *probe_start(uv_loop_t *loop, const struct sockaddr *sa, const probe_opts *opts,
                   probe_rcpt *rcpts, size_t nrcpts, probe_done_cb done,
                   probe_trace_cb trace, void *ud);

/* Stop the session (shutdown): nothing more is asked, and DONE follows with
 * PROBE_TEMPORARY — at once, or, when RCPT replies are outstanding, once
 * they have come (or the reply timer ran out), so their answers count. */
void probe_cancel(probe *p);

const char *probe_outcome_name(probe_outcome o);

#endif
