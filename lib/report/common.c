#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "tlsdiag/report.h"

void td_fmt_addr(const struct td_conn *c, uint8_t ep, char *buf, size_t len)
{
    if (c->ipver == 6) {
        if (inet_ntop(AF_INET6, c->addr[ep], buf, (socklen_t)len) == NULL)
            snprintf(buf, len, "?");
    } else if (inet_ntop(AF_INET, c->addr[ep], buf, (socklen_t)len) == NULL) {
        snprintf(buf, len, "?");
    }
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

void td_summary_add(struct td_summary *s, const struct td_conn *c, const struct td_verdict *v)
{
    for (uint32_t i = 0; i < c->anomalies.n; i++) {
        unsigned code = c->anomalies.recs[i].code;
        bool first = true;
        if (!td_anomaly_is_limit(code))
            continue;
        for (uint32_t k = 0; k < i; k++)
            if (c->anomalies.recs[k].code == code)
                first = false;
        if (first)
            s->limit_conns[code - 80]++;
    }
    if (!v->shown) {
        s->hidden++;
        return;
    }
    s->conns++;
    if ((unsigned)v->outcome < 5)
        s->by_outcome[v->outcome]++;
    s->anomalies += c->anomalies.total;
    for (uint8_t i = 0; i < v->num; i++)
        if (v->d[i].severity == TD_SEV_WARNING)
            s->warnings++;
    /* "causes" counts the primary cause of failed connections only: an
     * incomplete or partial connection has not failed, so its first
     * diagnosis (capture_incomplete, no_client_hello, ...) is no cause. */
    const struct td_diagnosis *p = v->outcome == TD_OUT_FAILED ? td_verdict_primary(v) : NULL;
    if (p != NULL) {
        uint32_t j;
        for (j = 0; j < s->num_codes; j++)
            if (strcmp(s->codes[j].code, p->code) == 0)
                break;
        if (j == s->num_codes && j < sizeof(s->codes) / sizeof(s->codes[0])) {
            s->codes[j].code = p->code;
            s->codes[j].n = 0;
            s->num_codes++;
        }
        if (j < s->num_codes)
            s->codes[j].n++;
    }
    if (v->outcome == TD_OUT_FAILED) {
        char a[64], k[80];
        uint8_t sv = (uint8_t)(1 - c->client);
        td_fmt_addr(c, sv, a, sizeof(a));
        snprintf(k, sizeof(k), c->ipver == 6 ? "[%s]:%u" : "%s:%u", a, c->port[sv]);
        bump(s->servers, &s->num_servers, k);
        if (c->ch.m != NULL && c->ch.m->has_sni) {
            snprintf(k, sizeof(k), "%.79s", c->ch.m->sni);
            bump(s->snis, &s->num_snis, k);
        }
    }
}
