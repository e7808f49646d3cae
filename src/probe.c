/* probe.c — one SMTP session as a state machine you can read top to bottom.
 *
 *   CONNECT → BANNER → EHLO ─(5xx)→ HELO ─┐
 *                       │                 │
 *                       ├─(STARTTLS offered and allowed)→ STARTTLS → TLS → EHLO_TLS ─┐
 *                       └─────────────────────────────────────────────────────────────┴→ MAIL → RCPT×n → QUIT
 *
 * Three kinds of event drive it: the connection's outcome, a complete reply
 * (probe_reply dispatches on the state), and an I/O error or timeout. A
 * handler never frees anything: it calls finish(), which records the outcome
 * and closes the connection; the caller hears of it from the connection's
 * close callback, when nothing of the session is in use any more.
 *
 * With PIPELINING, MAIL, every RCPT and QUIT go in one group (RFC 2920),
 * and MAIL's reply wait counts as the first RCPT reply's; with a window
 * (probe_opts.rcpt_window) the RCPTs go in groups of at most that many
 * outstanding, and QUIT with the last.
 *
 * RCPT stops asking early on a reply that judges the session (a session
 * limit: the rest are left unanswered) or that came late after a refusal
 * (a penalty: what is still outstanding is abandoned); the engine decides
 * what either means for the host (engine_host_learn_cap).
 */
#include "probe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "looptime.h"
#include "smtp_reply.h"
#include "str.h"

#define QUIT_TIMEOUT_MS 5000
#define STOP_WAIT_MS 3000      /* a stop waits this long at most for outstanding RCPT replies */

typedef enum pstate {
    S_CONNECT, S_BANNER, S_EHLO, S_HELO, S_STARTTLS, S_TLS, S_EHLO_TLS, S_MAIL, S_RCPT,
    S_QUIT, S_DONE,
} pstate;

/* Per state: the stage replies are classified under, and a name for traces. */
static const struct {
    verdict_stage stage;
    const char *name;
} state_info[] = {
    [S_CONNECT] = {STAGE_BANNER, "connect"},
    [S_BANNER] = {STAGE_BANNER, "banner"},
    [S_EHLO] = {STAGE_EHLO, "EHLO"},
    [S_HELO] = {STAGE_EHLO, "HELO"},
    [S_STARTTLS] = {STAGE_STARTTLS, "STARTTLS"},
    [S_TLS] = {STAGE_STARTTLS, "TLS handshake"},
    [S_EHLO_TLS] = {STAGE_EHLO, "EHLO after TLS"},
    [S_MAIL] = {STAGE_MAIL, "MAIL FROM"},
    [S_RCPT] = {STAGE_RCPT, "RCPT TO"},
    [S_QUIT] = {STAGE_RCPT, "QUIT"},
    [S_DONE] = {STAGE_RCPT, "done"},
};

struct probe {
    conn *c;
    pstate state;
    probe_opts opts;
    probe_rcpt *rcpts;
    size_t nrcpts;
    size_t next_send, next_reply;   /* RCPT commands sent / replies matched */
    unsigned ext;                   /* EHLO keywords of the current EHLO */
    bool finishing;
    bool stopping;                  /* probe_cancel: collect what was asked, ask nothing more */
    bool quit_sent;                 /* QUIT went with the pipelined RCPTs */
    bool mail_piped;                /* MAIL went with them too */
    uint64_t deadline;              /* uv_now() ms when the whole session must end */
    uint64_t mark;                  /* uv_now() of the last command sent or reply read */
    uint64_t wait_ms;               /* how long the reply being handled took since then,
                                       less what the loop kept it (looptime.h) */
    uint64_t lag_ms;                /* ... that is: wait_ms + lag_ms is since the mark */
    uint64_t mail_wait_ms;          /* ... for the MAIL reply: this server's own pace */
    uint64_t ehlo_wait_ms;          /* ... for the last EHLO reply: the pace when MAIL is piped */
    uv_loop_t *loop;
    smtp_reply replies[2];          /* the one being read, and the one being handled */
    unsigned cur;                   /* replies[cur] is the one being read */
    probe_result res;
    probe_done_cb done;
    probe_trace_cb trace;
    void *ud;
    struct ptext *texts;            /* the recipients' reply texts, newest chunk first */
    const char *last_text;          /* the text kept last: the next answer is often the same */
};

/* A chunk of reply texts: the recipients' answers point into it, so a
 * recipient costs its text and not RESULT_SMTP_TEXT_MAX bytes. */
typedef struct ptext {
    struct ptext *next;
    size_t used, cap;
    char buf[];
} ptext;

static void copy_text(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* SRC cut to RESULT_SMTP_TEXT_MAX, kept until the probe is freed; "" when
 * memory runs out (the verdict stands without its text). */
static const char *keep_text(probe *p, const char *src)
{
    size_t n = strnlen(src, RESULT_SMTP_TEXT_MAX);
    if (p->last_text && strncmp(p->last_text, src, n) == 0 && p->last_text[n] == '\0')
        return p->last_text;
    ptext *t = p->texts;
    if (!t || t->cap - t->used < n + 1) {
        size_t cap = t && t->cap < 4096 ? t->cap * 2 : t ? t->cap : 256;
        if (!(t = malloc(sizeof *t + (cap > n ? cap : n + 1))))
            return "";
        *t = (ptext){.next = p->texts, .cap = cap > n ? cap : n + 1};
        p->texts = t;
    }
    char *dst = t->buf + t->used;
    memcpy(dst, src, n);
    dst[n] = '\0';
    t->used += n + 1;
    return p->last_text = dst;
}

static void free_texts(probe *p)
{
    for (ptext *t = p->texts, *next; t; t = next) {
        next = t->next;
        free(t);
    }
}

/* The per-reply timer, never beyond the session deadline. */
static void arm(probe *p, int ms)
{
    uint64_t now = uv_now(p->loop);
    uint64_t left = p->deadline > now ? p->deadline - now : 1;
    conn_timer(p->c, (uint64_t)ms < left ? ms : (int)left);
}

/* Record how the session ends and close; the caller hears in on_closed. */
static void finish(probe *p, probe_outcome o, verdict_reason why, const smtp_reply *r)
{
    if (p->finishing)
        return;
    p->finishing = true;
    p->state = S_DONE;
    p->res.outcome = o;
    p->res.reason = why;
    if (r) {
        p->res.code = r->code;
        copy_text(p->res.enhanced, sizeof p->res.enhanced, r->enhanced);
        copy_text(p->res.text, sizeof p->res.text, r->text);
    }
    conn_close(p->c);
}

#define LINE_BUF 1024          /* a command line and its CRLF; longer ones are cut */
#define BURST_BUF 16384        /* pipelined RCPT lines sent in one write */

/* FMT as one command line with its CRLF, traced as sent, in BUF. Returns
 * its length. */
static size_t vformat_line(probe *p, char buf[LINE_BUF], const char *fmt, va_list ap)
{
    int n = vsnprintf(buf, LINE_BUF - 2, fmt, ap);
    if (n < 0 || (size_t)n >= LINE_BUF - 2)
        n = LINE_BUF - 3;
    if (p->trace)
        p->trace(p->ud, 'C', buf, (size_t)n);
    memcpy(buf + n, "\r\n", 2);
    return (size_t)n + 2;
}

static void put(probe *p, const char *buf, size_t len)
{
    p->mark = uv_now(p->loop);
    if (conn_send(p->c, buf, len) != 0)
        finish(p, PROBE_TEMPORARY, REASON_NO_CONNECT, NULL);
}

static void send_line(probe *p, const char *fmt, ...)
{
    char buf[LINE_BUF];
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat_line(p, buf, fmt, ap);
    va_end(ap);
    put(p, buf, n);
}

/* ---- entering states: send the command, arm the timer ---- */

static void enter(probe *p, pstate s);

static bool wants_smtputf8(const probe *p)
{
    for (size_t i = 0; i < p->nrcpts; i++)
        if (p->rcpts[i].needs_smtputf8)
            return true;
    return false;
}

/* Recipients this server cannot take (UTF-8 local part, no SMTPUTF8) get
 * the answer an MTA would give them, without being sent. */
static void refuse_utf8_rcpts(probe *p)
{
    for (size_t i = 0; i < p->nrcpts; i++) {
        probe_rcpt *r = &p->rcpts[i];
        if (r->needs_smtputf8 && !(p->ext & SMTP_EXT_SMTPUTF8) && !r->answered) {
            r->answered = true;
            r->at_ms = uv_now(p->loop);
            r->code = 553;
            strcpy(r->enhanced, "5.6.7");
            r->text = "server does not offer SMTPUTF8 for a non-ASCII mailbox";
            p->res.answered++;
        }
    }
}

/* Whether an RCPT is left to ask; skips those answered without asking. */
static bool rcpt_left(probe *p)
{
    while (!p->stopping && p->next_send < p->nrcpts && p->rcpts[p->next_send].answered)
        p->next_send++;
    return !p->stopping && p->next_send < p->nrcpts;
}

/* The next RCPT to ask, or NULL. */
static const probe_rcpt *next_rcpt(probe *p)
{
    return rcpt_left(p) ? &p->rcpts[p->next_send++] : NULL;
}

static void send_rcpt(probe *p)
{
    const probe_rcpt *r = next_rcpt(p);
    if (r)
        send_line(p, "RCPT TO:<%s>", r->address);
}

static size_t format_line(probe *p, char buf[LINE_BUF], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = vformat_line(p, buf, fmt, ap);
    va_end(ap);
    return n;
}

/* Command lines gathered for one write. */
typedef struct burst {
    char buf[BURST_BUF];
    size_t len;
} burst;

static void burst_add(probe *p, burst *b, const char *line, size_t n)
{
    if (b->len + n > sizeof b->buf) {
        put(p, b->buf, b->len);
        b->len = 0;
    }
    memcpy(b->buf + b->len, line, n);
    b->len += n;
}

static size_t format_mail(probe *p, char buf[LINE_BUF])
{
    if (wants_smtputf8(p) && (p->ext & SMTP_EXT_SMTPUTF8))
        return format_line(p, buf, "MAIL FROM:<%s> SMTPUTF8", p->opts.from);
    return format_line(p, buf, "MAIL FROM:<%s>", p->opts.from);
}

/* RCPT commands sent whose replies have not come yet. */
static size_t rcpts_outstanding(const probe *p)
{
    size_t n = 0;
    for (size_t i = p->next_reply; i < p->next_send; i++)
        n += !p->rcpts[i].answered;
    return n;
}

/* The RCPTs the window lets go now (PIPELINING), then, when none is left,
 * QUIT, which may end a pipelined group (RFC 2920) and is all that ever
 * follows: its reply comes right after the last RCPT's, a round trip
 * sooner. With WITH_MAIL, MAIL FROM leads the group (RFC 2920 lets it):
 * another round trip saved. In as few writes as BURST_BUF allows: a write
 * per command would cost both ends a system call each and, over TLS, a
 * record each. */
static void send_rcpt_group(probe *p, bool with_mail)
{
    burst b = {.len = 0};
    char line[LINE_BUF];
    size_t room = SIZE_MAX, out;
    if (p->opts.rcpt_window)
        room = (out = rcpts_outstanding(p)) < p->opts.rcpt_window ? p->opts.rcpt_window - out : 0;
    if (with_mail)
        burst_add(p, &b, line, format_mail(p, line));
    const probe_rcpt *r;
    for (; !p->finishing && room > 0 && (r = next_rcpt(p)); room--)
        burst_add(p, &b, line, format_line(p, line, "RCPT TO:<%s>", r->address));
    if (p->finishing)
        return;
    if (!rcpt_left(p)) {
        burst_add(p, &b, line, format_line(p, line, "QUIT"));
        p->quit_sent = true;
    }
    put(p, b.buf, b.len);
}

/* The next group is due once half the window has been answered. */
static bool group_due(const probe *p)
{
    return p->opts.rcpt_window && !p->quit_sent && !p->stopping &&
           rcpts_outstanding(p) <= p->opts.rcpt_window / 2;
}

static void enter_rcpt(probe *p)
{
    if (p->mail_piped) {             /* the RCPTs went with MAIL */
        arm(p, p->opts.command_timeout_ms);
        return;
    }
    refuse_utf8_rcpts(p);
    p->next_send = p->next_reply = 0;
    if (p->res.answered == p->nrcpts) {
        enter(p, S_QUIT);
        return;
    }
    /* With PIPELINING the window's RCPTs go at once; replies come back in order. */
    if (p->ext & SMTP_EXT_PIPELINING)
        send_rcpt_group(p, false);
    else
        send_rcpt(p);
    arm(p, p->opts.command_timeout_ms);
}

/* MAIL FROM; with PIPELINING and recipients to ask, the RCPTs and QUIT in
 * the same group. */
static void enter_mail(probe *p)
{
    char line[LINE_BUF];
    refuse_utf8_rcpts(p);
    p->next_send = p->next_reply = 0;
    if ((p->ext & SMTP_EXT_PIPELINING) && p->res.answered < p->nrcpts) {
        p->mail_piped = true;
        send_rcpt_group(p, true);
    } else {
        put(p, line, format_mail(p, line));
    }
    arm(p, p->opts.command_timeout_ms);
}

static void enter(probe *p, pstate s)
{
    if (p->finishing)
        return;
    p->state = s;
    smtp_reply_reset(&p->replies[p->cur]);
    switch (s) {
    case S_EHLO:
    case S_EHLO_TLS:
        send_line(p, "EHLO %s", p->opts.helo);
        break;
    case S_HELO:
        send_line(p, "HELO %s", p->opts.helo);
        break;
    case S_STARTTLS:
        send_line(p, "STARTTLS");
        break;
    case S_MAIL:
        enter_mail(p);
        return;
    case S_RCPT:
        enter_rcpt(p);
        return;
    case S_QUIT:
        if (!p->quit_sent)
            send_line(p, "QUIT");
        arm(p, QUIT_TIMEOUT_MS);
        return;
    default:
        break;
    }
    arm(p, p->opts.command_timeout_ms);
}

/* ---- handling complete replies ---- */

static verdict_reason classify(const probe *p, const smtp_reply *r)
{
    return verdict_classify(state_info[p->state].stage, r->code, r->enhanced, r->text);
}

/* A refusal before RCPT: temporary (4xx) or permanent (5xx). */
static void refused(probe *p, const smtp_reply *r)
{
    verdict_reason why = classify(p, r);
    if (why == REASON_TLS_ERROR)
        finish(p, PROBE_TLS_ERROR, why, r);
    else
        finish(p, r->code >= 500 ? PROBE_REFUSED : PROBE_TEMPORARY, why, r);
}

static void after_ehlo(probe *p, const smtp_reply *r)
{
    p->ext = r->ext;
    p->ehlo_wait_ms = p->wait_ms;
    bool offered = p->ext & SMTP_EXT_STARTTLS;
    if (!conn_is_tls(p->c) && offered && p->opts.starttls != STARTTLS_NEVER)
        enter(p, S_STARTTLS);
    else if (!conn_is_tls(p->c) && p->opts.starttls == STARTTLS_REQUIRE)
        finish(p, PROBE_TLS_ERROR, REASON_TLS_ERROR, NULL);
    else
        enter(p, S_MAIL);
}

/* True when the reply answered its recipient (a session limit leaves it
 * unanswered, for another session). */
static bool record_rcpt(probe *p, const smtp_reply *r)
{
    while (p->next_reply < p->nrcpts && p->rcpts[p->next_reply].answered)
        p->next_reply++;
    if (p->next_reply >= p->next_send) {   /* a reply to an RCPT not sent (yet) */
        finish(p, PROBE_PROTOCOL_ERROR, REASON_PROTOCOL_ERROR, r);
        return false;
    }
    probe_rcpt *rc = &p->rcpts[p->next_reply++];
    if (verdict_session_limit(r->code, r->enhanced, r->text)) {
        p->res.session_limit = true;   /* left unanswered: another session */
        p->res.mixed_domains |= verdict_mixed_domains(r->code, r->enhanced, r->text);
        return false;
    }
    rc->answered = true;
    rc->at_ms = uv_now(p->loop);
    rc->code = r->code;
    copy_text(rc->enhanced, sizeof rc->enhanced, r->enhanced);
    rc->text = keep_text(p, r->text);
    p->res.answered++;
    p->res.refusals += r->code >= 400;
    return true;
}

/* The reply came late (probe_opts.penalty_ms), and late against the MAIL
 * reply too, so a server slow at everything is not taken for one that
 * punishes; and it is a refusal or follows one: error sleeps and tarpits
 * punish refusals, a slow acceptance is only slow. */
static bool penalty(const probe *p, const smtp_reply *r)
{
    return p->opts.penalty_ms > 0 && (p->res.refusals > 0 || r->code >= 400) &&
           p->wait_ms >= (uint64_t)p->opts.penalty_ms && p->wait_ms >= 3 * p->mail_wait_ms;
}

static void on_rcpt_reply(probe *p, const smtp_reply *r)
{
    if (r->code == 421) {            /* the server is closing the session */
        p->res.session_limit = verdict_session_limit(r->code, r->enhanced, r->text);
        p->res.mixed_domains |= verdict_mixed_domains(r->code, r->enhanced, r->text);
        finish(p, PROBE_TEMPORARY, classify(p, r), r);
        return;
    }
    if (r->code >= 300 && r->code < 400) {
        finish(p, PROBE_PROTOCOL_ERROR, REASON_PROTOCOL_ERROR, r);
        return;
    }
    bool late = !p->res.penalised && penalty(p, r);
    size_t before = p->res.refusals;
    bool recorded = record_rcpt(p, r);
    if (p->finishing)
        return;
    p->res.penalised |= recorded && late;
    /* A server flushes the reply it delayed, and what it had buffered
     * comes with it (Postfix does not flush pipelined replies before its
     * error sleep): the late one is the last of what arrives together,
     * and the refusals before it were answered in time. */
    if (recorded && p->res.penalised)
        p->res.penalty_after = before;
    bool asking = !p->res.session_limit && !p->res.penalised;
    bool pipelined = p->ext & SMTP_EXT_PIPELINING;
    if (!pipelined && asking)
        send_rcpt(p);
    else if (asking && group_due(p))
        send_rcpt_group(p, false);      /* the next RCPTs, or QUIT if none is left */
    if (p->finishing)
        return;
    size_t outstanding = rcpts_outstanding(p);
    if (outstanding == 0 && p->stopping)
        finish(p, PROBE_TEMPORARY, REASON_TEMPORARY_FAILURE, NULL);
    else if (outstanding == 0 && (p->next_send == p->nrcpts || !asking))
        enter(p, S_QUIT);
    else if (p->res.penalised)
        arm(p, 1);     /* replies read along with this one still count; then on_error ends it */
    else
        arm(p, p->opts.command_timeout_ms);
}

static void probe_reply(probe *p, const smtp_reply *r)
{
    int cls = r->code / 100;
    switch (p->state) {
    case S_BANNER:
        if (cls == 2) enter(p, S_EHLO); else refused(p, r);
        break;
    case S_EHLO:
        if (cls == 2) after_ehlo(p, r);
        else if (r->code >= 500 && r->code <= 504) enter(p, S_HELO);   /* EHLO unknown */
        else refused(p, r);
        break;
    case S_HELO:
        if (cls == 2) after_ehlo(p, r); else refused(p, r);
        break;
    case S_STARTTLS:
        if (r->code == 220) {
            p->state = S_TLS;
            arm(p, p->opts.command_timeout_ms);
            if (conn_starttls(p->c, p->opts.server_name) != 0)
                finish(p, PROBE_TLS_ERROR, REASON_TLS_ERROR, r);
        } else if (p->opts.starttls == STARTTLS_REQUIRE) {
            finish(p, PROBE_TLS_ERROR, REASON_TLS_ERROR, r);
        } else {
            enter(p, S_MAIL);        /* offered but refused: go on in plaintext */
        }
        break;
    case S_EHLO_TLS:
        if (cls == 2) after_ehlo(p, r); else refused(p, r);
        break;
    case S_MAIL:
        if (p->mail_piped) {
            /* A server answers a group when it flushes it (Postfix: when
             * it has read all of it, after any error sleep): MAIL's wait
             * is the first RCPT reply's, and the pace is EHLO's. */
            p->mail_wait_ms = p->ehlo_wait_ms;
            p->mark -= p->wait_ms + p->lag_ms;
        } else {
            p->mail_wait_ms = p->wait_ms;
        }
        if (cls == 2) enter(p, S_RCPT); else refused(p, r);
        break;
    case S_RCPT:
        on_rcpt_reply(p, r);
        break;
    case S_QUIT:
        finish(p, PROBE_DONE, REASON_ACCEPTED, NULL);
        break;
    default:                          /* a reply while none was expected */
        finish(p, PROBE_PROTOCOL_ERROR, REASON_PROTOCOL_ERROR, r);
        break;
    }
}

/* ---- connection events ---- */

/* The route failed before the server was reached: nothing is learned about
 * the server or the recipients (reason stays the neutral default; callers
 * must not use it), only the route's error text. */
static void egress_failed(probe *p)
{
    finish(p, PROBE_EGRESS_ERROR, REASON_TEMPORARY_FAILURE, NULL);
    copy_text(p->res.text, sizeof p->res.text, conn_egress_error(p->c));
}

static void on_connect(conn *c, void *ud, int status)
{
    (void)c;
    probe *p = ud;
    if (status == CONN_EEGRESS) {
        egress_failed(p);
        return;
    }
    if (status == UV_ETIMEDOUT) {
        finish(p, PROBE_TIMEOUT, REASON_TIMEOUT, NULL);
        return;
    }
    if (status < 0) {
        finish(p, PROBE_NO_CONNECT, REASON_NO_CONNECT, NULL);
        return;
    }
    p->res.connected = true;
    p->state = S_BANNER;
    smtp_reply_reset(&p->replies[p->cur]);
    arm(p, p->opts.command_timeout_ms);
}

static void on_line(conn *c, void *ud, const char *line, size_t len)
{
    (void)c;
    probe *p = ud;
    if (p->finishing)
        return;
    if (p->trace)
        p->trace(p->ud, 'S', line, len);
    smtp_reply *r = &p->replies[p->cur];
    smtp_feed f = smtp_reply_feed(r, line, len);
    if (f == SMTP_REPLY_BAD) {
        finish(p, PROBE_PROTOCOL_ERROR, REASON_PROTOCOL_ERROR, NULL);
        return;
    }
    if (f == SMTP_REPLY_MORE)
        return;
    p->cur ^= 1;                       /* the handler may reset the next one; R stays */
    smtp_reply_reset(&p->replies[p->cur]);
    uint64_t now = uv_now(p->loop);
    uint64_t lag = p->opts.looptime ? looptime_lag(p->opts.looptime) : 0;
    p->lag_ms = now - p->mark < lag ? now - p->mark : lag;
    p->wait_ms = now - p->mark - p->lag_ms;
    p->mark = now;
    probe_reply(p, r);
}

static void on_tls(conn *c, void *ud, int status)
{
    (void)c;
    probe *p = ud;
    if (status != 0) {
        finish(p, PROBE_TLS_ERROR, REASON_TLS_ERROR, NULL);
        return;
    }
    p->res.tls = true;
    enter(p, S_EHLO_TLS);
}

static void on_error(conn *c, void *ud, int err)
{
    (void)c;
    probe *p = ud;
    if (p->state == S_QUIT) {           /* closing after QUIT is normal */
        finish(p, PROBE_DONE, REASON_ACCEPTED, NULL);
        return;
    }
    if (p->state == S_RCPT && p->res.penalised && err == UV_ETIMEDOUT) {
        /* a penalty ended the asking (on_rcpt_reply): the replies still
         * outstanding would each cost one; they go to another session */
        finish(p, PROBE_DONE, REASON_ACCEPTED, NULL);
        return;
    }
    if (err == CONN_ETLS || p->state == S_TLS)   /* closed mid-handshake: the handshake failed */
        finish(p, PROBE_TLS_ERROR, REASON_TLS_ERROR, NULL);
    else if (err == UV_ETIMEDOUT)
        finish(p, PROBE_TIMEOUT, REASON_TIMEOUT, NULL);
    else if (err == CONN_ELINE)
        finish(p, PROBE_PROTOCOL_ERROR, REASON_PROTOCOL_ERROR, NULL);
    else
        finish(p, PROBE_TEMPORARY, REASON_TEMPORARY_FAILURE, NULL);  /* dropped */
}

static void on_closed(conn *c, void *ud)
{
    (void)c;
    probe *p = ud;
    if (!p->finishing)                  /* closed under us without a verdict */
        p->res.outcome = PROBE_TEMPORARY;
    p->done(p->ud, &p->res);
    free_texts(p);
    free(p);
}

static const conn_events probe_events = {
    .on_connect = on_connect,
    .on_line = on_line,
    .on_tls = on_tls,
    .on_error = on_error,
    .on_closed = on_closed,
};

probe *probe_start(uv_loop_t *loop, const struct sockaddr *sa, const probe_opts *opts,
                   probe_rcpt *rcpts, size_t nrcpts, probe_done_cb done,
                   probe_trace_cb trace, void *ud)
{
    probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    *p = (probe){.state = S_CONNECT, .opts = *opts, .rcpts = rcpts, .nrcpts = nrcpts,
                 .loop = loop, .done = done, .trace = trace, .ud = ud};
    p->res.reason = REASON_TEMPORARY_FAILURE;
    p->deadline = uv_now(loop) + (uint64_t)opts->session_timeout_ms;
    if (!(p->c = conn_new(loop, &probe_events, p))) {
        free(p);
        return NULL;
    }
    if (conn_connect_via(p->c, sa, opts->route, opts->connect_timeout_ms) != 0) {
        /* no callback will come from the connect: close to report */
        p->finishing = true;
        p->res.outcome = PROBE_NO_CONNECT;
        p->res.reason = REASON_NO_CONNECT;
        conn_close(p->c);
    }
    return p;
}

void probe_opts_init(probe_opts *o, const cli_opts *cli, char helo[PROBE_HELO_MAX],
                     char from[PROBE_FROM_MAX])
{
    if (cli->helo)
        str_copy(helo, PROBE_HELO_MAX, cli->helo);
    else if (gethostname(helo, PROBE_HELO_MAX - 1) != 0 || !helo[0])
        snprintf(helo, PROBE_HELO_MAX, "localhost");
    helo[PROBE_HELO_MAX - 1] = '\0';
    if (cli->from)
        str_copy(from, PROBE_FROM_MAX, cli->from);
    else
        snprintf(from, PROBE_FROM_MAX, "verify@%s", helo);
    *o = (probe_opts){
        .helo = helo,
        .from = from,
        .starttls = cli->starttls,
        .connect_timeout_ms = (int)(cli->connect_timeout * 1000),
        .command_timeout_ms = (int)(cli->command_timeout * 1000),
    };
}

/* A server acts on an RCPT it was sent (greylisting starts its clock), so a
 * stop waits for the replies to the RCPTs already sent — under the reply
 * timer — rather than lose what they say; anything else ends at once. */
void probe_cancel(probe *p)
{
    if (p->state == S_RCPT && !p->finishing && rcpts_outstanding(p) > 0) {
        p->stopping = true;
        arm(p, p->opts.command_timeout_ms < STOP_WAIT_MS ? p->opts.command_timeout_ms
                                                         : STOP_WAIT_MS);
        return;
    }
    finish(p, PROBE_TEMPORARY, REASON_TEMPORARY_FAILURE, NULL);
}

const char *probe_outcome_name(probe_outcome o)
{
    static const char *const names[] = {
        "done", "no_connect", "timeout", "temporary", "refused", "tls_error", "protocol_error",
        "egress_error",
    };
    return (unsigned)o < sizeof names / sizeof *names ? names[o] : "?";
}
