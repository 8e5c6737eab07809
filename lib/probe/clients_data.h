/* clients_data.h: data/clients/NAME.client embedded by tools/gen-clients.sh
 * (build/gen/clients_data.c).  Text, not NUL-terminated in the count. */
#ifndef TLSDIAG_PROBE_CLIENTS_DATA_H
#define TLSDIAG_PROBE_CLIENTS_DATA_H

#include <stddef.h>

extern const unsigned char td_clients_data[];
extern const size_t td_clients_data_len;

#endif
