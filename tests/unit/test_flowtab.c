/* test_flowtab.c: the flow table's two recency lists (lib/tcp/flowtab.c).
 * Expiry is a decision about each flow alone, so that `read -j`'s shards,
 * which hold only their flows, end them where one table would: an ended
 * flow is due after its linger even behind a quiet open flow, the due
 * flows come out in order of last packet across both lists, and the
 * oldest flow (for eviction) is the least recently touched of both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tcp/flowtab.h"

#define S 1000000000LL

static const int64_t lim[2] = {300 * S, 2 * S}; /* idle, linger */

static void add(struct td_flowtab *t, struct td_flow_node *n, uint8_t a, int64_t clock, uint64_t seq)
{
    uint8_t x[16] = {10, 0, 0, a}, y[16] = {10, 0, 1, 1};

    memset(n, 0, sizeof(*n));
    td_flow_key_make(&n->key, 4, x, 40000, y, 443);
    n->hash = td_flow_key_hash(&n->key);
    td_flowtab_insert(t, n);
    td_flowtab_touch(t, n, clock, seq);
}

static void test_ended_not_behind_open(void **state)
{
    struct td_flowtab t;
    struct td_flow_node quiet, ended;

    (void)state;
    assert_true(td_flowtab_init(&t, 16));
    add(&t, &quiet, 1, 0, 1);   /* open, quiet from t=0 */
    add(&t, &ended, 2, 1 * S, 2); /* ends at t=1 */
    td_flowtab_end(&t, &ended);
    /* t=2.5: the ended flow has lingered 1.5 s, nothing due */
    assert_null(td_flowtab_due(&t, 2 * S + S / 2, lim));
    /* t=3.5: the ended one is due although the open one, older, is not */
    assert_ptr_equal(td_flowtab_due(&t, 3 * S + S / 2, lim), &ended);
    td_flowtab_remove(&t, &ended);
    assert_null(td_flowtab_due(&t, 3 * S + S / 2, lim));
    /* after the idle timeout the open one is */
    assert_ptr_equal(td_flowtab_due(&t, 301 * S, lim), &quiet);
    td_flowtab_cleanup(&t);
}

static void test_due_in_order_of_last_packet(void **state)
{
    struct td_flowtab t;
    struct td_flow_node n[4];

    (void)state;
    assert_true(td_flowtab_init(&t, 16));
    add(&t, &n[0], 1, 0, 10);
    add(&t, &n[1], 2, 0, 11);
    add(&t, &n[2], 3, 298 * S, 12);
    add(&t, &n[3], 4, 298 * S, 13);
    td_flowtab_end(&t, &n[2]); /* ended at t=298, last packet 12 */
    /* t=301: both open flows of t=0 and the ended flow are due; they come
     * in order of last packet (10, 11, 12) across the two lists */
    for (int i = 0; i < 3; i++) {
        struct td_flow_node *d = td_flowtab_due(&t, 301 * S, lim);
        assert_ptr_equal(d, &n[i]);
        td_flowtab_remove(&t, d);
    }
    assert_null(td_flowtab_due(&t, 301 * S, lim));
    assert_ptr_equal(td_flowtab_oldest(&t), &n[3]);
    td_flowtab_cleanup(&t);
}

static void test_oldest_across_lists(void **state)
{
    struct td_flowtab t;
    struct td_flow_node a, b, c;

    (void)state;
    assert_true(td_flowtab_init(&t, 16));
    add(&t, &a, 1, 0, 1);
    add(&t, &b, 2, 0, 2);
    add(&t, &c, 3, 0, 3);
    td_flowtab_end(&t, &a);
    assert_ptr_equal(td_flowtab_oldest(&t), &a);
    /* a packet on a (ended) makes it the newest of its list and of all */
    td_flowtab_touch(&t, &a, 1 * S, 4);
    assert_ptr_equal(td_flowtab_oldest(&t), &b);
    td_flowtab_touch(&t, &b, 1 * S, 5);
    assert_ptr_equal(td_flowtab_oldest(&t), &c);
    assert_int_equal(t.count, 3);
    td_flowtab_remove(&t, &c);
    td_flowtab_remove(&t, &a);
    assert_ptr_equal(td_flowtab_oldest(&t), &b);
    td_flowtab_remove(&t, &b);
    assert_null(td_flowtab_oldest(&t));
    td_flowtab_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ended_not_behind_open),
        cmocka_unit_test(test_due_in_order_of_last_packet),
        cmocka_unit_test(test_oldest_across_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
