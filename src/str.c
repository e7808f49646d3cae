/* str.c — bounded string copies (include/str.h). Pure, no allocation. */
#include "str.h"

#include <string.h>

char *str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

char *str_copy_utf8(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap) : 0;
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;                /* src[n] continues a sequence: cut before it */
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
    return dst;
}

char *str_copy_lower(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
    dst[n] = '\0';
    return dst;
}
