/* live.c: live capture through libpcap.
 *
 * Promiscuous mode off, 200 ms read timeout, immediate mode (a handshake's
 * packets are seen as they come, not when a buffer fills), nanosecond
 * timestamps when the platform offers them.  Frames are numbered from 1. */
#include "tlsdiag/capture.h"
#include "tlsdiag/alloc.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>

#define LIVE_TIMEOUT_MS 200
#define LIVE_DEFAULT_IFACE "any"

struct td_live {
    pcap_t *p;
    int fd;
    bool nsec;
    uint32_t linktype;
    uint64_t frame;
    struct td_input_error err;
};

static void live_err(struct td_input_error *err, const char *what, const char *detail)
{
    snprintf(err->msg, sizeof(err->msg), "%s: %s", what, detail);
    err->off = 0;
    err->decompressed = false;
}

struct td_live *td_live_open(const char *iface, const char *filter, int snaplen,
                             struct td_input_error *err)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    struct td_live *l = td_calloc(1, sizeof(*l));
    struct bpf_program prog;
    int rc;

    ebuf[0] = '\0';
    if (l == NULL) {
        live_err(err, "live capture", "out of memory");
        return NULL;
    }
    if (iface == NULL)
        iface = LIVE_DEFAULT_IFACE;
    l->p = pcap_create(iface, ebuf);
    if (l->p == NULL) {
        live_err(err, iface, ebuf);
        goto fail;
    }
    if (snaplen <= 0 || snaplen > TD_MAX_PACKET)
        snaplen = TD_MAX_PACKET;
    if (pcap_set_snaplen(l->p, snaplen) != 0 || pcap_set_promisc(l->p, 0) != 0 ||
        pcap_set_timeout(l->p, LIVE_TIMEOUT_MS) != 0 || pcap_set_immediate_mode(l->p, 1) != 0) {
        live_err(err, iface, "cannot set capture options");
        goto fail;
    }
    l->nsec = pcap_set_tstamp_precision(l->p, PCAP_TSTAMP_PRECISION_NANO) == 0;
    rc = pcap_activate(l->p);
    if (rc < 0) {
        live_err(err, iface, rc == PCAP_ERROR ? pcap_geterr(l->p) : pcap_statustostr(rc));
        goto fail;
    }
    l->nsec = l->nsec && pcap_get_tstamp_precision(l->p) == PCAP_TSTAMP_PRECISION_NANO;
    /* Non-blocking reads plus our own poll(): in immediate mode libpcap's
     * read timeout is not honoured on Linux, and the caller needs to wake
     * up regularly (to close quiet flows, and to see Ctrl-C: poll returns
     * EINTR where libpcap's own loop would retry). */
    if (pcap_setnonblock(l->p, 1, ebuf) != 0) {
        live_err(err, iface, ebuf);
        goto fail;
    }
    l->fd = pcap_get_selectable_fd(l->p);
    l->linktype = (uint32_t)pcap_datalink(l->p);
    if (filter != NULL && filter[0] != '\0') {
        if (pcap_compile(l->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
            live_err(err, "filter", pcap_geterr(l->p));
            goto fail;
        }
        rc = pcap_setfilter(l->p, &prog);
        pcap_freecode(&prog);
        if (rc != 0) {
            live_err(err, "filter", pcap_geterr(l->p));
            goto fail;
        }
    }
    return l;
fail:
    td_live_close(l);
    return NULL;
}

int td_live_next(struct td_live *l, struct td_pkt *pkt)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(l->p, &h, &data);

    if (rc == 0) {
        struct pollfd pfd = {l->fd, POLLIN, 0};
        if (l->fd >= 0)
            (void)poll(&pfd, 1, LIVE_TIMEOUT_MS);
        return 0;
    }
    if (rc != 1) {
        live_err(&l->err, "capture", rc == PCAP_ERROR ? pcap_geterr(l->p) : "stopped");
        return -1;
    }
    memset(pkt, 0, sizeof(*pkt));
    pkt->frame = ++l->frame;
    pkt->ts_sec = (int64_t)h->ts.tv_sec;
    pkt->ts_nsec = (uint32_t)h->ts.tv_usec * (l->nsec ? 1u : 1000u);
    /* the DLT is passed as is: DLT_RAW 12/14 are decoded like LINKTYPE_RAW */
    pkt->linktype = l->linktype;
    pkt->caplen = h->caplen;
    pkt->origlen = h->len;
    pkt->data = data;
    return 1;
}

const struct td_input_error *td_live_error(const struct td_live *l) { return &l->err; }

void td_live_stats(struct td_live *l, uint64_t *recv, uint64_t *drop)
{
    struct pcap_stat st;

    *recv = 0;
    *drop = 0;
    if (pcap_stats(l->p, &st) == 0) {
        *recv = st.ps_recv;
        *drop = st.ps_drop;
    }
}

void td_live_close(struct td_live *l)
{
    if (l == NULL)
        return;
    if (l->p != NULL)
        pcap_close(l->p);
    free(l);
}
