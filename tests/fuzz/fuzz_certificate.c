/* fuzz_certificate: the Certificate message parser and the X.509 fact layer
 * (td_parse_certificate -> td_chain_analyze).  The first byte selects:
 *   bit 0  TLS 1.3 format
 *   bit 1  the rest is one raw DER certificate (wrapped in a TLS 1.2
 *          Certificate message here), so mutations reach the ASN.1 directly
 *   bit 2  verify against the system trust store (loaded once)
 *   bit 3/4 check the name "www.example.com" / "192.0.2.1"
 * Invariants: counts <= totals <= caps, kept DER lengths within caps and
 * within the input, facts strings NUL-terminated, issuer indexes in range. */
#include "fuzz_common.h"
#include "tlsdiag/tls.h"
#include "tlsdiag/x509.h"

static struct td_trust *trust;
static bool trust_loaded;

static void check_str(const char *s, size_t cap) { FUZZ_CHECK(memchr(s, '\0', cap) != NULL); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct td_certificate c;
    static struct td_chain_facts f;
    struct td_cur msg;
    enum td_status st;
    uint8_t *buf;
    size_t n;
    uint8_t mode;
    const char *host = NULL;

    if (size == 0)
        return 0;
    mode = data[0];
    data++;
    size--;
    if (mode & 2) {
        /* u24 list length, u24 cert length, cert */
        if (size > 0xfffff0)
            return 0;
        n = size + 6;
        buf = malloc(n);
        if (buf == NULL)
            abort();
        buf[0] = (uint8_t)((size + 3) >> 16);
        buf[1] = (uint8_t)((size + 3) >> 8);
        buf[2] = (uint8_t)(size + 3);
        buf[3] = (uint8_t)(size >> 16);
        buf[4] = (uint8_t)(size >> 8);
        buf[5] = (uint8_t)size;
        if (size)
            memcpy(buf + 6, data, size);
        mode &= (uint8_t)~1u;
    } else {
        n = size;
        buf = fuzz_dup(data, size);
    }
    td_cur_init(&msg, buf, n);
    st = td_parse_certificate(&c, &msg, (mode & 1) != 0);
    FUZZ_CHECK(st == TD_OK || st == TD_EMALFORMED || st == TD_ENOMEM);
    if (st == TD_EMALFORMED)
        FUZZ_CHECK(c.diag.total > 0);
    fuzz_check_diag(&c.diag, n);
    FUZZ_CHECK(c.num_certs <= c.total_certs && c.num_certs <= TD_MAX_CERTS);
    for (unsigned i = 0; i < c.num_certs; i++) {
        FUZZ_CHECK(c.certs[i].len <= TD_MAX_CERT_LEN);
        FUZZ_CHECK(c.certs[i].len <= c.certs[i].wire_len && c.certs[i].wire_len <= n);
        FUZZ_CHECK((c.certs[i].der == NULL) == (c.certs[i].len == 0));
    }
    if (mode & 4) {
        if (!trust_loaded) {
            char err[256];
            trust = td_trust_new(NULL, err, sizeof(err));
            trust_loaded = true;
        }
    }
    if (mode & 8)
        host = "www.example.com";
    else if (mode & 16)
        host = "192.0.2.1";
    td_chain_analyze(&f, &c, (mode & 4) ? trust : NULL, 1700000000, host);
    FUZZ_CHECK(f.num <= f.total && f.num <= TD_MAX_CERTS && f.num <= c.num_certs);
    FUZZ_CHECK(f.num_errors <= f.total_errors && f.num_errors <= TD_X509_MAX_VERIFY_ERRORS);
    FUZZ_CHECK(f.order_ok == (f.order_break < 0));
    check_str(f.verify_error_str, sizeof(f.verify_error_str));
    check_str(f.missing_issuer, sizeof(f.missing_issuer));
    check_str(f.name_matched, sizeof(f.name_matched));
    if (host == NULL)
        FUZZ_CHECK(!f.name_checked);
    for (unsigned i = 0; i < f.num; i++) {
        const struct td_cert_info *ci = &f.certs[i];
        FUZZ_CHECK(ci->issuer_index >= -1 && ci->issuer_index < (int)f.num);
        FUZZ_CHECK(ci->num_san <= ci->total_san && ci->num_san <= TD_X509_MAX_SAN);
        check_str(ci->subject_cn, sizeof(ci->subject_cn));
        check_str(ci->issuer_cn, sizeof(ci->issuer_cn));
        check_str(ci->subject, sizeof(ci->subject));
        check_str(ci->issuer, sizeof(ci->issuer));
        check_str(ci->key_type, sizeof(ci->key_type));
        check_str(ci->key_group, sizeof(ci->key_group));
        check_str(ci->sig_alg, sizeof(ci->sig_alg));
        check_str(ci->sig_hash, sizeof(ci->sig_hash));
        for (unsigned k = 0; k < ci->num_san; k++)
            check_str(ci->san[k], sizeof(ci->san[k]));
        if (!ci->parse_ok)
            FUZZ_CHECK(ci->subject[0] == '\0' && ci->num_san == 0);
    }
    td_certificate_cleanup(&c);
    free(buf);
    return 0;
}
