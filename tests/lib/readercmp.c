/* readercmp.c: see readercmp.h */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "readercmp.h"

int readercmp_same(struct td_reader *a, struct td_reader *b, readercmp_fn each, void *ctx)
{
    struct td_pkt pa, pb;
    int ra, rb, n = 0;

    do {
        ra = td_reader_next(a, &pa);
        rb = td_reader_next(b, &pb);
        assert_int_equal(ra, rb);
        if (ra == 1) {
            assert_int_equal(pa.frame, pb.frame);
            assert_int_equal(pa.caplen, pb.caplen);
            assert_int_equal(pa.origlen, pb.origlen);
            assert_int_equal(pa.ts_sec, pb.ts_sec);
            assert_int_equal(pa.ts_nsec, pb.ts_nsec);
            assert_int_equal(pa.linktype, pb.linktype);
            assert_int_equal(pa.file_off, pb.file_off);
            assert_memory_equal(pa.data, pb.data, pa.caplen);
            if (each != NULL)
                each(&pb, ctx);
            n++;
        }
        assert_int_equal(td_reader_offset(a), td_reader_offset(b));
    } while (ra == 1);
    if (ra < 0)
        assert_string_equal(td_reader_error(a)->msg, td_reader_error(b)->msg);
    assert_true(n > 0);
    return n;
}
