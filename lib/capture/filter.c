/* filter.c: BPF filters through libpcap.
 *
 * The expression is checked once for Ethernet at td_filter_new, then
 * compiled lazily for each link type the packets bring (a capture may mix
 * link types across pcapng interfaces).  At most FILTER_MAX_LINKTYPES
 * programs are cached; a link type beyond that, or one the expression cannot
 * be compiled for, lets its packets pass and is reported once through
 * td_filter_take_error. */
#include "tlsdiag/capture.h"
#include "tlsdiag/alloc.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_MAX_LINKTYPES 16
#define FILTER_SNAPLEN 262144

struct filter_prog {
    uint32_t linktype;
    bool ok;
    struct bpf_program prog;
};

struct td_filter {
    char *expr;
    struct filter_prog progs[FILTER_MAX_LINKTYPES];
    size_t num_progs;
    bool overflow_reported;
    bool err_pending;
    char err[PCAP_ERRBUF_SIZE + 128];
};

/* linktype_to_dlt: pcap_open_dead takes a DLT_ value; LINKTYPE_RAW (101)
 * is the one link-layer number we read that differs from its DLT. */
static int linktype_to_dlt(uint32_t linktype)
{
    if (linktype == TD_LINK_RAW)
        return DLT_RAW;
    return (int)linktype;
}

/* compile fills |prog| for |linktype|; false with |err| on failure. */
static bool compile(const char *expr, uint32_t linktype, struct bpf_program *prog, char *err,
                    size_t err_len)
{
    pcap_t *p = pcap_open_dead(linktype_to_dlt(linktype), FILTER_SNAPLEN);
    bool ok;

    if (p == NULL) {
        snprintf(err, err_len, "pcap_open_dead failed for link type %u", linktype);
        return false;
    }
    ok = pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok)
        snprintf(err, err_len, "filter \"%s\" for link type %u: %s", expr, linktype,
                 pcap_geterr(p));
    pcap_close(p);
    return ok;
}

struct td_filter *td_filter_new(const char *expr, char *err, size_t err_len)
{
    struct td_filter *f;
    struct bpf_program prog;
    size_t n;

    if (!compile(expr, TD_LINK_ETHERNET, &prog, err, err_len))
        return NULL;
    f = td_calloc(1, sizeof(*f));
    n = strlen(expr);
    if (f != NULL)
        f->expr = td_malloc(n + 1);
    if (f == NULL || f->expr == NULL) {
        snprintf(err, err_len, "out of memory");
        pcap_freecode(&prog);
        free(f);
        return NULL;
    }
    td_memcpy(f->expr, expr, n + 1);
    f->progs[0].linktype = TD_LINK_ETHERNET;
    f->progs[0].ok = true;
    f->progs[0].prog = prog;
    f->num_progs = 1;
    return f;
}

static const struct filter_prog *find_prog(struct td_filter *f, uint32_t linktype)
{
    struct filter_prog *fp;

    for (size_t i = 0; i < f->num_progs; i++)
        if (f->progs[i].linktype == linktype)
            return &f->progs[i];
    if (f->num_progs == FILTER_MAX_LINKTYPES) {
        if (!f->overflow_reported) {
            snprintf(f->err, sizeof(f->err),
                     "more than %d link types: packets of link type %u are not filtered",
                     FILTER_MAX_LINKTYPES, linktype);
            f->err_pending = true;
            f->overflow_reported = true;
        }
        return NULL;
    }
    fp = &f->progs[f->num_progs++];
    fp->linktype = linktype;
    fp->ok = compile(f->expr, linktype, &fp->prog, f->err, sizeof(f->err));
    if (!fp->ok)
        f->err_pending = true;
    return fp;
}

bool td_filter_match(struct td_filter *f, const struct td_pkt *pkt)
{
    const struct filter_prog *fp = find_prog(f, pkt->linktype);
    struct pcap_pkthdr h;

    if (fp == NULL || !fp->ok)
        return true;
    memset(&h, 0, sizeof(h));
    h.ts.tv_sec = (time_t)pkt->ts_sec;
    h.ts.tv_usec = (suseconds_t)(pkt->ts_nsec / 1000);
    h.caplen = pkt->caplen;
    h.len = pkt->origlen;
    return pcap_offline_filter(&fp->prog, &h, pkt->data) != 0;
}

const char *td_filter_take_error(struct td_filter *f)
{
    if (!f->err_pending)
        return NULL;
    f->err_pending = false;
    return f->err;
}

void td_filter_free(struct td_filter *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->num_progs; i++)
        if (f->progs[i].ok)
            pcap_freecode(&f->progs[i].prog);
    free(f->expr);
    free(f);
}
