/* fuzz_cert_request: td_parse_certificate_request (first byte: TLS 1.3
 * format), and with the same bytes the other server messages the engine
 * parses: ServerKeyExchange (each key exchange), NewSessionTicket,
 * CertificateStatus.  Invariants: counts <= totals <= caps, kept DN copies
 * within the input, anomaly offsets inside the input. */
#include "fuzz_common.h"
#include "tlsdiag/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct td_certificate_request cr;
    struct td_server_key_exchange ske;
    struct td_new_session_ticket nst;
    struct td_certificate_status cs;
    struct td_cur msg;
    enum td_status st;
    uint8_t *buf;
    size_t n;
    bool tls13;

    if (size == 0)
        return 0;
    tls13 = (data[0] & 1) != 0;
    n = size - 1;
    buf = fuzz_dup(data + 1, n);

    td_cur_init(&msg, buf, n);
    st = td_parse_certificate_request(&cr, &msg, tls13);
    FUZZ_CHECK(st == TD_OK || st == TD_EMALFORMED || st == TD_ENOMEM);
    if (st == TD_EMALFORMED)
        FUZZ_CHECK(cr.diag.total > 0);
    fuzz_check_diag(&cr.diag, n);
    FUZZ_CHECK(cr.cert_types.n <= cr.cert_types.total && cr.cert_types.n <= TD_MAX_U8_LIST);
    FUZZ_CHECK(cr.sig_algs.n <= cr.sig_algs.total && cr.sig_algs.n <= TD_MAX_U16_LIST);
    FUZZ_CHECK(cr.num_ca_names <= cr.total_ca_names);
    FUZZ_CHECK(cr.num_ca_names <= sizeof(cr.ca_names) / sizeof(cr.ca_names[0]));
    for (unsigned i = 0; i < cr.num_ca_names; i++)
        FUZZ_CHECK(cr.ca_names[i].len <= cr.ca_names[i].wire_len && cr.ca_names[i].wire_len <= n);
    td_certificate_request_cleanup(&cr);

    for (int k = TD_KEX_UNKNOWN; k <= TD_KEX_PSK; k++) {
        td_cur_init(&msg, buf, n);
        st = td_parse_server_key_exchange(&ske, &msg, (enum td_kex)k);
        if (st == TD_EMALFORMED)
            FUZZ_CHECK(ske.diag.total > 0);
        fuzz_check_diag(&ske.diag, n);
        FUZZ_CHECK(ske.pubkey_len <= n);
    }
    td_cur_init(&msg, buf, n);
    st = td_parse_new_session_ticket(&nst, &msg, tls13);
    if (st == TD_EMALFORMED)
        FUZZ_CHECK(nst.diag.total > 0);
    fuzz_check_diag(&nst.diag, n);
    FUZZ_CHECK(nst.ticket_len <= n);
    td_cur_init(&msg, buf, n);
    st = td_parse_certificate_status(&cs, &msg);
    if (st == TD_EMALFORMED)
        FUZZ_CHECK(cs.diag.total > 0);
    fuzz_check_diag(&cs.diag, n);
    FUZZ_CHECK(cs.response_len <= n);
    free(buf);
    return 0;
}
