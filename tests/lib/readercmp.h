/* readercmp.h: two td_readers over the same capture must hand out the same
 * packets (test_reader_mem: memory against file; test_reader_pool: lent
 * buffers against the reader's own).  Tests only; asserts with cmocka. */
#ifndef TLSDIAG_TESTS_READERCMP_H
#define TLSDIAG_TESTS_READERCMP_H

#include "tlsdiag/capture.h"

/* called with every packet of |b|, in order */
typedef void (*readercmp_fn)(const struct td_pkt *pb, void *ctx);

/* readercmp_same reads |a| and |b| in step to their end and asserts the
 * same results, the same packets (frame, lengths, times, file offset,
 * bytes), the same reader offsets and, at an error, the same message.
 * Returns the number of packets (asserted > 0). */
int readercmp_same(struct td_reader *a, struct td_reader *b, readercmp_fn each, void *ctx);

#endif
