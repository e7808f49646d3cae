/* retry.c — a binary min-heap on due time, driving a single uv_timer_t.
 * Adding is O(log n); the timer is re-armed only when the earliest entry
 * changes, so thousands of waiting addresses cost one timer. */
#include "retry.h"

#include <stdlib.h>

typedef struct entry {
    uint64_t due;
    uint64_t seq;          /* insertion order: equal due times stay FIFO */
    void *payload;
} entry;

struct retry_queue {
    uv_timer_t timer;
    entry *heap;
    size_t n, cap;
    uint64_t seq;
    retry_fire_cb fire;
    void *ud;
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

static void arm(retry_queue *q);

static void on_timer(uv_timer_t *t)
{
    retry_queue *q = t->data;
    uint64_t now = uv_now(t->loop);
    while (q->n && q->heap[0].due <= now) {
        void *p = q->heap[0].payload;
        q->heap[0] = q->heap[--q->n];
        sift_down(q->heap, q->n, 0);
        q->fire(q->ud, p);           /* may add entries: the heap is consistent */
    }
    arm(q);
}

static void arm(retry_queue *q)
{
    if (!q->n) {
        uv_timer_stop(&q->timer);
        return;
    }
    uint64_t now = uv_now(q->timer.loop), due = q->heap[0].due;
    uv_timer_start(&q->timer, on_timer, due > now ? due - now : 0, 0);
}

retry_queue *retry_new(uv_loop_t *loop, retry_fire_cb fire, void *ud)
{
    retry_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    uv_timer_init(loop, &q->timer);
    q->timer.data = q;
    q->fire = fire;
    q->ud = ud;
    return q;
}

int retry_add(retry_queue *q, uint64_t due_ms, void *payload)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        entry *h = realloc(q->heap, cap * sizeof *h);
        if (!h)
            return -1;
        q->heap = h;
        q->cap = cap;
    }
    q->heap[q->n] = (entry){due_ms, q->seq++, payload};
    sift_up(q->heap, q->n++);
    if (q->heap[0].payload == payload)
        arm(q);                       /* a new earliest entry */
    return 0;
}

void retry_drain(retry_queue *q, retry_fire_cb fn, void *ud)
{
    while (q->n)
        fn(ud, q->heap[--q->n].payload);
    uv_timer_stop(&q->timer);
}

size_t retry_count(const retry_queue *q)
{
    return q->n;
}

static void on_closed(uv_handle_t *h)
{
    retry_queue *q = h->data;
    free(q->heap);
    free(q);
}

void retry_close(retry_queue *q)
{
    uv_timer_stop(&q->timer);
    uv_close((uv_handle_t *)&q->timer, on_closed);
}
