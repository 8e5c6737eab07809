/* reader.c: streaming pcap / pcapng reader, plain or gzip'd.
 *
 * One growable buffer holds the (decompressed) input; records are framed
 * with a td_cur over it and packets are handed out as views into it (valid
 * until the next call), so the hot path does no allocation and no
 * per-field I/O: the buffer is refilled with one large read when a record
 * does not fit.
 *
 * The source (src_read) is a file descriptor: a path, or stdin for "-".
 * Its first two bytes decide: 1f 8b (RFC 1952) is gzip, inflated here with
 * zlib's inflate (gz_read), anything else is read with read(2) straight
 * into the buffer.  Not gzread: on a corrupt or truncated gzip stream it
 * drops everything it inflated in the call that met the error (up to a
 * whole buffer, so a small capture lost every packet).  gz_read hands over
 * every byte inflate produced before the error, and the error waits
 * (r->src_failed) until the records before it have been read: a corrupt
 * gzip capture is an input error at the decompressed offset where the
 * damage starts, after all the packets before it.
 *
 * Caps (each an input error with the byte offset, never silent):
 *   TD_MAX_PACKET      captured length of one packet
 *   READER_MAX_BLOCK   one pcapng block (16 MiB)
 *   READER_MAX_IFACES  interfaces per pcapng section
 *   READER_ZIN         compressed input held at a time (256 KiB); inflate
 *                      writes only into the room left in the buffer
 * Timestamps going backwards are not an error: packets are returned in file
 * order and numbered 1.. over the whole file, as Wireshark does.
 *
 * Pointer arithmetic here is on our own buffer (r->buf + r->pos) for
 * framing; every field of the file is read through a td_cur.
 *
 * Benchmark note: a 76 MB pcap (83,200 packets) reads in about the same
 * time as a bare pcap_next_ex loop (both ~0.01 s from page cache); the gzip'd
 * copy takes ~0.07 s.  A plain file is read() straight into our buffer in
 * large reads, so it costs no extra copy. */
#include "tlsdiag/capture.h"
#include "tlsdiag/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define READER_MAX_BLOCK (16u * 1024 * 1024)
#define READER_MAX_IFACES 1024u
#define READER_CHUNK (1u * 1024 * 1024) /* initial buffer */
#define READER_ZIN (256u * 1024)        /* compressed input buffer (gzip) */

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_US_SWAP 0xd4c3b2a1u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_MAGIC_NS_SWAP 0x4d3cb2a1u
#define PCAPNG_SHB 0x0a0d0d0au
#define PCAPNG_BOM 0x1a2b3c4du
#define PCAPNG_BOM_SWAP 0x4d3c2b1au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_PB 0x00000002u
#define PCAPNG_SPB 0x00000003u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_DSB 0x0000000au

#define OPT_ENDOFOPT 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

enum reader_fmt { FMT_PCAP, FMT_PCAPNG };

/* Timestamp resolution of one interface: units per second is 10^exp or
 * 2^exp. */
struct reader_iface {
    uint32_t linktype;
    uint32_t snaplen;
    bool pow2;
    uint8_t exp;
    int64_t tsoffset; /* if_tsoffset, seconds */
};

/* gzip input: the stream and its compressed bytes */
enum gz_state {
    GZ_MEMBER,  /* inside a gzip member */
    GZ_BETWEEN, /* a member ended: another may follow */
    GZ_END,     /* clean end of the input */
    GZ_FAILED   /* r->err holds the error */
};

struct gz_in {
    z_stream zs;
    uint8_t *in;       /* READER_ZIN bytes; zs.next_in points into it */
    uint64_t consumed; /* compressed bytes inflate has taken */
    bool in_eof;       /* read(2) said end of file */
    enum gz_state state;
};

struct td_reader {
    int fd;          /* the input; -1 for td_reader_open_mem */
    struct gz_in *gz; /* non-NULL: the input is gzip */
    bool src_failed; /* the source failed after the bytes now in buf: the
                      * error (r->err) is raised when they are used up */
    uint8_t *buf;
    size_t cap;
    size_t pos;      /* next unread byte */
    size_t end;      /* end of valid bytes */
    uint64_t buf_off; /* file offset of buf[0] */
    bool eof;
    bool failed;
    bool borrowed;   /* buf is the caller's memory (td_reader_open_mem) */
    enum reader_fmt fmt;
    bool swap;       /* file is little-endian (the cursor reads big-endian) */
    /* pcap */
    bool nsec;
    uint32_t linktype;
    uint32_t snaplen;
    /* pcapng: interfaces of the current section */
    struct reader_iface *ifs;
    uint32_t num_ifs;
    uint32_t cap_ifs;
    uint64_t frame;
    td_secrets_fn secrets_fn;
    void *secrets_ctx;
    td_buf_get_fn pool_get; /* td_reader_set_pool: buffers are the pool's */
    td_buf_put_fn pool_put;
    void *pool_ctx;
    struct td_input_error err;
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 0)))
#endif
static void vset_err(struct td_reader *r, uint64_t off, const char *fmt, va_list ap)
{
    vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
    r->err.off = off;
    r->err.decompressed = r->gz != NULL; /* |off| is in the inflated data */
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void set_err(struct td_reader *r, uint64_t off, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset_err(r, off, fmt, ap);
    va_end(ap);
    r->failed = true;
}

/* src_fail: the source failed at (decompressed) offset |off|, after the
 * bytes now in the buffer; fill raises it when it needs more than those. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void src_fail(struct td_reader *r, uint64_t off, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vset_err(r, off, fmt, ap);
    va_end(ap);
    r->src_failed = true;
}

/* open_err: an error before there is a reader */
static void open_err(struct td_input_error *err, const char *path, const char *what)
{
    snprintf(err->msg, sizeof(err->msg), "cannot open %s: %s", path, what);
    err->off = 0;
    err->decompressed = false;
}

static inline uint32_t bswap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static uint16_t bswap16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }

/* get16/get32: the cursor reads big-endian; swap for little-endian files. */
static inline bool get16(struct td_cur *c, bool swap, uint16_t *out)
{
    uint16_t v;

    if (!td_cur_get_u16(c, &v))
        return false;
    *out = swap ? bswap16(v) : v;
    return true;
}

static inline bool get32(struct td_cur *c, bool swap, uint32_t *out)
{
    uint32_t v;

    if (!td_cur_get_u32(c, &v))
        return false;
    *out = swap ? bswap32(v) : v;
    return true;
}

static uint64_t cur_off(const struct td_reader *r) { return r->buf_off + r->pos; }
static size_t avail(const struct td_reader *r) { return r->end - r->pos; }

/* ---- the source: read(2), or inflate for gzip ---- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return td_calloc(items, size); /* counted, and the test hook reaches it */
}

static void z_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/* gz_start: the input began with the gzip magic, |m| (2 bytes, read) */
static bool gz_start(struct td_reader *r, const uint8_t m[2])
{
    struct gz_in *g = td_calloc(1, sizeof(*g));

    if (g == NULL || (g->in = td_malloc(READER_ZIN)) == NULL) {
        free(g);
        return false;
    }
    g->zs.zalloc = z_alloc;
    g->zs.zfree = z_free;
    g->zs.opaque = Z_NULL;
    memcpy(g->in, m, 2);
    g->zs.next_in = g->in;
    g->zs.avail_in = 2;
    /* 15 + 16: a gzip stream (RFC 1952) only, with the largest window;
     * inflate checks the header, the CRC-32 and the length of each member */
    if (inflateInit2(&g->zs, 15 + 16) != Z_OK) {
        free(g->in);
        free(g);
        return false;
    }
    g->state = GZ_MEMBER;
    r->gz = g;
    return true;
}

static void gz_end(struct gz_in *g)
{
    if (g == NULL)
        return;
    inflateEnd(&g->zs);
    free(g->in);
    free(g);
}

/* gz_refill reads more compressed input behind what inflate has not taken
 * yet; false on a read error (errno) */
static bool gz_refill(struct td_reader *r)
{
    struct gz_in *g = r->gz;
    size_t left = g->zs.avail_in;
    ssize_t k;

    if (left != 0 && g->zs.next_in != g->in)
        memmove(g->in, g->zs.next_in, left);
    do
        k = read(r->fd, g->in + left, READER_ZIN - left);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return false;
    if (k == 0)
        g->in_eof = true;
    g->zs.next_in = g->in;
    g->zs.avail_in = (uInt)(left + (size_t)k);
    return true;
}

/* gz_read inflates up to |room| bytes into |dst|, the decompressed offset
 * |off0|, and returns how many.  At the end of the input it sets r->eof; on
 * an error src_fail (the bytes inflated before it are returned all the
 * same: they are good as far as anyone can tell, and the parser reads
 * them before it hears of the error). */
static size_t gz_read(struct td_reader *r, uint8_t *dst, size_t room, uint64_t off0)
{
    struct gz_in *g = r->gz;
    z_stream *zs = &g->zs;
    size_t done = 0;

    for (;;) {
        uInt in0, out0;
        int ret;

        if (g->state == GZ_BETWEEN) {
            /* another member, as gzread and gzip -d read them */
            if (zs->avail_in < 2 && !g->in_eof) {
                if (!gz_refill(r))
                    goto read_error;
                continue;
            }
            if (zs->avail_in >= 2 && zs->next_in[0] == 0x1f && zs->next_in[1] == 0x8b) {
                inflateReset(zs);
                g->state = GZ_MEMBER;
                continue;
            }
            /* Bytes after a whole member that do not begin another (tape
             * or block padding, zeros, junk) end the input without an
             * error, as zlib's gzread does (gzip -d warns): every member
             * before them passed its CRC-32 and length check, so nothing
             * read is in doubt, and what follows is not gzip. */
            g->state = GZ_END;
        }
        if (g->state == GZ_END) {
            if (done == 0)
                r->eof = true;
            return done;
        }
        if (done == room)
            return done;
        if (zs->avail_in == 0 && !g->in_eof) {
            if (!gz_refill(r))
                goto read_error;
            continue;
        }
        zs->next_out = dst + done;
        zs->avail_out = room - done > UINT_MAX ? UINT_MAX : (uInt)(room - done);
        in0 = zs->avail_in;
        out0 = zs->avail_out;
        ret = inflate(zs, Z_NO_FLUSH);
        g->consumed += in0 - zs->avail_in;
        done += out0 - zs->avail_out;
        if (ret == Z_STREAM_END) {
            g->state = GZ_BETWEEN;
        } else if (ret == Z_BUF_ERROR && zs->avail_in == 0 && g->in_eof) {
            /* inflate wants input and there is none: cut short */
            g->state = GZ_FAILED;
            src_fail(r, off0 + done, "gzip data truncated: the input ends inside a gzip member "
                     "(after %llu compressed bytes)", (unsigned long long)g->consumed);
            return done;
        } else if (ret == Z_MEM_ERROR) {
            g->state = GZ_FAILED;
            src_fail(r, off0 + done, "out of memory (zlib)");
            return done;
        } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
            /* Z_DATA_ERROR: bad header, corrupt deflate data, CRC-32 or
             * length mismatch (Z_NEED_DICT cannot occur in gzip) */
            g->state = GZ_FAILED;
            src_fail(r, off0 + done, "corrupt gzip data: %s (detected after %llu compressed bytes)",
                     zs->msg != NULL ? zs->msg : zError(ret), (unsigned long long)g->consumed);
            return done;
        }
    }
read_error:
    g->state = GZ_FAILED;
    src_fail(r, off0 + done, "read error: %s (after %llu compressed bytes)", strerror(errno),
             (unsigned long long)(g->consumed + g->zs.avail_in));
    return done;
}

/* plain_read reads up to |room| bytes into |dst| (the file offset |off0|),
 * until |room| or the end of the input, as gzread did */
static size_t plain_read(struct td_reader *r, uint8_t *dst, size_t room, uint64_t off0)
{
    size_t done = 0;

    while (done < room) {
        size_t want = room - done > (size_t)INT32_MAX ? (size_t)INT32_MAX : room - done;
        ssize_t k = read(r->fd, dst + done, want);

        if (k > 0) {
            done += (size_t)k;
        } else if (k == 0) {
            if (done == 0)
                r->eof = true;
            break;
        } else if (errno != EINTR) {
            src_fail(r, off0 + done, "read error: %s", strerror(errno));
            break;
        }
    }
    return done;
}

/* src_read appends what the source has to the buffer, as much as fits; it
 * sets r->eof at a clean end, src_failed (after the bytes before) on an
 * error.  The buffer has room (fill). */
static void src_read(struct td_reader *r)
{
    uint8_t *dst = r->buf + r->end;
    size_t room = r->cap - r->end;
    uint64_t off0 = r->buf_off + r->end;

    if (r->gz != NULL) {
        if (r->gz->state == GZ_FAILED || r->gz->state == GZ_END) {
            r->eof = r->gz->state == GZ_END; /* GZ_FAILED: src_failed is set */
            return;
        }
        r->end += gz_read(r, dst, room, off0);
    } else {
        r->end += plain_read(r, dst, room, off0);
    }
}

/* fill makes |need| bytes available at r->pos, or as many as the input
 * has.  Returns false only on a read error (r->err set); the caller compares
 * avail() with what it needs to tell a clean end from a truncation.  |need|
 * is bounded by the callers' caps (at most READER_MAX_BLOCK). */
static bool fill(struct td_reader *r, size_t need)
{
    if (avail(r) >= need || r->eof)
        return true;
    if (r->pool_get != NULL && !r->borrowed) {
        /* the packets handed out stay where they are: the unread tail
         * moves to a fresh buffer and the old one goes back to the pool */
        size_t left = avail(r), ncap = 0;
        uint8_t *nb = r->pool_get(r->pool_ctx, need, &ncap);
        if (nb == NULL || ncap < need) {
            set_err(r, cur_off(r), "out of memory (buffer of %zu bytes)", need);
            return false;
        }
        if (left != 0)
            memcpy(nb, r->buf + r->pos, left);
        r->pool_put(r->pool_ctx, r->buf);
        r->buf = nb;
        r->cap = ncap;
        r->buf_off += r->pos;
        r->end = left;
        r->pos = 0;
    } else if (r->pos != 0) {
        size_t left = avail(r);
        if (left != 0)
            memmove(r->buf, r->buf + r->pos, left);
        r->buf_off += r->pos;
        r->end = left;
        r->pos = 0;
    }
    if (need > r->cap) {
        size_t ncap = r->cap * 2;
        uint8_t *nb;

        while (ncap < need)
            ncap *= 2;
        nb = td_realloc(r->buf, ncap);
        if (nb == NULL) {
            set_err(r, cur_off(r), "out of memory (buffer of %zu bytes)", ncap);
            return false;
        }
        r->buf = nb;
        r->cap = ncap;
    }
    while (r->end < need && !r->eof) {
        if (r->src_failed) {
            /* every byte before the failure has been framed */
            r->failed = true;
            return false;
        }
        src_read(r);
    }
    return true;
}

/* view returns a cursor over the available bytes at r->pos (at most |n|). */
static void view(const struct td_reader *r, struct td_cur *c, size_t n)
{
    size_t a = avail(r);
    td_cur_init(c, r->buf + r->pos, a < n ? a : n);
}

/* clamp_sec adds if_tsoffset to |sec| and keeps the result in
 * [0, TD_MAX_TS_SEC] (classic pcap's unsigned 32-bit range): a 64-bit
 * pcapng timestamp or offset can say anything, and the engine works in
 * int64 nanoseconds, where seconds beyond 2^33 overflow.  Such a timestamp
 * is absurd, not an error: the packet is still read. */
static int64_t clamp_sec(uint64_t sec, int64_t off)
{
    int64_t s = sec > TD_MAX_TS_SEC ? (int64_t)TD_MAX_TS_SEC : (int64_t)sec;

    if (off > (int64_t)TD_MAX_TS_SEC)
        off = (int64_t)TD_MAX_TS_SEC;
    if (off < -(int64_t)TD_MAX_TS_SEC)
        off = -(int64_t)TD_MAX_TS_SEC;
    s += off;
    if (s < 0)
        return 0;
    return s > (int64_t)TD_MAX_TS_SEC ? (int64_t)TD_MAX_TS_SEC : s;
}

/* ---- pcap ---- */

/* pcap file header (draft-ietf-opsawg-pcap section 4):
 *   u32 magic; u16 major; u16 minor; u32 reserved1; u32 reserved2;
 *   u32 snaplen; u32 linktype_and_fcs;  (24 bytes)
 */
static bool pcap_open_hdr(struct td_reader *r, uint32_t magic)
{
    struct td_cur c;
    uint32_t m, v;
    uint16_t major, minor;

    r->fmt = FMT_PCAP;
    r->swap = magic == PCAP_MAGIC_US_SWAP || magic == PCAP_MAGIC_NS_SWAP;
    r->nsec = magic == PCAP_MAGIC_NS || magic == PCAP_MAGIC_NS_SWAP;
    view(r, &c, 24);
    if (td_cur_len(&c) < 24) {
        set_err(r, 0, "truncated pcap file header (needs 24 bytes, %zu left)", td_cur_len(&c));
        return false;
    }
    if (!get32(&c, false, &m) || !get16(&c, r->swap, &major) || !get16(&c, r->swap, &minor) ||
        !td_cur_skip(&c, 8) || !get32(&c, r->swap, &r->snaplen) || !get32(&c, r->swap, &v)) {
        set_err(r, 0, "truncated pcap file header");
        return false;
    }
    if (major != 2) {
        set_err(r, 4, "unsupported pcap version %u.%u", major, minor);
        return false;
    }
    /* upper bits carry the FCS length and the F flag; libpcap masks the same */
    r->linktype = v & 0x03ffffffu;
    r->pos += 24;
    return true;
}

/* pcap packet record (draft-ietf-opsawg-pcap section 5):
 *   u32 ts_sec; u32 ts_frac (us or ns); u32 captured_len; u32 original_len;
 *   u8 data[captured_len];
 */
static void pcap_pkt(struct td_reader *r, struct td_pkt *pkt, const uint32_t h[4], const struct td_cur *data,
                     uint64_t off)
{
    uint32_t sec = h[0], frac = h[1];

    pkt->frame = ++r->frame;
    if (r->nsec) {
        pkt->ts_sec = clamp_sec((uint64_t)sec + frac / 1000000000u, 0);
        pkt->ts_nsec = frac % 1000000000u;
    } else {
        pkt->ts_sec = clamp_sec((uint64_t)sec + frac / 1000000u, 0);
        pkt->ts_nsec = (frac % 1000000u) * 1000u;
    }
    pkt->linktype = r->linktype;
    pkt->ifindex = 0;
    pkt->caplen = h[2];
    pkt->origlen = h[3];
    pkt->data = data->p;
    pkt->file_off = off;
    r->pos += 16 + (size_t)h[2];
}

static int pcap_read_next(struct td_reader *r, struct td_pkt *pkt)
{
    struct td_cur c, data;
    uint32_t sec, frac, caplen, origlen, h[4];
    uint64_t off;

    /* the whole record already in the buffer (nearly always): one cursor
     * over it, no refill; the checks below handle the rest */
    td_cur_init(&c, r->buf + r->pos, avail(r));
    if (get32(&c, r->swap, &h[0]) && get32(&c, r->swap, &h[1]) && get32(&c, r->swap, &h[2]) &&
        get32(&c, r->swap, &h[3]) && h[2] <= TD_MAX_PACKET && td_cur_get_bytes(&c, &data, h[2])) {
        pcap_pkt(r, pkt, h, &data, cur_off(r));
        return 1;
    }
    if (!fill(r, 16))
        return -1;
    off = cur_off(r);
    if (avail(r) == 0)
        return 0;
    if (avail(r) < 16) {
        set_err(r, off, "truncated packet header (needs 16 bytes, %zu left)", avail(r));
        return -1;
    }
    view(r, &c, 16);
    if (!get32(&c, r->swap, &sec) || !get32(&c, r->swap, &frac) ||
        !get32(&c, r->swap, &caplen) || !get32(&c, r->swap, &origlen)) {
        set_err(r, off, "truncated packet header");
        return -1;
    }
    if (caplen > TD_MAX_PACKET) {
        set_err(r, off, "packet of %u captured bytes exceeds the cap of %u", caplen,
                (unsigned)TD_MAX_PACKET);
        return -1;
    }
    if (!fill(r, 16 + (size_t)caplen))
        return -1;
    if (avail(r) < 16 + (size_t)caplen) {
        set_err(r, off, "truncated packet record (needs %u bytes, %zu left)", caplen,
                avail(r) - 16);
        return -1;
    }
    view(r, &c, 16 + (size_t)caplen);
    if (!td_cur_skip(&c, 16) || !td_cur_get_bytes(&c, &data, caplen)) {
        set_err(r, off, "truncated packet record");
        return -1;
    }
    h[0] = sec;
    h[1] = frac;
    h[2] = caplen;
    h[3] = origlen;
    pcap_pkt(r, pkt, h, &data, off);
    return 1;
}

/* ---- pcapng ---- */

/* One framed block: body excludes type, both lengths. */
struct ng_block {
    uint32_t type;
    uint32_t total_len;
    uint64_t off;
    struct td_cur body;
};

/* ng_frame reads the next block's framing (draft-ietf-opsawg-pcapng
 * section 3.1):
 *   u32 block_type; u32 block_total_length; u8 body[];
 *   u32 block_total_length;
 * and checks the two lengths.  A Section Header Block sets the byte order
 * first (section 4.1: its byte-order magic follows the length).  Returns 1
 * with |b| (consumed from the stream), 0 at a clean end, -1 on error. */
static int ng_frame(struct td_reader *r, struct ng_block *b)
{
    struct td_cur c;
    uint32_t type, len, trail;
    uint64_t off;

    if (!fill(r, 12))
        return -1;
    off = cur_off(r);
    if (avail(r) == 0)
        return 0;
    if (avail(r) < 12) {
        set_err(r, off, "truncated block header (needs 12 bytes, %zu left)", avail(r));
        return -1;
    }
    view(r, &c, 12);
    if (!td_cur_get_u32(&c, &type)) {
        set_err(r, off, "truncated block header");
        return -1;
    }
    if (type == PCAPNG_SHB) {
        struct td_cur bc = c;
        uint32_t bom;

        if (!td_cur_skip(&bc, 4) || !td_cur_get_u32(&bc, &bom)) {
            set_err(r, off, "truncated section header block");
            return -1;
        }
        if (bom == PCAPNG_BOM) {
            r->swap = false;
        } else if (bom == PCAPNG_BOM_SWAP) {
            r->swap = true;
        } else {
            set_err(r, off + 8, "bad pcapng byte-order magic 0x%08x", bom);
            return -1;
        }
    }
    if (!get32(&c, r->swap, &len)) {
        set_err(r, off, "truncated block header");
        return -1;
    }
    if (r->swap)
        type = bswap32(type);
    if (len < 12 || len % 4 != 0) {
        set_err(r, off + 4, "bad block total length %u (block type 0x%08x)", len, type);
        return -1;
    }
    if (len > READER_MAX_BLOCK) {
        set_err(r, off + 4, "block of %u bytes exceeds the cap of %u (block type 0x%08x)", len,
                (unsigned)READER_MAX_BLOCK, type);
        return -1;
    }
    if (!fill(r, len))
        return -1;
    if (avail(r) < len) {
        set_err(r, off, "truncated block (type 0x%08x needs %u bytes, %zu left)", type, len,
                avail(r));
        return -1;
    }
    view(r, &c, len);
    if (!td_cur_skip(&c, 8) || !td_cur_get_bytes(&c, &b->body, len - 12) ||
        !get32(&c, r->swap, &trail)) {
        set_err(r, off, "truncated block");
        return -1;
    }
    if (trail != len) {
        set_err(r, off + len - 4, "trailing block length %u differs from leading %u (block type 0x%08x)",
                trail, len, type);
        return -1;
    }
    b->type = type;
    b->total_len = len;
    b->off = off;
    r->pos += len;
    return 1;
}

/* Section Header Block (section 4.1), body after the byte-order magic:
 *   u32 byte_order_magic; u16 major; u16 minor; i64 section_length; options
 * A new section forgets the previous section's interfaces. */
static bool ng_shb(struct td_reader *r, const struct ng_block *b)
{
    struct td_cur c = b->body;
    uint32_t bom;
    uint16_t major, minor;

    if (!td_cur_get_u32(&c, &bom) || !get16(&c, r->swap, &major) ||
        !get16(&c, r->swap, &minor) || !td_cur_skip(&c, 8)) {
        set_err(r, b->off, "section header block too short (%u bytes)", b->total_len);
        return false;
    }
    if (major != 1) {
        set_err(r, b->off + 12, "unsupported pcapng version %u.%u", major, minor);
        return false;
    }
    r->num_ifs = 0;
    return true;
}

/* Interface Description Block (section 4.2):
 *   u16 linktype; u16 reserved; u32 snaplen; options
 * options (section 3.5): u16 code; u16 length; value padded to 32 bits.
 *   if_tsresol (9): 1 byte, MSB 0: 10^-n s, MSB 1: 2^-n s; default 10^-6
 *   if_tsoffset (14): i64 seconds added to every timestamp */
static bool ng_idb(struct td_reader *r, const struct ng_block *b)
{
    struct td_cur c = b->body;
    struct reader_iface ifc = {0};
    uint16_t lt, reserved;

    if (!get16(&c, r->swap, &lt) || !get16(&c, r->swap, &reserved) ||
        !get32(&c, r->swap, &ifc.snaplen)) {
        set_err(r, b->off, "interface description block too short (%u bytes)", b->total_len);
        return false;
    }
    ifc.linktype = lt;
    ifc.exp = 6;
    while (!td_cur_empty(&c)) {
        uint16_t code, olen;
        struct td_cur val;
        size_t pad;

        if (!get16(&c, r->swap, &code) || !get16(&c, r->swap, &olen) ||
            !td_cur_get_bytes(&c, &val, olen)) {
            set_err(r, b->off + c.off, "bad interface option framing");
            return false;
        }
        pad = (size_t)((4u - olen % 4u) % 4u);
        if (!td_cur_skip(&c, pad)) {
            /* a missing final pad is tolerated: the option value is whole */
            td_cur_init(&c, NULL, 0);
        }
        if (code == OPT_ENDOFOPT)
            break;
        if (code == OPT_IF_TSRESOL && olen == 1) {
            uint8_t v;
            if (!td_cur_get_u8(&val, &v))
                continue;
            ifc.pow2 = (v & 0x80) != 0;
            ifc.exp = (uint8_t)(v & 0x7f);
            if ((ifc.pow2 && ifc.exp > 63) || (!ifc.pow2 && ifc.exp > 19)) {
                set_err(r, b->off, "unsupported if_tsresol 0x%02x", v);
                return false;
            }
        } else if (code == OPT_IF_TSOFFSET && olen == 8) {
            uint32_t hi, lo;
            if (!get32(&val, r->swap, &hi) || !get32(&val, r->swap, &lo))
                continue;
            /* the option is a little/big-endian i64 as a whole */
            ifc.tsoffset = (int64_t)(r->swap ? (((uint64_t)lo << 32) | hi)
                                             : (((uint64_t)hi << 32) | lo));
        }
    }
    if (r->num_ifs >= READER_MAX_IFACES) {
        set_err(r, b->off, "more than %u interfaces in one section", (unsigned)READER_MAX_IFACES);
        return false;
    }
    if (r->num_ifs == r->cap_ifs) {
        uint32_t ncap = r->cap_ifs ? r->cap_ifs * 2 : 8;
        struct reader_iface *n = td_realloc(r->ifs, ncap * sizeof(*n));
        if (n == NULL) {
            set_err(r, b->off, "out of memory (interfaces)");
            return false;
        }
        r->ifs = n;
        r->cap_ifs = ncap;
    }
    r->ifs[r->num_ifs++] = ifc;
    return true;
}

/* ts_convert turns an interface timestamp in its units into sec + nsec. */
static void ts_convert(const struct reader_iface *ifc, uint64_t ts, struct td_pkt *pkt)
{
    uint64_t sec, frac, nsec;

    if (!ifc->pow2 && ifc->exp == 6) {
        /* the usual units (microseconds), with constant divisors */
        sec = ts / 1000000u;
        nsec = ts % 1000000u * 1000u;
    } else if (!ifc->pow2 && ifc->exp == 9) {
        sec = ts / 1000000000u;
        nsec = ts % 1000000000u;
    } else if (ifc->pow2) {
        unsigned e = ifc->exp;
        sec = e == 0 ? ts : ts >> e;
        frac = e == 0 ? 0 : ts & ((UINT64_C(1) << e) - 1);
        if (e > 30) { /* keep frac * 10^9 inside 64 bits */
            frac >>= e - 30;
            e = 30;
        }
        nsec = (frac * 1000000000u) >> e;
    } else {
        uint64_t ups = 1;
        for (unsigned i = 0; i < ifc->exp; i++)
            ups *= 10;
        sec = ts / ups;
        frac = ts % ups;
        if (ifc->exp <= 9) {
            uint64_t mul = 1;
            for (unsigned i = ifc->exp; i < 9; i++)
                mul *= 10;
            nsec = frac * mul;
        } else {
            uint64_t div = 1;
            for (unsigned i = 9; i < ifc->exp; i++)
                div *= 10;
            nsec = frac / div;
        }
    }
    pkt->ts_sec = clamp_sec(sec, ifc->tsoffset);
    pkt->ts_nsec = (uint32_t)nsec;
}

static bool ng_iface(struct td_reader *r, const struct ng_block *b, uint32_t id,
                     const struct reader_iface **out)
{
    if (id >= r->num_ifs) {
        set_err(r, b->off, "packet for interface %u, but the section has %u", id, r->num_ifs);
        return false;
    }
    *out = &r->ifs[id];
    return true;
}

static bool ng_set_data(struct td_reader *r, const struct ng_block *b, struct td_cur *c,
                        uint32_t caplen, struct td_pkt *pkt)
{
    struct td_cur data;

    if (caplen > TD_MAX_PACKET) {
        set_err(r, b->off, "packet of %u captured bytes exceeds the cap of %u", caplen,
                (unsigned)TD_MAX_PACKET);
        return false;
    }
    if (!td_cur_get_bytes(c, &data, caplen)) {
        set_err(r, b->off, "captured length %u overruns its block (%zu bytes left)", caplen,
                td_cur_len(c));
        return false;
    }
    pkt->caplen = caplen;
    pkt->data = data.p;
    pkt->file_off = b->off;
    pkt->frame = ++r->frame;
    return true;
}

/* Enhanced Packet Block (section 4.3):
 *   u32 interface_id; u32 ts_upper; u32 ts_lower; u32 captured_len;
 *   u32 original_len; u8 data[captured_len] padded to 32 bits; options
 * Obsolete Packet Block (appendix A):
 *   u16 interface_id; u16 drops_count; then as EPB. */
static bool ng_epb(struct td_reader *r, const struct ng_block *b, struct td_pkt *pkt)
{
    struct td_cur c = b->body;
    const struct reader_iface *ifc;
    uint32_t id, hi, lo, caplen, origlen;

    if (b->type == PCAPNG_PB) {
        uint16_t id16, drops;
        if (!get16(&c, r->swap, &id16) || !get16(&c, r->swap, &drops)) {
            set_err(r, b->off, "packet block too short (%u bytes)", b->total_len);
            return false;
        }
        id = id16;
    } else if (!get32(&c, r->swap, &id)) {
        set_err(r, b->off, "enhanced packet block too short (%u bytes)", b->total_len);
        return false;
    }
    if (!get32(&c, r->swap, &hi) || !get32(&c, r->swap, &lo) || !get32(&c, r->swap, &caplen) ||
        !get32(&c, r->swap, &origlen)) {
        set_err(r, b->off, "packet block too short (%u bytes)", b->total_len);
        return false;
    }
    if (!ng_iface(r, b, id, &ifc) || !ng_set_data(r, b, &c, caplen, pkt))
        return false;
    ts_convert(ifc, ((uint64_t)hi << 32) | lo, pkt);
    pkt->linktype = ifc->linktype;
    pkt->ifindex = id;
    pkt->origlen = origlen;
    return true;
}

/* Simple Packet Block (section 4.4):
 *   u32 original_len; u8 data[] padded to 32 bits
 * Interface 0; captured length = min(original_len, snaplen of interface 0,
 * block body); no timestamp. */
static bool ng_spb(struct td_reader *r, const struct ng_block *b, struct td_pkt *pkt)
{
    struct td_cur c = b->body;
    const struct reader_iface *ifc;
    uint32_t origlen, caplen;

    if (!get32(&c, r->swap, &origlen)) {
        set_err(r, b->off, "simple packet block too short (%u bytes)", b->total_len);
        return false;
    }
    if (!ng_iface(r, b, 0, &ifc))
        return false;
    caplen = origlen;
    if (ifc->snaplen != 0 && caplen > ifc->snaplen)
        caplen = ifc->snaplen;
    if (caplen > td_cur_len(&c))
        caplen = (uint32_t)td_cur_len(&c);
    if (!ng_set_data(r, b, &c, caplen, pkt))
        return false;
    pkt->ts_sec = 0;
    pkt->ts_nsec = 0;
    pkt->linktype = ifc->linktype;
    pkt->ifindex = 0;
    pkt->origlen = origlen;
    return true;
}

/* Decryption Secrets Block (section 4.7):
 *   u32 secrets_type; u32 secrets_length; u8 secrets_data[] padded; options */
static bool ng_dsb(struct td_reader *r, const struct ng_block *b)
{
    struct td_cur c = b->body, data;
    uint32_t type, len;

    if (!get32(&c, r->swap, &type) || !get32(&c, r->swap, &len) ||
        !td_cur_get_bytes(&c, &data, len)) {
        set_err(r, b->off, "decryption secrets block malformed (%u bytes)", b->total_len);
        return false;
    }
    if (r->secrets_fn != NULL)
        r->secrets_fn(r->secrets_ctx, type, data.p, data.len);
    return true;
}

static int pcapng_next(struct td_reader *r, struct td_pkt *pkt)
{
    for (;;) {
        struct ng_block b;
        int rc = ng_frame(r, &b);
        bool ok = true;

        if (rc <= 0)
            return rc;
        switch (b.type) {
        case PCAPNG_SHB:
            ok = ng_shb(r, &b);
            break;
        case PCAPNG_IDB:
            ok = ng_idb(r, &b);
            break;
        case PCAPNG_EPB:
        case PCAPNG_PB:
            if (!ng_epb(r, &b, pkt))
                return -1;
            return 1;
        case PCAPNG_SPB:
            if (!ng_spb(r, &b, pkt))
                return -1;
            return 1;
        case PCAPNG_DSB:
            ok = ng_dsb(r, &b);
            break;
        default:
            break; /* statistics, name resolution, custom, unknown: skipped */
        }
        if (!ok)
            return -1;
    }
}

/* ---- public ---- */

/* open_header reads the file header of a freshly made reader; on failure
 * it fills |err|, closes |r| and returns NULL. */
static struct td_reader *open_header(struct td_reader *r, struct td_input_error *err)
{
    struct td_cur c;
    uint32_t magic;

    if (!fill(r, 24))
        goto fail;
    if (avail(r) < 4) {
        set_err(r, 0, "file too short for a pcap or pcapng header (%zu bytes)", avail(r));
        goto fail;
    }
    view(r, &c, 4);
    if (!td_cur_get_u32(&c, &magic))
        goto fail;
    if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_US_SWAP || magic == PCAP_MAGIC_NS ||
        magic == PCAP_MAGIC_NS_SWAP) {
        if (!pcap_open_hdr(r, magic))
            goto fail;
    } else if (magic == PCAPNG_SHB) {
        struct ng_block b;
        r->fmt = FMT_PCAPNG;
        if (ng_frame(r, &b) != 1 || !ng_shb(r, &b)) {
            if (!r->failed)
                set_err(r, 0, "truncated section header block");
            goto fail;
        }
    } else {
        set_err(r, 0, "not a pcap or pcapng file (magic 0x%08x)", magic);
        goto fail;
    }
    return r;
fail:
    *err = r->err;
    td_reader_close(r);
    return NULL;
}

struct td_reader *td_reader_open(const char *path, struct td_input_error *err)
{
    struct td_reader *r = td_calloc(1, sizeof(*r));
    uint8_t m[2];
    size_t nm = 0;

    if (r == NULL) {
        open_err(err, path, "out of memory");
        return NULL;
    }
    /* stdin is duplicated so that closing the reader leaves it open */
    r->fd = strcmp(path, "-") == 0 ? fcntl(0, F_DUPFD_CLOEXEC, 0) : open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        open_err(err, path, strerror(errno));
        free(r);
        return NULL;
    }
    r->buf = td_malloc(READER_CHUNK);
    if (r->buf == NULL) {
        set_err(r, 0, "out of memory");
        goto fail;
    }
    r->cap = READER_CHUNK;
    /* gzip or not: the first two bytes say (stdin too: nothing is read
     * twice).  They stay in the buffer, or go to the inflate input. */
    while (nm < 2) {
        ssize_t k = read(r->fd, m + nm, 2 - nm);
        if (k > 0) {
            nm += (size_t)k;
        } else if (k == 0) {
            r->eof = true;
            break;
        } else if (errno != EINTR) {
            set_err(r, 0, "read error: %s", strerror(errno));
            goto fail;
        }
    }
    if (nm == 2 && m[0] == 0x1f && m[1] == 0x8b) {
        if (!gz_start(r, m)) {
            set_err(r, 0, "out of memory (gzip)");
            goto fail;
        }
    } else {
        memcpy(r->buf, m, nm);
        r->end = nm;
    }
    return open_header(r, err);
fail:
    *err = r->err;
    td_reader_close(r);
    return NULL;
}

struct td_reader *td_reader_open_mem(const void *p, size_t len, struct td_input_error *err)
{
    struct td_reader *r = td_calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        err->off = 0;
        err->decompressed = false;
        return NULL;
    }
    /* the whole input is already "read": fill() never grows or refills a
     * borrowed buffer, and nothing writes through it */
    r->fd = -1;
    r->borrowed = true;
    r->buf = (uint8_t *)(uintptr_t)p;
    r->cap = len;
    r->end = len;
    r->eof = true;
    return open_header(r, err);
}

int td_reader_next(struct td_reader *r, struct td_pkt *pkt)
{
    int rc;

    if (r->failed)
        return -1;
    rc = r->fmt == FMT_PCAP ? pcap_read_next(r, pkt) : pcapng_next(r, pkt);
    if (rc < 0 && !r->failed)
        set_err(r, cur_off(r), "bad input");
    return rc;
}

const struct td_input_error *td_reader_error(const struct td_reader *r) { return &r->err; }

uint64_t td_reader_offset(const struct td_reader *r) { return cur_off(r); }

void td_reader_on_secrets(struct td_reader *r, td_secrets_fn fn, void *ctx)
{
    r->secrets_fn = fn;
    r->secrets_ctx = ctx;
}

void td_reader_set_pool(struct td_reader *r, td_buf_get_fn get, td_buf_put_fn put, void *ctx)
{
    r->pool_get = get;
    r->pool_put = put;
    r->pool_ctx = ctx;
}

void td_reader_close(struct td_reader *r)
{
    if (r == NULL)
        return;
    gz_end(r->gz);
    if (r->fd >= 0)
        close(r->fd);
    if (r->pool_put != NULL && !r->borrowed)
        r->pool_put(r->pool_ctx, r->buf);
    else if (!r->borrowed)
        free(r->buf);
    free(r->ifs);
    free(r);
}
