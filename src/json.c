/* json.c — JSON string output with escaping and UTF-8 repair. */
#include "json.h"

#include <stdint.h>
#include <unistr.h>

void json_put_string(FILE *out, const char *p, size_t len)
{
    const uint8_t *s = (const uint8_t *)p, *end = s + len;
    fputc('"', out);
    while (s < end) {
        ucs4_t uc;
        int n = u8_mbtoucr(&uc, s, (size_t)(end - s));
        if (n < 0) {                     /* invalid or truncated sequence */
            fputs("\\ufffd", out);
            s++;
            continue;
        }
        if (uc == '"' || uc == '\\')
            fprintf(out, "\\%c", (int)uc);
        else if (uc == '\n')
            fputs("\\n", out);
        else if (uc == '\r')
            fputs("\\r", out);
        else if (uc == '\t')
            fputs("\\t", out);
        else if (uc < 0x20 || uc == 0x7f)
            fprintf(out, "\\u%04x", (unsigned)uc);
        else
            fwrite(s, 1, (size_t)n, out);
        s += n;
    }
    fputc('"', out);
}
