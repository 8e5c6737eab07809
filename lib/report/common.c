#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "tlsdiag/report.h"

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

/* bump counts |k| in a small list; a linear scan is fine for at most
 * TD_SUMMARY_TOP keys, and keys past the cap are not counted. */
static void bump(struct td_count *arr, uint32_t *num, const char *k)
{
    for (uint32_t i = 0; i < *num; i++) {
        if (strcmp(arr[i].key, k) == 0) {
            arr[i].n++;
            return;
        }
    }
    if (*num >= TD_SUMMARY_TOP)
        return;
    snprintf(arr[*num].key, sizeof(arr[*num].key), "%s", k);
    arr[*num].n = 1;
    (*num)++;
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
        bump(s->servers, &s->num_servers, r->server);
        if (r->has_sni)
            bump(s->snis, &s->num_snis, r->sni);
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
