/* smtp.c — mailsim's SMTP server state machine. Owns the listeners and every
 * connection: line buffering (bounded), per-host behaviour (latency, caps,
 * greylisting, STARTTLS over memory BIOs, tarpits (no banner; held 5xx
 * RCPT replies), deaf, blocks, drops,
 * resets, garbage, over-long lines streamed as the socket drains, endless
 * replies, dripping), provider-style reply texts, and the counters in each
 * world_host (field c) and world.total (per source address: in counters.c).
 * Never accepts DATA. */
#include "smtp.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "tls.h"

#define SMTP_IN_MAX 16384       /* buffered input (pipelined commands) */
#define SMTP_LINE_MAX 2048      /* longest command line accepted */
#define SMTP_OUT_MAX 16384      /* longest reply built */
#define SMTP_FILL_ROUND 65536   /* over-long line bytes written before waiting for the socket */
#define SMTP_ENDLESS_MS 1       /* an endless reply sends a line this often... */
#define SMTP_ENDLESS_QUEUE 16384 /* ...unless this much is still unsent (client not reading) */
#define SMTP_HOLD_MAX_MS 3600000 /* a growing rcpt-tarpit stops growing here */

enum smtp_after { AFTER_NONE = 0, AFTER_CLOSE, AFTER_TLS, AFTER_DROP };
/* what goes out before the reply in out: an over-long line, or endless lines instead of it */
enum smtp_stream { STREAM_NONE = 0, STREAM_FILL, STREAM_ENDLESS };
enum smtp_kind {
    K_BANNER, K_EHLO_HEAD, K_HELO, K_MAIL_OK, K_RCPT_OK, K_UNKNOWN, K_FULL, K_DISABLED,
    K_GREYLIST, K_RCPT_CAP, K_CONN_CAP, K_RATE_CAP, K_RELAY, K_TLS_REQUIRED, K_COUNT
};

/* Reply templates. Lines separated by '\n', each starting "CODE "; the
 * continuation dashes and CRLFs are added by smtp_fmt. %H host name, %I
 * client IP, %A address, %S seconds. NULL = the postfix text. */
static const char *smtp_tpl[4][K_COUNT] = {
    [WORLD_STYLE_POSTFIX] = {
        [K_BANNER] = "220 %H ESMTP Postfix (Debian/GNU)",
        [K_EHLO_HEAD] = "250 %H",
        [K_HELO] = "250 %H",
        [K_MAIL_OK] = "250 2.1.0 Ok",
        [K_RCPT_OK] = "250 2.1.5 Ok",
        [K_UNKNOWN] = "550 5.1.1 <%A>: Recipient address rejected: User unknown in virtual mailbox table",
        [K_FULL] = "452 4.2.2 <%A>: Recipient address rejected: Mailbox full",
        [K_DISABLED] = "550 5.2.1 <%A>: Recipient address rejected: Mailbox disabled, not accepting messages",
        [K_GREYLIST] = "450 4.2.0 <%A>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/%H.html",
        [K_RCPT_CAP] = "452 4.5.3 Error: too many recipients",
        [K_CONN_CAP] = "421 4.7.0 %H Error: too many connections from %I",
        [K_RATE_CAP] = "421 4.7.0 %H Error: too much connection rate from %I",
        [K_RELAY] = "554 5.7.1 <%A>: Relay access denied",
        [K_TLS_REQUIRED] = "530 5.7.0 Must issue a STARTTLS command first",
    },
    [WORLD_STYLE_GMAIL] = {
        [K_BANNER] = "220 %H ESMTP a12si345 - gsmtp",
        [K_EHLO_HEAD] = "250 %H at your service, [%I]",
        [K_MAIL_OK] = "250 2.1.0 OK a12si345 - gsmtp",
        [K_RCPT_OK] = "250 2.1.5 OK a12si345 - gsmtp",
        [K_UNKNOWN] = "550 5.1.1 The email account that you tried to reach does not exist. Please try\n"
                      "550 5.1.1 double-checking the recipient's email address for typos or\n"
                      "550 5.1.1 unnecessary spaces. For more information, go to\n"
                      "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a12si345 - gsmtp",
        [K_FULL] = "452 4.2.2 The recipient's inbox is out of storage space. Please direct the\n"
                   "452 4.2.2 recipient to\n"
                   "452 4.2.2  https://support.google.com/mail/?p=OverQuotaTemp a12si345 - gsmtp",
        [K_DISABLED] = "550 5.2.1 The email account that you tried to reach is disabled. For more\n"
                       "550 5.2.1 information, go to\n"
                       "550 5.2.1  https://support.google.com/mail/?p=DisabledUser a12si345 - gsmtp",
        [K_GREYLIST] = "450 4.2.0 <%A>: Recipient address rejected: Greylisted, please try again\n"
                       "450 4.2.0 later. a12si345 - gsmtp",
        [K_RCPT_CAP] = "452 4.5.3 Your message has too many recipients. For more information regarding\n"
                       "452 4.5.3 Google's sending limits, go to\n"
                       "452 4.5.3  https://support.google.com/mail/?p=TooManyRecipientsError a12si345 - gsmtp",
        [K_CONN_CAP] = "421 4.7.0 Try again later, closing connection. (EHLO)\n"
                       "421 4.7.0  For more information, go to\n"
                       "421 4.7.0  https://support.google.com/mail/answer/7720 a12si345 - gsmtp",
        [K_RATE_CAP] = "421 4.7.28 Our system has detected an unusual rate of connections from your\n"
                       "421 4.7.28 IP address [%I]. Try again later. a12si345 - gsmtp",
    },
    [WORLD_STYLE_OUTLOOK] = {
        [K_BANNER] = "220 %H Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 00:00:00 +0000",
        [K_EHLO_HEAD] = "250 %H Hello [%I]",
        [K_MAIL_OK] = "250 2.1.0 Sender OK",
        [K_RCPT_OK] = "250 2.1.5 Recipient OK",
        [K_UNKNOWN] = "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). [%H]",
        [K_FULL] = "452 4.2.2 The recipient's mailbox is full and can't accept messages now. [%H]",
        [K_DISABLED] = "550 5.2.1 Mailbox cannot be accessed: the account is disabled. [%H]",
        [K_RCPT_CAP] = "452 4.5.3 Too many recipients",
        [K_CONN_CAP] = "421 4.3.2 The maximum number of concurrent server connections has exceeded a limit, closing transmission channel",
        [K_RATE_CAP] = "421 4.7.500 Server busy. Please try again later from [%I]. (S77714) [%H]",
    },
    [WORLD_STYLE_YAHOO] = {
        [K_BANNER] = "220 %H ESMTP ready",
        [K_UNKNOWN] = "554 delivery error: dd This user doesn't have a account (%A) [0] - %H",
        [K_FULL] = "452 4.2.2 Mailbox over quota (%A) - %H",
        [K_DISABLED] = "554 delivery error: dd Sorry your message to %A cannot be delivered. This mailbox is disabled (554.30). - %H",
        [K_CONN_CAP] = "421 4.7.0 [TSS04] Messages from %I temporarily deferred due to unexpected volume or user complaints - 4.16.55.1",
    },
};

typedef struct smtp_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    world_host *h;
    int handles, closing, counted;
    int busy;                 /* a reply is waiting (latency) or dripping */
    int after;                /* what to do once the reply is out */
    int tarpit;
    int drop_this_session;
    char *out;                /* reply being delayed/dripped */
    size_t outlen, outpos;
    int stream;               /* enum smtp_stream */
    char stream_code[4];      /* the reply code the streamed lines carry */
    size_t stream_left;       /* STREAM_FILL: bytes of the line still to send */
    unsigned long stream_lines;   /* STREAM_ENDLESS: lines sent */
    int tag_writes;           /* writes made now belong to the stream... */
    int stream_inflight;      /* ...and this many of them are not written yet */
    /* session */
    int ehlo, mail, rejected, tls_on, rcpts, skip;
    int given, accepted;      /* RCPTs of this message, and those answered 250 */
    char rcpt_domain[256];    /* the domain of this message's first served RCPT */
    int mixed;                /* a later RCPT named another domain */
    int refused;              /* 5xx RCPT replies of this session (rcpt-tarpit) */
    int hold_ms;              /* the next reply waits this long beyond the latency */
    SSL *ssl;
    uint64_t opened_ns;       /* uv_hrtime() at accept (--conn-log) */
    unsigned long replies;    /* replies begun, the banner included (--conn-log) */
    counters_source *src;     /* this client address's counters for the host */
    char peer[INET6_ADDRSTRLEN];
    char sender[320];
    size_t inlen, curlen;     /* buffered bytes; bytes since the last LF */
    char in[SMTP_IN_MAX];
} smtp_conn;

static uv_loop_t *smtp_loop;
static world *smtp_world;
static smtp_opts smtp_o;
static uv_tcp_t smtp_l4, smtp_l6;
static int smtp_have4, smtp_have6;
static unsigned long smtp_open;
static uint64_t smtp_t0_ns;    /* uv_hrtime() at smtp_start: --conn-log's zero */
static world_host smtp_nohost = { .name = "unknown.host", .pipelining = 1, .greylist_code = 450 };

#define SMTP_COUNT(cn, field) ((cn)->h->c.field++, smtp_world->total.field++)

static void smtp_next(smtp_conn *c);
static void smtp_arm_idle(smtp_conn *c);

unsigned long smtp_open_connections(void)
{
    return smtp_open;
}

/* ---- closing ---- */

static void smtp_closed(uv_handle_t *hd)
{
    smtp_conn *c = hd->data;
    if (--c->handles > 0)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    free(c->out);
    free(c);
}

static void smtp_close(smtp_conn *c, int reset)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->counted) {
        if (smtp_o.conn_log)
            fprintf(smtp_o.conn_log, "%s %.6f %.6f %lu\n", c->h->name,
                    (double)(c->opened_ns - smtp_t0_ns) / 1e9, (double)(uv_hrtime() - smtp_t0_ns) / 1e9,
                    c->replies);
        c->h->c.conn_current--;
        c->h->fleet->conn_current--;
        smtp_world->total.conn_current--;
        counters_source_closed(c->src);
    }
    smtp_open--;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, smtp_closed);
    if (reset)
        uv_tcp_close_reset(&c->tcp, smtp_closed);
    else
        uv_close((uv_handle_t *)&c->tcp, smtp_closed);
}

static void smtp_shutdown_cb(uv_shutdown_t *req, int status)
{
    (void)status;
    smtp_conn *c = req->data;
    free(req);
    smtp_close(c, 0);
}

/* close once everything written has gone out */
static void smtp_close_graceful(smtp_conn *c)
{
    if (c->closing)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req || uv_shutdown(req, (uv_stream_t *)&c->tcp, smtp_shutdown_cb) < 0) {
        free(req);
        smtp_close(c, 0);
        return;
    }
    req->data = c;
    c->busy = 1;   /* process nothing more */
}

/* ---- output ---- */

static void smtp_fill_pump(smtp_conn *c);

static void smtp_write_cb(uv_write_t *req, int status)
{
    smtp_conn *c = req->data;   /* set only for the stream's writes */
    free(req);
    /* the stream goes on once its last round is out (never when closing:
     * libuv cancels pending writes before the close callbacks) */
    if (c && --c->stream_inflight == 0 && status == 0 && !c->closing)
        smtp_fill_pump(c);
}

static void smtp_write_raw(smtp_conn *c, const void *data, size_t len)
{
    if (c->closing || len == 0)
        return;
    uv_write_t *req = malloc(sizeof *req + len);
    if (!req)
        return;
    memcpy(req + 1, data, len);
    req->data = c->tag_writes ? c : NULL;
    uv_buf_t buf = uv_buf_init((char *)(req + 1), (unsigned)len);
    if (uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1, smtp_write_cb) < 0)
        free(req);
    else if (c->tag_writes)
        c->stream_inflight++;
}

static void smtp_tls_flush(smtp_conn *c)
{
    BIO *wb = SSL_get_wbio(c->ssl);
    char buf[16384];
    int n;
    while (BIO_ctrl_pending(wb) > 0 && (n = BIO_read(wb, buf, sizeof buf)) > 0)
        smtp_write_raw(c, buf, (size_t)n);
}

static void smtp_write(smtp_conn *c, const void *data, size_t len)
{
    if (c->ssl && c->tls_on) {
        if (SSL_write(c->ssl, data, (int)len) <= 0) {
            smtp_close(c, 1);
            return;
        }
        smtp_tls_flush(c);
    } else {
        smtp_write_raw(c, data, len);
    }
}

/* expands a template into out with CRLFs and continuation dashes */
static size_t smtp_fmt(smtp_conn *c, const char *tpl, const char *addr, int secs, char *out, size_t cap)
{
    size_t o = 0;
    char num[16];
    for (const char *p = tpl; *p && o + 4 < cap; p++) {
        const char *sub = NULL;
        if (*p == '%' && p[1]) {
            p++;
            if (*p == 'H') sub = c->h->name;
            else if (*p == 'I') sub = c->peer;
            else if (*p == 'A') sub = addr ? addr : "";
            else if (*p == 'S') { snprintf(num, sizeof num, "%d", secs); sub = num; }
            else sub = "%";
            size_t n = strlen(sub);
            if (o + n + 4 >= cap)
                n = cap - o - 4;
            memcpy(out + o, sub, n);
            o += n;
            continue;
        }
        if (*p == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            continue;
        }
        out[o++] = *p;
    }
    out[o++] = '\r';
    out[o++] = '\n';
    out[o] = 0;
    /* every line but the last: "CODE " -> "CODE-" */
    for (size_t i = 0, start = 0; i < o; i++) {
        if (out[i] == '\n') {
            if (i + 1 < o && i - start >= 4 && out[start + 3] == ' ')
                out[start + 3] = '-';
            start = i + 1;
        }
    }
    return o;
}

static const char *smtp_text(smtp_conn *c, int kind)
{
    const char *t = smtp_tpl[c->h->style][kind];
    return t ? t : smtp_tpl[WORLD_STYLE_POSTFIX][kind];
}

static void smtp_done_sending(smtp_conn *c)
{
    free(c->out);
    c->out = NULL;
    c->busy = 0;
    switch (c->after) {
    case AFTER_CLOSE:
        smtp_close_graceful(c);
        return;
    case AFTER_DROP:
        SMTP_COUNT(c, drops);
        smtp_close(c, 0);
        return;
    case AFTER_TLS:
        c->after = AFTER_NONE;
        c->inlen = c->curlen = 0;   /* no plaintext may survive STARTTLS */
        c->ssl = tls_new(smtp_o.tls);
        if (!c->ssl) {
            smtp_close(c, 1);
            return;
        }
        break;
    default:
        break;
    }
    c->after = AFTER_NONE;
    smtp_next(c);
    smtp_arm_idle(c);
}

static void smtp_drip_tick(uv_timer_t *t)
{
    smtp_conn *c = t->data;
    if (c->outpos < c->outlen) {
        smtp_write(c, c->out + c->outpos, 1);
        c->outpos++;
    }
    if (c->closing)
        return;
    if (c->outpos >= c->outlen) {
        uv_timer_stop(t);
        smtp_done_sending(c);
    }
}

/* sends the reply in out (dripped or at once) */
static void smtp_send_out(smtp_conn *c)
{
    if (c->h->drip_ms > 0 && c->outlen > 0) {
        c->outpos = 0;
        uv_timer_start(&c->timer, smtp_drip_tick, 0, (uint64_t)c->h->drip_ms);
        return;
    }
    smtp_write(c, c->out, c->outlen);
    if (!c->closing)
        smtp_done_sending(c);
}

/* The over-long line, one round of up to SMTP_FILL_ROUND bytes at a time;
 * the next round starts from the write callback once this one is out, so
 * a client that does not read holds no more than a round in our memory
 * and the loop keeps serving everyone else. Then the reply itself. */
static void smtp_fill_pump(smtp_conn *c)
{
    static char xs[SMTP_FILL_ROUND];
    if (!xs[0])
        memset(xs, 'x', sizeof xs);
    if (c->stream != STREAM_FILL)
        return;
    if (c->stream_left == 0) {
        c->stream = STREAM_NONE;
        smtp_write(c, "\r\n", 2);
        if (!c->closing)
            smtp_send_out(c);
        return;
    }
    size_t n = c->stream_left < sizeof xs ? c->stream_left : sizeof xs;
    c->stream_left -= n;
    c->tag_writes = 1;
    smtp_write(c, xs, n);
    c->tag_writes = 0;
    if (c->stream_inflight == 0)   /* nothing queued: the socket is gone */
        smtp_close(c, 0);
}

/* One continuation line per tick, forever: paced, and held back while the
 * client leaves what was sent unread. Ends when the client goes away. */
static void smtp_endless_tick(uv_timer_t *t)
{
    smtp_conn *c = t->data;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > SMTP_ENDLESS_QUEUE)
        return;
    char line[96];
    int n = snprintf(line, sizeof line, "%s-mailsim endless reply, line %lu\r\n", c->stream_code,
                     ++c->stream_lines);
    smtp_write(c, line, (size_t)n);
}

static void smtp_send_now(smtp_conn *c)
{
    if (c->stream == STREAM_FILL) {
        char head[4] = { c->stream_code[0], c->stream_code[1], c->stream_code[2], '-' };
        smtp_write(c, head, sizeof head);
        smtp_fill_pump(c);
        return;
    }
    if (c->stream == STREAM_ENDLESS) {
        uv_timer_start(&c->timer, smtp_endless_tick, 0, SMTP_ENDLESS_MS);
        return;
    }
    smtp_send_out(c);
}

static void smtp_latency_fired(uv_timer_t *t)
{
    smtp_send_now(t->data);
}

/* queues raw reply bytes (already CRLF-terminated); after = enum smtp_after */
static void smtp_reply_raw(smtp_conn *c, const char *data, size_t len, int after)
{
    c->busy = 1;
    c->after = after;
    c->replies++;
    free(c->out);
    c->out = malloc(len + 1);
    if (!c->out) {
        smtp_close(c, 1);
        return;
    }
    memcpy(c->out, data, len);
    c->outlen = len;
    int wait = c->h->latency_ms + c->hold_ms;
    c->hold_ms = 0;
    if (wait > 0)
        uv_timer_start(&c->timer, smtp_latency_fired, (uint64_t)wait, 0);
    else
        smtp_send_now(c);
}

/* replies with a template (or literal text) at a stage, applying the host's
 * garbage / endless / over-long line behaviour for that stage */
static void smtp_reply(smtp_conn *c, int stage, const char *tpl, const char *addr, int secs, int after)
{
    static char buf[SMTP_OUT_MAX];
    c->stream = STREAM_NONE;   /* a reply made while one streams replaces it */
    if (stage && c->h->garbage_stage == stage) {
        static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\xff\xfe garbage \x80\x81 not SMTP\r\n";
        smtp_reply_raw(c, garbage, sizeof garbage - 1, AFTER_NONE);
        return;
    }
    int has_code = tpl[0] && tpl[1] && tpl[2];
    if (has_code)
        memcpy(c->stream_code, tpl, 3);
    if (stage == WORLD_STAGE_RCPT && tpl[0] == '5' && c->h->rcpt_tarpit_ms) {
        /* Exchange's tarpit (TarpitInterval, 5 s) holds every refusal;
         * with a step it grows, as Exim's `delay = ${eval:…$rcpt_fail_count…}s` */
        SMTP_COUNT(c, rcpt_tarpitted);
        int64_t hold = c->h->rcpt_tarpit_ms + (int64_t)c->refused++ * c->h->rcpt_tarpit_step_ms;
        c->hold_ms = hold < SMTP_HOLD_MAX_MS ? (int)hold : SMTP_HOLD_MAX_MS;
    }
    if (stage && has_code && c->h->endless_stage == stage) {
        c->stream = STREAM_ENDLESS;    /* the reply itself never comes */
        smtp_reply_raw(c, "", 0, AFTER_NONE);
        return;
    }
    if (stage && has_code && c->h->longline_stage == stage) {
        c->stream = STREAM_FILL;
        c->stream_left = (size_t)c->h->longline_bytes - 4;   /* after "CODE-" */
    }
    size_t n = smtp_fmt(c, tpl, addr, secs, buf, sizeof buf);
    smtp_reply_raw(c, buf, n, after);
}

/* ---- commands ---- */

static int smtp_verb(const char *line, const char *verb)
{
    size_t n = strlen(verb);
    return strncasecmp(line, verb, n) == 0 && (line[n] == 0 || line[n] == ' ' || line[n] == ':');
}

/* extracts the <path> of MAIL FROM:/RCPT TO: into out; -1 when malformed */
static int smtp_path(const char *line, char *out, size_t cap)
{
    const char *lt = strchr(line, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (!lt || !gt || (size_t)(gt - lt - 1) >= cap)
        return -1;
    memcpy(out, lt + 1, (size_t)(gt - lt - 1));
    out[gt - lt - 1] = 0;
    return 0;
}

static int smtp_should_drop(smtp_conn *c, int stage)
{
    if (c->h->reset_stage == stage) {   /* SO_LINGER 0: the client reads ECONNRESET */
        SMTP_COUNT(c, drops);
        smtp_close(c, 1);
        return 1;
    }
    if (c->h->drop_stage == stage && c->drop_this_session) {
        SMTP_COUNT(c, drops);
        smtp_close(c, 0);
        return 1;
    }
    return 0;
}

static void smtp_ehlo(smtp_conn *c, const char *line)
{
    if (smtp_should_drop(c, WORLD_STAGE_EHLO))
        return;
    if (c->h->block.stage == WORLD_STAGE_EHLO) {
        smtp_reply(c, WORLD_STAGE_EHLO, c->h->block.text, NULL, 0, AFTER_NONE);
        return;
    }
    c->ehlo = 1;
    c->mail = 0;
    if (tolower((unsigned char)line[0]) == 'h') {
        smtp_reply(c, WORLD_STAGE_EHLO, smtp_text(c, K_HELO), NULL, 0, AFTER_NONE);
        return;
    }
    char tpl[1024];
    snprintf(tpl, sizeof tpl, "%s\n%s%s250 SIZE 35882577\n250 8BITMIME\n250 ENHANCEDSTATUSCODES\n250 SMTPUTF8",
             smtp_text(c, K_EHLO_HEAD), c->h->pipelining ? "250 PIPELINING\n" : "",
             (c->h->tls != WORLD_TLS_OFF && smtp_o.tls && !c->tls_on) ? "250 STARTTLS\n" : "");
    smtp_reply(c, WORLD_STAGE_EHLO, tpl, NULL, 0, AFTER_NONE);
}

static void smtp_mail(smtp_conn *c, const char *line)
{
    if (!c->ehlo) {
        smtp_reply(c, 0, "503 5.5.1 Error: send HELO/EHLO first", NULL, 0, AFTER_NONE);
        return;
    }
    if (c->h->tls == WORLD_TLS_REQUIRE && !c->tls_on) {
        smtp_reply(c, 0, smtp_text(c, K_TLS_REQUIRED), NULL, 0, AFTER_NONE);
        return;
    }
    if (c->mail) {
        smtp_reply(c, 0, "503 5.5.1 Error: nested MAIL command", NULL, 0, AFTER_NONE);
        return;
    }
    if (smtp_path(line, c->sender, sizeof c->sender) < 0) {
        smtp_reply(c, 0, "501 5.5.4 Syntax: MAIL FROM:<address>", NULL, 0, AFTER_NONE);
        return;
    }
    if (smtp_should_drop(c, WORLD_STAGE_MAIL))
        return;
    if (c->h->block.stage == WORLD_STAGE_MAIL) {
        smtp_reply(c, WORLD_STAGE_MAIL, c->h->block.text, NULL, 0, AFTER_NONE);
        return;
    }
    c->mail = 1;
    c->given = c->accepted = c->mixed = 0;
    c->rcpt_domain[0] = 0;
    smtp_reply(c, WORLD_STAGE_MAIL, smtp_text(c, K_MAIL_OK), NULL, 0, AFTER_NONE);
}

/* DOMAIN is not the message's first recipient domain: counted once a
 * message; true when the host refuses that (one-domain). */
static int smtp_other_domain(smtp_conn *c, const char *domain)
{
    if (!c->rcpt_domain[0]) {
        snprintf(c->rcpt_domain, sizeof c->rcpt_domain, "%s", domain);
        return 0;
    }
    if (!strcmp(c->rcpt_domain, domain))
        return 0;
    if (c->h->one_domain)
        return 1;
    if (!c->mixed++)
        SMTP_COUNT(c, mixed_sessions);
    return 0;
}

static void smtp_rcpt(smtp_conn *c, const char *line)
{
    char addr[320];
    if (!c->mail) {
        smtp_reply(c, 0, "503 5.5.1 Error: need MAIL command", NULL, 0, AFTER_NONE);
        return;
    }
    if (smtp_path(line, addr, sizeof addr) < 0 || !strchr(addr, '@')) {
        smtp_reply(c, 0, "501 5.1.3 Bad recipient address syntax", NULL, 0, AFTER_NONE);
        return;
    }
    SMTP_COUNT(c, rcpt);
    if (smtp_o.rcpt_log) {              /* lets tests see exactly who was asked */
        fprintf(smtp_o.rcpt_log, "%s\n", addr);
        fflush(smtp_o.rcpt_log);
    }
    if (smtp_should_drop(c, WORLD_STAGE_RCPT))
        return;
    world_host *h = c->h;
    if (h->rcpt_cap && ++c->rcpts > h->rcpt_cap) {
        SMTP_COUNT(c, rcpt_cap_hits);
        smtp_reply(c, WORLD_STAGE_RCPT, smtp_text(c, K_RCPT_CAP), addr, 0, AFTER_NONE);
        return;
    }
    if (h->block.stage == WORLD_STAGE_RCPT) {
        smtp_reply(c, WORLD_STAGE_RCPT, h->block.text, addr, 0, AFTER_NONE);
        return;
    }
    /* Debian's Exim ACL: $rcpt_count > N and $recipients_count < $rcpt_count/2 */
    if (h->bad_rcpt_limit && ++c->given > h->bad_rcpt_limit && c->accepted < c->given / 2) {
        smtp_reply(c, WORLD_STAGE_RCPT, "550 Rejected for too many bad recipients", addr, 0,
                   AFTER_NONE);
        return;
    }
    char *at = strrchr(addr, '@');
    char local[320], dname[320];
    snprintf(local, sizeof local, "%.*s", (int)(at - addr), addr);
    snprintf(dname, sizeof dname, "%s", at + 1);
    world_lower(dname);
    world_name *wn = world_name_get(smtp_world, dname);
    world_domain *d = world_domain_get(smtp_world, dname);
    if (!d || !wn || !(world_host_serves(d, h) || world_host_serves(wn->domain, h))) {
        smtp_reply(c, WORLD_STAGE_RCPT, smtp_text(c, K_RELAY), addr, 0, AFTER_NONE);
        return;
    }
    if (smtp_other_domain(c, d->name)) {
        SMTP_COUNT(c, mixed_refused);      /* Exchange Online's tenants in other regions */
        smtp_reply(c, WORLD_STAGE_RCPT, "452 4.5.3 Recipients belong to multiple regions", addr,
                   0, AFTER_NONE);
        return;
    }
    if (d->block.stage == WORLD_STAGE_RCPT) {
        smtp_reply(c, WORLD_STAGE_RCPT, d->block.text, addr, 0, AFTER_NONE);
        return;
    }
    int box = world_box(smtp_world, local, d->name);
    if (box == WORLD_BOX_NONE && (d->catch_all || h->catch_all))
        box = WORLD_BOX_OK;
    if (box == WORLD_BOX_NONE) {
        smtp_reply(c, WORLD_STAGE_RCPT, smtp_text(c, K_UNKNOWN), addr, 0, AFTER_NONE);
        return;
    }
    int grey = d->greylist_s >= 0 ? d->greylist_s : h->greylist_s;
    if (grey > 0) {
        char key[700];
        snprintf(key, sizeof key, "%s|%s", c->sender, addr);
        world_lower(key);
        int64_t now = (int64_t)uv_now(smtp_loop);
        intptr_t first = (intptr_t)table_get(&smtp_world->greylist, key);
        if (!first) {
            table_put(&smtp_world->greylist, key, (void *)(intptr_t)(now + 1));
            first = now + 1;
        }
        int64_t left = (first - 1) + (int64_t)grey * 1000 - now;
        if (left > 0) {
            SMTP_COUNT(c, greylist_hits);
            char tpl[600];
            if (h->greylist_code == 451)
                snprintf(tpl, sizeof tpl, "451 4.7.1 <%%A>: Recipient address rejected: Greylisted, try again in %%S seconds");
            else
                snprintf(tpl, sizeof tpl, "%s", smtp_text(c, K_GREYLIST));
            smtp_reply(c, WORLD_STAGE_RCPT, tpl, addr, (int)((left + 999) / 1000), AFTER_NONE);
            return;
        }
    }
    if (box == WORLD_BOX_FULL)
        smtp_reply(c, WORLD_STAGE_RCPT, smtp_text(c, K_FULL), addr, 0, AFTER_NONE);
    else if (box == WORLD_BOX_DISABLED)
        smtp_reply(c, WORLD_STAGE_RCPT, smtp_text(c, K_DISABLED), addr, 0, AFTER_NONE);
    else {
        c->accepted++;
        smtp_reply(c, WORLD_STAGE_RCPT, smtp_text(c, K_RCPT_OK), addr, 0, AFTER_NONE);
    }
}

static void smtp_command(smtp_conn *c, char *line)
{
    SMTP_COUNT(c, commands);
    if (line[0] == 0x7f) {   /* marker left by the line-length guard */
        smtp_reply(c, 0, "500 5.5.2 Error: line too long", NULL, 0, AFTER_NONE);
        return;
    }
    if (smtp_verb(line, "QUIT")) {
        smtp_reply(c, 0, "221 2.0.0 Bye", NULL, 0, AFTER_CLOSE);
        return;
    }
    if (c->rejected) {
        smtp_reply(c, 0, "503 5.5.1 Error: access denied", NULL, 0, AFTER_NONE);
        return;
    }
    if (smtp_verb(line, "EHLO") || smtp_verb(line, "HELO")) {
        smtp_ehlo(c, line);
    } else if (smtp_verb(line, "STARTTLS")) {
        if (c->h->tls == WORLD_TLS_OFF || !smtp_o.tls)
            smtp_reply(c, 0, "502 5.5.1 Error: command not implemented", NULL, 0, AFTER_NONE);
        else if (c->tls_on)
            smtp_reply(c, 0, "554 5.5.1 Error: TLS already active", NULL, 0, AFTER_NONE);
        else if (!c->ehlo)
            smtp_reply(c, 0, "503 5.5.1 Error: send HELO/EHLO first", NULL, 0, AFTER_NONE);
        else if (c->h->tls == WORLD_TLS_BROKEN)   /* OpenSMTPD 6.8's #1239: no handshake */
            smtp_reply(c, 0, "220 2.0.0 Ready to start TLS", NULL, 0, AFTER_CLOSE);
        else
            smtp_reply(c, 0, "220 2.0.0 Ready to start TLS", NULL, 0, AFTER_TLS);
    } else if (smtp_verb(line, "MAIL")) {
        smtp_mail(c, line);
    } else if (smtp_verb(line, "RCPT")) {
        smtp_rcpt(c, line);
    } else if (smtp_verb(line, "RSET")) {
        c->mail = 0;
        smtp_reply(c, 0, "250 2.0.0 Ok", NULL, 0, AFTER_NONE);
    } else if (smtp_verb(line, "NOOP")) {
        smtp_reply(c, 0, "250 2.0.0 Ok", NULL, 0, AFTER_NONE);
    } else if (smtp_verb(line, "DATA") || smtp_verb(line, "BDAT") || smtp_verb(line, "VRFY") ||
               smtp_verb(line, "EXPN")) {
        SMTP_COUNT(c, data_attempts);
        smtp_reply(c, 0, "502 5.5.1 Error: mailsim refuses DATA, BDAT, VRFY and EXPN", NULL, 0, AFTER_NONE);
    } else if (smtp_verb(line, "HELP")) {
        smtp_reply(c, 0, "214 2.0.0 Ok", NULL, 0, AFTER_NONE);
    } else {
        smtp_reply(c, 0, "502 5.5.2 Error: command not recognized", NULL, 0, AFTER_NONE);
    }
}

/* handles buffered complete lines while no reply is pending */
static void smtp_next(smtp_conn *c)
{
    while (!c->busy && !c->closing && !c->tarpit) {
        char *nl = memchr(c->in, '\n', c->inlen);
        if (!nl)
            break;
        size_t n = (size_t)(nl - c->in);
        char line[SMTP_LINE_MAX + 2];
        memcpy(line, c->in, n);
        line[n] = 0;
        if (n && line[n - 1] == '\r')
            line[n - 1] = 0;
        memmove(c->in, nl + 1, c->inlen - n - 1);
        c->inlen -= n + 1;
        smtp_command(c, line);
    }
}

/* ---- input ---- */

static void smtp_idle(uv_timer_t *t)
{
    smtp_conn *c = t->data;
    if (c->tarpit || c->h->deaf) {   /* held: let go without a word */
        smtp_close(c, 0);
        return;
    }
    smtp_reply(c, 0, "421 4.4.2 %H Error: timeout exceeded", NULL, 0, AFTER_CLOSE);
}

static void smtp_arm_idle(smtp_conn *c)
{
    if (!c->busy && !c->closing)
        uv_timer_start(&c->timer, smtp_idle, (uint64_t)smtp_o.idle_timeout_ms, 0);
}

/* appends plaintext input with the line-length and flood guards */
static void smtp_feed(smtp_conn *c, const char *data, size_t n)
{
    for (size_t i = 0; i < n && !c->closing; i++) {
        char ch = data[i];
        if (c->skip) {
            if (ch == '\n') {
                c->skip = 0;
                if (c->inlen + 2 <= SMTP_IN_MAX) {
                    c->in[c->inlen++] = 0x7f;
                    c->in[c->inlen++] = '\n';
                }
            }
            continue;
        }
        if (c->curlen >= SMTP_LINE_MAX && ch != '\n') {   /* drop the partial line */
            c->inlen -= c->curlen;
            c->curlen = 0;
            c->skip = 1;
            continue;
        }
        if (c->inlen >= SMTP_IN_MAX - 2) {
            smtp_reply(c, 0, "421 4.7.0 %H Error: too much pipelined input", NULL, 0, AFTER_CLOSE);
            return;
        }
        c->in[c->inlen++] = ch;
        c->curlen = ch == '\n' ? 0 : c->curlen + 1;
    }
}

static char smtp_rbuf[65536];

static void smtp_alloc(uv_handle_t *h, size_t sz, uv_buf_t *buf)
{
    (void)h;
    (void)sz;
    *buf = uv_buf_init(smtp_rbuf, sizeof smtp_rbuf);
}

static void smtp_tls_in(smtp_conn *c, const char *data, size_t n)
{
    BIO_write(SSL_get_rbio(c->ssl), data, (int)n);
    if (!c->tls_on) {
        int r = SSL_do_handshake(c->ssl);
        smtp_tls_flush(c);
        if (r != 1) {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                smtp_close(c, 1);
            return;
        }
        c->tls_on = 1;
        c->ehlo = c->mail = 0;
        SMTP_COUNT(c, tls_handshakes);
        if (SSL_session_reused(c->ssl))
            SMTP_COUNT(c, tls_resumed);
    }
    char buf[4096];
    for (;;) {
        int r = SSL_read(c->ssl, buf, sizeof buf);
        if (r <= 0) {
            int e = SSL_get_error(c->ssl, r);
            smtp_tls_flush(c);
            if (e == SSL_ERROR_ZERO_RETURN || (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE))
                smtp_close(c, 0);
            return;
        }
        smtp_feed(c, buf, (size_t)r);
    }
}

static void smtp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    smtp_conn *c = s->data;
    if (n < 0) {
        smtp_close(c, 0);
        return;
    }
    if (n == 0 || c->tarpit)
        return;
    if (c->ssl)
        smtp_tls_in(c, buf->base, (size_t)n);
    else
        smtp_feed(c, buf->base, (size_t)n);
    if (!c->closing) {
        smtp_next(c);
        smtp_arm_idle(c);
    }
}

/* ---- accept ---- */

static void smtp_greet(smtp_conn *c)
{
    world_host *h = c->h;
    int64_t now = (int64_t)uv_now(smtp_loop);
    if (h->conn_cap && h->c.conn_current > (uint64_t)h->conn_cap) {
        SMTP_COUNT(c, sent_421);
        smtp_reply(c, 0, smtp_text(c, K_CONN_CAP), NULL, 0, AFTER_CLOSE);
        return;
    }
    if (h->conn_per_min) {
        int64_t *slot = &h->conn_times[h->conn_times_pos];
        if (now - *slot < 60000) {
            SMTP_COUNT(c, sent_421);
            SMTP_COUNT(c, sent_421_rate);
            smtp_reply(c, 0, smtp_text(c, K_RATE_CAP), NULL, 0, AFTER_CLOSE);
            return;
        }
        *slot = now;
        h->conn_times_pos = (h->conn_times_pos + 1) % h->conn_per_min;
    }
    c->drop_this_session = h->drop_pct > 0 && (int)((h->sessions * (uint64_t)h->drop_pct) % 100) < h->drop_pct;
    h->sessions++;
    if (smtp_should_drop(c, WORLD_STAGE_BANNER))
        return;
    if (h->tarpit) {
        SMTP_COUNT(c, tarpitted);
        c->tarpit = 1;
        uv_timer_start(&c->timer, smtp_idle, (uint64_t)smtp_o.idle_timeout_ms, 0);
        return;
    }
    if (h->block.stage == WORLD_STAGE_BANNER) {
        c->rejected = 1;
        smtp_reply(c, WORLD_STAGE_BANNER, h->block.text, NULL, 0, AFTER_NONE);
        return;
    }
    smtp_reply(c, WORLD_STAGE_BANNER, smtp_text(c, K_BANNER), NULL, 0, AFTER_NONE);
}

static void smtp_accept(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    smtp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return;
    uv_tcp_init(smtp_loop, &c->tcp);
    uv_timer_init(smtp_loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->h = &smtp_nohost;
    smtp_open++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        smtp_close(c, 0);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char local[INET6_ADDRSTRLEN] = "";
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        uv_ip_name((struct sockaddr *)&ss, local, sizeof local);
    len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
        uv_ip_name((struct sockaddr *)&ss, c->peer, sizeof c->peer);
    world_host *h = world_host_by_ip(smtp_world, local);
    if (h)
        c->h = h;
    h = c->h;
    h->c.connections++;
    smtp_world->total.connections++;
    h->c.conn_current++;
    smtp_world->total.conn_current++;
    c->counted = 1;
    c->opened_ns = uv_hrtime();
    c->src = counters_source_opened(c->peer, h);
    if (h->c.conn_current > h->c.conn_peak)
        h->c.conn_peak = h->c.conn_current;
    h->fleet->connections++;
    if (++h->fleet->conn_current > h->fleet->conn_peak)
        h->fleet->conn_peak = h->fleet->conn_current;
    if (smtp_world->total.conn_current > smtp_world->total.conn_peak)
        smtp_world->total.conn_peak = smtp_world->total.conn_current;
    if (h->dead) {   /* the route for 127.255/16 was not installed: reset at once */
        smtp_close(c, 1);
        return;
    }
    if (!h->deaf)   /* deaf: commands pile up unread in the kernel's buffers */
        uv_read_start((uv_stream_t *)&c->tcp, smtp_alloc, smtp_read);
    smtp_greet(c);
    if (!c->closing && !c->busy && !c->tarpit)
        smtp_arm_idle(c);
}

static int smtp_listen(uv_tcp_t *l, const struct sockaddr *addr, unsigned flags)
{
    int rc;
    uv_tcp_init(smtp_loop, l);
    if ((rc = uv_tcp_bind(l, addr, flags)) < 0)
        return rc;
    return uv_listen((uv_stream_t *)l, 8192, smtp_accept);
}

int smtp_start(uv_loop_t *loop, world *w, const smtp_opts *o)
{
    smtp_loop = loop;
    smtp_world = w;
    smtp_o = *o;
    smtp_t0_ns = uv_hrtime();
    struct sockaddr_in a4;
    uv_ip4_addr("0.0.0.0", o->port, &a4);
    int rc = smtp_listen(&smtp_l4, (struct sockaddr *)&a4, 0);
    if (rc < 0)
        return rc;
    smtp_have4 = 1;
    if (o->ipv6) {
        struct sockaddr_in6 a6;
        uv_ip6_addr("::", o->port, &a6);
        if ((rc = smtp_listen(&smtp_l6, (struct sockaddr *)&a6, UV_TCP_IPV6ONLY)) < 0)
            return rc;
        smtp_have6 = 1;
    }
    return 0;
}

void smtp_stop(void)
{
    if (smtp_have4)
        uv_close((uv_handle_t *)&smtp_l4, NULL);
    if (smtp_have6)
        uv_close((uv_handle_t *)&smtp_l6, NULL);
    smtp_have4 = smtp_have6 = 0;
}
