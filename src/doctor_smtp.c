/* doctor_smtp.c — the port-25 test session (see include/doctor_smtp.h):
 *
 *   connect ─► banner (220?) ─► EHLO (250?) ─► QUIT ─► close ─► callback
 *
 * Any failure records where it happened and closes; the callback runs from
 * the conn's close callback, when nothing of the session is in use.
 */
#include "doctor_smtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "smtp_reply.h"
#include "str.h"

#define QUIT_WAIT_MS 2000           /* QUIT's reply is a courtesy: wait briefly */

typedef enum ds_state { ST_CONNECT, ST_BANNER, ST_EHLO, ST_QUIT } ds_state;

typedef struct doctor_smtp {
    conn *c;
    ds_state state;
    doctor_smtp_opts o;
    char helo[256];
    uint64_t t0;                    /* uv_hrtime() at the start */
    smtp_reply reply;
    doctor_smtp_result res;
    doctor_smtp_cb cb;
    void *ud;
} doctor_smtp;

static double ds_elapsed(const doctor_smtp *s)
{
    return (double)(uv_hrtime() - s->t0) / 1e9;
}

/* Stop here: record where (unless already done) and close. */
static void ds_stop(doctor_smtp *s, doctor_smtp_stage stage, int err)
{
    if (s->state != ST_QUIT) {
        s->res.stage = stage;
        s->res.err = err;
    }
    conn_close(s->c);
}

static void ds_send(doctor_smtp *s, const char *line, ds_state next, int timeout_ms)
{
    char buf[300];
    int n = snprintf(buf, sizeof buf, "%s\r\n", line);
    s->state = next;
    smtp_reply_reset(&s->reply);
    if (n < 0 || (size_t)n >= sizeof buf || conn_send(s->c, buf, (size_t)n) != 0) {
        ds_stop(s, next == ST_EHLO ? DSMTP_EHLO : DSMTP_DONE, UV_EPIPE);
        return;
    }
    conn_timer(s->c, timeout_ms);
}

static void ds_quit(doctor_smtp *s)
{
    ds_send(s, "QUIT", ST_QUIT, QUIT_WAIT_MS);
}

/* "550 5.7.1 text" of a complete reply, cut to fit. */
static void ds_keep_reply(char *dst, const smtp_reply *r)
{
    int n = r->len < 260 ? (int)r->len : 260;
    snprintf(dst, DOCTOR_SMTP_TEXT, "%d%s%.15s %.*s", r->code, r->enhanced[0] ? " " : "",
             r->enhanced, n, r->text);
}

static void ds_keep(char *dst, const char *text, size_t len)
{
    if (len >= DOCTOR_SMTP_TEXT)
        len = DOCTOR_SMTP_TEXT - 1;
    memcpy(dst, text, len);
    dst[len] = '\0';
}

/* A complete reply in the current state. */
static void ds_reply(doctor_smtp *s)
{
    const smtp_reply *r = &s->reply;
    if (s->state == ST_BANNER) {
        s->res.banner_code = r->code;
        s->res.banner_s = ds_elapsed(s);
        ds_keep_reply(s->res.banner, r);
        if (r->code != 220) {
            s->res.stage = DSMTP_BANNER;
            s->res.err = 0;
            ds_quit(s);
            return;
        }
        char cmd[280];
        snprintf(cmd, sizeof cmd, "EHLO %s", s->helo);
        ds_send(s, cmd, ST_EHLO, s->o.command_timeout_ms);
    } else if (s->state == ST_EHLO) {
        s->res.ehlo_code = r->code;
        ds_keep_reply(s->res.ehlo, r);
        s->res.stage = r->code == 250 ? DSMTP_DONE : DSMTP_EHLO;
        s->res.err = 0;
        ds_quit(s);
    } else {
        conn_close(s->c);           /* QUIT answered */
    }
}

static void ds_on_line(conn *c, void *ud, const char *line, size_t len)
{
    doctor_smtp *s = ud;
    (void)c;
    smtp_feed f = smtp_reply_feed(&s->reply, line, len);
    if (f == SMTP_REPLY_MORE)
        return;
    if (f == SMTP_REPLY_BAD) {
        if (s->state == ST_BANNER)
            ds_keep(s->res.banner, line, len);
        ds_stop(s, s->state == ST_BANNER ? DSMTP_BANNER : DSMTP_EHLO, UV_EPROTO);
        return;
    }
    ds_reply(s);
}

static void ds_on_connect(conn *c, void *ud, int status)
{
    doctor_smtp *s = ud;
    if (status < 0) {               /* the conn closes itself */
        s->res.stage = DSMTP_CONNECT;
        s->res.err = status;
        if (status == CONN_EEGRESS)
            str_copy(s->res.egress, sizeof s->res.egress, conn_egress_error(c));
        return;
    }
    s->res.connect_s = ds_elapsed(s);
    s->state = ST_BANNER;
    conn_timer(c, s->o.command_timeout_ms);
}

static void ds_on_error(conn *c, void *ud, int err)
{
    doctor_smtp *s = ud;
    (void)c;
    ds_stop(s, s->state == ST_BANNER ? DSMTP_BANNER : DSMTP_EHLO, err);
}

static void ds_on_closed(conn *c, void *ud)
{
    doctor_smtp *s = ud;
    (void)c;
    s->cb(s->ud, &s->res);
    free(s);
}

bool doctor_smtp_start(uv_loop_t *loop, const struct sockaddr *sa, const doctor_smtp_opts *o,
                       doctor_smtp_cb cb, void *ud)
{
    static const conn_events ev = {
        .on_connect = ds_on_connect,
        .on_line = ds_on_line,
        .on_error = ds_on_error,
        .on_closed = ds_on_closed,
    };
    doctor_smtp *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->o = *o;
    str_copy(s->helo, sizeof s->helo, o->helo);
    for (char *p = s->helo; *p; p++)    /* one word on one line: no command injection */
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            *p = '?';
    s->cb = cb;
    s->ud = ud;
    s->t0 = uv_hrtime();
    s->res.stage = DSMTP_CONNECT;
    smtp_reply_reset(&s->reply);
    s->c = conn_new(loop, &ev, s);
    if (!s->c) {
        free(s);
        return false;
    }
    int rc = conn_connect_via(s->c, sa, o->route, o->connect_timeout_ms);
    if (rc < 0) {                   /* no callback from the conn: report through on_closed */
        s->res.err = rc;
        conn_close(s->c);
    }
    return true;
}
