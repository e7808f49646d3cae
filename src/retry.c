/* retry.c — a binary min-heap on due time. Adding and popping are
 * O(log n), so thousands of waiting addresses cost one timer of the
 * owner's. */
#include "retry.h"

#include <stdlib.h>

typedef struct entry {
    uint64_t due;
    uint64_t seq;          /* insertion order: equal due times stay FIFO */
    void *payload;
} entry;

struct retry_queue {
    entry *heap;
    size_t n, cap;
    uint64_t seq;
};

static int before(const entry *a, const entry *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void swap(entry *a, entry *b)
{
    entry t = *a;
    *a = *b;
    *b = t;
}

static void sift_up(entry *h, size_t i)
{
    while (i > 0 && before(&h[i], &h[(i - 1) / 2])) {
        swap(&h[i], &h[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

static void sift_down(entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && before(&h[l], &h[m]))
            m = l;
        if (r < n && before(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        swap(&h[i], &h[m]);
        i = m;
    }
}

retry_queue *retry_new(void)
{
    return calloc(1, sizeof(retry_queue));
}

int retry_add(retry_queue *q, uint64_t due, void *payload)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        entry *h = realloc(q->heap, cap * sizeof *h);
        if (!h)
            return -1;
        q->heap = h;
        q->cap = cap;
    }
    q->heap[q->n] = (entry){due, q->seq++, payload};
    sift_up(q->heap, q->n++);
    return 0;
}

uint64_t retry_next_due(const retry_queue *q)
{
    return q->n ? q->heap[0].due : UINT64_MAX;
}

bool retry_pop_due(retry_queue *q, uint64_t now, void **payload)
{
    if (!q->n || q->heap[0].due > now)
        return false;
    *payload = q->heap[0].payload;
    q->heap[0] = q->heap[--q->n];
    sift_down(q->heap, q->n, 0);
    return true;
}

size_t retry_count(const retry_queue *q)
{
    return q->n;
}

void retry_drain(retry_queue *q, void (*fn)(void *ud, void *payload), void *ud)
{
    while (q->n)
        fn(ud, q->heap[--q->n].payload);
}

void retry_free(retry_queue *q)
{
    if (q)
        free(q->heap);
    free(q);
}
