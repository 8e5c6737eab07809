/* server.c: ServerHello/HelloRetryRequest, Certificate, CertificateRequest,
 * ServerKeyExchange, NewSessionTicket, CertificateStatus. */
#include "tlsdiag/tls.h"
#include "tlsdiag/alloc.h"

#include <stdlib.h>
#include <string.h>

#include "tls/tls_int.h"
#include "tlsdiag/registry.h"

/* TLS 1.3 drafts before 22 (0x7f00 + draft number) put the draft version in
 * the ServerHello itself and have neither legacy_session_id_echo nor
 * legacy_compression_method:
 *   struct { ProtocolVersion version; Random random; CipherSuite cipher_suite;
 *            Extension extensions<0..2^16-1>; } ServerHello;   (draft-18 4.1.3) */
static bool is_old_draft13(uint16_t v)
{
    return v >= 0x7f00 && v <= 0x7f15;
}

/* RFC 8446 4.1.3: SHA-256("HelloRetryRequest") */
static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
/* RFC 8446 4.1.3: "DOWNGRD" then 01 (TLS 1.2) or 00 (TLS 1.1 and below) */
static const uint8_t downgrade_prefix[7] = {0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44};

static uint32_t clamp32(size_t n) { return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; }

static void skip_rest(struct td_cur *c)
{
    struct td_cur rest;

    if (!td_cur_get_bytes(c, &rest, td_cur_len(c)))
        return; /* unreachable */
}

/* parse_sh_ext parses one ServerHello/HRR extension body.  Bodies that
 * must be empty are left alone (leftovers become EXT_TRAILING_DATA). */
static enum td_status parse_sh_ext(struct td_server_hello *sh, uint16_t type, struct td_cur *body,
                                   struct td_diag *d)
{
    struct td_cur v;

    switch (type) {
    case TD_EXT_SUPPORTED_VERSIONS: /* RFC 8446 4.2.1: ProtocolVersion selected_version; */
        sh->has_supported_versions = true;
        if (!td_cur_get_u16(body, &sh->selected_version))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        return TD_OK;
    case TD_EXT_KEY_SHARE:
        /* RFC 8446 4.2.8: HRR: NamedGroup selected_group;
         * ServerHello: KeyShareEntry server_share; */
        sh->has_key_share = true;
        if (!td_cur_get_u16(body, &sh->key_share_group))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        if (sh->is_hrr)
            return TD_OK;
        if (!td_cur_get_vec16(body, &v))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        if (td_cur_empty(&v))
            td_diag_add(d, TD_AN_KEY_SHARE_BAD_LENGTH, type, v.off);
        return TD_OK;
    case TD_EXT_ALPN: {
        /* RFC 7301 3.1: the list MUST contain exactly one name */
        struct td_cur name;

        sh->has_alpn = true;
        if (!td_cur_get_vec16(body, &v))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        if (!td_cur_get_vec8(&v, &name))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, &v);
        if (td_cur_empty(&name))
            td_diag_add(d, TD_AN_ALPN_EMPTY_NAME, type, name.off);
        td_tls_copy_name(&sh->alpn, &name);
        if (!td_cur_empty(&v))
            td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, v.off);
        skip_rest(&v);
        return TD_OK;
    }
    case TD_EXT_SERVER_NAME: /* RFC 6066 3: empty */
        sh->has_sni_ack = true;
        return TD_OK;
    case TD_EXT_SESSION_TICKET: /* RFC 5077 3.2: empty */
        sh->has_session_ticket = true;
        return TD_OK;
    case TD_EXT_PRE_SHARED_KEY: /* RFC 8446 4.2.11: uint16 selected_identity; */
        sh->has_psk = true;
        if (!td_cur_get_u16(body, &sh->psk_identity))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        return TD_OK;
    case TD_EXT_EXTENDED_MASTER_SECRET:
        sh->has_extended_master_secret = true;
        return TD_OK;
    case TD_EXT_RENEGOTIATION_INFO: /* RFC 5746 3.2 */
        sh->has_renegotiation_info = true;
        if (!td_cur_get_vec8(body, &v))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        return TD_OK;
    case TD_EXT_STATUS_REQUEST:
        sh->has_status_request = true;
        return TD_OK;
    case TD_EXT_COOKIE: /* RFC 8446 4.2.2: opaque cookie<1..2^16-1>; */
        sh->has_cookie = true;
        if (!td_cur_get_vec16(body, &v))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, type, body);
        return TD_OK;
    case TD_EXT_EARLY_DATA:
        sh->has_early_data = true;
        return TD_OK;
    default:
        skip_rest(body); /* unknown: kept in ext_order only */
        return TD_OK;
    }
}

/* RFC 8446 4.1.3:
 *   struct {
 *       ProtocolVersion legacy_version = 0x0303;
 *       Random random;
 *       opaque legacy_session_id_echo<0..32>;
 *       CipherSuite cipher_suite;
 *       uint8 legacy_compression_method = 0;
 *       Extension extensions<6..2^16-1>;
 *   } ServerHello;
 * td_parse_server_hello zeroes |sh| (keeping record_version) and fills it.
 * A HelloRetryRequest is a ServerHello whose random is the special value;
 * its key_share holds only the selected group.  Framing errors are
 * SH_MALFORMED / EXT_BLOCK_MALFORMED (TD_EMALFORMED); extension body errors
 * are recorded and parsing goes on. */
enum td_status td_parse_server_hello(struct td_server_hello *sh, struct td_cur *msg)
{
    return td_parse_server_hello_max(sh, msg, 0);
}

enum td_status td_parse_server_hello_max(struct td_server_hello *sh, struct td_cur *msg, uint16_t max_ext)
{
    struct td_diag *d = &sh->diag;
    struct td_u16_set seen;
    uint16_t rv = sh->record_version;
    struct td_cur sid;
    struct td_cur block;

    memset(sh, 0, sizeof(*sh));
    sh->record_version = rv;
    sh->msg_len = clamp32(td_cur_len(msg));
    if (!td_cur_get_u16(msg, &sh->legacy_version))
        return td_malformed(d, TD_AN_SH_MALFORMED, 0, msg);
    sh->selected_version = sh->legacy_version;
    if (!td_cur_copy(msg, sh->random, sizeof(sh->random)))
        return td_malformed(d, TD_AN_SH_MALFORMED, 0, msg);
    sh->is_hrr = memcmp(sh->random, hrr_random, sizeof(hrr_random)) == 0;
    if (memcmp(sh->random + 24, downgrade_prefix, sizeof(downgrade_prefix)) == 0) {
        if (sh->random[31] == 1)
            sh->downgrade_sentinel = 0x0303;
        else if (sh->random[31] == 0)
            sh->downgrade_sentinel = 0x0302;
    }
    if (is_old_draft13(sh->legacy_version)) {
        /* drafts up to 21: no session id echo, no compression method */
        if (!td_cur_get_u16(msg, &sh->cipher))
            return td_malformed(d, TD_AN_SH_MALFORMED, 0, msg);
    } else {
        if (!td_cur_get_vec8(msg, &sid))
            return td_malformed(d, TD_AN_SH_MALFORMED, 0, msg);
        if (td_cur_len(&sid) > sizeof(sh->session_id))
            return td_malformed(d, TD_AN_SH_MALFORMED, 0, &sid);
        sh->session_id_len = (uint8_t)td_cur_len(&sid);
        if (!td_cur_copy(&sid, sh->session_id, sh->session_id_len))
            return td_malformed(d, TD_AN_SH_MALFORMED, 0, &sid);
        if (!td_cur_get_u16(msg, &sh->cipher))
            return td_malformed(d, TD_AN_SH_MALFORMED, 0, msg);
        if (!td_cur_get_u8(msg, &sh->compression))
            return td_malformed(d, TD_AN_SH_MALFORMED, 0, msg);
    }
    if (td_cur_empty(msg))
        return TD_OK; /* RFC 5246 7.4.1.3: extensions may be absent */
    if (!td_cur_get_vec16(msg, &block))
        return td_malformed(d, TD_AN_EXT_BLOCK_MALFORMED, 0, msg);
    sh->has_extensions = true;
    td_u16_set_init(&seen);
    while (!td_cur_empty(&block)) {
        uint16_t type;
        struct td_cur body;
        size_t type_off = block.off;
        enum td_status st;

        if (!td_cur_get_u16(&block, &type) || !td_cur_get_vec16(&block, &body))
            return td_malformed(d, TD_AN_EXT_BLOCK_MALFORMED, 0, &block);
        if (!td_u16_list_push_max(&sh->ext_order, type, max_ext))
            td_diag_add(d, TD_AN_LIMIT_EXTENSIONS, type, type_off);
        if (td_u16_set_add(&seen, type)) {
            td_diag_add(d, TD_AN_EXT_DUPLICATE, type, body.off);
            continue;
        }
        st = parse_sh_ext(sh, type, &body, d);
        if (st == TD_OK && !td_cur_empty(&body))
            td_diag_add(d, TD_AN_EXT_TRAILING_DATA, type, body.off);
    }
    if (sh->has_supported_versions && sh->selected_version == 0)
        sh->selected_version = sh->legacy_version;
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_SH_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

/* copy_der copies |src| (consumed) into |out|, bounded by |cap|: over the
 * cap nothing is kept and LIMIT_CERT_LEN is recorded.  TD_ENOMEM when
 * malloc fails. */
static enum td_status copy_der(struct td_der *out, struct td_cur *src, size_t cap,
                               struct td_diag *d)
{
    size_t n = td_cur_len(src);

    out->wire_len = clamp32(n);
    out->der = NULL;
    out->len = 0;
    if (n > cap) {
        td_diag_add(d, TD_AN_LIMIT_CERT_LEN, 0, src->off);
        skip_rest(src);
        return TD_OK;
    }
    if (n == 0)
        return TD_OK;
    out->der = td_malloc(n);
    if (out->der == NULL)
        return TD_ENOMEM;
    if (!td_cur_copy(src, out->der, n)) {
        free(out->der);
        out->der = NULL;
        return TD_OK; /* unreachable: the bytes are there */
    }
    out->len = (uint32_t)n;
    return TD_OK;
}

/* RFC 5246 7.4.2:
 *   opaque ASN.1Cert<1..2^24-1>;
 *   struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 * RFC 8446 4.4.2:
 *   struct {
 *       opaque cert_data<1..2^24-1>;   (X.509 when not raw public key)
 *       Extension extensions<0..2^16-1>;
 *   } CertificateEntry;
 *   struct {
 *       opaque certificate_request_context<0..2^8-1>;
 *       CertificateEntry certificate_list<0..2^24-1>;
 *   } Certificate;
 * td_parse_certificate zeroes |c| and copies up to TD_MAX_CERTS DER
 * certificates of up to TD_MAX_CERT_LEN bytes each (LIMIT_CERTS,
 * LIMIT_CERT_LEN otherwise).  |c| must not own certificates on entry; call
 * td_certificate_cleanup afterwards whatever the status.  An empty
 * certificate entry is CERT_MALFORMED (recorded, parsing goes on); framing
 * errors return TD_EMALFORMED; malloc failure TD_ENOMEM. */
enum td_status td_parse_certificate(struct td_certificate *c, struct td_cur *msg, bool tls13)
{
    struct td_diag *d = &c->diag;
    struct td_cur list;

    memset(c, 0, sizeof(*c));
    c->tls13 = tls13;
    c->msg_len = clamp32(td_cur_len(msg));
    if (tls13) {
        struct td_cur ctx;

        if (!td_cur_get_vec8(msg, &ctx))
            return td_malformed(d, TD_AN_CERT_MALFORMED, 0, msg);
        c->context_len = (uint8_t)td_cur_len(&ctx);
    }
    if (!td_cur_get_vec24(msg, &list))
        return td_malformed(d, TD_AN_CERT_MALFORMED, 0, msg);
    while (!td_cur_empty(&list)) {
        struct td_cur cert;
        struct td_cur exts;

        if (!td_cur_get_vec24(&list, &cert))
            return td_malformed(d, TD_AN_CERT_MALFORMED, 0, &list);
        if (tls13 && !td_cur_get_vec16(&list, &exts))
            return td_malformed(d, TD_AN_CERT_MALFORMED, 0, &list);
        if (td_cur_empty(&cert))
            td_diag_add(d, TD_AN_CERT_MALFORMED, 0, cert.off);
        if (c->num_certs < TD_MAX_CERTS) {
            enum td_status st = copy_der(&c->certs[c->num_certs], &cert, TD_MAX_CERT_LEN, d);

            if (st != TD_OK)
                return st;
            c->num_certs++;
        } else if (c->total_certs == TD_MAX_CERTS) {
            td_diag_add(d, TD_AN_LIMIT_CERTS, 0, cert.off);
        }
        if (c->total_certs < UINT16_MAX)
            c->total_certs++;
    }
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_HS_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

/* td_certificate_cleanup frees the DER copies; safe on a zeroed struct and
 * twice in a row. */
void td_certificate_cleanup(struct td_certificate *c)
{
    for (size_t i = 0; i < TD_MAX_CERTS; i++) {
        free(c->certs[i].der);
        c->certs[i].der = NULL;
        c->certs[i].len = 0;
    }
    c->num_certs = 0;
}

#define TD_MAX_CA_NAME_LEN 1024 /* bytes of one CA DN kept for display */
#define CR_KEPT_NAMES (sizeof(((struct td_certificate_request *)0)->ca_names) / sizeof(struct td_der))

/* read_ca_names: RFC 5246 7.4.4 / RFC 8446 4.2.4
 *   opaque DistinguishedName<1..2^16-1>;
 *   DistinguishedName authorities<3..2^16-1>;   (body of |list|) */
static enum td_status read_ca_names(struct td_certificate_request *cr, struct td_cur *list,
                                    struct td_diag *d)
{
    while (!td_cur_empty(list)) {
        struct td_cur dn;

        if (!td_cur_get_vec16(list, &dn))
            return td_malformed(d, TD_AN_CR_MALFORMED, 0, list);
        if (cr->num_ca_names < CR_KEPT_NAMES) {
            enum td_status st = copy_der(&cr->ca_names[cr->num_ca_names], &dn, TD_MAX_CA_NAME_LEN, d);

            if (st != TD_OK)
                return st;
            cr->num_ca_names++;
        } else if (cr->total_ca_names == CR_KEPT_NAMES) {
            td_diag_add(d, TD_AN_LIMIT_LIST, TD_EXT_CERTIFICATE_AUTHORITIES, dn.off);
        }
        if (cr->total_ca_names < UINT16_MAX)
            cr->total_ca_names++;
    }
    return TD_OK;
}

/* RFC 5246 7.4.4 (TLS 1.2):
 *   struct {
 *       ClientCertificateType certificate_types<1..2^8-1>;
 *       SignatureAndHashAlgorithm supported_signature_algorithms<2^16-1>;
 *       DistinguishedName certificate_authorities<0..2^16-1>;
 *   } CertificateRequest;
 * RFC 4346 7.4.4 (TLS 1.0/1.1) has no supported_signature_algorithms.  The
 * version is not passed in, so after certificate_types the TLS 1.2 layout
 * is tried first and used when its two vectors consume the rest exactly;
 * otherwise the 1.0/1.1 layout must (CR_MALFORMED if neither fits).
 * RFC 8446 4.3.2 (TLS 1.3):
 *   struct {
 *       opaque certificate_request_context<0..2^8-1>;
 *       Extension extensions<2..2^16-1>;
 *   } CertificateRequest;
 * where signature_algorithms (13) and certificate_authorities (47) are read.
 * td_parse_certificate_request zeroes |cr|; release with
 * td_certificate_request_cleanup whatever the status.  At most 8 CA names of
 * up to 1024 bytes are kept (LIMIT_LIST / LIMIT_CERT_LEN otherwise). */
enum td_status td_parse_certificate_request(struct td_certificate_request *cr,
                                            struct td_cur *msg, bool tls13)
{
    struct td_diag *d = &cr->diag;

    memset(cr, 0, sizeof(*cr));
    cr->tls13 = tls13;
    cr->msg_len = clamp32(td_cur_len(msg));
    if (tls13) {
        struct td_cur ctx;
        struct td_cur block;
        struct td_u16_set seen;

        td_u16_set_init(&seen);
        if (!td_cur_get_vec8(msg, &ctx) || !td_cur_get_vec16(msg, &block))
            return td_malformed(d, TD_AN_CR_MALFORMED, 0, msg);
        while (!td_cur_empty(&block)) {
            uint16_t type;
            struct td_cur body;
            struct td_cur list;

            if (!td_cur_get_u16(&block, &type) || !td_cur_get_vec16(&block, &body))
                return td_malformed(d, TD_AN_EXT_BLOCK_MALFORMED, 0, &block);
            if (td_u16_set_add(&seen, type)) {
                td_diag_add(d, TD_AN_EXT_DUPLICATE, type, body.off);
                continue;
            }
            if (type == TD_EXT_SIGNATURE_ALGORITHMS) {
                if (!td_cur_get_vec16(&body, &list)) {
                    td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, body.off);
                    continue;
                }
                if (!td_tls_read_u16_list(&cr->sig_algs, &list, NULL, d, type)) {
                    td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, list.off);
                    continue;
                }
            } else if (type == TD_EXT_CERTIFICATE_AUTHORITIES) {
                enum td_status st;

                if (!td_cur_get_vec16(&body, &list)) {
                    td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, body.off);
                    continue;
                }
                st = read_ca_names(cr, &list, d);
                if (st == TD_ENOMEM)
                    return st;
                if (st != TD_OK)
                    continue;
            } else {
                skip_rest(&body);
            }
            if (!td_cur_empty(&body))
                td_diag_add(d, TD_AN_EXT_TRAILING_DATA, type, body.off);
        }
    } else {
        struct td_cur types;
        struct td_cur algs;
        struct td_cur cas;
        struct td_cur try12 = *msg;

        if (!td_cur_get_vec8(msg, &types))
            return td_malformed(d, TD_AN_CR_MALFORMED, 0, msg);
        td_tls_read_u8_list(&cr->cert_types, &types, d, 0);
        try12 = *msg;
        if (td_cur_get_vec16(&try12, &algs) && td_cur_len(&algs) % 2 == 0 &&
            td_cur_get_vec16(&try12, &cas) && td_cur_empty(&try12)) {
            if (!td_tls_read_u16_list(&cr->sig_algs, &algs, NULL, d, 0))
                return td_malformed(d, TD_AN_CR_MALFORMED, 0, &algs);
        } else {
            try12 = *msg;
            if (!td_cur_get_vec16(&try12, &cas) || !td_cur_empty(&try12))
                return td_malformed(d, TD_AN_CR_MALFORMED, 0, msg);
        }
        *msg = try12;
        {
            enum td_status st = read_ca_names(cr, &cas, d);

            if (st != TD_OK)
                return st;
        }
    }
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_HS_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

void td_certificate_request_cleanup(struct td_certificate_request *cr)
{
    for (size_t i = 0; i < CR_KEPT_NAMES; i++) {
        free(cr->ca_names[i].der);
        cr->ca_names[i].der = NULL;
        cr->ca_names[i].len = 0;
    }
    cr->num_ca_names = 0;
}

/* bits_of counts the bits of the big-endian unsigned integer in |v|. */
static uint16_t bits_of(struct td_cur v)
{
    size_t bits = 0;

    while (!td_cur_empty(&v)) {
        uint8_t b;

        if (!td_cur_get_u8(&v, &b))
            break;
        if (bits != 0) {
            bits += 8;
            continue;
        }
        for (uint8_t x = b; x != 0; x = (uint8_t)(x >> 1))
            bits++;
    }
    return (uint16_t)(bits > UINT16_MAX ? UINT16_MAX : bits);
}

/* plausible_sig_alg: a registered SignatureScheme or a TLS 1.2
 * SignatureAndHashAlgorithm pair (hash 1..8, signature 1..3 or 7..8). */
static bool plausible_sig_alg(uint16_t alg)
{
    uint8_t hash = (uint8_t)(alg >> 8);
    uint8_t sig = (uint8_t)(alg & 0xff);

    if (td_reg_name(TD_REG_SIGSCHEME, alg) != NULL)
        return true;
    return hash >= 1 && hash <= 8 && ((sig >= 1 && sig <= 3) || sig == 7 || sig == 8);
}

/* read_ske_signature reads what follows the parameters:
 *   TLS 1.2 (RFC 5246 7.4.3): SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>;
 *   TLS 1.0/1.1 (RFC 4346):   opaque signature<0..2^16-1>;   (digitally-signed)
 *   anonymous suites:         nothing.
 * The version is not passed in.  Heuristic: the 1.2 form is taken when an
 * algorithm that is plausible (registered, or a legacy hash/sig pair) is
 * followed by a vector that ends the message exactly; else the 1.0/1.1 form
 * when a vector ends it exactly (sig_alg stays 0); an empty rest is an
 * anonymous suite.  Anything else is SKE_MALFORMED. */
static enum td_status read_ske_signature(struct td_server_key_exchange *ske, struct td_cur *msg,
                                         struct td_diag *d)
{
    struct td_cur t = *msg;
    struct td_cur sig;
    uint16_t alg;

    if (td_cur_empty(msg))
        return TD_OK;
    if (td_cur_get_u16(&t, &alg) && plausible_sig_alg(alg) && td_cur_get_vec16(&t, &sig) &&
        td_cur_empty(&t)) {
        ske->sig_alg = alg;
        *msg = t;
        return TD_OK;
    }
    t = *msg;
    if (td_cur_get_vec16(&t, &sig) && td_cur_empty(&t)) {
        *msg = t;
        return TD_OK;
    }
    return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
}

/* RFC 8422 5.4 (ECDHE):
 *   struct { ECCurveType curve_type; select (curve_type) { case named_curve: NamedCurve namedcurve; }; } ECParameters;
 *   struct { opaque point <1..2^8-1>; } ECPoint;
 *   struct { ECParameters curve_params; ECPoint public; } ServerECDHParams;
 * RFC 5246 7.4.3 (DHE):
 *   struct { opaque dh_p<1..2^16-1>; opaque dh_g<1..2^16-1>; opaque dh_Ys<1..2^16-1>; } ServerDHParams;
 * RFC 4346 7.4.3 (RSA export): struct { opaque rsa_modulus<1..2^16-1>; opaque rsa_exponent<1..2^16-1>; }
 * RFC 4279 2 (PSK): opaque psk_identity_hint<0..2^16-1>;  (DHE_PSK and
 *   ECDHE_PSK parameters that follow the hint are not parsed: allowed
 *   leftover, no anomaly.)
 * each followed by a signature (see read_ske_signature), except PSK.
 * td_parse_server_key_exchange zeroes |ske| and parses |msg| for |kex|
 * (from td_cipher_kex).  Explicit curves (curve_type 1, 2) are recorded in
 * curve_type and not parsed further (TD_OK). */
enum td_status td_parse_server_key_exchange(struct td_server_key_exchange *ske,
                                            struct td_cur *msg, enum td_kex kex)
{
    struct td_diag *d = &ske->diag;
    struct td_cur a;
    struct td_cur b;
    struct td_cur y;
    enum td_status st;

    memset(ske, 0, sizeof(*ske));
    ske->kex = kex;
    ske->msg_len = clamp32(td_cur_len(msg));
    switch (kex) {
    case TD_KEX_ECDHE:
        if (!td_cur_get_u8(msg, &ske->curve_type))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        if (ske->curve_type != 3) {
            skip_rest(msg);
            return TD_OK;
        }
        if (!td_cur_get_u16(msg, &ske->named_group) || !td_cur_get_vec8(msg, &y))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        if (td_cur_empty(&y))
            td_diag_add(d, TD_AN_SKE_MALFORMED, 0, y.off);
        ske->pubkey_len = (uint16_t)td_cur_len(&y);
        break;
    case TD_KEX_DHE:
        if (!td_cur_get_vec16(msg, &a))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        if (!td_cur_get_vec16(msg, &b))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        if (!td_cur_get_vec16(msg, &y))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        ske->dh_p_bits = bits_of(a);
        ske->pubkey_len = (uint16_t)td_cur_len(&y);
        break;
    case TD_KEX_RSA:
        if (!td_cur_get_vec16(msg, &a) || !td_cur_get_vec16(msg, &b))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        ske->pubkey_len = (uint16_t)td_cur_len(&a);
        break;
    case TD_KEX_PSK:
        if (!td_cur_get_vec16(msg, &a))
            return td_malformed(d, TD_AN_SKE_MALFORMED, 0, msg);
        skip_rest(msg);
        return TD_OK;
    case TD_KEX_UNKNOWN:
    default:
        skip_rest(msg);
        return TD_OK;
    }
    st = read_ske_signature(ske, msg, d);
    return st;
}

/* RFC 5077 3.3:
 *   struct { uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>; } NewSessionTicket;
 * RFC 8446 4.6.1:
 *   struct {
 *       uint32 ticket_lifetime; uint32 ticket_age_add;
 *       opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
 *       Extension extensions<0..2^16-2>;
 *   } NewSessionTicket;
 * Trailing bytes are HS_TRAILING_DATA (TD_OK). */
enum td_status td_parse_new_session_ticket(struct td_new_session_ticket *nst,
                                           struct td_cur *msg, bool tls13)
{
    struct td_diag *d = &nst->diag;
    struct td_cur ticket;

    memset(nst, 0, sizeof(*nst));
    nst->tls13 = tls13;
    nst->msg_len = clamp32(td_cur_len(msg));
    if (!td_cur_get_u32(msg, &nst->lifetime))
        return td_malformed(d, TD_AN_NST_MALFORMED, 0, msg);
    if (tls13) {
        uint32_t age_add;
        struct td_cur nonce;
        struct td_cur exts;

        if (!td_cur_get_u32(msg, &age_add) || !td_cur_get_vec8(msg, &nonce))
            return td_malformed(d, TD_AN_NST_MALFORMED, 0, msg);
        if (!td_cur_get_vec16(msg, &ticket))
            return td_malformed(d, TD_AN_NST_MALFORMED, 0, msg);
        nst->ticket_len = clamp32(td_cur_len(&ticket));
        if (td_cur_empty(&ticket))
            td_diag_add(d, TD_AN_NST_MALFORMED, 0, ticket.off);
        if (!td_cur_get_vec16(msg, &exts))
            return td_malformed(d, TD_AN_NST_MALFORMED, 0, msg);
    } else {
        if (!td_cur_get_vec16(msg, &ticket))
            return td_malformed(d, TD_AN_NST_MALFORMED, 0, msg);
        nst->ticket_len = clamp32(td_cur_len(&ticket));
    }
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_HS_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

/* RFC 6066 8:
 *   struct {
 *       CertificateStatusType status_type;
 *       select (status_type) { case ocsp: OCSPResponse response; } response;
 *   } CertificateStatus;
 *   opaque OCSPResponse<1..2^24-1>;
 * RFC 6961 ocsp_multi (2) carries a vec24 list; its outer length is kept in
 * response_len.  Unknown types are CS_MALFORMED. */
enum td_status td_parse_certificate_status(struct td_certificate_status *cs, struct td_cur *msg)
{
    struct td_diag *d = &cs->diag;
    struct td_cur resp;

    memset(cs, 0, sizeof(*cs));
    if (!td_cur_get_u8(msg, &cs->status_type))
        return td_malformed(d, TD_AN_CS_MALFORMED, 0, msg);
    if (cs->status_type != 1 && cs->status_type != 2)
        return td_malformed(d, TD_AN_CS_MALFORMED, 0, msg);
    if (!td_cur_get_vec24(msg, &resp))
        return td_malformed(d, TD_AN_CS_MALFORMED, 0, msg);
    cs->response_len = clamp32(td_cur_len(&resp));
    if (td_cur_empty(&resp))
        td_diag_add(d, TD_AN_CS_MALFORMED, 0, resp.off);
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_HS_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

/* td_cipher_kex judges from the IANA name: PSK first (DHE_PSK, ECDHE_PSK
 * and RSA_PSK carry a PSK hint first), then ECDHE/ECDH_anon, DHE/DH_anon,
 * plain RSA.  Static (EC)DH, TLS 1.3 suites and unknown values are
 * TD_KEX_UNKNOWN (no ServerKeyExchange to parse). */
enum td_kex td_cipher_kex(uint16_t cipher)
{
    const char *name = td_reg_name(TD_REG_CIPHER, cipher);

    if (name == NULL)
        return TD_KEX_UNKNOWN;
    if (strstr(name, "_PSK_") != NULL)
        return TD_KEX_PSK;
    if (strstr(name, "_ECDHE_") != NULL || strstr(name, "_ECDH_ANON_") != NULL ||
        strstr(name, "_ECDH_anon_") != NULL)
        return TD_KEX_ECDHE;
    if (strstr(name, "_DHE_") != NULL || strstr(name, "_DH_ANON_") != NULL ||
        strstr(name, "_DH_anon_") != NULL)
        return TD_KEX_DHE;
    if (strncmp(name, "TLS_RSA_", 8) == 0 || strncmp(name, "SSL_RSA_", 8) == 0)
        return TD_KEX_RSA;
    return TD_KEX_UNKNOWN;
}
