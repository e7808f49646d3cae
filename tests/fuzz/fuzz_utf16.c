/* fuzz_utf16.c — libFuzzer target for the UTF-16 decoder (src/utf16.c).
 *
 * Input: one byte (bit 0: big-endian; the rest: the block size), then
 * UTF-16 bytes. Owns its output buffers for one run. Properties: the output
 * is valid UTF-8 (no surrogates, shortest forms); decoding in blocks of any
 * size gives the same bytes as decoding all at once; no call writes more
 * than its bound; every code unit gives at least one byte, so nothing is
 * dropped; re-encoding the output to UTF-16 gives the input back when the
 * input had no unpaired surrogate and an even length.
 */
#include "fuzz.h"

#include <stdbool.h>

#include "utf16.h"

/* Valid UTF-8; the code points into CP (room for N), their count returned,
 * or SIZE_MAX when invalid. */
static size_t utf8_points(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n)
            return SIZE_MAX;
        uint32_t v = len == 1 ? c : c & (0x7F >> len);
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return SIZE_MAX;
            v = v << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (v < least[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return SIZE_MAX;
        cp[k++] = v;
        i += len;
    }
    return k;
}

static size_t decode(bool be, const uint8_t *in, size_t n, size_t step, char *out)
{
    utf16_dec d;
    utf16_init(&d, be);
    size_t o = 0;
    for (size_t i = 0; i < n; i += step) {
        size_t k = n - i < step ? n - i : step;
        FUZZ_CHECK(utf16_decode(&d, in + i, k, out + o, UTF16_OUT_MAX(k) - 1) == SIZE_MAX);
        size_t w = utf16_decode(&d, in + i, k, out + o, UTF16_OUT_MAX(k));
        FUZZ_CHECK(w <= UTF16_OUT_MAX(k));
        o += w;
    }
    size_t w = utf16_finish(&d, out + o, UTF16_FINISH_MAX, NULL);
    FUZZ_CHECK(w <= UTF16_FINISH_MAX);
    return o + w;
}

static bool unpaired(const uint8_t *in, size_t n, bool be)
{
    for (size_t i = 0; i + 1 < n; i += 2) {
        unsigned u = be ? (unsigned)in[i] << 8 | in[i + 1] : (unsigned)in[i + 1] << 8 | in[i];
        unsigned v = 0;
        if (i + 3 < n)
            v = be ? (unsigned)in[i + 2] << 8 | in[i + 3] : (unsigned)in[i + 3] << 8 | in[i + 2];
        if (u >= 0xD800 && u <= 0xDBFF && v >= 0xDC00 && v <= 0xDFFF)
            i += 2;
        else if (u >= 0xD800 && u <= 0xDFFF)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool be = data[0] & 1;
    size_t step = (data[0] >> 1) + 1;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    size_t cap = 2 * UTF16_OUT_MAX(n) + n * 3 + UTF16_FINISH_MAX + 16;
    char *whole = malloc(cap), *blocks = malloc(cap);
    uint32_t *cp = malloc((cap + 1) * sizeof *cp);
    FUZZ_CHECK(whole && blocks && cp);
    size_t a = decode(be, in, n, n ? n : 1, whole);
    size_t b = decode(be, in, n, step, blocks);
    FUZZ_CHECK(a == b && memcmp(whole, blocks, a) == 0);
    size_t k = utf8_points((const unsigned char *)whole, a, cp);
    FUZZ_CHECK(k != SIZE_MAX);
    FUZZ_CHECK(2 * k >= n / 2);      /* a unit gives a point, a pair of units at least one */
    if (n % 2 == 0 && !unpaired(in, n, be)) {
        size_t j = 0;
        for (size_t i = 0; i < k; i++) {
            uint32_t v = cp[i];
            uint16_t u[2] = {(uint16_t)v, 0};
            int m = 1;
            if (v >= 0x10000)
                u[0] = (uint16_t)(0xD800 + ((v - 0x10000) >> 10)),
                u[1] = (uint16_t)(0xDC00 + ((v - 0x10000) & 0x3FF)), m = 2;
            for (int t = 0; t < m; t++, j += 2) {
                FUZZ_CHECK(j + 1 < n);
                uint8_t hi = (uint8_t)(u[t] >> 8), lo = (uint8_t)u[t];
                FUZZ_CHECK(in[j] == (be ? hi : lo) && in[j + 1] == (be ? lo : hi));
            }
        }
        FUZZ_CHECK(j == n);
    }
    free(whole);
    free(blocks);
    free(cp);
    return 0;
}
