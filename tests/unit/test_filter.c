/* test_filter.c: lib/capture/filter.c (BPF through libpcap, per link type)
 * and the error path of lib/capture/live.c (no capture privileges needed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "pcapw.h"
#include "tlsdiag/capture.h"

static struct td_pkt mkpkt(const struct pktb *b, uint32_t linktype)
{
    struct td_pkt p;

    memset(&p, 0, sizeof(p));
    p.frame = 1;
    p.linktype = linktype;
    p.data = b->b;
    p.caplen = (uint32_t)b->n;
    p.origlen = (uint32_t)b->n;
    return p;
}

static void test_filter_syntax_error(void **state)
{
    char err[256] = "";

    (void)state;
    assert_null(td_filter_new("tcp port", err, sizeof(err)));
    assert_true(strlen(err) > 0);
    td_filter_free(NULL);
}

static void test_filter_per_linktype(void **state)
{
    char err[256] = "";
    struct td_filter *f = td_filter_new("tcp port 443", err, sizeof(err));
    struct pktb eth = {0}, raw = {0};
    struct td_pkt p;

    (void)state;
    assert_non_null(f);
    pb_eth_ipv4_tcp(&eth, TD_TCP_ACK, 4);
    p = mkpkt(&eth, TD_LINK_ETHERNET);
    assert_true(td_filter_match(f, &p));
    eth.b[14 + 20 + 3] = 80; /* dport 443 -> 336 */
    eth.b[14 + 20 + 2] = 1;
    eth.b[14 + 20 + 0] = 0;  /* sport 40000 -> 0x0040 */
    assert_false(td_filter_match(f, &p));

    pb_ipv4(&raw, 40, 6, 0, 0);
    pb_tcp(&raw, TD_TCP_ACK, false);
    p = mkpkt(&raw, TD_LINK_RAW);
    assert_true(td_filter_match(f, &p)); /* compiled for raw IP on first use */
    p = mkpkt(&raw, TD_LINK_LINUX_SLL2);
    assert_false(td_filter_match(f, &p)); /* raw bytes read as SLL2: no match */
    assert_null(td_filter_take_error(f));
    td_filter_free(f);
}

static void test_filter_not_compilable(void **state)
{
    char err[256] = "";
    struct td_filter *f = td_filter_new("ether host 02:00:00:00:00:01", err, sizeof(err));
    struct pktb raw = {0};
    struct td_pkt p;

    (void)state;
    assert_non_null(f);
    assert_null(td_filter_take_error(f));
    pb_ipv4(&raw, 40, 6, 0, 0);
    pb_tcp(&raw, TD_TCP_ACK, false);
    p = mkpkt(&raw, TD_LINK_RAW);
    assert_true(td_filter_match(f, &p)); /* cannot filter: passes */
    assert_non_null(td_filter_take_error(f));
    assert_null(td_filter_take_error(f)); /* reported once */
    assert_true(td_filter_match(f, &p));
    assert_null(td_filter_take_error(f));
    td_filter_free(f);
}

static void test_live_bad_iface(void **state)
{
    struct td_input_error err;

    (void)state;
    memset(&err, 0, sizeof(err));
    assert_null(td_live_open("td-no-such-iface0", NULL, 0, &err));
    assert_true(strlen(err.msg) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_syntax_error),
        cmocka_unit_test(test_filter_per_linktype),
        cmocka_unit_test(test_filter_not_compilable),
        cmocka_unit_test(test_live_bad_iface),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
