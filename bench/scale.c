/* bench/scale.c: scale a loopback capture of real TLS connections.
 *
 *   scale BASE.pcap OUT.pcap conns N    copies of BASE until >= N connections
 *   scale BASE.pcap OUT.pcap copies K   K copies of BASE
 *
 * BASE is a classic pcap (tcpdump -w on lo: Ethernet framing, IPv4
 * 127.0.0.1 <-> 127.0.0.1).  A connection is a SYN and every later packet of its
 * 4-tuple; packets of connections whose SYN is not in BASE are dropped.  In copy
 * k, connection j gets the client address 127.64.0.0 + (k * nconn + j), so every
 * connection of the output is a distinct flow; IPv4 and TCP checksums are fixed
 * incrementally (RFC 1624) and timestamps shifted so copies follow each other.
 * The server side is unchanged.  Prints a manifest (key=value) on stdout. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct rec {
    uint64_t off;     /* record header offset in BASE */
    uint32_t len;     /* header + data */
    uint32_t conn;    /* connection index in BASE */
    uint16_t addr;    /* offset of the client address in the data */
    uint16_t tcpcs;   /* offset of the TCP checksum in the data */
};

struct cn { uint16_t cport, sport; uint32_t idx; };

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32le(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr32le(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24); }

/* RFC 1624 eqn 3: HC' = ~(~HC + ~m + m') over the changed 16-bit words */
static uint16_t cs_fix(uint16_t hc, uint32_t oldaddr, uint32_t newaddr)
{
    uint32_t s = (uint16_t)~hc;
    s += (uint16_t)~(oldaddr >> 16) + (uint16_t)~(oldaddr & 0xffff);
    s += (newaddr >> 16) + (newaddr & 0xffff);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[3], "conns") != 0 && strcmp(argv[3], "copies") != 0)) {
        fprintf(stderr, "usage: scale BASE.pcap OUT.pcap conns N | copies K\n");
        return 2;
    }
    unsigned long long want = strtoull(argv[4], NULL, 10);
    int fd = open(argv[1], O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size < 24) {
        perror(argv[1]);
        return 1;
    }
    size_t size = (size_t)sb.st_size;
    const uint8_t *d = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (d == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    uint32_t magic = rd32le(d);
    if (magic == 0xa1b23c4d)
        ; /* nanosecond pcap: same layout */
    else if (magic != 0xa1b2c3d4) {
        fprintf(stderr, "base must be a little-endian classic pcap\n");
        return 1;
    }
    if (rd32le(d + 20) != 1) {
        fprintf(stderr, "base linktype %u, expected 1 (Ethernet)\n", rd32le(d + 20));
        return 1;
    }
    struct rec *recs = NULL;
    size_t nrec = 0, caprec = 0, dropped = 0;
    struct cn *conns = NULL; /* open 4-tuples by client port (small: linear search from the end) */
    size_t nconn = 0, capconn = 0;
    uint32_t first_ts = 0, last_ts = 0;
    uint64_t base_bytes = 0;
    for (size_t off = 24; off + 16 <= size;) {
        uint32_t incl = rd32le(d + off + 8);
        const uint8_t *p = d + off + 16;
        if (off + 16 + incl > size)
            break;
        if (off == 24)
            first_ts = rd32le(d + off);
        last_ts = rd32le(d + off);
        int kept = 0;
        if (incl >= 54 && rd16(p + 12) == 0x0800 && p[23] == 6 && rd32le(p + 26) == 0x0100007f &&
            rd32le(p + 30) == 0x0100007f) {
            unsigned ihl = (p[14] & 15u) * 4u;
            const uint8_t *t = p + 14 + ihl;
            if (14 + ihl + 20 <= incl) {
                uint16_t sp = rd16(t), dp = rd16(t + 2);
                uint8_t fl = t[13];
                long hit = -1;
                int dir = 0;
                if ((fl & 0x12) == 0x02) { /* SYN: a new connection (the latest wins) */
                    if (nconn == capconn) {
                        capconn = capconn ? capconn * 2 : 1024;
                        conns = realloc(conns, capconn * sizeof(*conns));
                        if (!conns) return 1;
                    }
                    conns[nconn] = (struct cn){sp, dp, (uint32_t)nconn};
                    nconn++;
                }
                for (long i = (long)nconn - 1; i >= 0; i--) {
                    if (conns[i].cport == sp && conns[i].sport == dp) { hit = i; dir = 0; break; }
                    if (conns[i].cport == dp && conns[i].sport == sp) { hit = i; dir = 1; break; }
                }
                if (hit >= 0) {
                    if (nrec == caprec) {
                        caprec = caprec ? caprec * 2 : 65536;
                        recs = realloc(recs, caprec * sizeof(*recs));
                        if (!recs) return 1;
                    }
                    recs[nrec++] = (struct rec){off, 16 + incl, (uint32_t)hit,
                                                (uint16_t)(dir == 0 ? 26 : 30), (uint16_t)(14 + ihl + 16)};
                    base_bytes += 16 + incl;
                    kept = 1;
                }
            }
        }
        if (!kept)
            dropped++;
        off += 16 + incl;
    }
    if (nconn == 0) {
        fprintf(stderr, "no TCP connections in %s\n", argv[1]);
        return 1;
    }
    unsigned long long copies = strcmp(argv[3], "copies") == 0 ? want : (want + nconn - 1) / nconn;
    if (copies == 0 || copies * nconn > (1u << 22)) {
        fprintf(stderr, "bad size: %llu copies of %zu connections (max 4M connections)\n", copies, nconn);
        return 1;
    }
    uint32_t span = last_ts - first_ts + 2;
    FILE *o = fopen(argv[2], "wb");
    if (!o) {
        perror(argv[2]);
        return 1;
    }
    setvbuf(o, NULL, _IOFBF, 1 << 22);
    fwrite(d, 1, 24, o);
    static uint8_t buf[262144 + 16];
    for (unsigned long long k = 0; k < copies; k++) {
        for (size_t i = 0; i < nrec; i++) {
            const struct rec *r = &recs[i];
            uint32_t len = r->len > sizeof(buf) ? (uint32_t)sizeof(buf) : r->len;
            memcpy(buf, d + r->off, len);
            uint8_t *p = buf + 16;
            uint32_t na = 0x7f400000u + (uint32_t)(k * nconn + r->conn);
            wr32le(buf, rd32le(buf) + (uint32_t)(k * span));
            p[r->addr] = (uint8_t)(na >> 24);
            p[r->addr + 1] = (uint8_t)(na >> 16);
            p[r->addr + 2] = (uint8_t)(na >> 8);
            p[r->addr + 3] = (uint8_t)na;
            uint16_t ipcs = cs_fix(rd16(p + 24), 0x7f000001u, na);
            p[24] = (uint8_t)(ipcs >> 8);
            p[25] = (uint8_t)ipcs;
            if (r->tcpcs + 2u <= len - 16) {
                uint16_t tcs = cs_fix(rd16(p + r->tcpcs), 0x7f000001u, na);
                p[r->tcpcs] = (uint8_t)(tcs >> 8);
                p[r->tcpcs + 1] = (uint8_t)tcs;
            }
            fwrite(buf, 1, len, o);
        }
    }
    if (fclose(o) != 0) {
        perror(argv[2]);
        return 1;
    }
    printf("base_connections=%zu\nbase_packets=%zu\nbase_packets_dropped=%zu\ncopies=%llu\n"
           "connections=%llu\npackets=%llu\nrecord_bytes=%llu\n",
           nconn, nrec, dropped, copies, copies * nconn, copies * nrec, copies * base_bytes);
    return 0;
}
