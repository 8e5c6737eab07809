/* fuzz_probe_roundtrip: the probe's ClientHello builder (lib/probe/build.c)
 * against our parser (lib/tls/hello.c).  A probe spec is decoded from the
 * input, td_ch_build makes the hello, td_parse_client_hello (or
 * td_parse_sslv2_client_hello for an SSLv2-compatible one) reads it back, and
 * every requested field must read back identically: versions, random,
 * session id, ciphers, groups, signature algorithms, supported_versions, key
 * share groups, SNI bytes (or its absence), ALPN names, GREASE, padding to
 * the requested length, ticket, flags.  The record stays within TD_CH_MAX + 5
 * and its lengths agree with what was built; a spec that fits is never
 * refused.
 *
 * Input (missing bytes read as 0): u16 flags, u16 legacy_version,
 * u16 record_version, u16 pad_to, u8 n + n u16 ciphers, u8 n%32 groups,
 * u8 n%16 versions, u8 n%48 sig algs, u8 n%6 share groups, u8 sni_len + bytes,
 * u8 n%9 ALPN names (u8 len + bytes each), u8 sid_len%33 + bytes,
 * 32 bytes random, u8 ticket_len + bytes. */
#include "fuzz_common.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/registry.h"
#include "tlsdiag/tls.h"

struct in {
    const uint8_t *p;
    size_t n, off;
};

static uint8_t g8(struct in *in)
{
    return in->off < in->n ? in->p[in->off++] : 0;
}

static uint16_t g16(struct in *in)
{
    uint16_t hi = g8(in);
    return (uint16_t)((hi << 8) | g8(in));
}

static void gbytes(struct in *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = g8(in);
}

static uint16_t glist(struct in *in, uint16_t *v, uint16_t max)
{
    uint16_t n = (uint16_t)(g8(in) % (max + 1u));
    for (uint16_t i = 0; i < n; i++)
        v[i] = g16(in);
    return n;
}

/* |got| (n entries) is [GREASE if gr] followed by want[0..nw) */
static void check_list(const uint16_t *got, uint16_t n, const uint16_t *want, uint16_t nw, bool gr)
{
    uint16_t k = gr ? 1 : 0;
    FUZZ_CHECK(n == nw + k);
    if (gr)
        FUZZ_CHECK(td_is_grease(got[0]));
    for (uint16_t i = 0; i < nw; i++)
        FUZZ_CHECK(got[k + i] == want[i]);
}

static unsigned count_grease(const uint16_t *v, uint16_t n)
{
    unsigned c = 0;
    for (uint16_t i = 0; i < n; i++)
        c += td_is_grease(v[i]) ? 1u : 0u;
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct td_keyshares ks;
    static bool ks_ok;
    static struct td_client_hello ch;
    static uint8_t out[TD_CH_MAX + 5];
    uint16_t ciphers[255], groups[31], versions[15], sigs[47], shares[5], sent_shares[6];
    char sni[256], alpn[TD_CH_MAX_ALPN][256];
    uint8_t ticket[255];
    struct td_ch_spec s;
    struct in in = {data, size, 0};
    uint16_t flags, nsent = 0;
    size_t n;
    struct td_cur msg;
    enum td_status st;
    uint8_t *copy;
    unsigned want_grease;

    if (!ks_ok) {
        FUZZ_CHECK(td_keyshares_init(&ks) == 0);
        ks_ok = true;
    }
    memset(&s, 0, sizeof(s));
    flags = g16(&in);
    s.sslv2 = flags & 1;
    s.grease = (flags >> 1) & 1;
    s.ec_point_formats = (flags >> 2) & 1;
    s.ems = (flags >> 3) & 1;
    s.reneg_info = (flags >> 4) & 1;
    s.session_ticket = (flags >> 5) & 1;
    s.status_request = (flags >> 6) & 1;
    s.psk_modes = (flags >> 7) & 1;
    s.key_share_empty = (flags >> 8) & 1;
    s.legacy_version = g16(&in);
    s.record_version = g16(&in);
    s.pad_to = (flags >> 10) & 1 ? g16(&in) : 0;
    s.num_ciphers = glist(&in, ciphers, 255);
    s.ciphers = ciphers;
    s.num_groups = glist(&in, groups, 31);
    s.groups = groups;
    s.num_versions = glist(&in, versions, 15);
    s.versions = versions;
    s.num_sig_algs = glist(&in, sigs, 47);
    s.sig_algs = sigs;
    s.num_share_groups = (uint16_t)(g8(&in) % 6);
    for (uint16_t i = 0; i < s.num_share_groups; i++) {
        uint8_t k = g8(&in);
        /* mostly groups with a key, sometimes any value (skipped by the builder) */
        shares[i] = k < 0xf0 ? ks.ks[k % ks.n].group : (uint16_t)((unsigned)k << 4);
    }
    s.share_groups = shares;
    if ((flags >> 9) & 1) {
        uint8_t l = g8(&in);
        gbytes(&in, (uint8_t *)sni, l);
        sni[l] = '\0';
        s.sni = sni;
    }
    s.num_alpn = (uint8_t)(g8(&in) % (TD_CH_MAX_ALPN + 1));
    for (uint8_t i = 0; i < s.num_alpn; i++) {
        uint8_t l = g8(&in);
        gbytes(&in, (uint8_t *)alpn[i], l);
        alpn[i][l] = '\0';
        s.alpn[i] = alpn[i];
    }
    s.session_id_len = (uint8_t)(g8(&in) % 33);
    gbytes(&in, s.session_id, s.session_id_len);
    gbytes(&in, s.random, 32);
    s.ticket_len = g8(&in);
    gbytes(&in, ticket, s.ticket_len);
    s.ticket = ticket;

    n = td_ch_build(&s, &ks, out, sizeof(out));
    FUZZ_CHECK(n <= TD_CH_MAX + 5);
    /* an empty ALPN name is an inconsistent spec (RFC 7301: <1..2^8-1>) */
    for (uint8_t i = 0; i < s.num_alpn; i++)
        if (alpn[i][0] == '\0') {
            FUZZ_CHECK(n == 0);
            return 0;
        }
    /* everything here but padding fits well under TD_CH_MAX: never refused */
    if (s.sslv2 || s.pad_to <= TD_CH_MAX)
        FUZZ_CHECK(n > 0);
    if (n == 0)
        return 0;
    memset(&ch, 0xa5, sizeof(ch));

    if (s.sslv2) {
        size_t body = ((size_t)(out[0] & 0x7f) << 8) | out[1];
        FUZZ_CHECK((out[0] & 0x80) != 0 && body == n - 2);
        copy = fuzz_dup(out + 2, n - 2);
        td_cur_init(&msg, copy, n - 2);
        st = td_parse_sslv2_client_hello(&ch, &msg);
        FUZZ_CHECK(st == TD_OK);
        FUZZ_CHECK(ch.sslv2_format);
        FUZZ_CHECK(ch.legacy_version == s.legacy_version);
        FUZZ_CHECK(ch.num_sslv2_only_ciphers == 0);
        check_list(ch.ciphers, ch.num_ciphers, ciphers, s.num_ciphers, false);
        FUZZ_CHECK(ch.session_id_len == s.session_id_len);
        FUZZ_CHECK(memcmp(ch.session_id, s.session_id, s.session_id_len) == 0);
        FUZZ_CHECK(memcmp(ch.random, s.random, 32) == 0);
        FUZZ_CHECK(!ch.has_extensions);
        free(copy);
        return 0;
    }

    /* record and handshake framing */
    FUZZ_CHECK(n >= 9 && out[0] == 22);
    FUZZ_CHECK(((size_t)out[3] << 8 | out[4]) == n - 5);
    FUZZ_CHECK(out[5] == 1);
    FUZZ_CHECK(((size_t)out[6] << 16 | (size_t)out[7] << 8 | out[8]) == n - 9);
    FUZZ_CHECK(((uint16_t)(out[1] << 8 | out[2])) ==
               (s.record_version != 0 ? s.record_version
                                      : (s.legacy_version < 0x0301 ? s.legacy_version : 0x0301)));
    copy = fuzz_dup(out + 9, n - 9);
    td_cur_init(&msg, copy, n - 9);
    st = td_parse_client_hello(&ch, &msg);
    FUZZ_CHECK(st == TD_OK);
    FUZZ_CHECK(ch.msg_len == n - 9);
    FUZZ_CHECK(ch.legacy_version == s.legacy_version);
    FUZZ_CHECK(memcmp(ch.random, s.random, 32) == 0);
    FUZZ_CHECK(ch.session_id_len == s.session_id_len);
    FUZZ_CHECK(memcmp(ch.session_id, s.session_id, s.session_id_len) == 0);
    FUZZ_CHECK(ch.total_ciphers == ch.num_ciphers);
    check_list(ch.ciphers, ch.num_ciphers, ciphers, s.num_ciphers, s.grease);
    FUZZ_CHECK(ch.compression.n == 1 && ch.compression.v[0] == 0);
    FUZZ_CHECK(ch.has_extensions);

    FUZZ_CHECK(ch.has_sni == (s.sni != NULL));
    if (s.sni != NULL) {
        size_t l = strlen(sni);
        FUZZ_CHECK(ch.sni_len == l && memcmp(ch.sni, sni, l) == 0 && ch.sni[l] == '\0');
    }
    FUZZ_CHECK(ch.num_alpn == s.num_alpn && ch.total_alpn == s.num_alpn);
    for (uint8_t i = 0; i < s.num_alpn; i++) {
        size_t l = strlen(alpn[i]);
        size_t kept = l < TD_MAX_ALPN_LEN ? l : TD_MAX_ALPN_LEN;
        FUZZ_CHECK(ch.alpn[i].wire_len == l && ch.alpn[i].len == kept);
        FUZZ_CHECK(memcmp(ch.alpn[i].b, alpn[i], kept) == 0);
    }
    FUZZ_CHECK(ch.has_supported_versions == (s.num_versions > 0));
    if (s.num_versions > 0)
        check_list(ch.versions.v, ch.versions.n, versions, s.num_versions, s.grease);
    if (s.num_groups > 0)
        check_list(ch.groups.v, ch.groups.n, groups, s.num_groups, s.grease);
    else
        FUZZ_CHECK(ch.groups.n == 0);
    FUZZ_CHECK(ch.has_sig_algs == (s.num_sig_algs > 0));
    if (s.num_sig_algs > 0)
        check_list(ch.sig_algs.v, ch.sig_algs.n, sigs, s.num_sig_algs, false);
    FUZZ_CHECK(ch.has_ec_point_formats == s.ec_point_formats);
    if (s.ec_point_formats)
        FUZZ_CHECK(ch.ec_point_formats.n == 1 && ch.ec_point_formats.v[0] == 0);

    /* key shares: the groups that have a key, in order (GREASE first) */
    if (s.grease && !s.key_share_empty && (s.num_share_groups > 0))
        sent_shares[nsent++] = 0; /* placeholder: checked as GREASE */
    for (uint16_t i = 0; i < s.num_share_groups && !s.key_share_empty; i++)
        if (td_keyshares_has(&ks, shares[i]))
            sent_shares[nsent++] = shares[i];
    FUZZ_CHECK(ch.has_key_share == (s.num_share_groups > 0 || s.key_share_empty));
    FUZZ_CHECK(ch.num_key_shares == nsent && ch.total_key_shares == nsent);
    for (uint16_t i = 0; i < nsent; i++) {
        if (i == 0 && s.grease && !s.key_share_empty) {
            FUZZ_CHECK(td_is_grease(ch.key_shares[0].group) && ch.key_shares[0].key_len == 1);
            continue;
        }
        FUZZ_CHECK(ch.key_shares[i].group == sent_shares[i]);
    }

    FUZZ_CHECK(ch.has_session_ticket == s.session_ticket);
    if (s.session_ticket)
        FUZZ_CHECK(ch.session_ticket_len == s.ticket_len);
    FUZZ_CHECK(ch.has_status_request == s.status_request);
    FUZZ_CHECK(ch.has_extended_master_secret == s.ems);
    FUZZ_CHECK(ch.has_renegotiation_info == s.reneg_info);
    FUZZ_CHECK(ch.has_psk_modes == s.psk_modes);
    if (s.psk_modes)
        FUZZ_CHECK(ch.psk_modes.n == 1 && ch.psk_modes.v[0] == 1);
    FUZZ_CHECK(!ch.has_psk && !ch.has_early_data && !ch.has_ech && !ch.has_cookie);
    /* padding: present only to reach pad_to, and then exactly */
    if (ch.has_padding)
        FUZZ_CHECK(s.pad_to > 0 && n - 5 == s.pad_to);
    else
        /* too short by less than the 4-byte extension header: no padding */
        FUZZ_CHECK(s.pad_to == 0 || n - 5 + 4 >= (size_t)s.pad_to);

    /* GREASE: every value the builder added plus those in the spec's lists */
    want_grease = count_grease(ciphers, s.num_ciphers) + count_grease(groups, s.num_groups) +
                  count_grease(versions, s.num_versions) + count_grease(sigs, s.num_sig_algs);
    if (s.grease)
        FUZZ_CHECK(ch.num_grease >= want_grease + 3);
    else
        FUZZ_CHECK(ch.num_grease == want_grease);
    fuzz_check_diag(&ch.diag, n - 9);
    free(copy);
    return 0;
}
