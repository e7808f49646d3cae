/* utf16.h — UTF-16 (LE or BE) to UTF-8, block by block.
 *
 * Pure: no I/O, no allocation. The caller owns the decoder (a plain struct)
 * and both buffers. A code unit or a surrogate pair split across two blocks
 * is carried over to the next call. Bad input never stops the decoder and
 * never yields garbage: an unpaired surrogate, or an odd byte left at the
 * end of the input, becomes U+FFFD (EF BF BD), as the WHATWG decoder and
 * Python's "replace" handler do. A byte order mark is the caller's business
 * (sniff.c finds it); a U+FEFF inside the text is kept as data.
 */
#ifndef MAILVET_UTF16_H
#define MAILVET_UTF16_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room utf16_decode() needs for N input bytes: each code unit gives at
 * most 3 bytes, plus a U+FFFD for a high surrogate left by the previous
 * call. */
#define UTF16_OUT_MAX(n) (3 * (((size_t)(n) + 1) / 2) + 3)
/* Room utf16_finish() needs. */
#define UTF16_FINISH_MAX 6

typedef struct utf16_dec {
    bool big_endian;
    bool have_byte;      /* a code unit's first byte waits for its second */
    uint8_t byte;
    uint16_t high;       /* a high surrogate waiting for its low one; 0 if none */
} utf16_dec;

void utf16_init(utf16_dec *d, bool big_endian);

/* Decode IN[0..N) into OUT; returns the bytes written, or SIZE_MAX (and
 * nothing decoded) when OUTCAP < UTF16_OUT_MAX(N). */
size_t utf16_decode(utf16_dec *d, const uint8_t *in, size_t n, char *out, size_t outcap);

/* End of input: what is still pending, as U+FFFD (at most
 * UTF16_FINISH_MAX bytes, or SIZE_MAX if OUTCAP is smaller). *ODD (may be
 * NULL) is set when an odd byte was left over. */
size_t utf16_finish(utf16_dec *d, char *out, size_t outcap, bool *odd);

#endif
