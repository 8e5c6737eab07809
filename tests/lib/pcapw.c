/* pcapw.c: test-only pcap/pcapng/packet writers (see pcapw.h). */
#include "pcapw.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

void pcapw_init(struct pcapw *w, bool little_endian)
{
    memset(w, 0, sizeof(*w));
    w->le = little_endian;
}

void pcapw_free(struct pcapw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

void pcapw_bytes(struct pcapw *w, const void *p, size_t n)
{
    if (w->len + n > w->cap) {
        size_t ncap = w->cap ? w->cap : 4096;
        while (ncap < w->len + n)
            ncap *= 2;
        w->buf = realloc(w->buf, ncap);
        if (w->buf == NULL)
            abort();
        w->cap = ncap;
    }
    if (n != 0)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void pcapw_u8(struct pcapw *w, uint8_t v) { pcapw_bytes(w, &v, 1); }

void pcapw_u16(struct pcapw *w, uint16_t v)
{
    uint8_t b[2];
    if (w->le) {
        b[0] = (uint8_t)v;
        b[1] = (uint8_t)(v >> 8);
    } else {
        b[0] = (uint8_t)(v >> 8);
        b[1] = (uint8_t)v;
    }
    pcapw_bytes(w, b, 2);
}

void pcapw_u32(struct pcapw *w, uint32_t v)
{
    if (w->le) {
        pcapw_u16(w, (uint16_t)v);
        pcapw_u16(w, (uint16_t)(v >> 16));
    } else {
        pcapw_u16(w, (uint16_t)(v >> 16));
        pcapw_u16(w, (uint16_t)v);
    }
}

void pcapw_pad4(struct pcapw *w)
{
    while (w->len % 4 != 0)
        pcapw_u8(w, 0);
}

void pcapw_pcap_hdr(struct pcapw *w, bool nsec, uint32_t linktype, uint32_t snaplen)
{
    pcapw_u32(w, nsec ? 0xa1b23c4du : 0xa1b2c3d4u);
    pcapw_u16(w, 2);
    pcapw_u16(w, 4);
    pcapw_u32(w, 0);
    pcapw_u32(w, 0);
    pcapw_u32(w, snaplen);
    pcapw_u32(w, linktype);
}

void pcapw_pcap_rec(struct pcapw *w, uint32_t sec, uint32_t frac, const uint8_t *data,
                    uint32_t caplen, uint32_t origlen)
{
    pcapw_u32(w, sec);
    pcapw_u32(w, frac);
    pcapw_u32(w, caplen);
    pcapw_u32(w, origlen);
    pcapw_bytes(w, data, caplen);
}

static void put32_at(struct pcapw *w, size_t at, uint32_t v)
{
    size_t save = w->len;
    w->len = at;
    pcapw_u32(w, v);
    w->len = save;
}

size_t pcapw_block_begin(struct pcapw *w, uint32_t type)
{
    size_t start = w->len;
    pcapw_u32(w, type);
    pcapw_u32(w, 0);
    return start;
}

void pcapw_block_end(struct pcapw *w, size_t start)
{
    uint32_t total;
    pcapw_pad4(w);
    total = (uint32_t)(w->len - start + 4);
    pcapw_u32(w, total);
    put32_at(w, start + 4, total);
}

void pcapw_shb(struct pcapw *w)
{
    size_t b = pcapw_block_begin(w, 0x0a0d0d0au);
    pcapw_u32(w, 0x1a2b3c4du);
    pcapw_u16(w, 1);
    pcapw_u16(w, 0);
    pcapw_u32(w, 0xffffffffu);
    pcapw_u32(w, 0xffffffffu);
    pcapw_block_end(w, b);
}

void pcapw_idb(struct pcapw *w, uint16_t linktype, uint32_t snaplen, int tsresol)
{
    size_t b = pcapw_block_begin(w, 1);
    pcapw_u16(w, linktype);
    pcapw_u16(w, 0);
    pcapw_u32(w, snaplen);
    if (tsresol >= 0) {
        pcapw_u16(w, 9);
        pcapw_u16(w, 1);
        pcapw_u8(w, (uint8_t)tsresol);
        pcapw_pad4(w);
        pcapw_u16(w, 0); /* opt_endofopt */
        pcapw_u16(w, 0);
    }
    pcapw_block_end(w, b);
}

void pcapw_epb(struct pcapw *w, uint32_t ifid, uint64_t ts, const uint8_t *data, uint32_t caplen,
               uint32_t origlen)
{
    size_t b = pcapw_block_begin(w, 6);
    pcapw_u32(w, ifid);
    pcapw_u32(w, (uint32_t)(ts >> 32));
    pcapw_u32(w, (uint32_t)ts);
    pcapw_u32(w, caplen);
    pcapw_u32(w, origlen);
    pcapw_bytes(w, data, caplen);
    pcapw_block_end(w, b);
}

void pcapw_spb(struct pcapw *w, uint32_t origlen, const uint8_t *data, uint32_t n)
{
    size_t b = pcapw_block_begin(w, 3);
    pcapw_u32(w, origlen);
    pcapw_bytes(w, data, n);
    pcapw_block_end(w, b);
}

void pcapw_dsb(struct pcapw *w, uint32_t type, const uint8_t *data, uint32_t n)
{
    size_t b = pcapw_block_begin(w, 0x0a);
    pcapw_u32(w, type);
    pcapw_u32(w, n);
    pcapw_bytes(w, data, n);
    pcapw_block_end(w, b);
}

char *pcapw_save(const struct pcapw *w, size_t len, bool gzip)
{
    char tmpl[] = "/tmp/td_test_XXXXXX";
    char *path;
    int fd = mkstemp(tmpl);

    if (fd < 0)
        abort();
    path = strdup(tmpl);
    if (path == NULL)
        abort();
    if (gzip) {
        gzFile g = gzdopen(fd, "wb");
        if (g == NULL || (len != 0 && gzwrite(g, w->buf, (unsigned)len) != (int)len))
            abort();
        gzclose(g);
    } else {
        if (len != 0 && write(fd, w->buf, len) != (ssize_t)len)
            abort();
        close(fd);
    }
    return path;
}

void pb_u8(struct pktb *p, uint8_t v)
{
    if (p->n >= sizeof(p->b))
        abort();
    p->b[p->n++] = v;
}

void pb_u16(struct pktb *p, uint16_t v)
{
    pb_u8(p, (uint8_t)(v >> 8));
    pb_u8(p, (uint8_t)v);
}

void pb_u32(struct pktb *p, uint32_t v)
{
    pb_u16(p, (uint16_t)(v >> 16));
    pb_u16(p, (uint16_t)v);
}

void pb_zero(struct pktb *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pb_u8(p, 0);
}

void pb_eth(struct pktb *p, uint16_t ethertype)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    for (size_t i = 0; i < sizeof(macs); i++)
        pb_u8(p, macs[i]);
    pb_u16(p, ethertype);
}

void pb_ipv4(struct pktb *p, uint16_t total_len, uint8_t proto, uint16_t frag, size_t optlen)
{
    pb_u8(p, (uint8_t)(0x40 | ((20 + optlen) / 4)));
    pb_u8(p, 0);
    pb_u16(p, total_len);
    pb_u16(p, 0x1234);
    pb_u16(p, frag);
    pb_u8(p, 64);
    pb_u8(p, proto);
    pb_u16(p, 0);
    pb_u32(p, 0x0a000001);
    pb_u32(p, 0x0a000002);
    pb_zero(p, optlen);
}

void pb_ipv6(struct pktb *p, uint16_t payload_len, uint8_t next)
{
    pb_u32(p, 0x60000000);
    pb_u16(p, payload_len);
    pb_u8(p, next);
    pb_u8(p, 63);
    pb_u32(p, 0x20010db8);
    pb_zero(p, 11);
    pb_u8(p, 1);
    pb_u32(p, 0x20010db8);
    pb_zero(p, 11);
    pb_u8(p, 2);
}

void pb_tcp(struct pktb *p, uint8_t flags, bool syn_opts)
{
    pb_u16(p, 40000);
    pb_u16(p, 443);
    pb_u32(p, 1000);
    pb_u32(p, 2000);
    pb_u8(p, (uint8_t)((syn_opts ? 7 : 5) << 4));
    pb_u8(p, flags);
    pb_u16(p, 512);
    pb_u16(p, 0);
    pb_u16(p, 0);
    if (syn_opts) {
        pb_u8(p, 2); /* MSS 1460 */
        pb_u8(p, 4);
        pb_u16(p, 1460);
        pb_u8(p, 1); /* NOP */
        pb_u8(p, 3); /* WS 7 */
        pb_u8(p, 3);
        pb_u8(p, 7);
    }
}

void pb_eth_ipv4_tcp(struct pktb *p, uint8_t flags, size_t payload)
{
    pb_eth(p, 0x0800);
    pb_ipv4(p, (uint16_t)(20 + 20 + payload), 6, 0x4000, 0);
    pb_tcp(p, flags, false);
    for (size_t i = 0; i < payload; i++)
        pb_u8(p, 'A');
}
