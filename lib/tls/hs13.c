/* hs13.c: TLS 1.3 messages that only decryption reveals:
 * EncryptedExtensions and KeyUpdate.  (Certificate, CertificateRequest and
 * NewSessionTicket in their TLS 1.3 form are in server.c.) */
#include <string.h>

#include "tls/tls_int.h"
#include "tlsdiag/tls.h"

static void skip_all(struct td_cur *c)
{
    struct td_cur rest;
    if (!td_cur_get_bytes(c, &rest, td_cur_len(c)))
        return; /* unreachable */
}

/* RFC 8446 4.3.1:
 *   struct { Extension extensions<0..2^16-1>; } EncryptedExtensions;
 * Extensions read: application_layer_protocol_negotiation (RFC 7301 3.1,
 * exactly one name), early_data (RFC 8446 4.2.10, empty: 0-RTT accepted),
 * server_name (RFC 6066 3, empty), record_size_limit (RFC 8449 4, uint16).
 * A framing error is EE_MALFORMED (TD_EMALFORMED); a bad body is
 * EXT_BODY_MALFORMED and the walk goes on. */
enum td_status td_parse_encrypted_extensions(struct td_encrypted_extensions *ee, struct td_cur *msg)
{
    return td_parse_encrypted_extensions_max(ee, msg, 0);
}

enum td_status td_parse_encrypted_extensions_max(struct td_encrypted_extensions *ee, struct td_cur *msg,
                                                 uint16_t max_ext)
{
    struct td_diag *d = &ee->diag;
    struct td_u16_set seen;
    struct td_cur block;

    memset(ee, 0, sizeof(*ee));
    ee->msg_len = (uint32_t)td_cur_len(msg);
    if (!td_cur_get_vec16(msg, &block))
        return td_malformed(d, TD_AN_EE_MALFORMED, 0, msg);
    td_u16_set_init(&seen);
    while (!td_cur_empty(&block)) {
        uint16_t type;
        struct td_cur body, v, name;
        size_t type_off = block.off;

        if (!td_cur_get_u16(&block, &type) || !td_cur_get_vec16(&block, &body))
            return td_malformed(d, TD_AN_EE_MALFORMED, 0, &block);
        if (!td_u16_list_push_max(&ee->ext_order, type, max_ext))
            td_diag_add(d, TD_AN_LIMIT_EXTENSIONS, type, type_off);
        if (td_u16_set_add(&seen, type)) {
            td_diag_add(d, TD_AN_EXT_DUPLICATE, type, body.off);
            continue;
        }
        switch (type) {
        case TD_EXT_ALPN:
            ee->has_alpn = true;
            if (!td_cur_get_vec16(&body, &v) || !td_cur_get_vec8(&v, &name)) {
                td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, body.off);
                skip_all(&body);
                break;
            }
            if (td_cur_empty(&name))
                td_diag_add(d, TD_AN_ALPN_EMPTY_NAME, type, name.off);
            td_tls_copy_name(&ee->alpn, &name);
            if (!td_cur_empty(&v))
                td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, v.off);
            break;
        case TD_EXT_EARLY_DATA:
            ee->has_early_data = true;
            break;
        case TD_EXT_SERVER_NAME:
            ee->has_sni_ack = true;
            break;
        case TD_EXT_RECORD_SIZE_LIMIT:
            ee->has_record_size_limit = true;
            if (!td_cur_get_u16(&body, &ee->record_size_limit))
                td_diag_add(d, TD_AN_EXT_BODY_MALFORMED, type, body.off);
            break;
        default:
            skip_all(&body);
            break;
        }
        if (!td_cur_empty(&body))
            td_diag_add(d, TD_AN_EXT_TRAILING_DATA, type, body.off);
    }
    if (!td_cur_empty(msg))
        td_diag_add(d, TD_AN_HS_TRAILING_DATA, 0, msg->off);
    return TD_OK;
}

/* RFC 8446 4.6.3:
 *   enum { update_not_requested(0), update_requested(1), (255) } KeyUpdateRequest;
 *   struct { KeyUpdateRequest request_update; } KeyUpdate; */
enum td_status td_parse_key_update(struct td_key_update *ku, struct td_cur *msg, struct td_diag *d)
{
    memset(ku, 0, sizeof(*ku));
    if (!td_cur_get_u8(msg, &ku->request_update) || ku->request_update > 1 || !td_cur_empty(msg))
        return td_malformed(d, TD_AN_KEY_UPDATE_MALFORMED, 0, msg);
    return TD_OK;
}
