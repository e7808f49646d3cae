/* report_int.h — the report model shared by the report_*.c family (not
 * for other modules: they use report.h).
 *
 * report.c builds and frees the model and holds the figures every rendering
 * derives from it; report_load.c fills it from a state file; report_text.c,
 * report_json.c and report_html.c render it. A report is one flat struct
 * of bounded copies: nothing in it points elsewhere, report_free() frees it.
 * Strings in it come from the state file and are hostile input: each
 * renderer escapes them for its format.
 */
#ifndef MAILVET_REPORT_INT_H
#define MAILVET_REPORT_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "report.h"
#include "stats.h"
#include "verdict.h"

#ifndef MAILVET_VERSION
#define MAILVET_VERSION "dev"
#endif

#define REPORT_TOP_DOMAINS 10
#define REPORT_MAX_ACCEPT_ALL 50
#define REPORT_MAX_HOSTS 50
#define REPORT_MAX_PROVIDERS 10
#define REPORT_MAX_LEARNED 20
#define TEXT_MAX_HOSTS 10    /* the terminal summary stays short */
#define REPORT_NAME_MAX 256
#define REPORT_TEXT_MAX 512
#define NSTATUS VERDICT_STATUS__COUNT

typedef enum report_problem {
    PROBLEM_BLOCKLIST,      /* the reply names a DNSBL / reputation list */
    PROBLEM_RDNS,           /* the reply asks for reverse DNS (PTR) */
    PROBLEM_TIMEOUT,        /* the host timed out (tarpit) */
    PROBLEM_POLICY,         /* any other refusal of the verifier */
    PROBLEM_UNREACHABLE,    /* never accepted a TCP connection (refused, timed out) */
} report_problem;

typedef struct report_domain {
    char name[REPORT_NAME_MAX];
    uint64_t rows;
    uint64_t by_status[NSTATUS];
} report_domain;

typedef struct report_host {
    char host[REPORT_NAME_MAX];
    char ip[64];
    int64_t sessions, timeouts, blocks, last_code;
    int64_t connects;           /* sessions that connected; -1 = not recorded */
    char last_enhanced[16];
    char last_text[REPORT_TEXT_MAX];
    uint64_t rows_unknown;      /* rows whose final answer came from it, left unknown */
    report_problem problem;
} report_host;

/* One operator's MX hosts together (hosts.provider, provider.h). */
typedef struct report_provider {
    char name[REPORT_NAME_MAX];
    uint64_t hosts, sessions, connects, blocks;
} report_provider;

/* What a host taught the engine about itself, kept for the batch. */
typedef struct report_learned {
    char host[REPORT_NAME_MAX];
    int64_t rcpt_cap;           /* recipients per session it tolerates; 0: no limit seen */
    bool cleartext;             /* its STARTTLS handshake failed: asked in cleartext */
} report_learned;

struct report {
    bool from_state;            /* false: built from a run's counters */
    char state_path[PATH_MAX];
    char input_path[PATH_MAX];
    char level[16];
    bool finished;
    bool running;               /* a `clean` holds the state file's lock now */
    bool total_known;
    uint64_t rows_total;        /* meta rows_total, when known */
    uint64_t done;              /* rows with a result */
    uint64_t retry_waiting;     /* rows waiting in the retry queue */
    uint64_t by_status[NSTATUS];
    uint64_t by_reason[REASON__COUNT];
    uint64_t role, free, disposable, typos;
    uint64_t duplicates;        /* rows of a mailbox an earlier row had (never probed) */
    /* rows the verdict cache answered (route 'cache'; duplicates count as
     * duplicates), and how old their answers were when the batch started:
     * median and oldest, seconds (-1: no such row) */
    uint64_t cache_rows;
    int64_t cache_age_median, cache_age_oldest;
    double risk_sum, risk_sum_deliverable;
    report_domain top[REPORT_TOP_DOMAINS];
    size_t ntop;
    report_domain accept_all[REPORT_MAX_ACCEPT_ALL];   /* by_status unused */
    size_t naccept_all;
    uint64_t accept_all_total;
    report_host hosts[REPORT_MAX_HOSTS];
    size_t nhosts;
    uint64_t hosts_total;
    uint64_t hosts_tried, hosts_unreachable;       /* port 25: MX hosts tried, never reached */
    report_provider providers[REPORT_MAX_PROVIDERS];  /* of 2+ hosts, most sessions first */
    size_t nproviders;
    uint64_t providers_total;
    report_learned learned[REPORT_MAX_LEARNED];
    size_t nlearned;
    uint64_t rcpt_caps_learned, tls_fallbacks;     /* hosts of each kind, all of them */
    int64_t retries_used;       /* -1 = not recorded */
    double elapsed;             /* seconds, -1 = not recorded */
    int64_t started_at, updated_at, finished_at;   /* unix seconds, 0 = absent */
    int64_t run_started_at;                        /* the latest run's start */
    uint64_t no_email_cell, long_rows;             /* clean's summary only */
};

/* A zeroed report with "not recorded" markers; NULL when out of memory. */
report *report_new(void);

/* Port 25 counts alone from STATE_PATH's hosts table (report_load.c):
 * hosts tried, and those never reached. 0, or -1 when unreadable. */
int report_load_reach(const char *state_path, uint64_t *tried, uint64_t *unreachable);

/* Fill R with the counters of the run that just ended. */
void report_from_stats(report *r, const batch_stats *st);

/* Derived figures and formatting (report.c). The char buffers are the
 * caller's; each function returns it. */
double report_pct(uint64_t n, uint64_t of);
const char *report_num(char buf[32], uint64_t n);          /* "1,234,567" */
const char *report_duration(char buf[48], double s);       /* "n/a" when s < 0 */
double report_rate(const report *r);                       /* rows/s */
const char *report_rate_text(char buf[48], const report *r);
const char *report_date_text(char buf[40], int64_t t);     /* UTC; "n/a" when absent */
const char *report_base_name(const char *path);            /* points into PATH */
double report_bounce_min(const report *r);
double report_bounce_all(const report *r);
bool report_bounce_measured(const report *r);              /* false: report_bounce_all is a guess */
double report_bounce_deliverable(const report *r);

extern const char *const report_reason_help[REASON__COUNT];  /* a few words per reason */
extern const char *const report_problem_names[];             /* by report_problem */
extern const char *const report_problem_hints[];             /* what to do about it */

#endif
