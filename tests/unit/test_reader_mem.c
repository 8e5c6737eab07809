/* test_reader_mem.c: td_reader_open_mem (the reader's buffer API, used by
 * the fuzzers) reads the same packets as td_reader_open, and timestamps
 * that would overflow nanoseconds are clamped (found by fuzz_pipeline). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/capture.h"
#include "readercmp.h"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        b = malloc((size_t)n);
        if (b != NULL && fread(b, 1, (size_t)n, f) != (size_t)n) {
            free(b);
            b = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return b;
}

static void same_packets(const char *path)
{
    struct td_input_error err;
    size_t len = 0;
    uint8_t *buf = slurp(path, &len);
    struct td_reader *a, *b;

    assert_non_null(buf);
    a = td_reader_open(path, &err);
    b = td_reader_open_mem(buf, len, &err);
    assert_non_null(a);
    assert_non_null(b);
    readercmp_same(a, b, NULL, NULL);
    td_reader_close(a);
    td_reader_close(b);
    free(buf);
}

static void test_mem_equals_file(void **state)
{
    (void)state;
    same_packets("tests/data/lab/ok_tls12_full.pcap");
    same_packets("tests/data/lab/pcapng_tls12.pcapng");
}

static void test_mem_errors(void **state)
{
    static const uint8_t junk[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    struct td_input_error err;

    (void)state;
    assert_null(td_reader_open_mem(NULL, 0, &err));
    assert_int_equal(err.off, 0);
    assert_null(td_reader_open_mem(junk, sizeof(junk), &err));
    assert_non_null(strstr(err.msg, "not a pcap or pcapng file (magic 0x00010203)"));
}

/* A pcapng interface with if_tsresol 10^0 and a timestamp of 2^64-1
 * seconds: ts_sec is clamped so ts_sec * 1e9 fits in int64. */
static void test_timestamp_clamped(void **state)
{
    struct td_input_error err;
    size_t len = 0;
    uint8_t *buf = slurp("tests/fuzz/regress/pipeline/pcapng_timestamp_overflow.pcapng", &len);
    struct td_reader *r;
    struct td_pkt p;
    int n = 0, clamped = 0;

    (void)state;
    assert_non_null(buf);
    r = td_reader_open_mem(buf, len, &err);
    assert_non_null(r);
    while (td_reader_next(r, &p) == 1) {
        assert_true(p.ts_sec >= 0 && p.ts_sec <= (int64_t)TD_MAX_TS_SEC);
        if (p.ts_sec == (int64_t)TD_MAX_TS_SEC)
            clamped++;
        n++;
    }
    assert_true(n > 0);
    assert_true(clamped > 0);
    td_reader_close(r);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mem_equals_file),
        cmocka_unit_test(test_mem_errors),
        cmocka_unit_test(test_timestamp_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
