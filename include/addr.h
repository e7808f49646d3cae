/* addr.h — parse and normalise one email address (pure: no I/O, no globals).
 *
 * Owns nothing: addr_parse() fills a caller-provided struct addr; every
 * string in it is a NUL-terminated copy inside that struct.
 */
#ifndef MAILVET_ADDR_H
#define MAILVET_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define ADDR_LOCAL_MAX 64    /* octets, RFC 5321 §4.5.3.1.1 */
#define ADDR_DOMAIN_MAX 253  /* octets of the A-label form */
#define ADDR_LABEL_MAX 63    /* octets of one A-label */
#define ADDR_TOTAL_MAX 254   /* octets of local@ascii-domain */
#define ADDR_BUF 1024        /* room for any accepted address in Unicode */

/* Which forms are accepted. mailvet's defaults come from addr_opts_default();
 * the other switches exist so the conformance suites can be run with the
 * options they were written for. */
typedef struct addr_opts {
    bool allow_smtputf8;       /* non-ASCII local parts (default true) */
    bool allow_display_name;   /* "Jane <jane@x.com>" (default true) */
    bool allow_quoted_local;   /* "a b"@x.com (default false) */
    bool allow_domain_literal; /* a@[192.0.2.1] (default false) */
    bool allow_empty_local;    /* @x.com (default false) */
    bool allow_special_use;    /* .test, .localhost, …, and the bare name "test" (default false) */
    bool lax_local_length;     /* accept local parts over 64 octets (default false) */
} addr_opts;

void addr_opts_default(addr_opts *o);

typedef struct addr {
    char email[ADDR_BUF];       /* local@domain: NFC, domain lower-cased U-labels */
    char local[ADDR_BUF];       /* NFC local part, case kept, no display name */
    char domain[ADDR_BUF];      /* lower-cased U-label (Unicode) form */
    char ascii_domain[ADDR_DOMAIN_MAX + 1]; /* A-label form, for DNS and SMTP */
    bool smtputf8;              /* the local part is not ASCII */
} addr;

typedef enum addr_err {
    ADDR_OK = 0,
    ADDR_ERR_EMPTY,          /* nothing left after trimming */
    ADDR_ERR_NO_AT,          /* no @ */
    ADDR_ERR_LOCAL_EMPTY,
    ADDR_ERR_LOCAL_CHARS,    /* a character not allowed before the @ */
    ADDR_ERR_LOCAL_DOTS,     /* leading, trailing or doubled period */
    ADDR_ERR_LOCAL_TOO_LONG,
    ADDR_ERR_QUOTED_LOCAL,   /* quoted local part (refused by default) */
    ADDR_ERR_SMTPUTF8,       /* non-ASCII local part while not allowed */
    ADDR_ERR_DOMAIN_EMPTY,
    ADDR_ERR_DOMAIN_CHARS,
    ADDR_ERR_DOMAIN_DOTS,
    ADDR_ERR_DOMAIN_HYPHEN,
    ADDR_ERR_DOMAIN_NO_DOT,  /* single label */
    ADDR_ERR_DOMAIN_TLD,     /* top-level label not plausible (e.g. digits) */
    ADDR_ERR_DOMAIN_IDNA,    /* IDNA conversion failed / bad A-label */
    ADDR_ERR_DOMAIN_TOO_LONG,
    ADDR_ERR_LABEL_TOO_LONG,
    ADDR_ERR_DOMAIN_LITERAL, /* [..] domain (refused by default, or malformed) */
    ADDR_ERR_SPECIAL_USE,    /* .arpa, .invalid, .local, .localhost, .onion, .test */
    ADDR_ERR_TOO_LONG,       /* whole address over 254 octets */
    ADDR_ERR_DISPLAY_NAME,   /* malformed display name / angle brackets */
    ADDR_ERR_UNSAFE,         /* unsafe Unicode: controls, separators, bidi, … */
    ADDR_ERR_UTF8,           /* not valid UTF-8 */
    ADDR_ERR__COUNT
} addr_err;

/* Parse IN (LEN bytes, need not be NUL-terminated): trims whitespace, strips
 * "mailto:" and a display name, validates, and normalises into *OUT.
 * Returns ADDR_OK or the first problem found (OUT is then unspecified). */
addr_err addr_parse(const char *in, size_t len, const addr_opts *opts, addr *out);

/* A short English sentence for E (static storage). */
const char *addr_strerror(addr_err e);

#endif
