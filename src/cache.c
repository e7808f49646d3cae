/* cache.c — the verdict cache file from the outside: opening it (checks
 * and creation, cache_open) and the feeder's look-ups (cache_lookup). The
 * writer thread is cache_writer.c.
 *
 * Refuses what is not ours, like a state file is refused, and leaves it
 * as it is: a file that is not SQLite, an SQLite database without our
 * application_id, another format, a damaged one (quick_check), one locked
 * by another program beyond the busy timeout. A missing file is created
 * mode 0600 (umask 077 while SQLite makes its -wal and -shm). An empty
 * file (0 bytes, or an SQLite database without tables) is made a cache in
 * place, inside a write transaction, so two runs creating one cache at
 * once make it once.
 *
 * Ownership: cache_open() returns a handle freed by cache_close(); it
 * holds its own copies, nothing points into SQLite's memory.
 */
#include "cache.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_policy.h"
#include "dbcheck.h"
#include "dns_addr.h"
#include "screen.h"
#include "str.h"

#define OPEN_BUSY_MS 5000           /* waiting for another run's transaction at open */
#define READS_PER_TXN 256           /* look-ups that share one read transaction */

static const char schema_sql[] =
    "CREATE TABLE mailboxes(email TEXT PRIMARY KEY, reason TEXT NOT NULL, accept_all INTEGER,"
    " mx TEXT, smtp_code INTEGER, smtp_enhanced TEXT, smtp_text TEXT, mx_ip TEXT,"
    " attempts INTEGER, checked_at INTEGER NOT NULL, batch INTEGER) WITHOUT ROWID;"
    "CREATE TABLE domains(domain TEXT PRIMARY KEY, fact TEXT NOT NULL,"
    " checked_at INTEGER NOT NULL, batch INTEGER) WITHOUT ROWID;";

struct cache {
    sqlite3 *db;
    sqlite3_stmt *get_mailbox, *get_domain;
    uint64_t hits;
    int reads;                      /* look-ups in the open read transaction; 0: none */
    char path[PATH_MAX];
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* An SQLite failure RC while opening C, in a user's words. */
static int db_fail(cache *c, int rc, char *err, size_t errlen)
{
    switch (rc & 0xff) {
    case SQLITE_BUSY: case SQLITE_LOCKED:
        seterr(err, errlen, "%s is locked by another program (waited %d s); try again when it "
               "has finished", c->path, OPEN_BUSY_MS / 1000);
        break;
    case SQLITE_NOTADB:
        seterr(err, errlen, "%s is not a mailvet cache (not an SQLite database); give the path "
               "of a mailvet cache, or of a new file", c->path);
        break;
    case SQLITE_CORRUPT:
        seterr(err, errlen, "%s is damaged (%s); it was left as it is: delete it (the next runs "
               "fill a new one) or restore a copy", c->path, sqlite3_errmsg(c->db));
        break;
    case SQLITE_READONLY: case SQLITE_PERM: case SQLITE_CANTOPEN: case SQLITE_AUTH:
        seterr(err, errlen, "%s: cannot write the cache: %s", c->path, sqlite3_errmsg(c->db));
        break;
    default:
        seterr(err, errlen, "%s: %s", c->path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    }
    return -1;
}

/* The integer a one-value query (a pragma, a count) answers; SQLite's
 * error code (negated) when it fails. */
static int64_t query_int(sqlite3 *db, const char *sql, int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    *rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (*rc == SQLITE_OK && (*rc = sqlite3_step(st)) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
        *rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return v;
}

/* ---- the file ---- */

/* PATH exists as a regular file (made, 0600, when missing and CREATE);
 * *EMPTY when it has no bytes; a non-empty file must start as SQLite does. */
static int check_file(const char *path, int flags, bool *empty, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT || !(flags & CACHE_OPEN_CREATE)) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0 && errno != EEXIST) {
            seterr(err, errlen, "%s: cannot create the cache: %s", path, strerror(errno));
            return -1;
        }
        if (fd >= 0)
            close(fd);
        if (stat(path, &st) != 0) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        seterr(err, errlen, "%s is not a regular file; the cache must be one", path);
        return -1;
    }
    *empty = st.st_size == 0;
    if (*empty)
        return 0;
    char hdr[16];
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    bool sqlite = fd >= 0 && pread(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr &&
                  memcmp(hdr, "SQLite format 3", 16) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (fd < 0)
        seterr(err, errlen, "%s: %s", path, strerror(e));
    else if (!sqlite)
        seterr(err, errlen, "%s is not a mailvet cache (not an SQLite database); give the path "
               "of a mailvet cache, or of a new file", path);
    return fd >= 0 && sqlite ? 0 : -1;
}

/* What the database says it is: 1 ours, 0 empty (no id, no table), -1
 * refused (ERR). */
static int identify(cache *c, char *err, size_t errlen)
{
    int rc;
    int64_t id = query_int(c->db, "PRAGMA application_id", &rc);
    int64_t tables = rc == SQLITE_OK ? query_int(c->db, "SELECT count(*) FROM sqlite_master", &rc) : 0;
    int64_t version = rc == SQLITE_OK ? query_int(c->db, "PRAGMA user_version", &rc) : 0;
    if (rc != SQLITE_OK)
        return db_fail(c, rc, err, errlen);
    if (id == 0 && tables == 0)
        return 0;
    if (id != CACHE_APPLICATION_ID) {
        seterr(err, errlen, "%s is an SQLite database but not a mailvet cache; it was left as it "
               "is: give the path of a mailvet cache, or of a new file", c->path);
        return -1;
    }
    if (version != CACHE_FORMAT_VERSION) {
        seterr(err, errlen, "%s is a mailvet cache of format %lld; this mailvet reads format %d "
               "(use another file)", c->path, (long long)version, CACHE_FORMAT_VERSION);
        return -1;
    }
    return 1;
}

/* A damaged cache is refused, never patched: quick_check reads the file
 * once (b-trees and records, no index cross-check). */
static int check_intact(cache *c, char *err, size_t errlen)
{
    char what[200];
    int rc, whole = dbcheck_intact(c->db, what, sizeof what, &rc);
    if (whole < 0)
        return db_fail(c, rc, err, errlen);
    if (whole)
        return 0;
    seterr(err, errlen, "%s is damaged (%s); it was left as it is: delete it (the next runs fill "
           "a new one) or restore a copy", c->path, what);
    return -1;
}

/* Make an empty database a cache, unless another run did it first (the
 * check is repeated under the write lock). */
static int create_schema(cache *c, char *err, size_t errlen)
{
    char sql[sizeof schema_sql + 128];
    snprintf(sql, sizeof sql, "%sPRAGMA application_id = %d; PRAGMA user_version = %d;",
             schema_sql, CACHE_APPLICATION_ID, CACHE_FORMAT_VERSION);
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return db_fail(c, rc, err, errlen);
    int ours = identify(c, err, errlen);
    if (ours == 0 && (rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
        ours = db_fail(c, rc, err, errlen);
    if (ours < 0) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if ((rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
        db_fail(c, rc, err, errlen);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

/* WAL (readers beside one writer), and a write transaction taken and
 * given back at once: a file another program keeps locked is refused now,
 * not discovered by the writer later. */
static int ready_to_write(cache *c, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char mode[16] = "";
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        str_copy(mode, sizeof mode, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW)
        return db_fail(c, rc, err, errlen);
    if (strcmp(mode, "wal") != 0) {
        seterr(err, errlen, "%s: cannot use write-ahead logging (journal mode %s)", c->path, mode);
        return -1;
    }
    if ((rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
        return db_fail(c, rc, err, errlen);
    if ((rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        return db_fail(c, rc, err, errlen);
    }
    return 0;
}

static int prepare(cache *c, char *err, size_t errlen)
{
    static const char mb[] =
        "SELECT reason, accept_all, mx, smtp_code, smtp_enhanced, smtp_text, mx_ip, attempts,"
        " checked_at FROM mailboxes WHERE email = ?1 AND coalesce(batch, 0) <> ?2";
    static const char dom[] =
        "SELECT fact, checked_at FROM domains WHERE domain = ?1 AND coalesce(batch, 0) <> ?2";
    int rc = sqlite3_prepare_v3(c->db, mb, -1, SQLITE_PREPARE_PERSISTENT, &c->get_mailbox, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(c->db, dom, -1, SQLITE_PREPARE_PERSISTENT, &c->get_domain, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(c, rc, err, errlen);
}

static int open_cache(cache *c, int flags, char *err, size_t errlen)
{
    bool empty;
    if (check_file(c->path, flags, &empty, err, errlen) != 0)
        return -1;
    bool writable = (flags & CACHE_OPEN_WRITE) || access(c->path, W_OK) == 0;
    int rc = sqlite3_open_v2(c->path, &c->db, (writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
                             SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return db_fail(c, rc, err, errlen);
    sqlite3_busy_timeout(c->db, OPEN_BUSY_MS);
    sqlite3_extended_result_codes(c->db, 1);
    int ours = empty ? 0 : identify(c, err, errlen);
    if (ours < 0)
        return -1;
    if (ours == 0 && !(flags & CACHE_OPEN_CREATE)) {
        seterr(err, errlen, "%s is empty, not a mailvet cache (a run with --cache makes one)",
               c->path);
        return -1;
    }
    if (ours == 1 && check_intact(c, err, errlen) != 0)
        return -1;
    if (ours == 0 && create_schema(c, err, errlen) != 0)
        return -1;
    if ((flags & CACHE_OPEN_WRITE) && ready_to_write(c, err, errlen) != 0)
        return -1;
    if (sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(c, sqlite3_errcode(c->db), err, errlen);
    return prepare(c, err, errlen);
}

int cache_open(const char *path, int flags, cache **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path || strlen(path) >= PATH_MAX) {
        seterr(err, errlen, "invalid cache file path");
        return -1;
    }
    cache *c = calloc(1, sizeof *c);
    if (!c) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    str_copy(c->path, sizeof c->path, path);
    mode_t old = umask(077);
    int rc = open_cache(c, flags, err, errlen);
    umask(old);
    if (rc != 0) {
        cache_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

void cache_close(cache *c)
{
    if (!c)
        return;
    cache_end_reads(c);
    sqlite3_finalize(c->get_mailbox);
    sqlite3_finalize(c->get_domain);
    sqlite3_close_v2(c->db);
    free(c);
}

const char *cache_path(const cache *c)
{
    return c->path;
}

struct sqlite3 *cache_db(cache *c)
{
    return c->db;
}

uint64_t cache_hits(const cache *c)
{
    return c ? c->hits : 0;
}

/* ---- look-ups ---- */

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* An answer given by an MX that is not public is not reused without
 * --allow-private-mx: that run would have refused to ask it. */
static bool private_ip(const char *ip)
{
    uint32_t v4;
    uint8_t v6[16];
    if (inet_pton(AF_INET, ip, &v4) == 1)
        return !dns_addr_v4_public(ntohl(v4));
    if (inet_pton(AF_INET6, ip, v6) == 1)
        return !dns_addr_v6_public(v6);
    return false;
}

/* EMAIL's mailbox entry into F and GOT (the reply and evidence). */
static void read_mailbox(cache *c, const cache_run *run, const char *email, cache_found *f,
                         result *got)
{
    sqlite3_stmt *st = c->get_mailbox;
    sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run->batch);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int reason = verdict_reason_parse(col_text(st, 0));
        f->mailbox = reason >= 0;
        f->reason = reason >= 0 ? (verdict_reason)reason : REASON_UNVERIFIED;
        f->accept_all = sqlite3_column_type(st, 1) == SQLITE_NULL ? TRI_UNSET
                        : sqlite3_column_int(st, 1) ? TRI_TRUE : TRI_FALSE;
        str_copy(got->mx, sizeof got->mx, col_text(st, 2));
        got->smtp_code = sqlite3_column_int(st, 3);
        str_copy(got->smtp_enhanced, sizeof got->smtp_enhanced, col_text(st, 4));
        str_copy(got->smtp_text, sizeof got->smtp_text, col_text(st, 5));
        str_copy(got->mx_ip, sizeof got->mx_ip, col_text(st, 6));
        got->attempts = sqlite3_column_int(st, 7);
        f->at = sqlite3_column_int64(st, 8);
        if (!run->allow_private_mx && got->mx_ip[0] && private_ip(got->mx_ip))
            f->mailbox = false;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void read_domain(cache *c, const cache_run *run, const char *domain, cache_found *f)
{
    sqlite3_stmt *st = c->get_domain;
    sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, run->batch);
    if (sqlite3_step(st) == SQLITE_ROW) {
        f->fact = cache_fact_parse(col_text(st, 0));
        f->fact_at = sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* R takes the verdict the cache decided (USE) from F and GOT. */
static void take(result *r, cache_use use, const cache_found *f, const result *got)
{
    if (use == CACHE_USE_MAILBOX) {
        r->reason = f->reason;
        r->accept_all = f->accept_all;
        str_copy(r->mx, sizeof r->mx, got->mx);
        r->smtp_code = got->smtp_code;
        str_copy(r->smtp_enhanced, sizeof r->smtp_enhanced, got->smtp_enhanced);
        str_copy(r->smtp_text, sizeof r->smtp_text, got->smtp_text);
        str_copy(r->mx_ip, sizeof r->mx_ip, got->mx_ip);
        r->attempts = got->attempts;
        r->checked_at = f->at;
    } else {                                  /* the domain's DNS fact */
        r->reason = (verdict_reason)cache_fact_reason(f->fact);
        r->accept_all = TRI_UNSET;
        r->mx[0] = r->smtp_enhanced[0] = r->smtp_text[0] = r->mx_ip[0] = '\0';
        r->smtp_code = 0;
        r->attempts = 0;
        r->checked_at = f->fact_at;
    }
    str_copy(r->route, sizeof r->route, "cache");
    screen_rescore(r, false);
}

/* Look-ups share a read transaction (each of its own would lock and
 * check the file twice); it ends after READS_PER_TXN of them, at a miss
 * (the row goes to the batch, whose window may make the feeder wait: a
 * reader held that long would keep the WAL from being checkpointed), and
 * at cache_end_reads(). */
static void read_begin(cache *c)
{
    if (c->reads == 0 && sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return;
    c->reads++;
}

void cache_end_reads(cache *c)
{
    if (c && c->reads) {
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
        c->reads = 0;
    }
}

bool cache_lookup(cache *c, const cache_run *run, result *r, const addr *a, int64_t now,
                  result_tri *learn)
{
    *learn = TRI_UNSET;
    if (!c || run->max_age <= 0 || !r->email[0])
        return false;
    cache_found f = {.accept_all = TRI_UNSET, .fact = CACHE_FACT_NONE};
    result got;
    result_init(&got);
    read_begin(c);
    read_mailbox(c, run, r->email, &f, &got);
    read_domain(c, run, a->ascii_domain, &f);
    cache_ages ages;
    cache_ages_from(run->max_age, &ages);
    cache_decision d = cache_decide(&f, now, &ages, run->smtp);
    *learn = d.learn;
    if (d.use == CACHE_USE_PROBE || c->reads >= READS_PER_TXN)
        cache_end_reads(c);
    if (d.use == CACHE_USE_PROBE)
        return false;
    take(r, d.use, &f, &got);
    c->hits++;
    return true;
}
