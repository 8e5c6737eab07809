/* cur.c: the out-of-line part of the cursor; the getters are inline in
 * tlsdiag/cur.h.  No other code does arithmetic on pointers into peer bytes. */
#include "tlsdiag/cur.h"

#include <string.h>

void td_memcpy(void *dst, const void *src, size_t n)
{
    if (n != 0)
        memcpy(dst, src, n);
}
