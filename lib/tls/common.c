/* common.c: small helpers shared by the lib/tls message parsers. */
#include "tls/tls_int.h"

#include "tlsdiag/registry.h"

#include <string.h>

bool td_tls_read_u16_list(struct td_u16_list *l, struct td_cur *list, uint16_t *grease,
                          struct td_diag *d, uint16_t ext_type)
{
    if (td_cur_len(list) % 2 != 0)
        return false;
    while (!td_cur_empty(list)) {
        uint16_t v;

        if (!td_cur_get_u16(list, &v))
            return false; /* unreachable: the length is even */
        if (grease != NULL && td_is_grease(v) && *grease < UINT16_MAX)
            (*grease)++;
        if (!td_u16_list_push(l, v))
            td_diag_add(d, TD_AN_LIMIT_LIST, ext_type, list->off - 2);
    }
    return true;
}

void td_tls_read_u8_list(struct td_u8_list *l, struct td_cur *list, struct td_diag *d,
                         uint16_t ext_type)
{
    while (!td_cur_empty(list)) {
        uint8_t v;

        if (!td_cur_get_u8(list, &v))
            return;
        if (!td_u8_list_push(l, v))
            td_diag_add(d, TD_AN_LIMIT_LIST, ext_type, list->off - 1);
    }
}

uint16_t td_tls_key_share_len(uint16_t group)
{
    switch (group) {
    case 0x0017: return 65;   /* secp256r1, uncompressed point */
    case 0x0018: return 97;   /* secp384r1 */
    case 0x0019: return 133;  /* secp521r1 */
    case 0x001d: return 32;   /* x25519 */
    case 0x001e: return 56;   /* x448 */
    case 0x0100: return 256;  /* ffdhe2048 */
    case 0x0101: return 384;  /* ffdhe3072 */
    case 0x0102: return 512;  /* ffdhe4096 */
    case 0x0103: return 768;  /* ffdhe6144 */
    case 0x0104: return 1024; /* ffdhe8192 */
    case 0x11eb: return 1249; /* SecP256r1MLKEM768 (client share) */
    case 0x11ec: return 1216; /* X25519MLKEM768 (client share) */
    case 0x11ed: return 1665; /* SecP384r1MLKEM1024 (client share) */
    default: return 0;
    }
}

void td_tls_copy_name(struct td_bytes_name *out, struct td_cur *name)
{
    size_t wire = td_cur_len(name);
    size_t keep = wire < TD_MAX_ALPN_LEN ? wire : TD_MAX_ALPN_LEN;
    struct td_cur rest;

    out->wire_len = (uint8_t)(wire > UINT8_MAX ? UINT8_MAX : wire);
    out->len = (uint8_t)keep;
    out->last_byte = 0;
    if (!td_cur_copy(name, out->b, keep))
        return;
    rest = *name;
    if (!td_cur_skip(name, td_cur_len(name)))
        return;
    if (wire == 0)
        return;
    if (wire == keep)
        out->last_byte = out->b[keep - 1];
    else if (!td_cur_peek_u8(&rest, td_cur_len(&rest) - 1, &out->last_byte))
        out->last_byte = 0;
}
