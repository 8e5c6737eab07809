/* run.c: a decoded dump through the same engine as a capture.  Kept apart
 * from synth.c so that code which only extracts text does not link the
 * engine. */
#include <stdlib.h>

#include "tlsdiag/conn.h"
#include "tlsdiag/decode.h"

struct keep {
    struct td_conn *conn;
    uint32_t extra; /* later sessions, freed */
};

static void on_done(void *ctx, struct td_conn *c)
{
    struct keep *k = ctx;
    if (k->conn == NULL) {
        k->conn = c;
        return;
    }
    k->extra++;
    td_conn_free(c);
}

struct td_conn *td_dec_run(const struct td_dec_result *r, const struct td_limits *lim,
                           uint32_t *num_conns)
{
    struct td_dec_pkts pk;
    struct td_limits def;
    struct td_engine *e;
    struct keep k = {NULL, 0};

    if (num_conns != NULL)
        *num_conns = 0;
    if (r == NULL || r->num_records == 0)
        return NULL;
    if (lim == NULL) {
        td_limits_default(&def);
        lim = &def;
    }
    if (td_dec_synth(&pk, r) != 0)
        return NULL;
    e = td_engine_new(lim, on_done, &k);
    if (e == NULL) {
        td_dec_pkts_cleanup(&pk);
        return NULL;
    }
    /* a -msg dump shows protected records decrypted: read them as a
     * capture decrypted with its key log would be read */
    if (td_dec_has_decrypted(r))
        td_engine_set_plaintext(e, true);
    for (uint32_t i = 0; i < pk.n; i++)
        td_engine_packet(e, &pk.pkts[i]);
    td_engine_flush(e);
    td_engine_free(e);
    td_dec_pkts_cleanup(&pk);
    if (num_conns != NULL)
        *num_conns = (k.conn != NULL ? 1u : 0u) + k.extra;
    return k.conn;
}
