/* tls_cache.c — resumable client TLS sessions, a slot of the newest few
 * for each server name.
 *
 * Why: a list's addresses at one provider come in many sessions to the same
 * few MX hosts, and a full handshake is the client's costliest step after
 * the TCP connect (world-1 `perf`: tls_handshake 5.7% of mailvet's samples
 * for 275 handshakes). A resumed one sends and checks no certificate, on
 * the server's side too. Postfix keeps the same kind of cache (tlsmgr).
 *
 * Ownership: a slot holds one reference to each of its sessions; take()
 * passes the newest to the caller (TLS 1.3) or adds one (older versions,
 * reusable). Two a slot because a TLS 1.3 server sends two tickets a
 * handshake and sessions to one host often start together: with one, 16 of
 * world-1's 56 handshakes with its biggest host were full ones.
 * Threads: one mutex around the table; put and take are a few loads.
 */
#include "tls_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "htab.h"
#include "str.h"

typedef struct {
    char name[256];           /* DNS names are at most 253 bytes */
    SSL_SESSION *sess[TLS_CACHE_DEPTH];   /* oldest first; n of them */
    size_t n;
} slot;

static slot slots[TLS_CACHE_SLOTS];
static size_t held;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static slot *slot_for(const char *name)
{
    return &slots[htab_hash_str(name) % TLS_CACHE_SLOTS];
}

static bool single_use(const SSL_SESSION *sess)
{
    return SSL_SESSION_get_protocol_version(sess) >= TLS1_3_VERSION;
}

/* Whether SESS encodes in TLS_CACHE_SESSION_MAX bytes; one that cannot be
 * encoded is not kept either. */
static bool small_enough(const SSL_SESSION *sess)
{
    int n = i2d_SSL_SESSION((SSL_SESSION *)sess, NULL);
    return n > 0 && n <= TLS_CACHE_SESSION_MAX;
}

/* Takes S's newest session out of the slot (its reference with it). */
static SSL_SESSION *slot_pop(slot *s)
{
    held--;
    return s->sess[--s->n];
}

/* Empties S into OUT (freed by the caller, outside the lock). */
static size_t slot_empty(slot *s, SSL_SESSION **out)
{
    size_t n = s->n;
    memcpy(out, s->sess, n * sizeof *out);
    held -= n;
    s->n = 0;
    return n;
}

void tls_cache_put(const char *name, SSL_SESSION *sess)
{
    if (!sess)
        return;
    if (!name || !*name || strlen(name) >= sizeof slots[0].name ||
        !SSL_SESSION_is_resumable(sess) || !small_enough(sess)) {
        SSL_SESSION_free(sess);
        return;
    }
    SSL_SESSION *drop[TLS_CACHE_DEPTH];
    size_t ndrop = 0;
    pthread_mutex_lock(&lock);
    slot *s = slot_for(name);
    if (s->n && strcmp(s->name, name) != 0) {
        ndrop = slot_empty(s, drop);            /* another name had the slot */
    } else if (s->n == TLS_CACHE_DEPTH) {
        drop[ndrop++] = s->sess[0];             /* the oldest goes */
        memmove(s->sess, s->sess + 1, (TLS_CACHE_DEPTH - 1) * sizeof s->sess[0]);
        s->sess[--s->n] = NULL;
        held--;
    }
    str_copy(s->name, sizeof s->name, name);
    s->sess[s->n++] = sess;
    held++;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < ndrop; i++)
        SSL_SESSION_free(drop[i]);              /* outside the lock: frees a certificate */
}

SSL_SESSION *tls_cache_take(const char *name)
{
    if (!name || !*name)
        return NULL;
    SSL_SESSION *got = NULL, *drop[TLS_CACHE_DEPTH];
    size_t ndrop = 0;
    pthread_mutex_lock(&lock);
    slot *s = slot_for(name);
    while (!got && s->n && strcmp(s->name, name) == 0) {
        SSL_SESSION *newest = s->sess[s->n - 1];      /* the newest lives longest */
        if (!SSL_SESSION_is_resumable(newest))
            drop[ndrop++] = slot_pop(s);  /* OpenSSL marked it: its connection failed */
        else if (single_use(newest))
            got = slot_pop(s);
        else if (SSL_SESSION_up_ref(newest))
            got = newest;
        else
            break;
    }
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < ndrop; i++)
        SSL_SESSION_free(drop[i]);
    return got;
}

size_t tls_cache_count(void)
{
    pthread_mutex_lock(&lock);
    size_t n = held;
    pthread_mutex_unlock(&lock);
    return n;
}

void tls_cache_clear(void)
{
    for (size_t i = 0; i < TLS_CACHE_SLOTS; i++) {
        SSL_SESSION *drop[TLS_CACHE_DEPTH];
        pthread_mutex_lock(&lock);
        size_t n = slot_empty(&slots[i], drop);
        pthread_mutex_unlock(&lock);
        for (size_t k = 0; k < n; k++)
            SSL_SESSION_free(drop[k]);
    }
}
