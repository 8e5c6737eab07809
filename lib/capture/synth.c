/* synth.c: one synthetic IPv4/TCP packet (see synth.h). */
#include "capture/synth.h"

#include <string.h>

#include "tlsdiag/cur.h"

const uint8_t td_synth_client_addr[4] = {192, 0, 2, 1};
const uint8_t td_synth_server_addr[4] = {198, 51, 100, 1};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* RFC 1071: the ones' complement sum of 16-bit words (an odd last byte is
 * padded with a zero), folded and complemented by fold_sum. */
static uint32_t sum16(uint32_t acc, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += ((uint32_t)p[i] << 8) | p[i + 1];
    if (i < n)
        acc += (uint32_t)p[i] << 8;
    return acc;
}

static uint16_t fold_sum(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

size_t td_synth_tcp4(uint8_t *buf, size_t cap, const struct td_synth_tcp4 *h, const uint8_t *payload,
                     size_t plen)
{
    uint8_t *tcp = buf + 20, pseudo[12];
    size_t total = TD_SYNTH_HDR_LEN + plen;

    if (plen > 65535u - TD_SYNTH_HDR_LEN || total > cap)
        return 0;
    memset(buf, 0, TD_SYNTH_HDR_LEN);
    /* IPv4 */
    buf[0] = 0x45;
    put16(buf + 2, (uint32_t)total);
    put16(buf + 4, h->ipid);
    put16(buf + 6, 0x4000); /* DF */
    buf[8] = h->ttl;
    buf[9] = 6;
    memcpy(buf + 12, h->src, 4);
    memcpy(buf + 16, h->dst, 4);
    put16(buf + 10, fold_sum(sum16(0, buf, 20)));
    /* TCP */
    put16(tcp + 0, h->sport);
    put16(tcp + 2, h->dport);
    put32(tcp + 4, h->seq);
    put32(tcp + 8, h->ack);
    tcp[12] = 5u << 4;
    tcp[13] = h->flags;
    put16(tcp + 14, 65535);
    td_memcpy(tcp + 20, payload, plen);
    memcpy(pseudo, h->src, 4);
    memcpy(pseudo + 4, h->dst, 4);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, (uint32_t)(20 + plen));
    put16(tcp + 16, fold_sum(sum16(sum16(0, pseudo, sizeof(pseudo)), tcp, 20 + plen)));
    return total;
}
