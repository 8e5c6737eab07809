/* test_diag.c: the bounded anomaly sink (lib/util/diag.c) and its cap
 * (--max-anomalies): what is kept, what is counted, and that a cut list
 * always says so with LIMIT_ANOMALIES while LIMIT_* codes stay on record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/diag.h"

static void test_default_cap(void **state)
{
    struct td_diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    for (unsigned i = 0; i < TD_DIAG_MAX; i++)
        td_diag_add(&d, TD_AN_EXT_DUPLICATE, 0, i);
    assert_int_equal(d.n, TD_DIAG_MAX);
    assert_int_equal(d.total, TD_DIAG_MAX);
    assert_false(td_diag_has(&d, TD_AN_LIMIT_ANOMALIES));
    /* one more: not kept, counted, and the cut is on record once */
    td_diag_add(&d, TD_AN_EXT_TRAILING_DATA, 7, 100);
    td_diag_add(&d, TD_AN_EXT_TRAILING_DATA, 7, 101);
    assert_int_equal(d.n, TD_DIAG_MAX + 1);
    assert_int_equal(d.total, TD_DIAG_MAX + 2);
    assert_int_equal(d.recs[TD_DIAG_MAX].code, TD_AN_LIMIT_ANOMALIES);
    assert_int_equal(d.recs[TD_DIAG_MAX].off, 100);
    assert_false(td_diag_has(&d, TD_AN_EXT_TRAILING_DATA));
}

static void test_lower_cap(void **state)
{
    struct td_diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    d.max = 2;
    assert_int_equal(td_diag_cap(&d), 2);
    td_diag_add(&d, TD_AN_EXT_DUPLICATE, 0, 1);
    td_diag_add(&d, TD_AN_EXT_DUPLICATE, 0, 2);
    assert_int_equal(d.n, 2);
    assert_false(td_diag_has(&d, TD_AN_LIMIT_ANOMALIES));
    td_diag_add(&d, TD_AN_EXT_DUPLICATE, 0, 3);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.recs[2].code, TD_AN_LIMIT_ANOMALIES);
    /* a cap of ours hit after the cut is still kept, once */
    td_diag_add(&d, TD_AN_LIMIT_RECORDS, 0, 4);
    td_diag_add(&d, TD_AN_LIMIT_RECORDS, 0, 5);
    assert_int_equal(d.n, 4);
    assert_int_equal(d.recs[3].code, TD_AN_LIMIT_RECORDS);
    assert_int_equal(d.recs[3].off, 4);
    assert_int_equal(d.total, 5);
    assert_true(d.n <= d.total);
}

static void test_cap_bounds(void **state)
{
    struct td_diag d;

    (void)state;
    memset(&d, 0, sizeof(d));
    assert_int_equal(td_diag_cap(&d), TD_DIAG_MAX); /* 0: the compiled cap */
    d.max = TD_DIAG_MAX + 5;
    assert_int_equal(td_diag_cap(&d), TD_DIAG_MAX); /* never past the array */
    d.max = 1;
    /* every kind of limit code past the cap fits in the slots */
    for (unsigned i = 0; i < 1000; i++)
        td_diag_add(&d, (enum td_anomaly)(i % 2 ? TD_AN_EXT_DUPLICATE : 80 + (i / 2) % 12), 0, i);
    assert_true(d.n <= TD_DIAG_SLOTS);
    assert_int_equal(d.total, 1000);
    for (unsigned c = 80; c < 92; c++)
        assert_true(td_diag_has(&d, (enum td_anomaly)c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_cap),
        cmocka_unit_test(test_lower_cap),
        cmocka_unit_test(test_cap_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
