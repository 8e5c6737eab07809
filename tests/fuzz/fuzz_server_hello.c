/* fuzz_server_hello: td_parse_server_hello and JA3S.  Invariants: lists
 * within caps and totals, anomaly offsets inside the input, the selected
 * version is the supported_versions one when that extension was read. */
#include "fuzz_common.h"
#include "tlsdiag/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct td_server_hello sh;
    struct td_cur msg;
    enum td_status st;
    uint8_t *buf = fuzz_dup(data, size);
    char md5[33], full[1024];

    td_cur_init(&msg, buf, size);
    memset(&sh, 0xa5, sizeof(sh));
    st = td_parse_server_hello(&sh, &msg);
    FUZZ_CHECK(st == TD_OK || st == TD_EMALFORMED || st == TD_ELIMIT || st == TD_ENOMEM);
    if (st == TD_EMALFORMED)
        FUZZ_CHECK(sh.diag.total > 0);
    fuzz_check_diag(&sh.diag, size);
    fuzz_check_view(&msg, buf, size);
    FUZZ_CHECK(sh.session_id_len <= 32);
    FUZZ_CHECK(sh.ext_order.n <= sh.ext_order.total && sh.ext_order.n <= TD_MAX_U16_LIST);
    FUZZ_CHECK((size_t)sh.ext_order.total * 4 <= size);
    FUZZ_CHECK(sh.alpn.len <= TD_MAX_ALPN_LEN);
    td_ja3s(&sh, md5, full, sizeof(full));
    FUZZ_CHECK(strlen(md5) == 32);
    free(buf);
    return 0;
}
