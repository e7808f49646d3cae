/* verdict.c — status/reason names, reply classification and the
 * bounce-risk table (pure).
 *
 * Classification tells a refused mailbox (5.1.1, "user unknown") from a
 * refused verifier (5.7.x, "spamhaus", 554 banners) from a full or disabled
 * mailbox: enhanced codes first, then the text patterns below, which come
 * from the big providers' published bounce texts.
 *
 * The risk is the reason's base risk (how often such an address bounces when
 * mailed) adjusted by the flags. Undeliverable reasons are 100 whatever the
 * flags; nothing else reaches 100, and only an accepted mailbox goes near 0.
 */
#include "verdict.h"

#include <string.h>
#include <strings.h>

#include "smtp_reply.h"
#include "str.h"

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

/* ---- reply classification ---- */

#define NONE NULL

static const char *const texts_not_found[] = {
    "user unknown", "unknown user", "no such user", "user not found", "unknown recipient",
    "recipient not found", "no such recipient", "recipient unknown", "does not exist",
    "doesn't exist", "no such mailbox", "mailbox not found", "no mailbox", "mailbox unavailable",
    "mailbox is unavailable", "invalid recipient", "invalid mailbox", "not a valid mailbox",
    "address unknown", "unknown address", "addressee unknown", "bad recipient",
    "unrouteable address", "undeliverable address", "account does not exist",
    "no account", "not our customer", "unknown or illegal alias", "address not found",
    "recipient address rejected: access denied", "user doesn't exist", "user doesn't have", NONE,
};

static const char *const texts_disabled[] = {
    "disabled", "deactivated", "inactive", "suspended", "no longer active",
    "account has been closed", "account closed", "account expired", "mailbox locked", NONE,
};

static const char *const texts_full[] = {
    "mailbox full", "mailbox is full", "over quota", "quota exceeded", "exceeded storage",
    "insufficient storage", "out of storage", "storage allocation", "mailbox size limit",
    "full mailbox", "inbox is full", NONE,
};

static const char *const texts_blocked[] = {
    "spamhaus", "blocked", "block list", "blocklist", "blacklist", "black list", "denylist",
    "deny list", "poor reputation", "reputation", "reverse dns", "rdns", "ptr record",
    "dnsbl", "rbl", "spamcop", "barracuda", "sorbs", "banned", "not allowed to send",
    "client host", "listed at", "listed in", "abuse", "your ip", "access denied",
    "sender address rejected", "policy", "spam", NONE,
};

static const char *const texts_greylist[] = {
    "greylist", "graylist", "grey list", "gray list", "grey-list", "gray-list", "postgrey", NONE,
};

/* Said by greylisting servers that do not name it, but also by others. */
static const char *const texts_later[] = {
    "try again later", "please try again", "come back later", "retry later", "try later", NONE,
};

static const char *const texts_relay[] = {
    "relay access denied", "relaying denied", "relay not permitted", "not permitted to relay", NONE,
};

/* Said of the session or the client, not of the mailbox: Exim's "550
 * Rejected for too many bad recipients" (Debian's default ACL refuses every
 * recipient past the 10th once fewer than half were accepted), "452 4.5.3
 * Error: too many recipients" (Postfix, Exchange, Gmail), and the error
 * limits that close the session: Postfix's "421 4.7.0 <host> Error: too
 * many errors" (smtpd_hard_error_limit), Exchange's "421 4.7.0 Too many
 * errors on this connection, closing transmission channel". Whatever their
 * code, the recipient is asked again in a new, smaller session. */
static const char *const texts_session_limit[] = {
    "too many recipients", "too many bad recipients", "too many invalid recipients",
    "too many unknown recipients", "too many rcpt", "too many errors", NONE,
};

/* A server that wants one recipient domain per session (Exchange
 * Online's tenants spread over regions, hosting MTAs with per-domain
 * transports) says so in words; the code is 4.5.3 or anything. */
static const char *const texts_mixed_domains[] = {
    "multiple regions", "recipient domains", "multiple domains", "different domains",
    "mixed domains", "one domain per", NONE,
};

static const char *const texts_starttls[] = {"starttls", NONE};

/* A reply's text as the patterns (all lower case) are searched in: lowered
 * once per question and searched with strstr, as strcasestr sets up its
 * search anew for every pattern (2.6% of mailvet's CPU on world-1,
 * `perf`). A text longer than a reply keeps (smtp_reply.h) stays as it is
 * and is searched with strcasestr. */
typedef struct rtext {
    const char *s;
    bool lowered;
    char low[SMTP_REPLY_TEXT_MAX + 1];
} rtext;

static const rtext *rtext_of(rtext *t, const char *text)
{
    text = text ? text : "";
    t->lowered = strlen(text) <= SMTP_REPLY_TEXT_MAX;
    t->s = t->lowered ? str_copy_lower(t->low, sizeof t->low, text) : text;
    return t;
}

static bool text_has(const rtext *t, const char *const *patterns)
{
    for (; *patterns; patterns++)
        if (t->lowered ? strstr(t->s, *patterns) : strcasestr(t->s, *patterns))
            return true;
    return false;
}

static bool enh_is(const char *enhanced, const char *want)
{
    return strcmp(enhanced, want) == 0;
}

static bool enh_prefix(const char *enhanced, const char *prefix)
{
    return strncmp(enhanced, prefix, strlen(prefix)) == 0;
}

/* A permanent refusal of RCPT TO. OpenSMTPD refuses an unknown user with
 * "524 5.2.4 Mailing list expansion problem": expanding the address found
 * no mailbox. */
static verdict_reason rcpt_permanent(const char *enh, const rtext *text)
{
    if (enh_is(enh, "5.1.1") || enh_is(enh, "5.1.10") || enh_is(enh, "5.1.6") ||
        enh_is(enh, "5.2.4"))
        return REASON_MAILBOX_NOT_FOUND;
    if (enh_is(enh, "5.2.1"))
        return REASON_MAILBOX_DISABLED;
    if (enh_is(enh, "5.2.2"))
        return REASON_MAILBOX_FULL;
    if (text_has(text, texts_relay))
        return REASON_REJECTED;          /* this host does not take mail for the domain */
    if (enh_prefix(enh, "5.7.")) {
        /* a policy code, but some servers say "no such user" with it */
        return !text_has(text, texts_blocked) && text_has(text, texts_not_found)
               ? REASON_MAILBOX_NOT_FOUND : REASON_BLOCKED;
    }
    if (text_has(text, texts_full))
        return REASON_MAILBOX_FULL;
    if (text_has(text, texts_disabled))
        return REASON_MAILBOX_DISABLED;
    if (text_has(text, texts_not_found))
        return REASON_MAILBOX_NOT_FOUND;
    if (text_has(text, texts_blocked))
        return REASON_BLOCKED;
    return REASON_REJECTED;
}

/* A temporary refusal of RCPT TO: what it leaves behind after the retries. */
static verdict_reason rcpt_temporary(const char *enh, const rtext *text)
{
    if (enh_is(enh, "4.2.2") || text_has(text, texts_full))
        return REASON_MAILBOX_FULL;
    if (text_has(text, texts_greylist))
        return REASON_GREYLISTED;
    if (text_has(text, texts_blocked))
        return REASON_BLOCKED;
    if (text_has(text, texts_later))
        return REASON_GREYLISTED;
    if (enh_prefix(enh, "4.7."))
        return REASON_BLOCKED;
    return REASON_TEMPORARY_FAILURE;
}

/* A refusal before RCPT: the server turned the verifier away, not a mailbox. */
static verdict_reason session_refusal(verdict_stage stage, int code, const char *enh,
                                      const rtext *text)
{
    if (stage == STAGE_STARTTLS || enh_is(enh, "5.7.0") || text_has(text, texts_starttls))
        return REASON_TLS_ERROR;
    if (code >= 500)
        return REASON_BLOCKED;
    return text_has(text, texts_blocked) ? REASON_BLOCKED : REASON_TEMPORARY_FAILURE;
}

/* A refusal (4xx/5xx: the callers have checked) that judges the session:
 * X.5.3 too many recipients; 4.3.2 "system not accepting network
 * messages" (postscreen's "450 4.3.2 Service currently unavailable" to
 * every RCPT until the client reconnects after its deep protocol tests). */
static bool session_limit(const char *enh, const rtext *text)
{
    return enh_is(enh, "4.5.3") || enh_is(enh, "5.5.3") || enh_is(enh, "4.3.2") ||
           text_has(text, texts_session_limit) || text_has(text, texts_mixed_domains);
}

verdict_reason verdict_classify(verdict_stage stage, int code, const char *enhanced,
                                const char *text)
{
    const char *enh = enhanced ? enhanced : "";
    if (code < 200 || code > 599)
        return REASON_PROTOCOL_ERROR;
    if (code < 400)                         /* RCPT: 3xx breaks the protocol; else it goes on */
        return stage == STAGE_RCPT && code >= 300 ? REASON_PROTOCOL_ERROR : REASON_ACCEPTED;
    rtext t;
    const rtext *low = rtext_of(&t, text);
    if (stage != STAGE_RCPT)
        return session_refusal(stage, code, enh, low);
    if (session_limit(enh, low))
        return REASON_TEMPORARY_FAILURE;    /* never a verdict on the mailbox */
    return code >= 500 ? rcpt_permanent(enh, low) : rcpt_temporary(enh, low);
}

bool verdict_session_limit(int code, const char *enhanced, const char *text)
{
    if (code < 400 || code > 599)
        return false;
    rtext t;
    return session_limit(enhanced ? enhanced : "", rtext_of(&t, text));
}

bool verdict_mixed_domains(int code, const char *enhanced, const char *text)
{
    (void)enhanced;
    if (code < 400 || code > 599 || !text)
        return false;
    rtext t;
    return text_has(rtext_of(&t, text), texts_mixed_domains);
}
