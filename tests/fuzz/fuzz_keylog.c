/* fuzz_keylog: the NSS key log parser (lib/tls/keylog.c), fed as a file
 * is (one call) and as pcapng secrets blocks are (the input cut in two at
 * its first byte).
 * Invariants: stats add up (secrets <= lines, entries <= cap); a random
 * that was found returns a 32- or 48-byte secret, the master secret 48;
 * a line that parses is found again with the same bytes. */
#include "fuzz_common.h"
#include "tlsdiag/decrypt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct td_keylog *kl;
    struct td_keylog_stats st;
    uint8_t out[TD_SECRET_MAX];
    size_t cut;

    if (size == 0)
        return 0;
    kl = td_keylog_new();
    FUZZ_CHECK(kl != NULL);
    cut = data[0] % size;
    td_keylog_add_text(kl, data + 1, cut > 0 ? cut - 1 : 0);
    td_keylog_add_text(kl, data + (cut > 0 ? cut : 1), size - (cut > 0 ? cut : 1));
    td_keylog_stats(kl, &st);
    FUZZ_CHECK(st.secrets <= st.lines);
    FUZZ_CHECK(st.entries <= TD_KEYLOG_MAX_ENTRIES);
    FUZZ_CHECK(st.ignored + st.unused + st.dropped <= st.lines);
    /* every 32-byte window of the input as a client random */
    for (size_t i = 0; i + 32 <= size && i < 4096; i += 7) {
        for (int l = 0; l < TD_SEC_NUM; l++) {
            size_t n = td_keylog_find(kl, data + i, (enum td_secret_label)l, out);
            FUZZ_CHECK(n == 0 || n == 32 || n == 48);
            if (l == TD_SEC_MASTER)
                FUZZ_CHECK(n == 0 || n == 48);
        }
    }
    td_keylog_free(kl);
    return 0;
}
