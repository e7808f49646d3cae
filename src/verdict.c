/* verdict.c — status/reason names and the bounce-risk table (pure).
 *
 * The risk is the reason's base risk (how often such an address bounces when
 * mailed) adjusted by the flags. Undeliverable reasons are 100 whatever the
 * flags; nothing else reaches 100, and only an accepted mailbox goes near 0.
 */
#include "verdict.h"

#include <string.h>

typedef struct reason_row {
    const char *name;
    verdict_status status;
    int base_risk;
} reason_row;

/* Indexed by verdict_reason; keep in the enum's order. */
static const reason_row reason_table[REASON__COUNT] = {
    [REASON_ACCEPTED]          = {"accepted", VERDICT_DELIVERABLE, 3},
    [REASON_INVALID_SYNTAX]    = {"invalid_syntax", VERDICT_UNDELIVERABLE, 100},
    [REASON_INVALID_DOMAIN]    = {"invalid_domain", VERDICT_UNDELIVERABLE, 100},
    [REASON_NO_MAIL_SERVER]    = {"no_mail_server", VERDICT_UNDELIVERABLE, 100},
    [REASON_NULL_MX]           = {"null_mx", VERDICT_UNDELIVERABLE, 100},
    [REASON_UNROUTABLE_MX]     = {"unroutable_mx", VERDICT_UNDELIVERABLE, 100},
    [REASON_MAILBOX_NOT_FOUND] = {"mailbox_not_found", VERDICT_UNDELIVERABLE, 100},
    [REASON_MAILBOX_DISABLED]  = {"mailbox_disabled", VERDICT_UNDELIVERABLE, 100},
    [REASON_REJECTED]          = {"rejected", VERDICT_UNDELIVERABLE, 100},
    [REASON_ACCEPT_ALL]        = {"accept_all", VERDICT_RISKY, 45},
    [REASON_MAILBOX_FULL]      = {"mailbox_full", VERDICT_RISKY, 75},
    [REASON_DISPOSABLE]        = {"disposable", VERDICT_RISKY, 85},
    [REASON_GREYLISTED]        = {"greylisted", VERDICT_UNKNOWN, 40},
    [REASON_TEMPORARY_FAILURE] = {"temporary_failure", VERDICT_UNKNOWN, 50},
    [REASON_BLOCKED]           = {"blocked", VERDICT_UNKNOWN, 45},
    [REASON_TIMEOUT]           = {"timeout", VERDICT_UNKNOWN, 55},
    [REASON_NO_CONNECT]        = {"no_connect", VERDICT_UNKNOWN, 60},
    [REASON_TLS_ERROR]         = {"tls_error", VERDICT_UNKNOWN, 50},
    [REASON_PROTOCOL_ERROR]    = {"protocol_error", VERDICT_UNKNOWN, 55},
    [REASON_DNS_ERROR]         = {"dns_error", VERDICT_UNKNOWN, 65},
    [REASON_UNVERIFIED]        = {"unverified", VERDICT_UNKNOWN, 25},
};

static const char *const status_names[VERDICT_STATUS__COUNT] = {
    "deliverable", "undeliverable", "risky", "unknown",
};

verdict_status verdict_status_of(verdict_reason r)
{
    return (unsigned)r < REASON__COUNT ? reason_table[r].status : VERDICT_UNKNOWN;
}

const char *verdict_status_name(verdict_status s)
{
    return (unsigned)s < VERDICT_STATUS__COUNT ? status_names[s] : "unknown";
}

const char *verdict_reason_name(verdict_reason r)
{
    return (unsigned)r < REASON__COUNT ? reason_table[r].name : "unverified";
}

int verdict_status_parse(const char *name)
{
    for (int s = 0; s < VERDICT_STATUS__COUNT; s++)
        if (strcmp(name, status_names[s]) == 0)
            return s;
    return -1;
}

int verdict_reason_parse(const char *name)
{
    for (int r = 0; r < REASON__COUNT; r++)
        if (strcmp(name, reason_table[r].name) == 0)
            return r;
    return -1;
}

int verdict_risk(verdict_reason r, const verdict_flags *f)
{
    if ((unsigned)r >= REASON__COUNT)
        return 50;
    int risk = reason_table[r].base_risk;
    if (risk >= 100)
        return 100;
    /* An address only syntax-checked may still sit on a dead domain. */
    if (r == REASON_UNVERIFIED && f->syntax_only)
        risk += 10;
    if (f->typo)
        risk += 40;    /* a typo'd popular domain rarely has the mailbox */
    if (f->role)
        risk += 10;    /* role boxes are often unmonitored or forwarded */
    if (f->free)
        risk += 2;     /* free accounts are abandoned more often */
    return risk > 99 ? 99 : risk;
}
