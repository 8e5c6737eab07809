/* probe_sim.h: the client simulation run of `tlsdiag probe`
 * (lib/probe/simulate.c): replays data/clients against the target through the
 * probe runner and explains every failing client with the plan's findings.
 *
 * Use from src/cmd_probe.c, after td_plan_run:
 *     struct td_sim_db db;  td_sim_db_builtin(&db, &err);
 *     struct td_sim_report rep;
 *     td_sim_run(&rep, &db, plan, addr, addrlen, &(struct td_sim_opts){plan->sni, ...}, &o);
 *     td_sim_json(w, &rep);   -> the "clients" array
 *     td_sim_text(w, &rep, red, off, width);  -> "clients that fail" table
 */
#ifndef TLSDIAG_PROBE_SIM_H
#define TLSDIAG_PROBE_SIM_H

#include "tlsdiag/probe.h"
#include "tlsdiag/probe_clients.h"
#include "tlsdiag/wbuf.h"

struct td_sim_opts {
    const char *sni;              /* put into each client's hello; NULL/"" removes SNI */
    const char *starttls;         /* as td_plan_opts */
    td_starttls_fn starttls_fn;
};

struct td_sim_report {
    size_t n, failed;
    bool not_run;                 /* no handshake with the server succeeded: nothing replayed */
    size_t cert_missing;          /* failed only for want of a client certificate */
    size_t cert_asked;            /* connect, but were asked for a client certificate */
    struct td_sim_result *v;      /* one per db entry, db order (owned) */
    uint32_t connections;
};

/* td_sim_server_from_plan: what the plan found, in td_sim_explain's terms. */
void td_sim_server_from_plan(struct td_sim_server *s, const struct td_plan_result *r);
/* td_sim_run replays every client of |db| (which must outlive |rep|).
 * Returns 0, or -1 on a local error (out of memory, socket). */
int td_sim_run(struct td_sim_report *rep, const struct td_sim_db *db, const struct td_plan_result *plan,
               const struct sockaddr *addr, socklen_t addrlen, const struct td_sim_opts *so,
               const struct td_probe_opts *o);
void td_sim_report_cleanup(struct td_sim_report *rep);
/* td_sim_tally recounts failed, cert_missing and cert_asked from v[]. */
void td_sim_tally(struct td_sim_report *rep);
/* td_sim_json writes the JSON array of the "clients" member. */
void td_sim_json(struct td_wbuf *w, const struct td_sim_report *rep);
/* td_sim_text writes a summary line and the "clients that fail" table, the
 * fix and detail texts wrapped to |width| columns (0: not wrapped). */
void td_sim_text(struct td_wbuf *w, const struct td_sim_report *rep, const char *red,
                 const char *off, unsigned width);

#endif
