/* state.c — a batch's durable state in one SQLite file: schema, identity
 * check, resume loads, the output cursor, and the batched writer thread.
 *
 * Ownership: state_open() returns a handle the caller frees with
 * state_close(); a cursor from state_results() is freed with
 * state_cursor_free() before the handle is closed; a writer from
 * state_writer_start() is freed by state_writer_stop(). Bitmaps from
 * state_finished_rows() belong to the caller. Nothing returned points into
 * SQLite's memory.
 *
 * Files: a new state file is built under a temporary name (mode 0600) and
 * linked into place only once its schema and identity are committed, so a
 * crash never leaves a half-made state at PATH. The file stays flock()ed
 * while a `clean` run has it open: two runs cannot share one state.
 *
 * Durability: WAL with synchronous=FULL. The writer commits a few times a
 * second, so the fsync per commit is cheap, and a committed row survives
 * power loss too, not only a killed process (NORMAL would survive kill -9
 * but could lose the last second before a power cut).
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "str.h"

#define HEAD_BYTES (1u << 20)      /* the part of INPUT that is hashed */
#define BUSY_TIMEOUT_MS 5000
#define META_KEY_MAX 256
#define META_VALUE_MAX (64u << 10)
#define QUEUE_RECS 8192            /* records per writer batch (two batches) */
#define QUEUE_TEXT (2u << 20)      /* string bytes per writer batch */
#define COMMIT_NS 500000000LL      /* commit at least this often (SPEC: 1 s) */
#define CHECKPOINT_PAGES 4096      /* WAL pages before an automatic checkpoint */

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE results(row INTEGER PRIMARY KEY, email TEXT, domain TEXT, status TEXT,"
    " reason TEXT, risk INTEGER, did_you_mean TEXT, role INTEGER, free INTEGER,"
    " disposable INTEGER, accept_all INTEGER NULL, mx TEXT, smtp_code INTEGER,"
    " smtp_enhanced TEXT, smtp_text TEXT, attempts INTEGER);"
    "CREATE TABLE retries(row INTEGER PRIMARY KEY, due REAL, attempts INTEGER,"
    " email TEXT, domain TEXT, reason TEXT, smtp_code INTEGER, smtp_enhanced TEXT,"
    " smtp_text TEXT, mx TEXT);"
    "CREATE TABLE domains(domain TEXT PRIMARY KEY, accept_all INTEGER NULL, mx TEXT);"
    "CREATE TABLE hosts(host TEXT PRIMARY KEY, ip TEXT, sessions INTEGER, timeouts INTEGER,"
    " blocks INTEGER, rcpt_cap INTEGER, last_code INTEGER, last_enhanced TEXT,"
    " last_text TEXT);";

static const char result_cols[] =
    "row, email, reason, risk, did_you_mean, role, free, disposable, accept_all, mx,"
    " smtp_code, smtp_enhanced, smtp_text, attempts";

struct state {
    sqlite3 *db;
    int lock_fd;                 /* holds the flock (clean runs); -1 if none */
    struct state_writer *writer; /* non-NULL while the writer owns DB */
    sqlite3_stmt *meta_get, *meta_set;
    char path[PATH_MAX];
};

struct state_cursor {
    sqlite3_stmt *st;
    bool done;          /* SQLite would restart a finished statement: stay at the end */
};

/* ---- small helpers ---- */

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

/* Append to a bounded message; *USED never passes LEN - 1. */
static void msg_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void msg_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n < len - *used ? (size_t)n : len - *used - 1;
}

/* Column I of ST as text into DST (CAP bytes); NULL reads as "". */
static void col_str(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    str_copy(dst, cap, (const char *)sqlite3_column_text(st, i));
}

static result_tri col_tri(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL)
        return TRI_UNSET;
    return sqlite3_column_int(st, i) ? TRI_TRUE : TRI_FALSE;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* ---- identity ---- */

int state_identify(const char *path, state_identity *id, char *err, size_t errlen)
{
    if (!path || strcmp(path, "-") == 0) {
        seterr(err, errlen, "resume is not available when INPUT is standard input");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        seterr(err, errlen, "%s: not a regular file; resume needs one", path);
        close(fd);
        return -1;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[16384], md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    size_t total = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while (ok && total < HEAD_BYTES) {
        size_t want = HEAD_BYTES - total < sizeof buf ? HEAD_BYTES - total : sizeof buf;
        ssize_t n = read(fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            ok = -1;
            break;
        }
        if (n == 0)
            break;
        ok = EVP_DigestUpdate(ctx, buf, (size_t)n);
        total += (size_t)n;
    }
    if (ok == 1)
        ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    close(fd);
    if (ok != 1 || mdlen != 32) {
        if (ok != -1)
            seterr(err, errlen, "%s: cannot compute SHA-256", path);
        return -1;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(id->head_sha256 + 2 * i, 3, "%02x", md[i]);
    id->input_path = path;          /* id->options stays the caller's */
    id->input_size = (uint64_t)st.st_size;
    id->input_mtime = (int64_t)st.st_mtim.tv_sec;
    return 0;
}

/* ---- meta ---- */

static int meta_put(state *s, const char *key, const char *value)
{
    sqlite3_stmt *st = s->meta_set;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value ? value : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int state_meta_set(state *s, const char *key, const char *value)
{
    if (!s || s->writer || !key)
        return -1;              /* the writer thread owns the connection */
    return meta_put(s, key, value);
}

bool state_meta_get(state *s, const char *key, char *buf, size_t len)
{
    if (!s || s->writer || !key || !buf || !len)
        return false;
    sqlite3_stmt *st = s->meta_get;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found)
        col_str(st, 0, buf, len);   /* truncated to LEN - 1 bytes */
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return found;
}

/* ---- opening ---- */

static bool has_sqlite_magic(int fd, off_t *size)
{
    struct stat st;
    char hdr[16];
    if (fstat(fd, &st) != 0)
        return false;
    *size = st.st_size;
    return pread(fd, hdr, sizeof hdr, 0) == (ssize_t)sizeof hdr &&
           memcmp(hdr, "SQLite format 3", 16) == 0;
}

static int db_open(const char *path, int flags, sqlite3 **db, char *err, size_t errlen)
{
    int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        seterr(err, errlen, "%s: cannot open state file: %s", path,
               *db ? sqlite3_errmsg(*db) : sqlite3_errstr(rc));
        sqlite3_close(*db);
        *db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(*db, 1);
    return 0;
}

/* Read meta key format_version without writing anything: 1 found (into
 * VER), 0 no such key/table (not ours), -1 SQLite error (ERR). */
static int read_format_version(sqlite3 *db, const char *path, char *ver, size_t len, char *err,
                               size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'format_version'", -1,
                                &st, NULL);
    if (rc != SQLITE_OK) {
        int base = rc & 0xff;
        if (base == SQLITE_ERROR && strstr(sqlite3_errmsg(db), "no such table"))
            return 0;
        seterr(err, errlen, "%s is unreadable or damaged (%s); delete it to start over, or "
               "use another --state", path, sqlite3_errmsg(db));
        return -1;
    }
    rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found)
        col_str(st, 0, ver, len);
    else if (rc != SQLITE_DONE)
        seterr(err, errlen, "%s is unreadable or damaged (%s); delete it to start over, or "
               "use another --state", path, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

static int tables_count(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int lock_fd(int fd, const char *path, char *err, size_t errlen)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno == EWOULDBLOCK)
        seterr(err, errlen, "%s is in use by another mailvet run", path);
    else
        seterr(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
    return -1;
}

/* --restart: delete PATH (and its -wal/-shm), but only when it is a
 * mailvet state, an empty file or an empty SQLite file: a mistyped --state
 * must not destroy someone's data. */
static int discard(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    off_t size = 0;
    int ok = lock_fd(fd, path, err, errlen) == 0;
    if (ok && has_sqlite_magic(fd, &size)) {
        sqlite3 *db = NULL;
        char ver[32];
        ok = db_open(path, SQLITE_OPEN_READWRITE, &db, err, errlen) == 0;
        /* a damaged file might be anyone's: the user deletes it, not us */
        int r = ok ? read_format_version(db, path, ver, sizeof ver, err, errlen) : -1;
        if (ok && r == 0 && tables_count(db) != 0) {
            seterr(err, errlen, "%s is an SQLite database but not a mailvet state file; "
                   "refusing to delete it with --restart (check --state)", path);
            ok = 0;
        }
        ok = ok && r >= 0;
        sqlite3_close(db);
    } else if (ok && size != 0) {
        seterr(err, errlen, "%s is not a mailvet state file (not an SQLite database); "
               "refusing to delete it with --restart (check --state)", path);
        ok = 0;
    }
    if (ok) {
        static const char *const sfx[] = {"-wal", "-shm", "-journal", ""};
        char p[PATH_MAX + 16];
        for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
            snprintf(p, sizeof p, "%s%s", path, sfx[i]);
            if (unlink(p) != 0 && errno != ENOENT) {
                seterr(err, errlen, "%s: cannot delete: %s", p, strerror(errno));
                ok = 0;
                break;
            }
        }
    }
    close(fd);
    return ok ? 0 : -1;
}

static void fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    str_copy(dir, sizeof dir, path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        str_copy(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* The level= field of the canonical options text, for reports. */
static void options_level(const char *options, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *p = options ? strstr(options, "level=") : NULL;
    if (p && (p == options || p[-1] == ';')) {
        p += 6;
        size_t n = strcspn(p, ";");
        if (n >= len)
            n = len - 1;
        memcpy(buf, p, n);
        buf[n] = '\0';
    }
}

static int write_new_schema(sqlite3 *db, const state_identity *id)
{
    char size[32], mtime[32], now[32], level[64];
    snprintf(size, sizeof size, "%llu", (unsigned long long)id->input_size);
    snprintf(mtime, sizeof mtime, "%lld", (long long)id->input_mtime);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    options_level(id->options, level, sizeof level);
    const char *kv[][2] = {
        {"format_version", "1"}, {"input_path", id->input_path}, {"input_size", size},
        {"input_mtime", mtime}, {"input_head_sha256", id->head_sha256},
        {"options", id->options}, {"started_at", now}, {"updated_at", now},
        {"finished_at", ""}, {"elapsed_s", "0"}, {"retries_used", "0"}, {"level", level},
    };
    sqlite3_stmt *st = NULL;
    int rc = exec(db, "PRAGMA journal_mode=WAL");
    if (rc == SQLITE_OK)
        rc = exec(db, "BEGIN");
    if (rc == SQLITE_OK)
        rc = exec(db, schema_sql);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT INTO meta VALUES(?, ?)", -1, &st, NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < sizeof kv / sizeof *kv; i++) {
        sqlite3_bind_text(st, 1, kv[i][0], -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kv[i][1] ? kv[i][1] : "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = exec(db, "COMMIT");
    return rc == SQLITE_OK ? 0 : -1;
}

/* Give the finished file TMP its name PATH without replacing a file that
 * appeared meanwhile; rename where the file system has no hard links. */
static int place(const char *tmp, const char *path)
{
    if (link(tmp, path) == 0)
        return 0;
    if (errno != EPERM && errno != ENOTSUP && errno != EOPNOTSUPP && errno != ENOSYS)
        return -1;
    if (access(path, F_OK) == 0) {
        errno = EEXIST;
        return -1;
    }
    return rename(tmp, path);
}

/* Build a new state under a temporary name and link it to PATH (never
 * replacing a file). Returns the locked fd of the new file, or -1. */
static int create_state(const char *path, const state_identity *id, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 16];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.new-XXXXXX", path) >= sizeof tmp) {
        seterr(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);      /* mode 0600 */
    if (fd < 0) {
        seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    fchmod(fd, 0600);
    flock(fd, LOCK_EX);                     /* new inode: nobody else has it */
    sqlite3 *db = NULL;
    int ok = db_open(tmp, SQLITE_OPEN_READWRITE, &db, err, errlen) == 0;
    if (ok && write_new_schema(db, id) != 0) {
        seterr(err, errlen, "%s: cannot write the state file: %s", path, sqlite3_errmsg(db));
        ok = 0;
    }
    if (db && sqlite3_close(db) != SQLITE_OK)   /* checkpoints, removes tmp-wal */
        ok = 0;
    if (ok && fsync(fd) != 0) {
        seterr(err, errlen, "%s: %s", tmp, strerror(errno));
        ok = 0;
    }
    if (ok && place(tmp, path) != 0) {
        seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        ok = 0;
    }
    unlink(tmp);
    if (!ok) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s-wal", tmp);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", tmp);
        unlink(p);
        close(fd);
        return -1;
    }
    fsync_dir_of(path);
    return fd;
}

/* Is S's file ours and of this format? */
static int check_format(state *s, char *err, size_t errlen)
{
    char ver[32];
    int r = read_format_version(s->db, s->path, ver, sizeof ver, err, errlen);
    if (r == 0) {
        seterr(err, errlen, "%s is not a mailvet state file (an SQLite database without "
               "mailvet's meta table); check --state", s->path);
        return -1;
    }
    if (r < 0)
        return -1;
    if (strcmp(ver, "1") != 0) {
        seterr(err, errlen, "%s has state format version %s, this mailvet reads version %d; "
               "rerun with --restart to start over, or use another --state", s->path, ver,
               STATE_FORMAT_VERSION);
        return -1;
    }
    return 0;
}

/* A resumed file must be whole: SQLite's quick_check (b-trees, records,
 * no index cross-check) costs a read of the file, once per run; a damaged
 * state is refused and left as it is, never patched or restarted. */
static int check_intact(state *s, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    char what[160] = "";
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        col_str(st, 0, what, sizeof what);
    if (rc != SQLITE_ROW)
        str_copy(what, sizeof what, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    if (strcmp(what, "ok") == 0)
        return 0;
    const char *banner = "*** in database main ***\n";   /* SQLite's preamble: noise here */
    char *p = strncmp(what, banner, strlen(banner)) == 0 ? what + strlen(banner) : what;
    for (char *q = p; *q; q++)
        if (*q == '\n')
            *q = ' ';
    seterr(err, errlen, "%s is damaged (%s); it was left as it is: restore it from a copy, "
           "or rerun with --restart to start over (its progress is lost)", s->path, p);
    return -1;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm))
        snprintf(buf, len, "%lld", (long long)t);
}

/* One "key=value" field of a canonical options text. */
typedef struct optfield {
    const char *key, *val;
    int klen, vlen;
} optfield;

#define OPT_FIELDS_MAX 64

static size_t split_options(const char *text, optfield *f, size_t max)
{
    size_t n = 0;
    for (const char *p = text; *p && n < max;) {
        int flen = (int)strcspn(p, ";"), klen = (int)strcspn(p, "=;");
        int skip = klen < flen;          /* the '=' */
        f[n++] = (optfield){p, p + klen + skip, klen, flen - klen - skip};
        p += flen + (p[flen] == ';');
    }
    return n;
}

static const optfield *find_option(const optfield *f, size_t n, const optfield *key)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].klen == key->klen && memcmp(f[i].key, key->key, (size_t)key->klen) == 0)
            return &f[i];
    return NULL;
}

/* Differences between the stored options OLD and NEW ("k=v;k=v"), as
 * "level smtp → dns; port 25 → 2525"; a key on one side only shows
 * "(unset)" on the other. */
static void diff_options(const char *old, const char *new, char *out, size_t len)
{
    optfield of[OPT_FIELDS_MAX], nf[OPT_FIELDS_MAX];
    size_t on = split_options(old, of, OPT_FIELDS_MAX), nn = split_options(new, nf, OPT_FIELDS_MAX);
    static const optfield unset = {"", "(unset)", 0, 7};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < on + nn; i++) {
        bool from_old = i < on;
        const optfield *a = from_old ? &of[i] : &nf[i - on];
        const optfield *b = find_option(from_old ? nf : of, from_old ? nn : on, a);
        if (!from_old && b)
            continue;                    /* already compared from the old side */
        if (b && b->vlen == a->vlen && memcmp(b->val, a->val, (size_t)a->vlen) == 0)
            continue;
        const optfield *o = from_old ? a : &unset, *n = from_old ? (b ? b : &unset) : a;
        msg_add(out, len, &used, "%s%.*s %.*s → %.*s", used ? "; " : "", a->klen, a->key,
                o->vlen, o->val, n->vlen, n->val);
    }
    if (!used)                           /* same fields, other spelling */
        msg_add(out, len, &used, "%s → %s", old, new);
}

/* Compare the stored identity with ID; ERR names every difference. */
static int check_identity(state *s, const state_identity *id, char *err, size_t errlen)
{
    char size[32] = "", mtime[32] = "", sha[80] = "", opts[8192] = "";
    state_meta_get(s, "input_size", size, sizeof size);
    state_meta_get(s, "input_mtime", mtime, sizeof mtime);
    state_meta_get(s, "input_head_sha256", sha, sizeof sha);
    state_meta_get(s, "options", opts, sizeof opts);

    char what[512] = "";
    size_t w = 0;
    unsigned long long old_size = strtoull(size, NULL, 10);
    long long old_mtime = strtoll(mtime, NULL, 10);
    if (old_size != id->input_size)
        msg_add(what, sizeof what, &w, "size %llu → %llu bytes", old_size,
                (unsigned long long)id->input_size);
    if (old_mtime != id->input_mtime) {
        char a[40], b[40];
        fmt_time(old_mtime, a, sizeof a);
        fmt_time(id->input_mtime, b, sizeof b);
        msg_add(what, sizeof what, &w, "%smodified %s → %s", w ? "; " : "", a, b);
    }
    if (strcmp(sha, id->head_sha256) != 0)
        msg_add(what, sizeof what, &w, "%sits first MiB differs", w ? "; " : "");

    const char *newopts = id->options ? id->options : "";
    char od[1024] = "";
    if (strcmp(opts, newopts) != 0)
        diff_options(opts, newopts, od, sizeof od);

    if (!w && !od[0])
        return 0;
    size_t used = 0;
    if (w)
        msg_add(err, errlen, &used, "INPUT %s has changed since this batch started (%s)",
                id->input_path ? id->input_path : "", what);
    if (od[0])
        msg_add(err, errlen, &used, "%sthese options differ from the batch being resumed: %s",
                used ? "; and " : "", od);
    msg_add(err, errlen, &used, "; rerun with --restart to start over, or use another --state");
    return -1;
}

static int prepare(state *s, sqlite3_stmt **st, const char *sql)
{
    return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
               ? 0 : -1;
}

/* After the format check: pragmas, statements, identity. */
static int setup(state *s, const state_identity *id, char *err, size_t errlen)
{
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-16384;"
             " PRAGMA wal_autocheckpoint=%d; PRAGMA journal_size_limit=%d;",
             CHECKPOINT_PAGES, 64 << 20);
    if (exec(s->db, pragmas) != SQLITE_OK ||
        prepare(s, &s->meta_get, "SELECT value FROM meta WHERE key = ?") ||
        prepare(s, &s->meta_set, "INSERT OR REPLACE INTO meta VALUES(?, ?)")) {
        seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (!id)
        return 0;
    if (check_identity(s, id, err, errlen))
        return -1;
    /* Same content under another name (the file was moved): follow it. */
    char old[PATH_MAX] = "";
    state_meta_get(s, "input_path", old, sizeof old);
    if (id->input_path && strcmp(old, id->input_path) != 0 &&
        meta_put(s, "input_path", id->input_path) != 0) {
        seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    return 0;
}

/* Open the existing file at S->path; FD is open on it (and locked). */
static int open_existing(state *s, int fd, char *err, size_t errlen)
{
    off_t size = 0;
    if (!has_sqlite_magic(fd, &size)) {
        if (size == 0)
            seterr(err, errlen, "%s is empty, not a mailvet state file; check --state, or "
                   "rerun with --restart", s->path);
        else
            seterr(err, errlen, "%s is not a mailvet state file (not an SQLite database); "
                   "check --state", s->path);
        return -1;
    }
    return db_open(s->path, SQLITE_OPEN_READWRITE, &s->db, err, errlen);
}

/* umask 077 while opening: SQLite creates -wal/-shm on first access with
 * the main file's mode; the umask keeps them private whatever that is. */
static int open_state(const char *path, const state_identity *id, bool restart, state **out,
                      char *err, size_t errlen);

int state_open(const char *path, const state_identity *id, bool restart, state **out,
               char *err, size_t errlen)
{
    mode_t old = umask(077);
    int rc = open_state(path, id, restart, out, err, errlen);
    umask(old);
    return rc;
}

static int open_state(const char *path, const state_identity *id, bool restart, state **out,
                      char *err, size_t errlen)
{
    *out = NULL;
    if (!path || !*path || strlen(path) >= PATH_MAX) {
        seterr(err, errlen, "invalid state file path");
        return -1;
    }
    if (restart && id && discard(path, err, errlen) != 0)
        return -1;
    state *s = calloc(1, sizeof *s);
    if (!s) {
        seterr(err, errlen, "out of memory");
        return -1;
    }
    str_copy(s->path, sizeof s->path, path);
    s->lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    bool fresh = false;
    if (s->lock_fd < 0 && errno == ENOENT && id) {
        s->lock_fd = create_state(path, id, err, errlen);
        fresh = true;
    } else if (s->lock_fd < 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
    } else if (id && lock_fd(s->lock_fd, path, err, errlen) != 0) {
        close(s->lock_fd);
        s->lock_fd = -1;
    }
    int rc = s->lock_fd >= 0 ? 0 : -1;
    if (rc == 0)
        rc = open_existing(s, s->lock_fd, err, errlen);
    if (rc == 0)
        rc = check_format(s, err, errlen);
    if (rc == 0 && !fresh)
        rc = check_intact(s, err, errlen);
    if (rc == 0)
        rc = setup(s, id, err, errlen);
    if (rc != 0) {
        state_close(s);
        return -1;
    }
    *out = s;
    return fresh ? 0 : 1;
}

void state_close(state *s)
{
    if (!s)
        return;
    if (s->writer)
        state_writer_stop(s->writer, NULL, 0);
    sqlite3_finalize(s->meta_get);
    sqlite3_finalize(s->meta_set);
    sqlite3_close_v2(s->db);    /* the last close checkpoints and removes the WAL */
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s);
}

/* ---- resume loads ---- */

static int query(state *s, sqlite3_stmt **st, const char *sql)
{
    if (!s || s->writer)
        return -1;
    return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : -1;
}

int state_finished_rows(state *s, uint8_t **bitmap, uint64_t *nbits)
{
    sqlite3_stmt *st = NULL;
    *bitmap = NULL;
    *nbits = 0;
    if (query(s, &st, "SELECT max(row) FROM results") || sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_int64 max = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1
                                                                   : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (max < 0)
        max = -1;
    if (max >= (sqlite3_int64)1 << 40)       /* not a row number we wrote */
        return -1;
    uint64_t n = (uint64_t)(max + 1);
    uint8_t *bm = calloc(n / 8 + 1, 1);
    if (!bm || query(s, &st, "SELECT row FROM results WHERE row >= 0")) {
        free(bm);
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint64_t row = (uint64_t)sqlite3_column_int64(st, 0);
        if (row >= n) {                       /* beyond max(row): a damaged b-tree */
            rc = SQLITE_CORRUPT;
            break;
        }
        bm[row / 8] |= (uint8_t)(1u << (row % 8));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        free(bm);
        return -1;
    }
    *bitmap = bm;
    *nbits = n;
    return 0;
}

/* Reason name → enum; unknown names are damage, not data. */
static int col_reason(sqlite3_stmt *st, int i, verdict_reason *out)
{
    const char *name = (const char *)sqlite3_column_text(st, i);
    int r = verdict_reason_parse(name ? name : "");
    if (r < 0)
        return -1;
    *out = (verdict_reason)r;
    return 0;
}

/* The state_each_* walks return 0 when done, -1 on a read error, or the
 * callback's first non-zero return value, which stops the walk. */
int state_each_retry(state *s, int (*fn)(void *ud, const state_retry *r), void *ud)
{
    sqlite3_stmt *st = NULL;
    if (query(s, &st, "SELECT row, due, attempts, email, domain, reason, smtp_code,"
                      " smtp_enhanced, smtp_text, mx FROM retries ORDER BY row"))
        return -1;
    state_retry *r = malloc(sizeof *r);
    int rc = r ? SQLITE_ROW : SQLITE_NOMEM, ret = 0;
    while (r && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        r->row = (uint64_t)sqlite3_column_int64(st, 0);
        r->due = sqlite3_column_double(st, 1);
        r->attempts = sqlite3_column_int(st, 2);
        col_str(st, 3, r->email, sizeof r->email);
        col_str(st, 4, r->domain, sizeof r->domain);
        result_init(&r->last);
        str_copy(r->last.email, sizeof r->last.email, r->email);
        r->last.attempts = r->attempts;
        if (col_reason(st, 5, &r->last.reason)) {
            ret = -1;
            break;
        }
        r->last.smtp_code = sqlite3_column_int(st, 6);
        col_str(st, 7, r->last.smtp_enhanced, sizeof r->last.smtp_enhanced);
        col_str(st, 8, r->last.smtp_text, sizeof r->last.smtp_text);
        col_str(st, 9, r->last.mx, sizeof r->last.mx);
        if ((ret = fn(ud, r)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = -1;
    free(r);
    sqlite3_finalize(st);
    return ret;
}

int state_each_domain(state *s, int (*fn)(void *ud, const char *domain, result_tri accept_all,
                                          const char *mx), void *ud)
{
    sqlite3_stmt *st = NULL;
    if (query(s, &st, "SELECT domain, accept_all, mx FROM domains"))
        return -1;
    int rc, ret = 0;
    char domain[ADDR_BUF], mx[256];
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        col_str(st, 0, domain, sizeof domain);
        col_str(st, 2, mx, sizeof mx);
        if ((ret = fn(ud, domain, col_tri(st, 1), mx)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = -1;
    sqlite3_finalize(st);
    return ret;
}

/* ---- the output cursor ---- */

state_cursor *state_results(state *s)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT %s FROM results ORDER BY row", result_cols);
    state_cursor *c = calloc(1, sizeof *c);
    if (!c || query(s, &c->st, sql)) {
        free(c);
        return NULL;
    }
    return c;
}

int state_cursor_next(state_cursor *c, uint64_t *row, result *r)
{
    if (!c)
        return -1;
    if (c->done)
        return 0;
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE) {
        c->done = true;
        return 0;
    }
    if (rc != SQLITE_ROW)
        return -1;
    sqlite3_stmt *st = c->st;
    result_init(r);
    *row = (uint64_t)sqlite3_column_int64(st, 0);
    col_str(st, 1, r->email, sizeof r->email);
    if (col_reason(st, 2, &r->reason))
        return -1;
    r->risk = sqlite3_column_int(st, 3);
    col_str(st, 4, r->did_you_mean, sizeof r->did_you_mean);
    r->role = sqlite3_column_int(st, 5) != 0;
    r->free = sqlite3_column_int(st, 6) != 0;
    r->disposable = sqlite3_column_int(st, 7) != 0;
    r->accept_all = col_tri(st, 8);
    col_str(st, 9, r->mx, sizeof r->mx);
    r->smtp_code = sqlite3_column_int(st, 10);
    col_str(st, 11, r->smtp_enhanced, sizeof r->smtp_enhanced);
    col_str(st, 12, r->smtp_text, sizeof r->smtp_text);
    r->attempts = sqlite3_column_int(st, 13);
    return 1;
}

void state_cursor_free(state_cursor *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->st);
    free(c);
}

uint64_t state_count_results(state *s)
{
    sqlite3_stmt *st = NULL;
    uint64_t n = 0;
    if (query(s, &st, "SELECT count(*) FROM results") == 0 && sqlite3_step(st) == SQLITE_ROW)
        n = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* ---- the writer thread ----
 *
 * Two batches: producers append to `fill` under the lock; the thread swaps
 * it with its empty `spare` and writes the full one without the lock, so a
 * put costs one short critical section. A batch holds at most QUEUE_RECS
 * records and QUEUE_TEXT string bytes; puts wait while it is full. Records
 * are applied inside one open transaction, committed every COMMIT_NS and
 * on stop. */

typedef enum rec_type { REC_RESULT, REC_RETRY, REC_DOMAIN, REC_HOST, REC_META } rec_type;

/* String slots of a record (their meaning depends on the type). */
enum { SL_EMAIL, SL_DOMAIN, SL_DYM, SL_MX, SL_ENH, SL_TEXT, SL_COUNT };
#define SL_HOST SL_EMAIL
#define SL_IP SL_DOMAIN
#define SL_KEY SL_EMAIL
#define SL_VALUE SL_DOMAIN

/* Integer slots. */
enum { IN_REASON, IN_RISK, IN_ROLE, IN_FREE, IN_DISPOSABLE, IN_ACCEPT_ALL, IN_CODE,
       IN_ATTEMPTS, IN_COUNT };
#define IN_SESSIONS IN_RISK
#define IN_TIMEOUTS IN_ROLE
#define IN_BLOCKS IN_FREE
#define IN_RCPT_CAP IN_DISPOSABLE

typedef struct rec {
    rec_type type;
    int64_t row;
    double due;
    int n[IN_COUNT];
    uint32_t off[SL_COUNT], len[SL_COUNT];   /* into the batch's text */
} rec;

typedef struct batch {
    rec *recs;
    size_t n;
    char *text;
    size_t text_len;
} batch;

enum { ST_RESULT, ST_DEL_RETRY, ST_RETRY, ST_DOMAIN, ST_HOST, ST_META, ST_COUNT };

static const char *const writer_sql[ST_COUNT] = {
    [ST_RESULT] = "INSERT OR REPLACE INTO results VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [ST_DEL_RETRY] = "DELETE FROM retries WHERE row = ?",
    [ST_RETRY] = "INSERT OR REPLACE INTO retries VALUES(?,?,?,?,?,?,?,?,?,?)",
    /* what was learned stays learned: an unset value does not erase it */
    [ST_DOMAIN] = "INSERT INTO domains VALUES(?1, ?2, ?3) ON CONFLICT(domain) DO UPDATE SET"
                  " accept_all = coalesce(excluded.accept_all, accept_all),"
                  " mx = CASE WHEN excluded.mx <> '' THEN excluded.mx ELSE mx END",
    [ST_HOST] = "INSERT OR REPLACE INTO hosts VALUES(?,?,?,?,?,?,?,?,?)",
    [ST_META] = "INSERT OR REPLACE INTO meta VALUES(?, ?)",
};

struct state_writer {
    state *s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t has_work, not_full;
    batch b[2], *fill, *spare;
    bool stop, failed, retries_seen;
    sqlite3_stmt *st[ST_COUNT];
    char errmsg[512];            /* the first failure */
};

/* ---- producer side ---- */

/* Wait until a record with NEED string bytes fits; false = drop it. */
static bool put_begin(state_writer *w, size_t need)
{
    if (!w)
        return false;
    pthread_mutex_lock(&w->mu);
    while (!w->failed && !w->stop &&
           (w->fill->n >= QUEUE_RECS || w->fill->text_len + need > QUEUE_TEXT))
        pthread_cond_wait(&w->not_full, &w->mu);
    if (w->failed || w->stop) {
        pthread_mutex_unlock(&w->mu);
        return false;
    }
    return true;
}

static void put_end(state_writer *w)
{
    if (w->fill->n == 1)
        pthread_cond_signal(&w->has_work);
    pthread_mutex_unlock(&w->mu);
}

static rec *put_rec(state_writer *w, rec_type type)
{
    rec *r = &w->fill->recs[w->fill->n++];
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

static void put_str(state_writer *w, rec *r, int slot, const char *s, size_t len)
{
    batch *b = w->fill;
    memcpy(b->text + b->text_len, s, len);
    r->off[slot] = (uint32_t)b->text_len;
    r->len[slot] = (uint32_t)len;
    b->text_len += len;
}

static size_t slen(const char *s, size_t cap)
{
    return s ? strnlen(s, cap - 1) : 0;
}

/* Strings of a record, measured (bounded) before the lock is taken. */
typedef struct strs {
    const char *p[SL_COUNT];
    size_t len[SL_COUNT];
    size_t total;
} strs;

static void strs_set(strs *v, int slot, const char *s, size_t cap)
{
    v->p[slot] = s ? s : "";
    v->len[slot] = slen(s, cap);
    v->total += v->len[slot];
}

static void put_strs(state_writer *w, rec *r, const strs *v)
{
    for (int i = 0; i < SL_COUNT; i++)
        if (v->p[i])
            put_str(w, r, i, v->p[i], v->len[i]);
}

static void put_reply(strs *v, const result *r)
{
    strs_set(v, SL_MX, r->mx, sizeof r->mx);
    strs_set(v, SL_ENH, r->smtp_enhanced, sizeof r->smtp_enhanced);
    strs_set(v, SL_TEXT, r->smtp_text, sizeof r->smtp_text);
}

void state_put_result(state_writer *w, uint64_t row, const char *domain, const result *r)
{
    strs v = {0};
    put_reply(&v, r);
    strs_set(&v, SL_EMAIL, r->email, sizeof r->email);
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    strs_set(&v, SL_DYM, r->did_you_mean, sizeof r->did_you_mean);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_RESULT);
    x->row = (int64_t)row;
    int n[IN_COUNT] = {[IN_REASON] = (int)r->reason, [IN_RISK] = r->risk, [IN_ROLE] = r->role,
                       [IN_FREE] = r->free, [IN_DISPOSABLE] = r->disposable,
                       [IN_ACCEPT_ALL] = r->accept_all, [IN_CODE] = r->smtp_code,
                       [IN_ATTEMPTS] = r->attempts};
    memcpy(x->n, n, sizeof n);
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_retry(state_writer *w, uint64_t row, double due, int attempts, const char *email,
                     const char *domain, const result *last)
{
    strs v = {0};
    put_reply(&v, last);
    strs_set(&v, SL_EMAIL, email, ADDR_BUF);
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_RETRY);
    x->row = (int64_t)row;
    x->due = due;
    x->n[IN_REASON] = last->reason;
    x->n[IN_CODE] = last->smtp_code;
    x->n[IN_ATTEMPTS] = attempts;
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_domain(state_writer *w, const char *domain, result_tri accept_all, const char *mx)
{
    strs v = {0};
    strs_set(&v, SL_DOMAIN, domain, ADDR_BUF);
    strs_set(&v, SL_MX, mx, 256);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_DOMAIN);
    x->n[IN_ACCEPT_ALL] = accept_all;
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_host(state_writer *w, const char *host, const char *ip, int sessions, int timeouts,
                    int blocks, int rcpt_cap, int last_code, const char *last_enhanced,
                    const char *last_text)
{
    strs v = {0};
    strs_set(&v, SL_HOST, host, 256);
    strs_set(&v, SL_IP, ip, 64);
    strs_set(&v, SL_ENH, last_enhanced, 16);
    strs_set(&v, SL_TEXT, last_text, RESULT_SMTP_TEXT_MAX + 1);
    if (!put_begin(w, v.total))
        return;
    rec *x = put_rec(w, REC_HOST);
    int n[IN_COUNT] = {[IN_SESSIONS] = sessions, [IN_TIMEOUTS] = timeouts,
                       [IN_BLOCKS] = blocks, [IN_RCPT_CAP] = rcpt_cap, [IN_CODE] = last_code};
    memcpy(x->n, n, sizeof n);
    put_strs(w, x, &v);
    put_end(w);
}

void state_put_meta(state_writer *w, const char *key, const char *value)
{
    strs v = {0};
    strs_set(&v, SL_KEY, key, META_KEY_MAX);
    strs_set(&v, SL_VALUE, value, META_VALUE_MAX);
    if (!put_begin(w, v.total))
        return;
    put_strs(w, put_rec(w, REC_META), &v);
    put_end(w);
}

/* ---- writer thread side ---- */

static void fail(state_writer *w, const char *what)
{
    pthread_mutex_lock(&w->mu);
    if (!w->failed)
        seterr(w->errmsg, sizeof w->errmsg,
                 "%s: writing the state file failed (%s: %s); work since the last commit "
                 "is not saved", w->s->path, what, sqlite3_errmsg(w->s->db));
    w->failed = true;
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
}

static void bind_str(sqlite3_stmt *st, int i, const batch *b, const rec *r, int slot)
{
    sqlite3_bind_text(st, i, b->text + r->off[slot], (int)r->len[slot], SQLITE_STATIC);
}

static void bind_tri(sqlite3_stmt *st, int i, int v)
{
    if (v == TRI_UNSET)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int(st, i, v != 0);
}

/* A reply code of 0 means "no reply": stored as NULL. */
static void bind_code(sqlite3_stmt *st, int i, int code)
{
    if (code)
        sqlite3_bind_int(st, i, code);
    else
        sqlite3_bind_null(st, i);
}

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int write_result(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_RESULT];
    verdict_reason reason = (verdict_reason)r->n[IN_REASON];
    sqlite3_bind_int64(st, 1, r->row);
    bind_str(st, 2, b, r, SL_EMAIL);
    bind_str(st, 3, b, r, SL_DOMAIN);
    sqlite3_bind_text(st, 4, verdict_status_name(verdict_status_of(reason)), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, verdict_reason_name(reason), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, r->n[IN_RISK]);
    bind_str(st, 7, b, r, SL_DYM);
    sqlite3_bind_int(st, 8, r->n[IN_ROLE]);
    sqlite3_bind_int(st, 9, r->n[IN_FREE]);
    sqlite3_bind_int(st, 10, r->n[IN_DISPOSABLE]);
    bind_tri(st, 11, r->n[IN_ACCEPT_ALL]);
    bind_str(st, 12, b, r, SL_MX);
    bind_code(st, 13, r->n[IN_CODE]);
    bind_str(st, 14, b, r, SL_ENH);
    bind_str(st, 15, b, r, SL_TEXT);
    sqlite3_bind_int(st, 16, r->n[IN_ATTEMPTS]);
    if (step(st))
        return -1;
    if (!w->retries_seen)       /* no retry was ever stored: nothing to delete */
        return 0;
    sqlite3_bind_int64(w->st[ST_DEL_RETRY], 1, r->row);
    return step(w->st[ST_DEL_RETRY]);
}

static int write_retry(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_RETRY];
    w->retries_seen = true;
    sqlite3_bind_int64(st, 1, r->row);
    sqlite3_bind_double(st, 2, r->due);
    sqlite3_bind_int(st, 3, r->n[IN_ATTEMPTS]);
    bind_str(st, 4, b, r, SL_EMAIL);
    bind_str(st, 5, b, r, SL_DOMAIN);
    sqlite3_bind_text(st, 6, verdict_reason_name((verdict_reason)r->n[IN_REASON]), -1,
                      SQLITE_STATIC);
    bind_code(st, 7, r->n[IN_CODE]);
    bind_str(st, 8, b, r, SL_ENH);
    bind_str(st, 9, b, r, SL_TEXT);
    bind_str(st, 10, b, r, SL_MX);
    return step(st);
}

static int write_domain(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_DOMAIN];
    bind_str(st, 1, b, r, SL_DOMAIN);
    bind_tri(st, 2, r->n[IN_ACCEPT_ALL]);
    bind_str(st, 3, b, r, SL_MX);
    return step(st);
}

static int write_host(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_HOST];
    bind_str(st, 1, b, r, SL_HOST);
    bind_str(st, 2, b, r, SL_IP);
    sqlite3_bind_int(st, 3, r->n[IN_SESSIONS]);
    sqlite3_bind_int(st, 4, r->n[IN_TIMEOUTS]);
    sqlite3_bind_int(st, 5, r->n[IN_BLOCKS]);
    sqlite3_bind_int(st, 6, r->n[IN_RCPT_CAP]);
    bind_code(st, 7, r->n[IN_CODE]);
    bind_str(st, 8, b, r, SL_ENH);
    bind_str(st, 9, b, r, SL_TEXT);
    return step(st);
}

static int write_meta(state_writer *w, const batch *b, const rec *r)
{
    sqlite3_stmt *st = w->st[ST_META];
    bind_str(st, 1, b, r, SL_KEY);
    bind_str(st, 2, b, r, SL_VALUE);
    return step(st);
}

static int write_batch(state_writer *w, const batch *b)
{
    static int (*const fns[])(state_writer *, const batch *, const rec *) = {
        [REC_RESULT] = write_result, [REC_RETRY] = write_retry, [REC_DOMAIN] = write_domain,
        [REC_HOST] = write_host, [REC_META] = write_meta,
    };
    for (size_t i = 0; i < b->n; i++)
        if (fns[b->recs[i].type](w, b, &b->recs[i]) != 0)
            return -1;
    return 0;
}

/* Wait for work; with a transaction open, only until its commit is due.
 * Returns the batch to write (swapped out) and whether stop was asked. */
static batch *take_batch(state_writer *w, bool in_txn, int64_t due_ns, bool *stop)
{
    pthread_mutex_lock(&w->mu);
    while (w->fill->n == 0 && !w->stop) {
        if (!in_txn) {
            pthread_cond_wait(&w->has_work, &w->mu);
            continue;
        }
        struct timespec ts = {.tv_sec = due_ns / 1000000000LL, .tv_nsec = due_ns % 1000000000LL};
        if (pthread_cond_timedwait(&w->has_work, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    batch *b = w->fill;
    w->fill = w->spare;
    w->spare = b;
    *stop = w->stop;
    pthread_cond_broadcast(&w->not_full);
    pthread_mutex_unlock(&w->mu);
    return b;
}

static void *writer_main(void *arg)
{
    state_writer *w = arg;
    sqlite3 *db = w->s->db;
    bool in_txn = false, stop = false;
    int64_t txn_start = 0;
    while (!stop) {
        batch *b = take_batch(w, in_txn, txn_start + COMMIT_NS, &stop);
        if (b->n && !w->failed) {
            if (!in_txn && exec(db, "BEGIN") != SQLITE_OK)
                fail(w, "begin");
            else {
                if (!in_txn)
                    txn_start = now_ns();
                in_txn = true;
                if (write_batch(w, b) != 0)
                    fail(w, "insert");
            }
        }
        b->n = b->text_len = 0;
        if (in_txn && (w->failed || stop || now_ns() - txn_start >= COMMIT_NS)) {
            if (!w->failed && exec(db, "COMMIT") != SQLITE_OK)
                fail(w, "commit");
            if (!sqlite3_get_autocommit(db))
                exec(db, "ROLLBACK");
            in_txn = false;
        }
    }
    return NULL;
}

static void writer_free(state_writer *w)
{
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(w->st[i]);
    for (int i = 0; i < 2; i++) {
        free(w->b[i].recs);
        free(w->b[i].text);
    }
    free(w);
}

static bool retries_exist(state *s)
{
    sqlite3_stmt *st = NULL;
    bool yes = query(s, &st, "SELECT 1 FROM retries LIMIT 1") != 0 ||
               sqlite3_step(st) != SQLITE_DONE;
    sqlite3_finalize(st);
    return yes;                 /* when unsure, keep deleting */
}

state_writer *state_writer_start(state *s, char *err, size_t errlen)
{
    if (!s || s->writer) {
        seterr(err, errlen, "state writer already running");
        return NULL;
    }
    state_writer *w = calloc(1, sizeof *w);
    if (!w) {
        seterr(err, errlen, "out of memory");
        return NULL;
    }
    w->s = s;
    w->retries_seen = retries_exist(s);
    for (int i = 0; i < 2; i++) {
        w->b[i].recs = malloc(QUEUE_RECS * sizeof(rec));
        w->b[i].text = malloc(QUEUE_TEXT);
        if (!w->b[i].recs || !w->b[i].text) {
            seterr(err, errlen, "out of memory");
            writer_free(w);
            return NULL;
        }
    }
    w->fill = &w->b[0];
    w->spare = &w->b[1];
    for (int i = 0; i < ST_COUNT; i++)
        if (prepare(s, &w->st[i], writer_sql[i]) != 0) {
            seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
            writer_free(w);
            return NULL;
        }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->has_work, &ca);
    pthread_cond_init(&w->not_full, NULL);
    pthread_condattr_destroy(&ca);
    int e = pthread_create(&w->thread, NULL, writer_main, w);
    if (e != 0) {
        seterr(err, errlen, "cannot start the state writer: %s", strerror(e));
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->has_work);
        pthread_cond_destroy(&w->not_full);
        writer_free(w);
        return NULL;
    }
    s->writer = w;
    return w;
}

int state_writer_stop(state_writer *w, char *err, size_t errlen)
{
    if (!w)
        return 0;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->has_work);
    pthread_cond_broadcast(&w->not_full);   /* waiting puts give up */
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    int rc = w->failed ? -1 : 0;
    if (w->failed)
        seterr(err, errlen, "%s", w->errmsg);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->has_work);
    pthread_cond_destroy(&w->not_full);
    w->s->writer = NULL;
    writer_free(w);
    return rc;
}
