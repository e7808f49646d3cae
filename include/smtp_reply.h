/* smtp_reply.h — assemble SMTP replies from lines and parse what is in them
 * (RFC 5321 §4.2 multi-line replies, RFC 3463 enhanced status codes, RFC 2034,
 * EHLO keywords, "try again in N minutes" hints). Pure: no I/O.
 *
 * A smtp_reply is a plain value filled line by line by smtp_reply_feed().
 */
#ifndef MAILVET_SMTP_REPLY_H
#define MAILVET_SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_REPLY_TEXT_MAX 1024   /* joined text kept; the rest is dropped */
#define SMTP_REPLY_LINES_MAX 100   /* more lines than this in one reply is an attack */

/* EHLO keywords mailvet cares about (bits of smtp_reply.ext). */
enum {
    SMTP_EXT_STARTTLS = 1 << 0,
    SMTP_EXT_PIPELINING = 1 << 1,
    SMTP_EXT_SMTPUTF8 = 1 << 2,
    SMTP_EXT_8BITMIME = 1 << 3,
    SMTP_EXT_ENHANCEDSTATUSCODES = 1 << 4,
};

typedef struct smtp_reply {
    int code;                             /* 100..599; 0 before the first line */
    char enhanced[16];                    /* "5.1.1" from the first line, or "" */
    char text[SMTP_REPLY_TEXT_MAX + 1];   /* every line's text joined by one space */
    size_t len;                           /* strlen(text) */
    size_t nlines;
    unsigned ext;                         /* SMTP_EXT_* seen at line starts (EHLO) */
} smtp_reply;

typedef enum smtp_feed {
    SMTP_REPLY_MORE,   /* a continuation line ("250-…"): feed the next one */
    SMTP_REPLY_DONE,   /* the last line ("250 …"): the reply is complete */
    SMTP_REPLY_BAD,    /* not a reply line, or the code changed mid-reply */
} smtp_feed;

void smtp_reply_reset(smtp_reply *r);

/* Add one received LINE (LEN bytes, no CR/LF) to R. */
smtp_feed smtp_reply_feed(smtp_reply *r, const char *line, size_t len);

/* Seconds the server asks to wait ("try again in 5 minutes", "retry in 300
 * seconds", "wait 60s"), or 0 when it names none. */
int smtp_reply_delay_hint(const smtp_reply *r);

#endif
