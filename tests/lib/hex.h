/* hex.h: test helpers (never part of lib/). */
#ifndef TLSDIAG_TESTS_HEX_H
#define TLSDIAG_TESTS_HEX_H

#include <stddef.h>
#include <stdint.h>

/* hex_decode decodes |hex| into |out|, ignoring whitespace.  It returns the
 * number of bytes written, or (size_t)-1 on a non-hex character, an odd
 * number of digits, or more than |cap| bytes. */
size_t hex_decode(const char *hex, uint8_t *out, size_t cap);

#endif
