#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/alloc.h"
#include "tlsdiag/report.h"
#include "util/hash.h"

size_t td_fmt_addr(const struct td_conn *c, uint8_t ep, char *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (c->ipver != 6 && len >= 16) {
        /* IPv4 by hand: what inet_ntop writes (glibc formats it with
         * sprintf), dotted decimal without leading zeros */
        size_t n = 0;
        for (int i = 0; i < 4; i++) {
            unsigned b = c->addr[ep][i];
            if (i)
                buf[n++] = '.';
            if (b >= 100)
                buf[n++] = (char)('0' + b / 100);
            if (b >= 10)
                buf[n++] = (char)('0' + b / 10 % 10);
            buf[n++] = (char)('0' + b % 10);
        }
        buf[n] = '\0';
        return n;
    }
    if (inet_ntop(c->ipver == 6 ? AF_INET6 : AF_INET, c->addr[ep], buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return strlen(buf);
}

/* counts_grow: room for the table's next name (v doubled, and the slots
 * kept at twice the names or more) */
static bool counts_grow(struct td_counts *c)
{
    uint32_t ncap = c->cap ? c->cap * 2 : 64, nslots = ncap * 2;
    struct td_count *nv;
    uint32_t *ns;

    if (ncap > TD_SUMMARY_KEYS)
        return false;
    nv = td_realloc(c->v, (size_t)ncap * sizeof(*nv));
    if (nv == NULL)
        return false;
    c->v = nv;
    ns = td_calloc(nslots, sizeof(*ns));
    if (ns == NULL)
        return false;
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t j = (uint32_t)td_hash_bytes(c->v[i].key, strlen(c->v[i].key)) & (nslots - 1);
        while (ns[j] != 0)
            j = (j + 1) & (nslots - 1);
        ns[j] = i + 1;
    }
    free(c->slot);
    c->slot = ns;
    c->cap = ncap;
    c->mask = nslots - 1;
    return true;
}

/* bump counts one connection for |k| (cut to the key's size as stored).
 * Before, only the first 64 names seen were counted at all, so in a large
 * capture the name failing most could be missing from the list. */
static void bump(struct td_counts *c, const char *k)
{
    size_t len = strnlen(k, sizeof(c->v[0].key) - 1);
    uint32_t h = (uint32_t)td_hash_bytes(k, len), j;

    if (c->slot != NULL) {
        for (j = h & c->mask; c->slot[j] != 0; j = (j + 1) & c->mask) {
            struct td_count *e = &c->v[c->slot[j] - 1];
            if (strncmp(e->key, k, len) == 0 && e->key[len] == '\0') {
                e->n++;
                return;
            }
        }
    }
    if (c->n == c->cap && !counts_grow(c)) {
        c->over++;
        return;
    }
    for (j = h & c->mask; c->slot[j] != 0; j = (j + 1) & c->mask) {
    }
    memcpy(c->v[c->n].key, k, len);
    c->v[c->n].key[len] = '\0';
    c->v[c->n].n = 1;
    c->slot[j] = ++c->n;
}

uint32_t td_counts_top(const struct td_counts *c, uint32_t *out, uint32_t k)
{
    uint32_t m = 0;

    if (k == 0)
        return 0;
    /* insertion into a list of at most k (k is small: 5 or 64) */
    for (uint32_t i = 0; i < c->n; i++) {
        uint32_t p = m;
        if (m == k && c->v[i].n <= c->v[out[m - 1]].n)
            continue;
        while (p > 0 && c->v[out[p - 1]].n < c->v[i].n)
            p--;
        if (m < k)
            m++;
        memmove(out + p + 1, out + p, (size_t)(m - 1 - p) * sizeof(*out));
        out[p] = i;
    }
    return m;
}

void td_summary_free(struct td_summary *s)
{
    free(s->servers.v);
    free(s->servers.slot);
    free(s->snis.v);
    free(s->snis.slot);
    memset(&s->servers, 0, sizeof(s->servers));
    memset(&s->snis, 0, sizeof(s->snis));
}

void td_sum_rec_make(struct td_sum_rec *r, const struct td_conn *c, const struct td_verdict *v)
{
    memset(r, 0, sizeof(*r));
    /* limits are counted for every connection, shown or not */
    for (uint32_t i = 0; i < c->anomalies.n; i++) {
        unsigned code = c->anomalies.recs[i].code;
        if (td_anomaly_is_limit(code) && code >= 80 && code - 80 < 32)
            r->limit_mask |= 1u << (code - 80);
    }
    r->shown = v->shown;
    if (!v->shown)
        return;
    r->outcome = (uint8_t)v->outcome;
    r->anomalies = c->anomalies.total;
    for (uint8_t i = 0; i < v->num; i++)
        if (v->d[i].severity == TD_SEV_WARNING)
            r->warnings++;
    /* "causes" counts the primary cause of failed connections only: an
     * incomplete or partial connection has not failed, so its first
     * diagnosis (capture_incomplete, no_client_hello, ...) is no cause. */
    {
        const struct td_diagnosis *p = v->outcome == TD_OUT_FAILED ? td_verdict_primary(v) : NULL;
        r->code = p != NULL ? p->code : NULL;
    }
    if (v->outcome == TD_OUT_FAILED) {
        char a[64];
        uint8_t sv = (uint8_t)(1 - c->client);
        r->failed = true;
        td_fmt_addr(c, sv, a, sizeof(a));
        snprintf(r->server, sizeof(r->server), c->ipver == 6 ? "[%s]:%u" : "%s:%u", a, c->port[sv]);
        if (c->ch.m != NULL && c->ch.m->has_sni) {
            r->has_sni = true;
            snprintf(r->sni, sizeof(r->sni), "%.79s", c->ch.m->sni);
        }
    }
}

void td_summary_add_rec(struct td_summary *s, const struct td_sum_rec *r)
{
    /* up to the highest bit set: nearly always none, no turn of the loop */
    for (uint32_t m = r->limit_mask, b = 0; m != 0; m >>= 1, b++)
        if ((m & 1u) && b < sizeof(s->limit_conns) / sizeof(s->limit_conns[0]))
            s->limit_conns[b]++;
    if (!r->shown) {
        s->hidden++;
        return;
    }
    s->conns++;
    if ((unsigned)r->outcome < 5)
        s->by_outcome[r->outcome]++;
    s->anomalies += r->anomalies;
    s->warnings += r->warnings;
    if (r->code != NULL) {
        uint32_t j;
        for (j = 0; j < s->num_codes; j++)
            if (s->codes[j].code == r->code || strcmp(s->codes[j].code, r->code) == 0) /* codes are the rules' literals */
                break;
        if (j == s->num_codes && j < sizeof(s->codes) / sizeof(s->codes[0])) {
            s->codes[j].code = r->code;
            s->codes[j].n = 0;
            s->num_codes++;
        }
        if (j < s->num_codes)
            s->codes[j].n++;
    }
    if (r->failed) {
        bump(&s->servers, r->server);
        if (r->has_sni)
            bump(&s->snis, r->sni);
    }
}

void td_summary_add(struct td_summary *s, const struct td_conn *c, const struct td_verdict *v)
{
    struct td_sum_rec r;
    td_sum_rec_make(&r, c, v);
    td_summary_add_rec(s, &r);
}

size_t td_report_id_at(const char *p, size_t n)
{
    /* td_report_json begins {"id":N, td_report_text [bold]#N (header) */
    if (n >= 6 && memcmp(p, "{\"id\":", 6) == 0)
        return 6;
    for (size_t i = 0; i < n && i < 16; i++)
        if (p[i] == '#')
            return i + 1;
    return SIZE_MAX;
}
