/* ttlcap.c: see ttlcap.h.  Packets are read with the bounded cursor; a
 * packet that is not a well-formed IPv4/IPv6 + TCP header is skipped. */
#include "tlsdiag/alloc.h"
#include "probe/ttlcap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tlsdiag/cur.h"

#define TTLCAP_SNAP 128          /* link + IP + TCP headers only */
#define TTLCAP_BUF (256 * 1024)  /* kernel buffer: SYN-ACKs and RSTs only */

struct td_ttlcap {
    pcap_t *pc;
    int linktype;
};

/* The interface whose address is the source the kernel picks for |addr|. */
static int route_dev(const struct sockaddr *addr, socklen_t addrlen, char *dev, size_t devlen,
                     char *err)
{
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    pcap_if_t *all = NULL;
    int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int found = -1;

    if (fd < 0)
        return -1;
    if (connect(fd, addr, addrlen) != 0 || getsockname(fd, (struct sockaddr *)&local, &ll) != 0) {
        close(fd);
        return -1;
    }
    close(fd);
    if (pcap_findalldevs(&all, err) != 0)
        return -1;
    for (pcap_if_t *d = all; d != NULL && found < 0; d = d->next) {
        for (pcap_addr_t *a = d->addresses; a != NULL; a = a->next) {
            if (a->addr == NULL || a->addr->sa_family != local.ss_family)
                continue;
            if (local.ss_family == AF_INET
                    ? memcmp(&((struct sockaddr_in *)(void *)a->addr)->sin_addr,
                             &((struct sockaddr_in *)(void *)&local)->sin_addr, 4) == 0
                    : memcmp(&((struct sockaddr_in6 *)(void *)a->addr)->sin6_addr,
                             &((struct sockaddr_in6 *)(void *)&local)->sin6_addr, 16) == 0) {
                snprintf(dev, devlen, "%s", d->name);
                found = 0;
                break;
            }
        }
    }
    pcap_freealldevs(all);
    return found;
}

struct td_ttlcap *td_ttlcap_open(const struct sockaddr *addr, socklen_t addrlen, char *why,
                                 size_t whylen)
{
    char err[PCAP_ERRBUF_SIZE] = "", dev[64], host[INET6_ADDRSTRLEN], filter[200];
    struct bpf_program prog;
    struct td_ttlcap *c;
    unsigned port;

    if (geteuid() != 0) {
        snprintf(why, whylen, "not root: no packet capture, so no TTLs");
        return NULL;
    }
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)addr;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        port = ntohs(s4->sin_port);
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)addr;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        port = ntohs(s6->sin6_port);
    } else {
        snprintf(why, whylen, "no capture for this address family");
        return NULL;
    }
    if (route_dev(addr, addrlen, dev, sizeof(dev), err) != 0) {
        snprintf(why, whylen, "no interface found for the route to %s%s%s", host, err[0] ? ": " : "", err);
        return NULL;
    }
    c = td_calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->pc = pcap_create(dev, err);
    if (c->pc == NULL) {
        snprintf(why, whylen, "capture on %s: %s", dev, err);
        free(c);
        return NULL;
    }
    (void)pcap_set_snaplen(c->pc, TTLCAP_SNAP);
    (void)pcap_set_immediate_mode(c->pc, 1);
    (void)pcap_set_buffer_size(c->pc, TTLCAP_BUF);
    (void)pcap_set_timeout(c->pc, 1);
    if (pcap_activate(c->pc) < 0) {
        snprintf(why, whylen, "capture on %s: %s", dev, pcap_geterr(c->pc));
        goto fail;
    }
    /* tcp[13] is the flags byte: SYN 0x02, RST 0x04 (IPv4; for IPv6 the
     * filter keeps the address and port, the flags are checked in drain) */
    if (addr->sa_family == AF_INET)
        snprintf(filter, sizeof(filter), "tcp and src host %s and src port %u and tcp[13] & 0x06 != 0", host, port);
    else
        snprintf(filter, sizeof(filter), "tcp and src host %s and src port %u", host, port);
    if (pcap_compile(c->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(why, whylen, "capture filter: %s", pcap_geterr(c->pc));
        goto fail;
    }
    if (pcap_setfilter(c->pc, &prog) != 0) {
        snprintf(why, whylen, "capture filter: %s", pcap_geterr(c->pc));
        pcap_freecode(&prog);
        goto fail;
    }
    pcap_freecode(&prog);
    if (pcap_setnonblock(c->pc, 1, err) != 0) {
        snprintf(why, whylen, "capture: %s", err);
        goto fail;
    }
    c->linktype = pcap_datalink(c->pc);
    snprintf(why, whylen, "capturing on %s", dev);
    return c;
fail:
    pcap_close(c->pc);
    free(c);
    return NULL;
}

struct drain_ctx {
    struct td_ttlcap *c;
    td_ttlcap_fn fn;
    void *ctx;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct drain_ctx *d = (struct drain_ctx *)(void *)user;
    struct td_cur cur, ip;
    uint8_t ver, ttl = 0, proto = 0, flags;
    uint16_t dport;
    size_t skip;

    switch (d->c->linktype) {
    case DLT_EN10MB: skip = 14; break;
    case DLT_LINUX_SLL: skip = 16; break;
    case DLT_NULL: skip = 4; break;
    case DLT_RAW: skip = 0; break;
    default: return;
    }
    td_cur_init(&cur, bytes, h->caplen);
    if (!td_cur_skip(&cur, skip) || !td_cur_peek_u8(&cur, 0, &ver))
        return;
    ver >>= 4;
    if (ver == 4) {
        uint8_t vihl;
        if (!td_cur_peek_u8(&cur, 0, &vihl) || (vihl & 0x0f) < 5)
            return;
        if (!td_cur_get_bytes(&cur, &ip, (size_t)(vihl & 0x0f) * 4))
            return;
        if (!td_cur_skip(&ip, 8) || !td_cur_get_u8(&ip, &ttl) || !td_cur_get_u8(&ip, &proto))
            return;
    } else if (ver == 6) {
        if (!td_cur_get_bytes(&cur, &ip, 40))
            return;
        if (!td_cur_skip(&ip, 6) || !td_cur_get_u8(&ip, &proto) || !td_cur_get_u8(&ip, &ttl))
            return;
    } else {
        return;
    }
    if (proto != 6) /* IPv6 extension headers: not followed */
        return;
    if (!td_cur_skip(&cur, 2) || !td_cur_get_u16(&cur, &dport) || !td_cur_skip(&cur, 9) ||
        !td_cur_get_u8(&cur, &flags))
        return;
    if (flags & 0x06)
        d->fn(d->ctx, dport, flags, ttl);
}

void td_ttlcap_drain(struct td_ttlcap *c, td_ttlcap_fn fn, void *ctx)
{
    struct drain_ctx d = {c, fn, ctx};
    if (c == NULL)
        return;
    /* bounded: at most a few hundred packets per call */
    for (int i = 0; i < 8; i++)
        if (pcap_dispatch(c->pc, 64, on_packet, (u_char *)&d) <= 0)
            break;
}

void td_ttlcap_close(struct td_ttlcap *c)
{
    if (c == NULL)
        return;
    pcap_close(c->pc);
    free(c);
}
