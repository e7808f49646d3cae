/* stats.c — counting finished rows into a batch_stats. */
#include "stats.h"

void stats_add(batch_stats *st, const result *r)
{
    st->rows++;
    st->by_reason[r->reason]++;
    st->role += r->role;
    st->free += r->free;
    st->disposable += r->disposable;
    st->suggestions += r->did_you_mean[0] != '\0';
    st->duplicates += r->duplicate;
}
