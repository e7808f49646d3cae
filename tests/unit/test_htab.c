/* test_htab.c — the intrusive hash table: insert, find, remove, growth,
 * colliding hashes, iteration with removal, the string hash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

typedef struct item {
    int tag;
    htab_node node;             /* not first: HTAB_ENTRY must do the offset */
    char name[16];
} item;

static bool item_eq(const htab_node *n, const void *key)
{
    return !strcmp(HTAB_ENTRY(n, item, node)->name, key);
}

static item *find(htab *t, const char *name)
{
    htab_node *n = htab_find(t, htab_hash_str(name), name);
    return n ? HTAB_ENTRY(n, item, node) : NULL;
}

static void test_basic(void **state)
{
    (void)state;
    htab t;
    assert_true(htab_init(&t, 5, item_eq));
    assert_int_equal(t.nb, 8);
    assert_null(find(&t, "a"));
    item a = {.tag = 1, .name = "a"}, b = {.tag = 2, .name = "b"};
    htab_insert(&t, &a.node, htab_hash_str("a"));
    htab_insert(&t, &b.node, htab_hash_str("b"));
    assert_int_equal(htab_count(&t), 2);
    assert_ptr_equal(find(&t, "a"), &a);
    assert_ptr_equal(find(&t, "b"), &b);
    assert_null(find(&t, "c"));
    htab_remove(&t, &a.node);
    assert_null(find(&t, "a"));
    assert_ptr_equal(find(&t, "b"), &b);
    assert_int_equal(htab_count(&t), 1);
    htab_free(&t);
    assert_null(htab_find(&t, 0, "b"));   /* a freed table is empty */
}

/* The same hash for every key: the equality callback must decide. */
static void test_collisions(void **state)
{
    (void)state;
    htab t;
    assert_true(htab_init(&t, 4, item_eq));
    item it[10];
    for (int i = 0; i < 10; i++) {
        it[i].tag = i;
        snprintf(it[i].name, sizeof it[i].name, "k%d", i);
        htab_insert(&t, &it[i].node, 42);
    }
    for (int i = 0; i < 10; i++)
        assert_ptr_equal(HTAB_ENTRY(htab_find(&t, 42, it[i].name), item, node), &it[i]);
    assert_null(htab_find(&t, 42, "k10"));
    assert_null(htab_find(&t, 43, "k1"));      /* same key, other hash */
    htab_remove(&t, &it[5].node);              /* mid-chain */
    assert_null(htab_find(&t, 42, "k5"));
    assert_non_null(htab_find(&t, 42, "k4"));
    assert_non_null(htab_find(&t, 42, "k6"));
    htab_free(&t);
}

static void test_grow_and_iterate(void **state)
{
    (void)state;
    enum { N = 5000 };
    htab t;
    assert_true(htab_init(&t, 1, item_eq));
    item *it = calloc(N, sizeof *it);
    assert_non_null(it);
    for (int i = 0; i < N; i++) {
        it[i].tag = i;
        snprintf(it[i].name, sizeof it[i].name, "name%d", i);
        htab_insert(&t, &it[i].node, htab_hash_str(it[i].name));
    }
    assert_int_equal(htab_count(&t), N);
    assert_true(t.nb >= N);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(find(&t, it[i].name), &it[i]);

    /* every entry once; removing the one just returned is allowed */
    char *seen = calloc(N, 1);
    htab_iter iter;
    htab_iter_init(&iter, &t);
    size_t count = 0;
    for (htab_node *n; (n = htab_iter_next(&iter)); count++) {
        item *x = HTAB_ENTRY(n, item, node);
        assert_int_equal(seen[x->tag], 0);
        seen[x->tag] = 1;
        if (x->tag % 2)
            htab_remove(&t, n);
    }
    assert_int_equal(count, N);
    assert_int_equal(htab_count(&t), N / 2);
    for (int i = 0; i < N; i++)
        assert_true((find(&t, it[i].name) != NULL) == (i % 2 == 0));
    free(seen);
    free(it);
    htab_free(&t);
}

static void test_empty_iteration(void **state)
{
    (void)state;
    htab t;
    assert_true(htab_init(&t, 16, item_eq));
    htab_iter iter;
    htab_iter_init(&iter, &t);
    assert_null(htab_iter_next(&iter));
    htab_free(&t);
}

static void test_hash(void **state)
{
    (void)state;
    /* FNV-1a 32-bit reference values */
    assert_int_equal(htab_hash_str(""), 2166136261u);
    assert_int_equal(htab_hash_str("a"), 0xe40c292cu);
    assert_int_equal(htab_hash_str("foobar"), 0xbf9cf968u);
    assert_int_equal(htab_hash_bytes("foobar", 6), htab_hash_str("foobar"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_collisions),
        cmocka_unit_test(test_grow_and_iterate),
        cmocka_unit_test(test_empty_iteration),
        cmocka_unit_test(test_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
