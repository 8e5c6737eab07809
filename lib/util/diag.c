#include "tlsdiag/diag.h"

#include <stddef.h>

const char *td_anomaly_name(unsigned code)
{
    switch (code) {
#define TD_AN_CASE(name, num, json) \
    case num:                        \
        return json;
        TD_ANOMALIES(TD_AN_CASE)
#undef TD_AN_CASE
    default:
        return NULL;
    }
}

int td_anomaly_is_limit(unsigned code) { return code >= 80 && code < 100; }

uint32_t td_diag_cap(const struct td_diag *d)
{
    return d->max != 0 && d->max < TD_DIAG_MAX ? d->max : TD_DIAG_MAX;
}

static void diag_put(struct td_diag *d, enum td_anomaly code, uint16_t ext_type, size_t off)
{
    d->recs[d->n].code = (uint16_t)code;
    d->recs[d->n].ext_type = ext_type;
    d->recs[d->n].off = off > UINT32_MAX ? UINT32_MAX : (uint32_t)off;
    d->n++;
}

/* td_diag_add keeps |code| if there is room under the cap.  Past it, a
 * LIMIT_* code not yet kept is still kept (there is a slot for each), and
 * any other code records LIMIT_ANOMALIES once (at the dropped one's
 * offset); the rest are only counted. */
void td_diag_add(struct td_diag *d, enum td_anomaly code, uint16_t ext_type, size_t off)
{
    if (d->total < UINT32_MAX)
        d->total++;
    if (d->n < td_diag_cap(d)) {
        diag_put(d, code, ext_type, off);
        return;
    }
    if (!td_anomaly_is_limit((unsigned)code))
        code = TD_AN_LIMIT_ANOMALIES;
    if (d->n < TD_DIAG_SLOTS && !td_diag_has(d, code))
        diag_put(d, code, ext_type, off);
}

int td_diag_has(const struct td_diag *d, enum td_anomaly code)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->recs[i].code == (uint16_t)code)
            return 1;
    return 0;
}
