/* verify.h — verify a handful of addresses end to end (DNS → SMTP → verdict)
 * on a private libuv loop: the engine behind `mailvet check`.
 *
 * Addresses of one domain share one DNS lookup, one catch-all probe and
 * SMTP sessions of up to --rcpt-per-session recipients; domains run side by
 * side. Sessions fall back to the MX host's next address, then the next MX;
 * 4xx answers are retried on the --retry-schedule.
 *
 * The caller owns the items; verify_run() fills in their results.
 */
#ifndef MAILVET_VERIFY_H
#define MAILVET_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>

#include "addr.h"
#include "cli.h"
#include "result.h"

typedef struct verify_item {
    addr a;            /* in: the parsed address */
    result r;          /* in: screened result (flags set); out: the verdict */
    bool needs_network;/* in: screen_address() said so; others are left alone */
    char envelope[ADDR_BUF + ADDR_DOMAIN_MAX + 2]; /* internal: local@A-label for RCPT TO */
} verify_item;

/* Run to completion. TRACE (may be NULL) receives the SMTP transcript.
 * When *CANCEL (may be NULL) becomes non-zero, everything in flight is
 * abandoned within a fraction of a second and EXIT_INTERRUPTED returned.
 * Returns 0, or an exit code after printing why (bad --dns…). */
int verify_run(verify_item *items, size_t n, const cli_opts *o, FILE *trace,
               volatile sig_atomic_t *cancel);

#endif
