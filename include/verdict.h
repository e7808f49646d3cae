/* verdict.h — the SPEC's status/reason vocabulary and the bounce-risk score.
 *
 * Pure tables: every name returned is static storage.
 */
#ifndef MAILVET_VERDICT_H
#define MAILVET_VERDICT_H

#include <stdbool.h>

typedef enum verdict_status {
    VERDICT_DELIVERABLE,
    VERDICT_UNDELIVERABLE,
    VERDICT_RISKY,
    VERDICT_UNKNOWN,
    VERDICT_STATUS__COUNT
} verdict_status;

/* Each reason belongs to exactly one status (verdict_status_of). */
typedef enum verdict_reason {
    REASON_ACCEPTED,
    REASON_INVALID_SYNTAX,
    REASON_INVALID_DOMAIN,
    REASON_NO_MAIL_SERVER,
    REASON_NULL_MX,
    REASON_UNROUTABLE_MX,
    REASON_MAILBOX_NOT_FOUND,
    REASON_MAILBOX_DISABLED,
    REASON_REJECTED,
    REASON_ACCEPT_ALL,
    REASON_MAILBOX_FULL,
    REASON_DISPOSABLE,
    REASON_GREYLISTED,
    REASON_TEMPORARY_FAILURE,
    REASON_BLOCKED,
    REASON_TIMEOUT,
    REASON_NO_CONNECT,
    REASON_TLS_ERROR,
    REASON_PROTOCOL_ERROR,
    REASON_DNS_ERROR,
    REASON_UNVERIFIED,
    REASON__COUNT
} verdict_reason;

/* What raises or lowers the risk besides the reason. */
typedef struct verdict_flags {
    bool role;
    bool free;
    bool typo;          /* a did-you-mean suggestion exists */
    bool syntax_only;   /* only --level syntax was checked */
} verdict_flags;

verdict_status verdict_status_of(verdict_reason r);
const char *verdict_status_name(verdict_status s);
const char *verdict_reason_name(verdict_reason r);

/* Parse a status/reason name; returns -1 when NAME is not in the vocabulary. */
int verdict_status_parse(const char *name);
int verdict_reason_parse(const char *name);

/* Where in the SMTP conversation a reply came (for verdict_classify). */
typedef enum verdict_stage {
    STAGE_BANNER,
    STAGE_EHLO,       /* EHLO or HELO */
    STAGE_STARTTLS,
    STAGE_MAIL,
    STAGE_RCPT,
} verdict_stage;

/* What a reply means: the reason it gives if it is the final answer.
 * CODE is the reply code, ENHANCED the RFC 3463 code or "", TEXT the joined
 * reply text. Enhanced codes decide first, text patterns after. A 4xx maps
 * to the reason it leaves behind once retries run out (greylisted,
 * temporary_failure, blocked) or to mailbox_full, which is not retried. */
verdict_reason verdict_classify(verdict_stage stage, int code, const char *enhanced,
                                const char *text);

/* A reply at RCPT, 4xx or 5xx, that limits the session rather than judging
 * the mailbox ("452 4.5.3 too many recipients", Exim's "550 Rejected for
 * too many bad recipients", Postfix's "421 4.7.0 … Error: too many errors",
 * postscreen's "450 4.3.2 Service currently unavailable"): the recipient
 * goes to a new, smaller session (engine_host_learn_cap). */
bool verdict_session_limit(int code, const char *enhanced, const char *text);

/* A session limit (it is one of verdict_session_limit's) that refuses
 * recipients of several domains in one session: "452 4.5.3 Recipients
 * belong to multiple regions", "too many recipient domains". The host is
 * then asked one domain per session (engine_host_learn_mixed). */
bool verdict_mixed_domains(int code, const char *enhanced, const char *text);

/* Bounce risk 0–100 for reason R with flags F (see verdict.c for the table). */
int verdict_risk(verdict_reason r, const verdict_flags *f);

#endif
