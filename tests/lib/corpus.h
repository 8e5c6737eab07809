/* corpus.h: test helpers reading ../shared/corpus at run time (the captures
 * are never copied into the project). */
#ifndef TLSDIAG_TESTS_CORPUS_H
#define TLSDIAG_TESTS_CORPUS_H

#include <stddef.h>
#include <stdint.h>

/* corpus_dir returns the corpus directory ($TD_CORPUS or
 * /work/shared/corpus), or NULL when it does not exist. */
const char *corpus_dir(void);

/* corpus_first_client_hello copies into |out| the payload of the first TCP
 * segment of |path| that starts with a TLS handshake record holding a
 * ClientHello (record header included).  Returns its length, 0 if none.
 * Handles Ethernet, NULL/loopback, Linux SLL and raw IP; IPv4 and IPv6. */
size_t corpus_first_client_hello(const char *path, uint8_t *out, size_t cap);

/* corpus_json_field copies the string value of the first "key": "value"
 * in the file at |path| into |out|; returns 0 on success. */
int corpus_json_field(const char *path, const char *key, char *out, size_t cap);

#endif
