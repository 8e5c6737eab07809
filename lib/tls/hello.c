/* hello.c: ClientHello (RFC 8446 4.1.2, RFC 5246 7.4.1.2) and the
 * SSLv2-compatible CLIENT-HELLO (RFC 6101 E.2).
 *
 * Framing errors in the message stop it (TD_EMALFORMED); an error inside
 * one extension whose type/length framing is intact is recorded and the
 * walk goes on.  List caps record LIMIT_* anomalies; the message is still
 * parsed to its end and the status stays TD_OK. */
#include "tlsdiag/tls.h"

#include <string.h>

#include "tls/tls_int.h"
#include "tlsdiag/registry.h"

typedef enum td_status ch_ext_fn(struct td_client_hello *ch, struct td_cur *body,
                                 struct td_diag *d);

/* skip_rest consumes what is left of |c| (an opaque body kept by length). */
static void skip_rest(struct td_cur *c)
{
    struct td_cur rest;

    if (!td_cur_get_bytes(c, &rest, td_cur_len(c)))
        return; /* unreachable: the bytes are there */
}

static void count_grease(struct td_client_hello *ch, uint16_t v)
{
    if (td_is_grease(v) && ch->num_grease < UINT16_MAX)
        ch->num_grease++;
}

/* hostname_plausible: RFC 6066 3 "HostName" is a DNS name in ASCII without
 * a trailing dot; IP literals are not permitted.  Letters, digits, '-',
 * '_' and non-empty dot-separated labels are accepted. */
static bool hostname_plausible(struct td_cur name)
{
    size_t label = 0;
    bool all_digits_dots = true;

    if (td_cur_empty(&name))
        return false;
    while (!td_cur_empty(&name)) {
        uint8_t b;

        if (!td_cur_get_u8(&name, &b))
            return false;
        if (b == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
              b == '-' || b == '_'))
            return false;
        if (!(b >= '0' && b <= '9'))
            all_digits_dots = false;
        label++;
        if (label > 63)
            return false;
    }
    return label != 0 && !all_digits_dots;
}

/* RFC 6066 3:
 *   struct {
 *       NameType name_type;
 *       select (name_type) { case host_name: HostName; } name;
 *   } ServerName;
 *   enum { host_name(0), (255) } NameType;
 *   opaque HostName<1..2^16-1>;
 *   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 * The first host_name is kept (TD_MAX_SNI_LEN bytes). */
static enum td_status parse_sni(struct td_client_hello *ch, struct td_cur *body,
                                struct td_diag *d)
{
    struct td_cur list;
    bool have_name = false;

    if (!td_cur_get_vec16(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SERVER_NAME, body);
    if (td_cur_empty(&list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SERVER_NAME, &list);
    while (!td_cur_empty(&list)) {
        uint8_t name_type;
        struct td_cur name;
        size_t keep;

        if (!td_cur_get_u8(&list, &name_type) || !td_cur_get_vec16(&list, &name))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SERVER_NAME, &list);
        if (name_type != 0)
            continue; /* no other NameType is defined: skip, do not fail */
        if (have_name) {
            td_diag_add(d, TD_AN_SNI_MULTIPLE_NAMES, TD_EXT_SERVER_NAME, name.off);
            continue;
        }
        have_name = true;
        if (!hostname_plausible(name))
            td_diag_add(d, TD_AN_SNI_BAD_HOSTNAME, TD_EXT_SERVER_NAME, name.off);
        keep = td_cur_len(&name);
        if (keep > TD_MAX_SNI_LEN) {
            td_diag_add(d, TD_AN_LIMIT_LIST, TD_EXT_SERVER_NAME, name.off);
            keep = TD_MAX_SNI_LEN;
        }
        if (!td_cur_copy(&name, ch->sni, keep))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SERVER_NAME, &name);
        ch->sni[keep] = '\0';
        ch->sni_len = (uint16_t)keep;
    }
    return TD_OK;
}

/* RFC 7301 3.1:
 *   opaque ProtocolName<1..2^8-1>;
 *   struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
 * Empty names are recorded (ALPN_EMPTY_NAME) and skipped. */
static enum td_status parse_alpn(struct td_client_hello *ch, struct td_cur *body,
                                 struct td_diag *d)
{
    struct td_cur list;

    if (!td_cur_get_vec16(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_ALPN, body);
    if (td_cur_len(&list) < 2)
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_ALPN, &list);
    while (!td_cur_empty(&list)) {
        struct td_cur name;

        if (!td_cur_get_vec8(&list, &name))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_ALPN, &list);
        if (td_cur_empty(&name)) {
            td_diag_add(d, TD_AN_ALPN_EMPTY_NAME, TD_EXT_ALPN, name.off);
            continue;
        }
        if (ch->num_alpn < TD_MAX_ALPN)
            td_tls_copy_name(&ch->alpn[ch->num_alpn++], &name);
        else if (ch->total_alpn == TD_MAX_ALPN)
            td_diag_add(d, TD_AN_LIMIT_LIST, TD_EXT_ALPN, name.off);
        if (ch->total_alpn < UINT8_MAX)
            ch->total_alpn++;
    }
    return TD_OK;
}

/* RFC 8446 4.2.1 (ClientHello):
 *   ProtocolVersion versions<2..254>; */
static enum td_status parse_supported_versions(struct td_client_hello *ch, struct td_cur *body,
                                               struct td_diag *d)
{
    struct td_cur list;

    ch->has_supported_versions = true;
    if (!td_cur_get_vec8(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SUPPORTED_VERSIONS, body);
    if (td_cur_len(&list) < 2 ||
        !td_tls_read_u16_list(&ch->versions, &list, &ch->num_grease, d,
                              TD_EXT_SUPPORTED_VERSIONS))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SUPPORTED_VERSIONS, &list);
    return TD_OK;
}

/* RFC 8446 4.2.7:
 *   struct { NamedGroup named_group_list<2..2^16-1>; } NamedGroupList; */
static enum td_status parse_groups(struct td_client_hello *ch, struct td_cur *body,
                                   struct td_diag *d)
{
    struct td_cur list;

    if (!td_cur_get_vec16(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SUPPORTED_GROUPS, body);
    if (td_cur_len(&list) < 2 ||
        !td_tls_read_u16_list(&ch->groups, &list, &ch->num_grease, d, TD_EXT_SUPPORTED_GROUPS))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SUPPORTED_GROUPS, &list);
    return TD_OK;
}

/* RFC 8446 4.2.3:
 *   struct { SignatureScheme supported_signature_algorithms<2..2^16-2>; }
 *       SignatureSchemeList; */
static enum td_status parse_sig_algs(struct td_client_hello *ch, struct td_cur *body,
                                     struct td_diag *d)
{
    struct td_cur list;

    ch->has_sig_algs = true;
    if (!td_cur_get_vec16(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SIGNATURE_ALGORITHMS, body);
    if (td_cur_len(&list) < 2 ||
        !td_tls_read_u16_list(&ch->sig_algs, &list, &ch->num_grease, d,
                              TD_EXT_SIGNATURE_ALGORITHMS))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_SIGNATURE_ALGORITHMS, &list);
    return TD_OK;
}

/* RFC 8422 5.1.2:
 *   struct { ECPointFormat ec_point_format_list<1..2^8-1> } ECPointFormatList; */
static enum td_status parse_ec_point_formats(struct td_client_hello *ch, struct td_cur *body,
                                             struct td_diag *d)
{
    struct td_cur list;

    ch->has_ec_point_formats = true;
    if (!td_cur_get_vec8(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_EC_POINT_FORMATS, body);
    if (td_cur_empty(&list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_EC_POINT_FORMATS, &list);
    td_tls_read_u8_list(&ch->ec_point_formats, &list, d, TD_EXT_EC_POINT_FORMATS);
    return TD_OK;
}

/* RFC 8446 4.2.8 (ClientHello):
 *   struct { NamedGroup group; opaque key_exchange<1..2^16-1>; } KeyShareEntry;
 *   struct { KeyShareEntry client_shares<0..2^16-1>; } KeyShareClientHello;
 * "Every share's group is in supported_groups, in the same order" needs the
 * whole ClientHello: that check belongs to the rule engine. */
static enum td_status parse_key_share(struct td_client_hello *ch, struct td_cur *body,
                                      struct td_diag *d)
{
    struct td_cur list;

    ch->has_key_share = true;
    if (!td_cur_get_vec16(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_KEY_SHARE, body);
    while (!td_cur_empty(&list)) {
        uint16_t group;
        uint16_t want;
        struct td_cur key;
        uint8_t kept = ch->num_key_shares;

        if (!td_cur_get_u16(&list, &group) || !td_cur_get_vec16(&list, &key))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_KEY_SHARE, &list);
        count_grease(ch, group);
        want = td_tls_key_share_len(group);
        if (td_cur_empty(&key) || (want != 0 && td_cur_len(&key) != want))
            td_diag_add(d, TD_AN_KEY_SHARE_BAD_LENGTH, TD_EXT_KEY_SHARE, key.off);
        for (uint8_t i = 0; i < kept; i++) {
            if (ch->key_shares[i].group == group) {
                td_diag_add(d, TD_AN_KEY_SHARE_DUPLICATE_GROUP, TD_EXT_KEY_SHARE, key.off);
                break;
            }
        }
        if (ch->num_key_shares < TD_MAX_KEY_SHARES) {
            ch->key_shares[ch->num_key_shares].group = group;
            ch->key_shares[ch->num_key_shares].key_len = (uint16_t)td_cur_len(&key);
            ch->num_key_shares++;
        } else if (ch->total_key_shares == TD_MAX_KEY_SHARES) {
            td_diag_add(d, TD_AN_LIMIT_LIST, TD_EXT_KEY_SHARE, key.off);
        }
        if (ch->total_key_shares < UINT8_MAX)
            ch->total_key_shares++;
    }
    return TD_OK;
}

/* RFC 5077 3.2: the extension data is the ticket (empty: asks for one). */
static enum td_status parse_session_ticket(struct td_client_hello *ch, struct td_cur *body,
                                           struct td_diag *d)
{
    (void)d;
    ch->has_session_ticket = true;
    ch->session_ticket_len = (uint16_t)td_cur_len(body);
    skip_rest(body);
    return TD_OK;
}

/* RFC 8446 4.2.11:
 *   struct { opaque identity<1..2^16-1>; uint32 obfuscated_ticket_age; } PskIdentity;
 *   opaque PskBinderEntry<32..255>;
 *   struct {
 *       PskIdentity identities<7..2^16-1>;
 *       PskBinderEntry binders<33..2^16-1>;
 *   } OfferedPsks;
 * "pre_shared_key MUST be the last extension" is the rule engine's to
 * judge from ext_order. */
static enum td_status parse_psk(struct td_client_hello *ch, struct td_cur *body,
                                struct td_diag *d)
{
    struct td_cur ids;
    struct td_cur binders;

    ch->has_psk = true;
    if (!td_cur_get_vec16(body, &ids))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PRE_SHARED_KEY, body);
    if (td_cur_empty(&ids))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PRE_SHARED_KEY, &ids);
    while (!td_cur_empty(&ids)) {
        struct td_cur identity;
        uint32_t age;

        if (!td_cur_get_vec16(&ids, &identity) || !td_cur_get_u32(&ids, &age))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PRE_SHARED_KEY, &ids);
        if (ch->num_psk_identities < UINT16_MAX)
            ch->num_psk_identities++;
    }
    if (!td_cur_get_vec16(body, &binders))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PRE_SHARED_KEY, body);
    while (!td_cur_empty(&binders)) {
        struct td_cur binder;

        if (!td_cur_get_vec8(&binders, &binder))
            return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PRE_SHARED_KEY, &binders);
    }
    return TD_OK;
}

/* RFC 8446 4.2.9:
 *   struct { PskKeyExchangeMode ke_modes<1..255>; } PskKeyExchangeModes; */
static enum td_status parse_psk_modes(struct td_client_hello *ch, struct td_cur *body,
                                      struct td_diag *d)
{
    struct td_cur list;

    ch->has_psk_modes = true;
    if (!td_cur_get_vec8(body, &list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PSK_KEY_EXCHANGE_MODES, body);
    if (td_cur_empty(&list))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PSK_KEY_EXCHANGE_MODES, &list);
    td_tls_read_u8_list(&ch->psk_modes, &list, d, TD_EXT_PSK_KEY_EXCHANGE_MODES);
    return TD_OK;
}

/* RFC 8446 4.2.10: empty in a ClientHello (leftover bytes become
 * EXT_TRAILING_DATA in the walker).  Same for RFC 7627 extended_master_secret
 * and RFC 8446 4.2.6 post_handshake_auth. */
static enum td_status parse_early_data(struct td_client_hello *ch, struct td_cur *body,
                                       struct td_diag *d)
{
    (void)body;
    (void)d;
    ch->has_early_data = true;
    return TD_OK;
}

static enum td_status parse_ems(struct td_client_hello *ch, struct td_cur *body,
                                struct td_diag *d)
{
    (void)body;
    (void)d;
    ch->has_extended_master_secret = true;
    return TD_OK;
}

static enum td_status parse_pha(struct td_client_hello *ch, struct td_cur *body,
                                struct td_diag *d)
{
    (void)body;
    (void)d;
    ch->has_post_handshake_auth = true;
    return TD_OK;
}

/* RFC 6066 8:
 *   struct {
 *       CertificateStatusType status_type;
 *       select (status_type) { case ocsp: OCSPStatusRequest; } request;
 *   } CertificateStatusRequest;
 *   struct {
 *       ResponderID responder_id_list<0..2^16-1>;
 *       Extensions  request_extensions;   (opaque <0..2^16-1>)
 *   } OCSPStatusRequest;
 * Other status types are skipped whole. */
static enum td_status parse_status_request(struct td_client_hello *ch, struct td_cur *body,
                                           struct td_diag *d)
{
    uint8_t type;
    struct td_cur ids;
    struct td_cur exts;

    ch->has_status_request = true;
    if (!td_cur_get_u8(body, &type))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_STATUS_REQUEST, body);
    if (type != 1) {
        skip_rest(body);
        return TD_OK;
    }
    if (!td_cur_get_vec16(body, &ids) || !td_cur_get_vec16(body, &exts))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_STATUS_REQUEST, body);
    return TD_OK;
}

/* RFC 5746 3.2:
 *   struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo; */
static enum td_status parse_reneg_info(struct td_client_hello *ch, struct td_cur *body,
                                       struct td_diag *d)
{
    struct td_cur rc;

    ch->has_renegotiation_info = true;
    if (!td_cur_get_vec8(body, &rc))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_RENEGOTIATION_INFO, body);
    return TD_OK;
}

/* RFC 7685 3: the extension data is zero bytes ("MUST be filled completely
 * with zero bytes"); a non-zero byte is recorded, the length still kept. */
static enum td_status parse_padding(struct td_client_hello *ch, struct td_cur *body,
                                    struct td_diag *d)
{
    ch->has_padding = true;
    ch->padding_len = (uint16_t)td_cur_len(body);
    td_cur_skip_zeros(body);
    if (!td_cur_empty(body)) {
        /* the first non-zero byte is flagged; the rest is padding all the same */
        td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_PADDING, body->off);
        if (!td_cur_skip(body, td_cur_len(body)))
            return TD_OK; /* cannot happen: skips what is there */
    }
    return TD_OK;
}

/* RFC 8449 4:  uint16 RecordSizeLimit; (>= 64) */
static enum td_status parse_record_size_limit(struct td_client_hello *ch, struct td_cur *body,
                                              struct td_diag *d)
{
    ch->has_record_size_limit = true;
    if (!td_cur_get_u16(body, &ch->record_size_limit))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_RECORD_SIZE_LIMIT, body);
    if (ch->record_size_limit < 64)
        td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_RECORD_SIZE_LIMIT, body->off - 2);
    return TD_OK;
}

/* draft-ietf-tls-esni: ECHClientHello; only its presence is recorded. */
static enum td_status parse_ech(struct td_client_hello *ch, struct td_cur *body,
                                struct td_diag *d)
{
    (void)d;
    ch->has_ech = true;
    skip_rest(body);
    return TD_OK;
}

/* RFC 8446 4.2.2:  struct { opaque cookie<1..2^16-1>; } Cookie; */
static enum td_status parse_cookie(struct td_client_hello *ch, struct td_cur *body,
                                   struct td_diag *d)
{
    struct td_cur cookie;

    ch->has_cookie = true;
    if (!td_cur_get_vec16(body, &cookie))
        return td_malformed(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_COOKIE, body);
    if (td_cur_empty(&cookie))
        td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, TD_EXT_COOKIE, cookie.off);
    return TD_OK;
}

/* the parser of each extension type a ClientHello's walk knows (a switch:
 * the linear search of a table it replaced was ~500 instructions a hello) */
static ch_ext_fn *find_ch_ext_parser(uint16_t type)
{
    switch (type) {
    case TD_EXT_SERVER_NAME:
        return parse_sni;
    case TD_EXT_STATUS_REQUEST:
        return parse_status_request;
    case TD_EXT_SUPPORTED_GROUPS:
        return parse_groups;
    case TD_EXT_EC_POINT_FORMATS:
        return parse_ec_point_formats;
    case TD_EXT_SIGNATURE_ALGORITHMS:
        return parse_sig_algs;
    case TD_EXT_ALPN:
        return parse_alpn;
    case TD_EXT_PADDING:
        return parse_padding;
    case TD_EXT_EXTENDED_MASTER_SECRET:
        return parse_ems;
    case TD_EXT_RECORD_SIZE_LIMIT:
        return parse_record_size_limit;
    case TD_EXT_SESSION_TICKET:
        return parse_session_ticket;
    case TD_EXT_PRE_SHARED_KEY:
        return parse_psk;
    case TD_EXT_EARLY_DATA:
        return parse_early_data;
    case TD_EXT_SUPPORTED_VERSIONS:
        return parse_supported_versions;
    case TD_EXT_COOKIE:
        return parse_cookie;
    case TD_EXT_PSK_KEY_EXCHANGE_MODES:
        return parse_psk_modes;
    case TD_EXT_POST_HANDSHAKE_AUTH:
        return parse_pha;
    case TD_EXT_KEY_SHARE:
        return parse_key_share;
    case TD_EXT_ENCRYPTED_CLIENT_HELLO:
        return parse_ech;
    case TD_EXT_RENEGOTIATION_INFO:
        return parse_reneg_info;
    default:
        return NULL;
    }
}

/* RFC 8446 4.2:
 *   struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 *   Extension extensions<8..2^16-1>;   (in a ClientHello; may be absent <= 1.2)
 * A framing error in the block stops the walk (the rest cannot be trusted
 * to be extensions); an error inside one body is recorded and the walk goes
 * on.  A duplicate is recorded at its body and not parsed again (RFC 8446
 * 4.2: "There MUST NOT be more than one extension of the same type"). */
static enum td_status parse_extensions(struct td_client_hello *ch, struct td_cur *msg,
                                       struct td_diag *d, uint16_t max_ext)
{
    struct td_u16_set seen;
    struct td_cur block;

    td_u16_set_init(&seen);
    if (!td_cur_get_vec16(msg, &block))
        return td_malformed(d, TD_AN_EXT_BLOCK_MALFORMED, 0, msg);
    ch->has_extensions = true;
    while (!td_cur_empty(&block)) {
        uint16_t type;
        struct td_cur body;
        size_t type_off = block.off;
        ch_ext_fn *parse;
        enum td_status st;

        if (!td_cur_get_u16(&block, &type) || !td_cur_get_vec16(&block, &body))
            return td_malformed(d, TD_AN_EXT_BLOCK_MALFORMED, 0, &block);
        count_grease(ch, type);
        if (!td_u16_list_push_max(&ch->ext_order, type, max_ext))
            td_diag_add(d, TD_AN_LIMIT_EXTENSIONS, type, type_off);
        if (td_u16_set_add(&seen, type)) {
            td_diag_add(d, TD_AN_EXT_DUPLICATE, type, body.off);
            continue;
        }
        if (type == TD_EXT_SERVER_NAME)
            ch->has_sni = true; /* present, whatever its body holds */
        parse = find_ch_ext_parser(type);
        if (parse == NULL)
            continue; /* unknown or GREASE: its type is kept in ext_order */
        st = parse(ch, &body, d);
        if (st == TD_ENOMEM || st == TD_ELIMIT)
            return st;
        if (st == TD_OK && !td_cur_empty(&body))
            td_diag_add(d, TD_AN_EXT_TRAILING_DATA, type, body.off);
    }
    return TD_OK;
}

static void note_cipher(struct td_client_hello *ch, uint16_t cs, struct td_diag *d, size_t off)
{
    count_grease(ch, cs);
    if (cs == 0x5600)
        ch->has_fallback_scsv = true;
    if (cs == 0x00ff)
        ch->has_reneg_scsv = true;
    if (ch->num_ciphers < TD_MAX_CIPHERS)
        ch->ciphers[ch->num_ciphers++] = cs;
    else if (ch->total_ciphers == TD_MAX_CIPHERS)
        td_diag_add(d, TD_AN_LIMIT_CIPHERS, 0, off);
    if (ch->total_ciphers < UINT16_MAX)
        ch->total_ciphers++;
}

/* reset zeroes |ch| but keeps record_version, which the caller sets from
 * the record layer before or after parsing. */
static void reset(struct td_client_hello *ch)
{
    uint16_t rv = ch->record_version;

    memset(ch, 0, sizeof(*ch));
    ch->record_version = rv;
}

/* RFC 8446 4.1.2 (and RFC 5246 7.4.1.2):
 *   struct {
 *       ProtocolVersion legacy_version;
 *       Random random;
 *       opaque legacy_session_id<0..32>;
 *       CipherSuite cipher_suites<2..2^16-2>;
 *       opaque legacy_compression_methods<1..2^8-1>;
 *       Extension extensions<8..2^16-1>;
 *   } ClientHello;
 * td_parse_client_hello zeroes |ch| (keeping record_version) and fills it
 * from |msg|, the handshake body.  Framing errors return TD_EMALFORMED with
 * CH_MALFORMED (or EXT_BLOCK_MALFORMED) at the failing field; what was read
 * before stays in |ch|.  An odd-length or empty cipher list is recorded
 * (CH_ODD_CIPHERS, CH_NO_CIPHERS) and parsing goes on.  Trailing bytes after
 * the extensions are CH_TRAILING_DATA (TD_OK).  Caps: TD_MAX_CIPHERS and the
 * list caps in tls.h (LIMIT_* anomalies, status stays TD_OK).  |ch| holds
 * copies only. */
enum td_status td_parse_client_hello(struct td_client_hello *ch, struct td_cur *msg)
{
    return td_parse_client_hello_max(ch, msg, 0);
}

enum td_status td_parse_client_hello_max(struct td_client_hello *ch, struct td_cur *msg, uint16_t max_ext)
{
    struct td_diag *d = &ch->diag;
    struct td_cur sid;
    struct td_cur suites;
    struct td_cur comp;
    enum td_status st;

    reset(ch);
    ch->msg_len = (uint32_t)(td_cur_len(msg) > UINT32_MAX ? UINT32_MAX : td_cur_len(msg));
    if (!td_cur_get_u16(msg, &ch->legacy_version))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, msg);
    if (!td_cur_copy(msg, ch->random, sizeof(ch->random)))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, msg);
    if (!td_cur_get_vec8(msg, &sid))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, msg);
    if (td_cur_len(&sid) > sizeof(ch->session_id))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, &sid);
    ch->session_id_len = (uint8_t)td_cur_len(&sid);
    if (!td_cur_copy(&sid, ch->session_id, ch->session_id_len))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, &sid);
    if (!td_cur_get_vec16(msg, &suites))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, msg);
    if (td_cur_empty(&suites))
        td_diag_add(d, TD_AN_CH_NO_CIPHERS, 0, suites.off);
    if (td_cur_len(&suites) % 2 != 0)
        td_diag_add(d, TD_AN_CH_ODD_CIPHERS, 0, suites.off);
    while (td_cur_len(&suites) >= 2) {
        uint16_t cs;
        size_t off = suites.off;

        if (!td_cur_get_u16(&suites, &cs))
            break;
        note_cipher(ch, cs, d, off);
    }
    if (!td_cur_get_vec8(msg, &comp))
        return td_malformed(d, TD_AN_CH_MALFORMED, 0, msg);
    if (td_cur_empty(&comp))
        td_diag_add(d, TD_AN_CH_MALFORMED, 0, comp.off);
    td_tls_read_u8_list(&ch->compression, &comp, d, 0);
    if (td_cur_empty(msg))
        return TD_OK; /* RFC 5246 7.4.1.2: the extensions block may be absent */
    st = parse_extensions(ch, msg, d, max_ext);
    if (st != TD_OK)
        return st;
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_CH_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

/* RFC 6101 E.2 (and the SSL 2.0 draft, 2.6):
 *   char MSG-CLIENT-HELLO            (1)
 *   char CLIENT-VERSION-MSB, -LSB
 *   char CIPHER-SPECS-LENGTH-MSB, -LSB
 *   char SESSION-ID-LENGTH-MSB, -LSB
 *   char CHALLENGE-LENGTH-MSB, -LSB
 *   char CIPHER-SPECS-DATA[(MSB<<8)|LSB]   (3 bytes each)
 *   char SESSION-ID-DATA[(MSB<<8)|LSB]     (0 or 16)
 *   char CHALLENGE-DATA[(MSB<<8)|LSB]      (16..32)
 * td_parse_sslv2_client_hello zeroes |ch| (keeping record_version) and
 * converts the message: 3-byte kinds 00XXYY become 0xXXYY, other kinds are
 * counted in num_sslv2_only_ciphers; the challenge is right-aligned in
 * random.  Lengths that cannot be stored (session id > 32, challenge > 32
 * or < 16 as required by RFC 6101 E.2) and a cipher list not a multiple of
 * 3 are SSL2_MALFORMED: a session id or challenge over 32 stops parsing
 * (TD_EMALFORMED), the others are recorded and parsing goes on. */
enum td_status td_parse_sslv2_client_hello(struct td_client_hello *ch, struct td_cur *body)
{
    struct td_diag *d = &ch->diag;
    uint8_t type;
    uint16_t cs_len, sid_len, chal_len;
    struct td_cur specs;
    struct td_cur sid;
    struct td_cur chal;

    reset(ch);
    ch->sslv2_format = true;
    ch->msg_len = (uint32_t)(td_cur_len(body) > UINT32_MAX ? UINT32_MAX : td_cur_len(body));
    if (!td_cur_get_u8(body, &type))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (type != TD_HS_CLIENT_HELLO)
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (!td_cur_get_u16(body, &ch->legacy_version))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (!td_cur_get_u16(body, &cs_len) || !td_cur_get_u16(body, &sid_len) ||
        !td_cur_get_u16(body, &chal_len))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (!td_cur_get_bytes(body, &specs, cs_len))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (!td_cur_get_bytes(body, &sid, sid_len))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (!td_cur_get_bytes(body, &chal, chal_len))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, body);
    if (cs_len == 0)
        td_diag_add(d, TD_AN_CH_NO_CIPHERS, 0, specs.off);
    if (cs_len % 3 != 0)
        td_diag_add(d, TD_AN_SSL2_MALFORMED, 0, specs.off);
    while (td_cur_len(&specs) >= 3) {
        uint8_t k0;
        uint16_t k12;
        size_t off = specs.off;

        if (!td_cur_get_u8(&specs, &k0) || !td_cur_get_u16(&specs, &k12))
            break;
        if (k0 == 0)
            note_cipher(ch, k12, d, off);
        else if (ch->num_sslv2_only_ciphers < UINT16_MAX)
            ch->num_sslv2_only_ciphers++;
    }
    if (sid_len > sizeof(ch->session_id))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, &sid);
    ch->session_id_len = (uint8_t)sid_len;
    if (!td_cur_copy(&sid, ch->session_id, sid_len))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, &sid);
    if (chal_len > sizeof(ch->random))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, &chal);
    if (chal_len < 16)
        td_diag_add(d, TD_AN_SSL2_MALFORMED, 0, chal.off);
    if (!td_cur_copy(&chal, ch->random + (sizeof(ch->random) - chal_len), chal_len))
        return td_malformed(d, TD_AN_SSL2_MALFORMED, 0, &chal);
    if (!td_cur_empty(body))
        td_diag_add(d, TD_AN_CH_TRAILING_DATA, 0, body->off);
    return TD_OK;
}
