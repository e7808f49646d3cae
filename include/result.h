/* result.h — one address's verdict as it is written out (CSV columns, JSON).
 *
 * A result is a plain value: fixed-size buffers, no pointers, so it can be
 * copied between threads and stored as it is. The column names live here
 * and nowhere else.
 */
#ifndef MAILVET_RESULT_H
#define MAILVET_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "verdict.h"

#define RESULT_SMTP_TEXT_MAX 200
#define RESULT_IP_MAX 45           /* an IPv6 address in text (INET6_ADDRSTRLEN - 1) */
#define RESULT_ROUTE_MAX 599       /* a route's label (egress.h) */

typedef enum result_tri { TRI_UNSET = -1, TRI_FALSE = 0, TRI_TRUE = 1 } result_tri;

typedef struct result {
    char email[ADDR_BUF];          /* normalised address, "" if unparseable */
    verdict_reason reason;
    int risk;
    char did_you_mean[ADDR_BUF];   /* full suggested address, or "" */
    bool role, free, disposable;
    result_tri accept_all;
    char mx[256];
    int smtp_code;                 /* 0 when there was no deciding reply */
    char smtp_enhanced[16];
    char smtp_text[RESULT_SMTP_TEXT_MAX + 1];
    int attempts;
    bool duplicate;                /* a later row of a mailbox already seen (dedup.h) */
    /* The evidence (README "Output"; a duplicate has its first row's):
     * mx_ip    the address of the MX whose reply is in smtp_code, "" when
     *          there is none (syntax, DNS, no connection, timeout);
     * checked_at  unix seconds when that reply arrived; without a reply,
     *          when the verdict was made (screen.c, engine.c); 0: unset;
     * route    the label (egress.h) of the route of the session that
     *          decided: "direct", a --bind address, a --proxy without its
     *          password; "" when no SMTP connection was tried. */
    char mx_ip[RESULT_IP_MAX + 1];
    int64_t checked_at;
    char route[RESULT_ROUTE_MAX + 1];
} result;

/* Number of appended mailvet_* columns, their names, and what kind of
 * value each holds (JSON writes ints and booleans bare, empty as null). */
#define RESULT_NCOLUMNS 18
typedef enum result_kind { RESULT_TEXT, RESULT_INT, RESULT_BOOL } result_kind;
extern const char *const result_column_names[RESULT_NCOLUMNS];
extern const result_kind result_column_kinds[RESULT_NCOLUMNS];

void result_init(result *r);

/* Render column I of R into BUF (BUFLEN bytes); returns the length written.
 * Buffers of ADDR_BUF bytes hold any column. */
size_t result_column(const result *r, int i, char *buf, size_t buflen);

/* T (unix seconds) as UTC ISO 8601 to the second, "2026-12-02T16:04:05Z"
 * (mailvet_checked_at), into BUF (BUFLEN bytes; 21 hold any year 0-9999);
 * "" for 0. Returns the length written. Thread-safe, no locale, no tz. */
size_t result_format_time(int64_t t, char *buf, size_t buflen);

#endif
