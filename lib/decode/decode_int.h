/* decode_int.h: what text.c, errors.c and synth.c share (not public). */
#ifndef TD_DECODE_INT_H
#define TD_DECODE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "tlsdiag/decode.h"

/* td_dec_issue_add records an issue; keeps the first TD_DEC_MAX_ISSUES. */
void td_dec_issue_add(struct td_dec_result *r, enum td_dec_issue_kind kind, uint32_t line,
                      uint32_t expected, uint32_t got);

/* td_dec_item_push appends a copy of |it|; counts it in total_items even
 * when the list is full (then an issue LIMIT_ITEMS is recorded once). */
void td_dec_item_push(struct td_dec_result *r, const struct td_dec_item *it);

/* td_dec_ci_find looks for |needle| (NUL-terminated, static) in |hay|
 * (|hn| bytes), ignoring ASCII case and treating '_' and ' ' as the same
 * character, so "WRONG_VERSION_NUMBER" matches "wrong version number".
 * Returns the offset or -1.  Bounded by |hn|. */
long td_dec_ci_find(const char *hay, size_t hn, const char *needle);

/* td_dec_alert_item fills an alert item's codes, explanation and next step. */
void td_dec_alert_item(struct td_dec_item *it, int alert, enum td_dec_side side,
                       enum td_dec_role role);

#endif
