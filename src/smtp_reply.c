/* smtp_reply.c — reply lines into codes, enhanced codes, text and EHLO keywords.
 *
 * Servers are hostile input: a line must start with three digits and a
 * space, a dash or nothing; the code may not change between the lines of one
 * reply; the joined text is bounded and so is the number of lines.
 */
#include "smtp_reply.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void smtp_reply_reset(smtp_reply *r)
{
    r->code = 0;
    r->enhanced[0] = '\0';
    r->text[0] = '\0';
    r->len = 0;
    r->nlines = 0;
    r->ext = 0;
}

/* "5.1.1 " at P: class 2/4/5, subject 1–3 digits, detail 1–3 digits. Returns
 * the length of the code (without the following space), or 0. */
static size_t enhanced_len(const char *p, size_t n)
{
    if (n < 5 || (p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
        return 0;
    size_t i = 2, d = 0;
    while (i < n && isdigit((unsigned char)p[i]) && d < 3)
        i++, d++;
    if (d == 0 || i >= n || p[i] != '.')
        return 0;
    i++;
    d = 0;
    while (i < n && isdigit((unsigned char)p[i]) && d < 3)
        i++, d++;
    if (d == 0 || (i < n && p[i] != ' '))
        return 0;
    return i;
}

static void append_text(smtp_reply *r, const char *p, size_t n)
{
    if (r->len && r->len < SMTP_REPLY_TEXT_MAX)
        r->text[r->len++] = ' ';
    size_t room = SMTP_REPLY_TEXT_MAX - r->len;
    if (n > room)
        n = room;
    for (size_t i = 0; i < n; i++) {       /* a NUL or control byte would cut or garble */
        unsigned char c = (unsigned char)p[i];
        r->text[r->len + i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    r->len += n;
    r->text[r->len] = '\0';
}

static const struct {
    const char *word;
    unsigned bit;
} keywords[] = {
    {"STARTTLS", SMTP_EXT_STARTTLS},
    {"PIPELINING", SMTP_EXT_PIPELINING},
    {"SMTPUTF8", SMTP_EXT_SMTPUTF8},
    {"8BITMIME", SMTP_EXT_8BITMIME},
    {"ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES},
};

/* The first word of an EHLO line's text is a keyword. */
static unsigned keyword_bit(const char *p, size_t n)
{
    size_t w = 0;
    while (w < n && p[w] != ' ')
        w++;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (strlen(keywords[i].word) == w && strncasecmp(p, keywords[i].word, w) == 0)
            return keywords[i].bit;
    return 0;
}

smtp_feed smtp_reply_feed(smtp_reply *r, const char *line, size_t len)
{
    if (len < 3 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]) || line[0] < '1' || line[0] > '5')
        return SMTP_REPLY_BAD;
    if (len > 3 && line[3] != ' ' && line[3] != '-')
        return SMTP_REPLY_BAD;
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (r->nlines && code != r->code)
        return SMTP_REPLY_BAD;
    if (++r->nlines > SMTP_REPLY_LINES_MAX)
        return SMTP_REPLY_BAD;
    r->code = code;
    const char *p = len > 4 ? line + 4 : line + len;
    size_t n = len > 4 ? len - 4 : 0;
    size_t e = enhanced_len(p, n);
    if (e && e < sizeof r->enhanced && p[0] == line[0]) {
        if (r->nlines == 1)
            memcpy(r->enhanced, p, e), r->enhanced[e] = '\0';
        p += e;                     /* the code is not repeated in the text */
        n -= e;
        while (n && *p == ' ')
            p++, n--;
    }
    r->ext |= keyword_bit(p, n);
    append_text(r, p, n);
    return len > 3 && line[3] == '-' ? SMTP_REPLY_MORE : SMTP_REPLY_DONE;
}

/* Seconds for a unit word starting at P ("second", "sec", "s", "minute", "min", "hour"). */
static int unit_seconds(const char *p)
{
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "h", 1) == 0)
        return 3600;
    if (strncasecmp(p, "m", 1) == 0 && strncasecmp(p, "ms", 2) != 0)
        return 60;
    if (strncasecmp(p, "s", 1) == 0)
        return 1;
    return 0;
}

int smtp_reply_delay_hint(const smtp_reply *r)
{
    static const char *const cues[] = {"again in ", "retry in ", "wait ", "after "};
    for (size_t i = 0; i < sizeof cues / sizeof *cues; i++) {
        const char *c = strcasestr(r->text, cues[i]);
        if (!c)
            continue;
        const char *p = c + strlen(cues[i]);
        if (!isdigit((unsigned char)*p))
            continue;
        long v = 0;
        while (isdigit((unsigned char)*p) && v < 1000000)
            v = v * 10 + (*p++ - '0');
        int unit = unit_seconds(p);
        if (unit && v > 0 && v * unit <= 7 * 86400)
            return (int)(v * unit);
    }
    return 0;
}
