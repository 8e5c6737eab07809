/* fuzz_probe_response: the probe's handling of a server's answer to a raw
 * ClientHello, as lib/probe/run.c does it: each chunk the server "sends" is
 * recorded with td_exchange_add and appended to the read buffer, and
 * td_probe_raw_complete decides after each one whether the answer is
 * complete (the runner then ends with TD_END_DONE); otherwise the exchange
 * ends with the close kind from the input.  td_probe_classify then replays
 * the exchange through td_engine + the rules.
 *
 * Input: u8 flags (bits 0-1 close kind: FIN, RST, timeout, read cap; bit 2
 * hello_acked; bit 3 SYN-ACK TTL 64), then chunks { u8 dt_ms; u16 len (BE);
 * bytes[len] } from the server (a short last chunk takes what is left).
 *
 * Invariants: the classification is a known kind (never refused /
 * unreachable: the connection was made), ACCEPTED only with a ServerHello or
 * HRR, ALERT only with a server alert, impossible framing gives NOT_TLS
 * unless a ServerHello/alert came first; the exchange accounts for every byte
 * and its segments lie inside it; the verdict's counts are within their caps
 * and its strings NUL-terminated; classifying twice gives the same answer. */
#include "fuzz_common.h"
#include "tlsdiag/probe.h"
#include "tlsdiag/rules.h"

#define MAX_READ (256u * 1024u)

static void check_str(const char *s, size_t cap)
{
    FUZZ_CHECK(memchr(s, '\0', cap) != NULL);
}

static void check_verdict(const struct td_verdict *v)
{
    FUZZ_CHECK(v->outcome <= TD_OUT_NOT_TLS);
    FUZZ_CHECK(v->num <= TD_MAX_DIAGNOSES);
    for (unsigned i = 0; i < v->num; i++) {
        const struct td_diagnosis *d = &v->d[i];
        FUZZ_CHECK(d->code != NULL && d->code[0] != '\0');
        FUZZ_CHECK(d->severity <= TD_SEV_INFO);
        FUZZ_CHECK(d->by <= TD_BY_UNKNOWN);
        FUZZ_CHECK(d->confidence <= TD_CONF_LOW);
        check_str(d->summary, sizeof(d->summary));
        check_str(d->explanation, sizeof(d->explanation));
        check_str(d->fix, sizeof(d->fix));
        FUZZ_CHECK(d->num_ev <= TD_MAX_EVIDENCE);
        for (unsigned j = 0; j < d->num_ev; j++) {
            FUZZ_CHECK(d->ev[j].from >= -1 && d->ev[j].from <= 1);
            check_str(d->ev[j].what, sizeof(d->ev[j].what));
        }
    }
}

/* the client's side: one real hello from the builder, made once */
static size_t client_hello(uint8_t *out, size_t cap)
{
    static const uint16_t ciphers[] = {0x1301, 0x1302, 0xc02f, 0xc030, 0x009c};
    static const uint16_t versions[] = {0x0304, 0x0303};
    static const uint16_t groups[] = {0x001d, 0x0017};
    static const uint16_t sigs[] = {0x0403, 0x0804, 0x0401};
    struct td_ch_spec s;

    memset(&s, 0, sizeof(s));
    s.legacy_version = 0x0303;
    s.ciphers = ciphers;
    s.num_ciphers = 5;
    s.versions = versions;
    s.num_versions = 2;
    s.groups = groups;
    s.num_groups = 2;
    s.sig_algs = sigs;
    s.num_sig_algs = 3;
    s.sni = "fuzz.example";
    s.key_share_empty = true; /* no keys needed: deterministic bytes */
    memset(s.random, 0x5a, sizeof(s.random));
    return td_ch_build(&s, NULL, out, cap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t hello[TD_CH_MAX + 5];
    static size_t hello_len;
    static uint8_t *srv, *hs;
    static const enum td_end ends[4] = {TD_END_FIN, TD_END_RST, TD_END_TIMEOUT, TD_END_CAP};
    struct td_rules_opts ro;
    struct td_probe *p;
    size_t off = 1, srv_len = 0, total = 0;
    int64_t t = 1000000;
    bool done = false;
    enum td_probe_res res1;
    uint16_t ver1, ciph1;
    enum td_outcome out1;
    uint8_t num1;

    if (size < 1)
        return 0;
    if (hello_len == 0) {
        hello_len = client_hello(hello, sizeof(hello));
        FUZZ_CHECK(hello_len > 0);
        srv = malloc(MAX_READ);
        hs = malloc(64u * 1024u);
        FUZZ_CHECK(srv != NULL && hs != NULL);
    }
    p = td_probe_new();
    FUZZ_CHECK(p != NULL);
    p->ex.hello_acked = (data[0] & 4) != 0;
    p->ex.synack_ttl = (data[0] & 8) ? 64 : 0;
    FUZZ_CHECK(td_exchange_add(&p->ex, false, 500000, hello, hello_len) == 0);
    while (off < size && !done) {
        uint8_t dt = data[off];
        size_t len = 0;
        uint8_t *chunk;
        if (off + 1 < size)
            len = (size_t)data[off + 1] << 8;
        if (off + 2 < size)
            len |= data[off + 2];
        off += 3;
        if (off > size)
            break;
        if (len > size - off)
            len = size - off;
        if (len == 0)
            continue;
        if (len > MAX_READ - srv_len) { /* the runner's read cap */
            p->ex.end = TD_END_CAP;
            done = true;
            break;
        }
        chunk = fuzz_dup(data + off, len); /* exact-size copy: ASan sees overreads */
        off += len;
        t += (int64_t)dt * 1000000;
        FUZZ_CHECK(td_exchange_add(&p->ex, true, t, chunk, len) == 0);
        memcpy(srv + srv_len, chunk, len);
        srv_len += len;
        total += len;
        free(chunk);
        if (td_probe_raw_complete(srv, srv_len, hs, 64u * 1024u, &p->ex.impossible)) {
            p->ex.end = TD_END_DONE;
            done = true;
        }
    }
    if (!done)
        p->ex.end = ends[data[0] & 3];
    p->ex.end_ns = t + 1000000;

    /* the recording accounts for every byte, segments inside it */
    FUZZ_CHECK(p->ex.nbytes == hello_len + total);
    FUZZ_CHECK(p->ex.nseg <= p->ex.capseg);
    FUZZ_CHECK(p->ex.nbytes <= p->ex.capbytes);
    {
        uint64_t sum = 0;
        for (uint32_t i = 0; i < p->ex.nseg; i++) {
            const struct td_seg *g = &p->ex.segs[i];
            FUZZ_CHECK(g->len > 0 && g->off + (uint64_t)g->len <= p->ex.nbytes);
            FUZZ_CHECK(g->off == sum);
            sum += g->len;
            FUZZ_CHECK(g->from_server == (i > 0));
        }
        FUZZ_CHECK(sum == p->ex.nbytes);
    }

    memset(&ro, 0, sizeof(ro));
    ro.now = 1780000000;
    td_probe_classify(p, &ro);
    FUZZ_CHECK(p->res <= TD_PR_ERROR);
    FUZZ_CHECK(strcmp(td_probe_res_str(p->res), "error") != 0 || p->res == TD_PR_ERROR);
    FUZZ_CHECK(p->res != TD_PR_REFUSED && p->res != TD_PR_UNREACHABLE);
    if (p->conn == NULL) {
        /* only when the engine could not allocate */
        FUZZ_CHECK(p->res == TD_PR_TIMEOUT || p->res == TD_PR_ERROR);
    } else {
        FUZZ_CHECK(p->conn->num_alerts <= TD_MAX_ALERTS);
        check_verdict(&p->v);
        if (p->res == TD_PR_ACCEPTED)
            FUZZ_CHECK(p->conn->sh.m != NULL || p->hrr);
        if (p->res == TD_PR_ALERT)
            FUZZ_CHECK(p->conn->num_alerts > 0 && p->conn->sh.m == NULL);
        if (p->ex.impossible)
            FUZZ_CHECK(p->res == TD_PR_NOT_TLS || p->res == TD_PR_ACCEPTED ||
                       p->res == TD_PR_ALERT);
        if (p->res == TD_PR_FIN)
            FUZZ_CHECK(p->ex.end == TD_END_FIN);
        if (p->res == TD_PR_RST)
            FUZZ_CHECK(p->ex.end == TD_END_RST);
    }
    if (p->ex.end == TD_END_DONE)
        FUZZ_CHECK(p->res != TD_PR_FIN && p->res != TD_PR_RST);

    /* pure: the same recording, the same judgement */
    res1 = p->res;
    ver1 = p->version;
    ciph1 = p->cipher;
    out1 = p->v.outcome;
    num1 = p->v.num;
    td_probe_classify(p, &ro);
    FUZZ_CHECK(p->res == res1 && p->version == ver1 && p->cipher == ciph1);
    FUZZ_CHECK(p->v.outcome == out1 && p->v.num == num1);
    td_probe_free(p);
    return 0;
}
