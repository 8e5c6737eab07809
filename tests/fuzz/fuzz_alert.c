/* fuzz_alert: td_record_header on the input (with and without SSLv2 framing)
 * and td_parse_alert over the bytes after the first one, alert by alert.
 * Invariants: a header read never claims more than it was given as header,
 * alerts consume exactly two bytes, anomaly offsets inside the input. */
#include "fuzz_common.h"
#include "tlsdiag/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_dup(data, size);
    struct td_cur c, body;
    struct td_diag d;
    struct td_record_hdr h;

    for (int ssl2 = 0; ssl2 < 2; ssl2++) {
        enum td_rec_res res;
        memset(&d, 0, sizeof(d));
        td_cur_init(&c, buf, size);
        res = td_record_header(&h, &c, ssl2 != 0, &d);
        FUZZ_CHECK(res == TD_REC_OK || res == TD_REC_NEED || res == TD_REC_NOT_TLS);
        FUZZ_CHECK(c.len == size && c.off == 0); /* looked at, not moved */
        fuzz_check_diag(&d, size);
        if (res == TD_REC_OK)
            FUZZ_CHECK(h.hdr_len <= size);
    }
    memset(&d, 0, sizeof(d));
    td_cur_init(&body, buf, size);
    while (!td_cur_empty(&body)) {
        struct td_alert a;
        size_t before = body.len;
        enum td_status st = td_parse_alert(&a, &body, &d);
        if (st != TD_OK) {
            FUZZ_CHECK(d.total > 0);
            FUZZ_CHECK(before < 2);
            break;
        }
        FUZZ_CHECK(body.len + 2 == before);
    }
    fuzz_check_diag(&d, size);
    free(buf);
    return 0;
}
