/* test_flowtab.c: the flow table's two recency lists (lib/tcp/flowtab.c).
 * Expiry is a decision about each flow alone, so that `read -j`'s shards,
 * which hold only their flows, end them where one table would: an ended
 * flow is due after its linger even behind a quiet open flow, the due
 * flows come out in order of last packet across both lists, and the
 * oldest flow (for eviction) is the least recently touched of both.
 * The caps are kept per partition: each partition's oldest flow and count
 * follow every insert, touch, end and remove, a flow's partition is the
 * same from either direction and from its key, and the flow cap names the
 * oldest flow of the partition that went over its share. */
#include <setjmp.h>
#include <stdbool.h>
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

/* a brute-force model: each partition's least recently touched flow */
static void check_parts(const struct td_flowtab *t, struct td_flow_node *n, const bool *in, size_t nn, unsigned nparts)
{
    for (unsigned p = 0; p < nparts; p++) {
        const struct td_flow_node *old = NULL;
        size_t cnt = 0;
        for (size_t i = 0; i < nn; i++) {
            if (!in[i] || n[i].part != p)
                continue;
            cnt++;
            if (old == NULL || n[i].tseq < old->tseq)
                old = &n[i];
        }
        assert_int_equal(td_flowtab_part_count(t, p), cnt);
        assert_ptr_equal(td_flowtab_part_oldest(t, p), old);
    }
}

static void test_partitions(void **state)
{
    enum { NN = 300 };
    static struct td_flow_node n[NN];
    bool in[NN] = {false};
    struct td_flowtab t;
    unsigned nparts = td_flow_parts(1000000);
    uint64_t seq = 1, rnd = 88172645463325252ULL;
    size_t total = 0;

    (void)state;
    assert_int_equal(nparts, TD_FLOW_PARTS);
    assert_true(td_flowtab_init(&t, 16));
    for (int step = 0; step < 20000; step++) {
        size_t i;
        rnd ^= rnd << 13;
        rnd ^= rnd >> 7;
        rnd ^= rnd << 17;
        i = (size_t)(rnd % NN);
        if (!in[i]) {
            uint8_t x[16] = {10, 1, (uint8_t)(i >> 8), (uint8_t)i}, y[16] = {192, 0, 2, 7};
            memset(&n[i], 0, sizeof(n[i]));
            td_flow_key_make(&n[i].key, 4, x, (uint16_t)(1024 + i), y, 443);
            n[i].hash = td_flow_key_hash(&n[i].key);
            n[i].part = (uint8_t)td_flow_key_part(&n[i].key, nparts);
            /* from either direction of a packet, and from the key */
            assert_int_equal(n[i].part, td_flow_part(4, x, y, (uint16_t)(1024 + i), 443, nparts));
            assert_int_equal(n[i].part, td_flow_part(4, y, x, 443, (uint16_t)(1024 + i), nparts));
            td_flowtab_insert(&t, &n[i]);
            td_flowtab_touch(&t, &n[i], 0, seq++);
            in[i] = true;
            total++;
        } else if ((rnd >> 20) % 4 == 0) {
            td_flowtab_remove(&t, &n[i]);
            in[i] = false;
            total--;
        } else {
            td_flowtab_touch(&t, &n[i], 0, seq++);
            if ((rnd >> 24) % 3 == 0)
                td_flowtab_end(&t, &n[i]);
        }
        if (step % 97 == 0)
            check_parts(&t, n, in, NN, nparts);
    }
    check_parts(&t, n, in, NN, nparts);
    assert_int_equal(t.count, total);
    {
        /* the flows spread over every partition */
        unsigned used = 0;
        for (unsigned p = 0; p < nparts; p++)
            used += td_flowtab_part_count(&t, p) > 0;
        assert_int_equal(used, nparts);
    }
    td_flowtab_cleanup(&t);
}

static void test_part_shares(void **state)
{
    (void)state;
    assert_int_equal(td_flow_parts(1), 1);
    assert_int_equal(td_flow_parts(3), 3);
    assert_int_equal(td_flow_parts(16), 16);
    assert_int_equal(td_flow_parts(17), 16);
    for (uint64_t total = 1; total < 200; total++) {
        unsigned np = td_flow_parts((uint32_t)total);
        uint64_t sum = 0;
        for (unsigned p = 0; p < np; p++) {
            assert_true(td_flow_part_cap(total, np, p) >= 1);
            sum += td_flow_part_cap(total, np, p);
        }
        assert_int_equal(sum, total);
    }
    {
        /* IPv6: symmetric too, and the key's partition is the packet's */
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        struct td_flow_key k;
        td_flow_key_make(&k, 6, a, 50000, b, 443);
        assert_int_equal(td_flow_part(6, a, b, 50000, 443, 16), td_flow_part(6, b, a, 443, 50000, 16));
        assert_int_equal(td_flow_key_part(&k, 16), td_flow_part(6, a, b, 50000, 443, 16));
    }
}

static void add_in(struct td_flowtab *t, struct td_flow_node *n, uint8_t a, uint8_t part, uint64_t seq)
{
    uint8_t x[16] = {10, 0, 0, a}, y[16] = {10, 0, 1, 1};

    memset(n, 0, sizeof(*n));
    td_flow_key_make(&n->key, 4, x, 40000, y, 443);
    n->hash = td_flow_key_hash(&n->key);
    n->part = part;
    td_flowtab_insert(t, n);
    td_flowtab_touch(t, n, 0, seq);
}

/* the flow cap: per partition, checked after each insert, the partition's
 * least recently touched flow first; no cap until td_flowtab_set_caps */
static void test_over_cap(void **state)
{
    struct td_flowtab t;
    struct td_flow_node n[6];

    (void)state;
    assert_true(td_flowtab_init(&t, 16));
    for (uint8_t i = 0; i < 6; i++) {
        add_in(&t, &n[i], (uint8_t)(i + 1), 0, i + 1u);
        assert_null(td_flowtab_over_cap(&t));
    }
    td_flowtab_cleanup(&t);

    assert_true(td_flowtab_init(&t, 16));
    td_flowtab_set_caps(&t, 2, 3); /* partition 0 holds 2, partition 1 holds 1 */
    add_in(&t, &n[0], 1, 0, 1);
    assert_null(td_flowtab_over_cap(&t));
    add_in(&t, &n[1], 2, 0, 2);
    assert_null(td_flowtab_over_cap(&t));
    td_flowtab_touch(&t, &n[0], 0, 3); /* n[1] is now the least recent */
    add_in(&t, &n[2], 3, 0, 4);
    assert_ptr_equal(td_flowtab_over_cap(&t), &n[1]);
    assert_ptr_equal(td_flowtab_over_cap(&t), &n[1]); /* until it is removed */
    td_flowtab_remove(&t, &n[1]);
    assert_null(td_flowtab_over_cap(&t));
    add_in(&t, &n[3], 4, 1, 5);
    assert_null(td_flowtab_over_cap(&t));
    add_in(&t, &n[4], 5, 1, 6);
    assert_ptr_equal(td_flowtab_over_cap(&t), &n[3]);
    td_flowtab_remove(&t, &n[3]);
    assert_null(td_flowtab_over_cap(&t));
    assert_int_equal(td_flowtab_part_count(&t, 0), 2);
    assert_int_equal(td_flowtab_part_count(&t, 1), 1);
    td_flowtab_cleanup(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ended_not_behind_open),
        cmocka_unit_test(test_due_in_order_of_last_packet),
        cmocka_unit_test(test_oldest_across_lists),
        cmocka_unit_test(test_partitions),
        cmocka_unit_test(test_part_shares),
        cmocka_unit_test(test_over_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
