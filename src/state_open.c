/* state_open.c — a batch's state file from the outside: its identity
 * (state_identify), opening or creating it (state_open), its meta table,
 * closing it (state_close). Refuses what is not ours to resume: not an
 * SQLite file, a foreign or damaged one (quick_check), another format
 * version, a file locked by another run, or one whose identity (input
 * content, options) differs from this run's, saying every difference.
 *
 * Ownership: state_open() returns a handle the caller frees with
 * state_close(), which also stops a writer still running. Nothing returned
 * points into SQLite's memory.
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
#include "state_int.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dbcheck.h"
#include "str.h"

#define HEAD_BYTES (1u << 20)      /* the part of INPUT that is hashed */
#define BUSY_TIMEOUT_MS 5000
#define CHECKPOINT_PAGES 4096      /* WAL pages before an automatic checkpoint */

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    /* results' rowid is the order verdicts come in, ROW a unique index:
     * verdicts come out of row order, and a commit then rewrites only the
     * table's last pages and the small index's, not a page of the table
     * for nearly every verdict (world-1, `perf`: the writer thread's
     * samples halved; the output pass pays a seek a row, 0.2 s there). A
     * state file from before keeps `row INTEGER PRIMARY KEY`; every
     * statement names ROW, so both read and write the same. */
    "CREATE TABLE results(row INTEGER NOT NULL UNIQUE, email TEXT, domain TEXT, status TEXT,"
    " reason TEXT, risk INTEGER, did_you_mean TEXT, role INTEGER, free INTEGER,"
    " disposable INTEGER, accept_all INTEGER NULL, mx TEXT, smtp_code INTEGER,"
    " smtp_enhanced TEXT, smtp_text TEXT, attempts INTEGER, duplicate INTEGER,"
    " mx_ip TEXT, checked_at INTEGER, route TEXT);"
    /* rows of a mailbox seen on an earlier row (dedup.h): FIRST is that
     * row; the row's own address fields, its verdict is FIRST's */
    "CREATE TABLE dups(row INTEGER PRIMARY KEY, first INTEGER, email TEXT, domain TEXT,"
    " did_you_mean TEXT);"
    /* retries.attempts is the retry number (4xx answers so far); answers is
     * the address's mailvet_attempts so far, which a dropped session does
     * not raise, so the two can differ. */
    "CREATE TABLE retries(row INTEGER PRIMARY KEY, due REAL, attempts INTEGER,"
    " email TEXT, domain TEXT, reason TEXT, smtp_code INTEGER, smtp_enhanced TEXT,"
    " smtp_text TEXT, mx TEXT, answers INTEGER);"
    "CREATE TABLE domains(domain TEXT PRIMARY KEY, accept_all INTEGER NULL, mx TEXT);"
    "CREATE TABLE hosts(host TEXT PRIMARY KEY, ip TEXT, sessions INTEGER, timeouts INTEGER,"
    " blocks INTEGER, rcpt_cap INTEGER, last_code INTEGER, last_enhanced TEXT,"
    " last_text TEXT, connects INTEGER, provider TEXT, cleartext INTEGER);";

/* ---- helpers of the family (state_int.h) ---- */

void state_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void state_col_str(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    str_copy(dst, cap, (const char *)sqlite3_column_text(st, i));
}

int state_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

int state_prepare(state *s, sqlite3_stmt **st, const char *sql)
{
    return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK
               ? 0 : -1;
}

/* ---- small helpers ---- */

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

/* ---- identity ---- */

int state_identify(const char *path, state_identity *id, char *err, size_t errlen)
{
    if (!path || strcmp(path, "-") == 0) {
        state_seterr(err, errlen, "resume is not available when INPUT is standard input");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        state_seterr(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        state_seterr(err, errlen, "%s: not a regular file; resume needs one", path);
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
            state_seterr(err, errlen, "%s: %s", path, strerror(errno));
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
            state_seterr(err, errlen, "%s: cannot compute SHA-256", path);
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
        state_col_str(st, 0, buf, len);   /* truncated to LEN - 1 bytes */
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
        state_seterr(err, errlen, "%s: cannot open state file: %s", path,
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
        state_seterr(err, errlen, "%s is unreadable or damaged (%s); delete it to start over, or "
               "use another --state", path, sqlite3_errmsg(db));
        return -1;
    }
    rc = sqlite3_step(st);
    int found = rc == SQLITE_ROW;
    if (found)
        state_col_str(st, 0, ver, len);
    else if (rc != SQLITE_DONE)
        state_seterr(err, errlen, "%s is unreadable or damaged (%s); delete it to start over, or "
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
        state_seterr(err, errlen, "%s is in use by another mailvet run", path);
    else
        state_seterr(err, errlen, "%s: cannot lock: %s", path, strerror(errno));
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
        state_seterr(err, errlen, "%s: %s", path, strerror(errno));
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
            state_seterr(err, errlen, "%s is an SQLite database but not a mailvet state file; "
                   "refusing to delete it with --restart (check --state)", path);
            ok = 0;
        }
        ok = ok && r >= 0;
        sqlite3_close(db);
    } else if (ok && size != 0) {
        state_seterr(err, errlen, "%s is not a mailvet state file (not an SQLite database); "
               "refusing to delete it with --restart (check --state)", path);
        ok = 0;
    }
    if (ok) {
        static const char *const sfx[] = {"-wal", "-shm", "-journal", ""};
        char p[PATH_MAX + 16];
        for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
            snprintf(p, sizeof p, "%s%s", path, sfx[i]);
            if (unlink(p) != 0 && errno != ENOENT) {
                state_seterr(err, errlen, "%s: cannot delete: %s", p, strerror(errno));
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
    int rc = state_exec(db, "PRAGMA journal_mode=WAL");
    if (rc == SQLITE_OK)
        rc = state_exec(db, "BEGIN");
    if (rc == SQLITE_OK)
        rc = state_exec(db, schema_sql);
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
        rc = state_exec(db, "COMMIT");
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
        state_seterr(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);      /* mode 0600 */
    if (fd < 0) {
        state_seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    fchmod(fd, 0600);
    flock(fd, LOCK_EX);                     /* new inode: nobody else has it */
    sqlite3 *db = NULL;
    int ok = db_open(tmp, SQLITE_OPEN_READWRITE, &db, err, errlen) == 0;
    if (ok && write_new_schema(db, id) != 0) {
        state_seterr(err, errlen, "%s: cannot write the state file: %s", path, sqlite3_errmsg(db));
        ok = 0;
    }
    if (db && sqlite3_close(db) != SQLITE_OK)   /* checkpoints, removes tmp-wal */
        ok = 0;
    if (ok && fsync(fd) != 0) {
        state_seterr(err, errlen, "%s: %s", tmp, strerror(errno));
        ok = 0;
    }
    if (ok && place(tmp, path) != 0) {
        state_seterr(err, errlen, "%s: cannot create: %s", path, strerror(errno));
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
        state_seterr(err, errlen, "%s is not a mailvet state file (an SQLite database without "
               "mailvet's meta table); check --state", s->path);
        return -1;
    }
    if (r < 0)
        return -1;
    if (strcmp(ver, "1") != 0) {
        state_seterr(err, errlen, "%s has state format version %s, this mailvet reads version %d; "
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
    char what[160];
    int rc;
    if (dbcheck_intact(s->db, what, sizeof what, &rc) == 1)
        return 0;                    /* a failed check is refused as damage too */
    state_seterr(err, errlen, "%s is damaged (%s); it was left as it is: restore it from a copy, "
           "or rerun with --restart to start over (its progress is lost)", s->path, what);
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
    char old_path[PATH_MAX] = "";
    state_meta_get(s, "input_path", old_path, sizeof old_path);
    if (w && old_path[0] && id->input_path && strcmp(old_path, id->input_path) != 0) {
        /* Most often an OUTPUT name used again for another list. */
        msg_add(err, errlen, &used, "%s belongs to a batch of another INPUT (%s, not %s): "
                "rerun with --restart to discard it, or choose another -o or --state", s->path,
                old_path, id->input_path);
        return -1;
    }
    if (w)
        msg_add(err, errlen, &used, "INPUT %s has changed since this batch started (%s)",
                id->input_path ? id->input_path : "", what);
    if (od[0])
        msg_add(err, errlen, &used, "%sthese options differ from the batch being resumed: %s",
                used ? "; and " : "", od);
    msg_add(err, errlen, &used, "; rerun with --restart to start over, or use another --state");
    return -1;
}

bool state_has_column(state *s, const char *table, const char *column)
{
    sqlite3_stmt *st = NULL;
    bool has = false;
    if (s && !s->writer &&
        sqlite3_prepare_v2(s->db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
        has = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return has;
}

/* COLUMN (with its TYPE) in TABLE, added when missing. */
static bool ensure_column(state *s, const char *table, const char *column, const char *type)
{
    char sql[160];
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", table, column, type);
    return state_has_column(s, table, column) || state_exec(s->db, sql) == SQLITE_OK;
}

/* A state written by an older mailvet gets what this one writes: retries'
 * answers column (its NULLs read as the retry number, which was the
 * attempt count then), results' duplicate column (NULL reads as false)
 * and the dups table, and results' evidence columns (NULL reads as empty:
 * rows finished before keep no evidence, the others get theirs). */
static int upgrade_schema(state *s, char *err, size_t errlen)
{
    if (ensure_column(s, "retries", "answers", "INTEGER") &&
        ensure_column(s, "results", "duplicate", "INTEGER") &&
        state_exec(s->db, "CREATE TABLE IF NOT EXISTS dups(row INTEGER PRIMARY KEY, first INTEGER,"
                          " email TEXT, domain TEXT, did_you_mean TEXT)") == SQLITE_OK &&
        /* hosts.connects NULL: "not counted" (the report does not count those hosts as tried) */
        ensure_column(s, "hosts", "connects", "INTEGER") &&
        /* NULL provider: the report groups only the hosts it knows */
        ensure_column(s, "hosts", "provider", "TEXT") &&
        ensure_column(s, "hosts", "cleartext", "INTEGER") &&
        ensure_column(s, "results", "mx_ip", "TEXT") &&
        ensure_column(s, "results", "checked_at", "INTEGER") &&
        ensure_column(s, "results", "route", "TEXT"))
        return 0;
    state_seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
    return -1;
}

/* After the format check: pragmas, statements, identity. The page cache
 * is 4 MiB: the writer appends in row order and the output pass scans, so
 * a bigger one bought nothing measurable (world-2: 195.8 s and 0.158 CPU
 * ms/address at 16 MiB, 198.8 s and 0.160 at 4 MiB) and cost 11 MB. */
static int setup(state *s, const state_identity *id, char *err, size_t errlen)
{
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-4096;"
             " PRAGMA wal_autocheckpoint=%d; PRAGMA journal_size_limit=%d;",
             CHECKPOINT_PAGES, 64 << 20);
    if (state_exec(s->db, pragmas) != SQLITE_OK ||
        state_prepare(s, &s->meta_get, "SELECT value FROM meta WHERE key = ?") ||
        state_prepare(s, &s->meta_set, "INSERT OR REPLACE INTO meta VALUES(?, ?)")) {
        state_seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (!id)
        return 0;
    if (check_identity(s, id, err, errlen) || upgrade_schema(s, err, errlen))
        return -1;
    /* Same content under another name (the file was moved): follow it. */
    char old[PATH_MAX] = "";
    state_meta_get(s, "input_path", old, sizeof old);
    if (id->input_path && strcmp(old, id->input_path) != 0 &&
        meta_put(s, "input_path", id->input_path) != 0) {
        state_seterr(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
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
            state_seterr(err, errlen, "%s is empty, not a mailvet state file; check --state, or "
                   "rerun with --restart", s->path);
        else
            state_seterr(err, errlen, "%s is not a mailvet state file (not an SQLite database); "
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
        state_seterr(err, errlen, "invalid state file path");
        return -1;
    }
    if (restart && id && discard(path, err, errlen) != 0)
        return -1;
    state *s = calloc(1, sizeof *s);
    if (!s) {
        state_seterr(err, errlen, "out of memory");
        return -1;
    }
    str_copy(s->path, sizeof s->path, path);
    s->lock_fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    bool fresh = false;
    if (s->lock_fd < 0 && errno == ENOENT && id) {
        s->lock_fd = create_state(path, id, err, errlen);
        fresh = true;
    } else if (s->lock_fd < 0) {
        state_seterr(err, errlen, "%s: %s", path, strerror(errno));
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
