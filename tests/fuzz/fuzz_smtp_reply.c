/* fuzz_smtp_reply.c — libFuzzer target for the SMTP reply parser
 * (src/smtp_reply.c: smtp_reply_feed, smtp_reply_delay_hint).
 *
 * Input: a server's byte stream; lines end at LF (a CR before it is
 * dropped, as conn.c does). Lines are fed to one smtp_reply until it is
 * DONE or BAD, then a fresh reply starts. Owns no state.
 * Properties: the verdict of each line matches an independent model of the
 * RFC 5321 reply-line grammar; code, enhanced code, text length, line count
 * and EHLO bits stay within their documented ranges; the delay hint is 0 or
 * at most a week.
 */
#include "fuzz.h"

#include <ctype.h>
#include <stdbool.h>

#include "smtp_reply.h"

#define KNOWN_EXT (SMTP_EXT_STARTTLS | SMTP_EXT_PIPELINING | SMTP_EXT_SMTPUTF8 | \
                   SMTP_EXT_8BITMIME | SMTP_EXT_ENHANCEDSTATUSCODES)

/* What smtp_reply_feed must answer for LINE given the reply so far. */
static smtp_feed expected(const smtp_reply *r, const char *l, size_t n)
{
    if (n < 3 || l[0] < '1' || l[0] > '5' || !isdigit((unsigned char)l[1]) ||
        !isdigit((unsigned char)l[2]))
        return SMTP_REPLY_BAD;
    if (n > 3 && l[3] != ' ' && l[3] != '-')
        return SMTP_REPLY_BAD;
    int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    if (r->nlines && code != r->code)
        return SMTP_REPLY_BAD;
    if (r->nlines >= SMTP_REPLY_LINES_MAX)
        return SMTP_REPLY_BAD;
    return n > 3 && l[3] == '-' ? SMTP_REPLY_MORE : SMTP_REPLY_DONE;
}

/* "C.S.D": class 2/4/5, one to three digits each after. */
static bool enhanced_ok(const char *e)
{
    if ((e[0] != '2' && e[0] != '4' && e[0] != '5') || e[1] != '.')
        return false;
    size_t i = 2;
    for (int part = 0; part < 2; part++) {
        size_t d = 0;
        while (isdigit((unsigned char)e[i]) && d < 3)
            i++, d++;
        if (d == 0)
            return false;
        if (part == 0 && e[i++] != '.')
            return false;
    }
    return e[i] == '\0';
}

static void check_reply(const smtp_reply *r, bool nul_seen)
{
    FUZZ_CHECK(r->code >= 100 && r->code <= 599);
    FUZZ_CHECK(r->nlines >= 1 && r->nlines <= SMTP_REPLY_LINES_MAX);
    FUZZ_CHECK(r->len <= SMTP_REPLY_TEXT_MAX && r->text[r->len] == '\0');
    /* A NUL byte from the server is kept as data, so only then may strlen
     * stop short of len. */
    FUZZ_CHECK(nul_seen || strlen(r->text) == r->len);
    FUZZ_CHECK((r->ext & ~(unsigned)KNOWN_EXT) == 0);
    if (r->enhanced[0]) {
        FUZZ_CHECK(strnlen(r->enhanced, sizeof r->enhanced) < sizeof r->enhanced);
        FUZZ_CHECK(enhanced_ok(r->enhanced));
        FUZZ_CHECK(r->enhanced[0] - '0' == r->code / 100);
    }
    int d = smtp_reply_delay_hint(r);
    FUZZ_CHECK(d >= 0 && d <= 7 * 86400);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtp_reply r;
    smtp_reply_reset(&r);
    bool nul_seen = false;
    const char *p = (const char *)data;
    size_t left = size;
    while (left > 0) {
        const char *lf = memchr(p, '\n', left);
        size_t take = lf ? (size_t)(lf - p) : left;
        size_t len = take && p[take - 1] == '\r' ? take - 1 : take;
        /* Exactly LEN bytes on the heap: a read past the line is caught. */
        char *line = malloc(len ? len : 1);
        if (!line)
            return 0;
        memcpy(line, p, len);
        nul_seen |= memchr(line, '\0', len) != NULL;
        smtp_feed want = expected(&r, line, len);
        size_t before_len = r.len, before_lines = r.nlines;
        int before_code = r.code;
        char before_enh[sizeof r.enhanced];
        memcpy(before_enh, r.enhanced, sizeof before_enh);
        smtp_feed got = smtp_reply_feed(&r, line, len);
        FUZZ_CHECK(got == want);
        if (got == SMTP_REPLY_BAD) {
            /* What was assembled so far is left alone, except the line
             * count of an over-long reply. */
            FUZZ_CHECK(r.len == before_len);
            FUZZ_CHECK(r.nlines == before_lines || r.nlines == before_lines + 1);
            if (before_lines)
                FUZZ_CHECK(r.code == before_code);
            smtp_reply_reset(&r);
            nul_seen = false;
        } else {
            FUZZ_CHECK(r.nlines == before_lines + 1);
            FUZZ_CHECK(r.code == (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
            FUZZ_CHECK(r.len >= before_len);
            if (before_lines)   /* the enhanced code comes from the first line */
                FUZZ_CHECK(memcmp(before_enh, r.enhanced, sizeof before_enh) == 0);
            check_reply(&r, nul_seen);
            if (got == SMTP_REPLY_DONE) {
                smtp_reply_reset(&r);
                nul_seen = false;
            }
        }
        free(line);
        if (!lf)
            break;
        p += take + 1;
        left -= take + 1;
    }
    return 0;
}
