/* fuzz_client_hello: td_parse_client_hello (or, when the first byte is odd,
 * td_parse_sslv2_client_hello on the rest), then JA3/JA4 on the result.
 * Invariants: counts <= totals <= what the input can hold, kept lengths
 * within their caps, anomaly offsets inside the input, fingerprints are
 * NUL-terminated hex/ASCII. */
#include "fuzz_common.h"
#include "tlsdiag/tls.h"

static void check_u16(const struct td_u16_list *l)
{
    FUZZ_CHECK(l->n <= l->total);
    FUZZ_CHECK(l->n <= TD_MAX_U16_LIST);
}

static void check_u8(const struct td_u8_list *l)
{
    FUZZ_CHECK(l->n <= l->total);
    FUZZ_CHECK(l->n <= TD_MAX_U8_LIST);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct td_client_hello ch;
    struct td_cur msg;
    enum td_status st;
    uint8_t *buf;
    size_t n;
    bool sslv2;
    char md5[33], full[1024], ja4[256];

    if (size == 0)
        return 0;
    sslv2 = (data[0] & 1) != 0;
    n = size - 1;
    buf = fuzz_dup(data + 1, n);
    td_cur_init(&msg, buf, n);
    memset(&ch, 0xa5, sizeof(ch)); /* the parser must zero what it fills */
    if (sslv2)
        st = td_parse_sslv2_client_hello(&ch, &msg);
    else
        st = td_parse_client_hello(&ch, &msg);
    FUZZ_CHECK(st == TD_OK || st == TD_EMALFORMED || st == TD_ELIMIT || st == TD_ENOMEM);
    if (st == TD_EMALFORMED)
        FUZZ_CHECK(ch.diag.total > 0);
    fuzz_check_diag(&ch.diag, n);
    fuzz_check_view(&msg, buf, n);
    FUZZ_CHECK(ch.num_ciphers <= ch.total_ciphers);
    FUZZ_CHECK(ch.num_ciphers <= TD_MAX_CIPHERS);
    FUZZ_CHECK((size_t)ch.total_ciphers * 2 <= n || sslv2);
    FUZZ_CHECK(ch.session_id_len <= 32);
    FUZZ_CHECK(ch.sni_len <= TD_MAX_SNI_LEN);
    FUZZ_CHECK(ch.sni[ch.sni_len] == '\0');
    FUZZ_CHECK(ch.num_alpn <= ch.total_alpn && ch.num_alpn <= TD_MAX_ALPN);
    for (unsigned i = 0; i < ch.num_alpn; i++)
        FUZZ_CHECK(ch.alpn[i].len <= TD_MAX_ALPN_LEN && ch.alpn[i].len <= ch.alpn[i].wire_len);
    FUZZ_CHECK(ch.num_key_shares <= ch.total_key_shares && ch.num_key_shares <= TD_MAX_KEY_SHARES);
    check_u16(&ch.ext_order);
    check_u16(&ch.versions);
    check_u16(&ch.groups);
    check_u16(&ch.sig_algs);
    check_u8(&ch.compression);
    check_u8(&ch.ec_point_formats);
    check_u8(&ch.psk_modes);
    FUZZ_CHECK((size_t)ch.ext_order.total * 4 <= n);

    td_ja3(&ch, md5, full, sizeof(full));
    FUZZ_CHECK(strlen(md5) == 32);
    FUZZ_CHECK(strlen(full) < sizeof(full));
    for (int raw = 0; raw < 2; raw++)
        for (int orig = 0; orig < 2; orig++) {
            td_ja4(&ch, raw != 0, orig != 0, ja4, sizeof(ja4));
            FUZZ_CHECK(strlen(ja4) < sizeof(ja4));
            for (const char *q = ja4; *q; q++)
                FUZZ_CHECK(*q > 0x20 && *q < 0x7f);
        }
    free(buf);
    return 0;
}
