/* registry.h: IANA TLS code points.  The tables behind these functions are
 * generated at build time from data/iana/ CSV files by tools/gen-registry.awk;
 * no name is typed by hand. */
#ifndef TLSDIAG_REGISTRY_H
#define TLSDIAG_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

enum td_reg {
    TD_REG_CIPHER,
    TD_REG_EXTENSION,
    TD_REG_GROUP,
    TD_REG_SIGSCHEME,
    TD_REG_ALERT,
    TD_REG_VERSION,
    TD_REG_ECPF,
    TD_REG_COUNT
};

/* td_reg_name returns the IANA name of |value| in |reg|, or NULL. */
const char *td_reg_name(enum td_reg reg, uint16_t value);
/* td_reg_name_n: the same, with the name's length in *len (set only when a
 * name is returned).  Names are printable ASCII without '"' or '\\'
 * (tools/gen-registry.awk refuses others): they need no JSON escaping. */
const char *td_reg_name_n(enum td_reg reg, uint16_t value, size_t *len);

/* td_reg_names looks up |n| values at once: out[i].name is the name of
 * v[i] (and out[i].len its length) or NULL.  The same names as td_reg_name;
 * GREASE values are not special here (td_reg_fmt's rule is the caller's). */
struct td_reg_ref {
    const char *name;
    size_t len;
};
void td_reg_names(enum td_reg reg, const uint16_t *v, size_t n, struct td_reg_ref *out);

/* td_reg_at: the i-th entry of |reg| in value order (its name, the value in
 * *value), or NULL when i is past the end.  For walking a registry by name
 * without probing all 65,536 values. */
const char *td_reg_at(enum td_reg reg, size_t i, uint16_t *value);

/* td_reg_fmt writes the name of |value|, or "0xNNNN" when unknown, or
 * "GREASE(0xNNNN)" for an RFC 8701 GREASE value, into |buf| (always NUL
 * terminated) and returns |buf|.  32 bytes are always enough for numbers;
 * names are truncated to |len|. */
const char *td_reg_fmt(enum td_reg reg, uint16_t value, char *buf, size_t len);
/* td_reg_fmt_n: td_reg_fmt returning the length written */
size_t td_reg_fmt_n(enum td_reg reg, uint16_t value, char *buf, size_t len);

/* td_is_grease: RFC 8701 values 0x?A?A with both bytes equal. */
static inline int td_is_grease(uint16_t v)
{
    return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* td_version_str: "1.3", "1.2", "1.1", "1.0", "3.0", "2.0" or NULL. */
const char *td_version_str(uint16_t v);

/* td_version_draft13: for the pre-standard TLS 1.3 versions a ServerHello
 * may carry (IETF drafts 0x7fXX, Google's experiments 0x7e01-0x7e02,
 * Facebook Fizz's drafts 0xfbXX) writes a readable name ("TLS 1.3 draft 23",
 * "TLS 1.3 draft 26 (Facebook Fizz)", "TLS 1.3 experiment 1 (Google)") and
 * returns it; NULL for anything else. */
const char *td_version_draft13(uint16_t v, char *buf, size_t len);

#endif
