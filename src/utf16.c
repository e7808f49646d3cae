/* utf16.c — UTF-16 to UTF-8 (include/utf16.h). Pure; the caller owns the
 * decoder and the buffers.
 */
#include "utf16.h"


#define REPLACEMENT 0xFFFDu

void utf16_init(utf16_dec *d, bool big_endian)
{
    *d = (utf16_dec){.big_endian = big_endian};
}

static size_t put_utf8(char *o, uint32_t c)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* One code unit U: a pending high surrogate pairs with a low one, or
 * becomes U+FFFD when anything else follows it. */
static size_t unit(utf16_dec *d, uint16_t u, char *o)
{
    size_t k = 0;
    if (d->high) {
        if (u >= 0xDC00 && u <= 0xDFFF) {
            uint32_t c = 0x10000u + (((uint32_t)d->high - 0xD800u) << 10) + (u - 0xDC00u);
            d->high = 0;
            return put_utf8(o, c);
        }
        d->high = 0;
        k = put_utf8(o, REPLACEMENT);
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
        d->high = u;
        return k;
    }
    if (u >= 0xDC00 && u <= 0xDFFF)
        return k + put_utf8(o + k, REPLACEMENT);   /* a low surrogate alone */
    return k + put_utf8(o + k, u);
}

static uint16_t join(const utf16_dec *d, uint8_t a, uint8_t b)
{
    return d->big_endian ? (uint16_t)(a << 8 | b) : (uint16_t)(b << 8 | a);
}

size_t utf16_decode(utf16_dec *d, const uint8_t *in, size_t n, char *out, size_t outcap)
{
    if (outcap < UTF16_OUT_MAX(n))
        return SIZE_MAX;
    size_t o = 0, i = 0;
    if (d->have_byte && n > 0) {
        o += unit(d, join(d, d->byte, in[0]), out);
        d->have_byte = false;
        i = 1;
    }
    for (; i + 1 < n; i += 2) {
        uint16_t u = join(d, in[i], in[i + 1]);
        if (u < 0x80 && !d->high)
            out[o++] = (char)u;                    /* ASCII: the common case */
        else
            o += unit(d, u, out + o);
    }
    if (i < n) {
        d->byte = in[i];
        d->have_byte = true;
    }
    return o;
}

size_t utf16_finish(utf16_dec *d, char *out, size_t outcap, bool *odd)
{
    if (outcap < UTF16_FINISH_MAX)
        return SIZE_MAX;
    size_t o = 0;
    if (d->high)
        o += put_utf8(out, REPLACEMENT);
    if (odd)
        *odd = d->have_byte;
    if (d->have_byte)
        o += put_utf8(out + o, REPLACEMENT);
    d->high = 0;
    d->have_byte = false;
    return o;
}
