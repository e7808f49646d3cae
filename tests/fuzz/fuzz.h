/* fuzz.h — helpers shared by the fuzz targets in tests/fuzz/ (header-only).
 *
 * Owns nothing global: FUZZ_CHECK turns a violated property into an abort()
 * (libFuzzer and the ASan replay build both report it with a stack trace),
 * and fuzz_memfd() gives a byte buffer a file path for code that only opens
 * paths (csvio_open, world_load) without touching the disk.
 */
#ifndef MAILVET_FUZZ_H
#define MAILVET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property of the code under test does not hold: report it and crash, so
 * the input is kept as a finding. */
#define FUZZ_CHECK(cond)                                                               \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz: property failed: %s (%s:%d)\n", #cond, __FILE__,    \
                    __LINE__);                                                         \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Write N bytes into a fresh memfd; PATH (>= 32 bytes) receives a name that
 * open() accepts. Returns the fd (the caller closes it) or -1. */
static inline int fuzz_memfd(const void *p, size_t n, char *path, size_t pathlen)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *c = p;
    while (n > 0) {
        ssize_t k = write(fd, c, n);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

/* Bytes of input consumed front to back; reads past the end give 0. */
typedef struct fuzz_in {
    const uint8_t *p;
    size_t n;
} fuzz_in;

static inline unsigned fuzz_byte(fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

#endif
