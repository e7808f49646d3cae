/* fuzz_ehlo.c — libFuzzer target for the EHLO keyword parser: keyword_bit()
 * in src/smtp_reply.c, a static function reached through the public
 * smtp_reply_feed() with the lines of a 250 EHLO reply.
 *
 * Input: the server's keyword lines, LF-separated (without the "250-"
 * prefix, which the harness adds, so the fuzzer spends its time on the
 * keywords). Owns no state.
 * Property: the SMTP_EXT_* bits equal an independent model: a line's first
 * word (after an optional "2.x.y" enhanced code) is one of the five
 * keywords, compared without regard to case, and nothing else sets a bit.
 */
#include "fuzz.h"

#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include "smtp_reply.h"

static const struct {
    const char *word;
    unsigned bit;
} words[] = {
    {"starttls", SMTP_EXT_STARTTLS},
    {"pipelining", SMTP_EXT_PIPELINING},
    {"smtputf8", SMTP_EXT_SMTPUTF8},
    {"8bitmime", SMTP_EXT_8BITMIME},
    {"enhancedstatuscodes", SMTP_EXT_ENHANCEDSTATUSCODES},
};

/* Length of a leading "2.D.D" code (1–3 digits each) that is followed by a
 * space or the end, else 0: such a code is not part of the keyword. */
static size_t enhanced_prefix(const char *t, size_t n)
{
    if (n < 5 || t[0] != '2' || t[1] != '.')
        return 0;
    size_t i = 2;
    for (int part = 0; part < 2; part++) {
        size_t d = 0;
        while (i < n && isdigit((unsigned char)t[i]) && d < 3)
            i++, d++;
        if (d == 0)
            return 0;
        if (part == 0) {
            if (i >= n || t[i] != '.')
                return 0;
            i++;
        }
    }
    return i == n || t[i] == ' ' ? i : 0;
}

static unsigned model_bit(const char *t, size_t n)
{
    size_t e = enhanced_prefix(t, n);
    if (e) {
        t += e, n -= e;
        while (n && *t == ' ')
            t++, n--;
    }
    size_t w = 0;
    while (w < n && t[w] != ' ')
        w++;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        if (strlen(words[i].word) != w)
            continue;
        size_t k = 0;
        while (k < w && tolower((unsigned char)t[k]) == words[i].word[k])
            k++;
        if (k == w)
            return words[i].bit;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    smtp_reply r;
    smtp_reply_reset(&r);
    FUZZ_CHECK(smtp_reply_feed(&r, "250-mx.example.com Hello [192.0.2.1]", 36) == SMTP_REPLY_MORE);
    unsigned want = 0;
    const char *p = (const char *)data;
    size_t left = size;
    for (;;) {
        const char *lf = memchr(p, '\n', left);
        size_t take = lf ? (size_t)(lf - p) : left;
        char *line = malloc(take + 4);
        if (!line)
            return 0;
        memcpy(line, lf ? "250-" : "250 ", 4);
        memcpy(line + 4, p, take);
        smtp_feed got = smtp_reply_feed(&r, line, take + 4);
        free(line);
        if (r.nlines > SMTP_REPLY_LINES_MAX) {     /* the reply was cut off */
            FUZZ_CHECK(got == SMTP_REPLY_BAD);
            break;
        }
        FUZZ_CHECK(got == (lf ? SMTP_REPLY_MORE : SMTP_REPLY_DONE));
        want |= model_bit(p, take);
        if (r.ext != want)
            fprintf(stderr, "fuzz: ext %#x, model %#x after \"%.*s\"\n", r.ext, want,
                    (int)take, p);
        FUZZ_CHECK(r.ext == want);
        if (!lf)
            break;
        p += take + 1;
        left -= take + 1;
    }
    return 0;
}
