/* keylog.c: NSS key log parser and store (include/tlsdiag/decrypt.h).
 *
 * The store maps a ClientHello.random to the secrets logged for it, in an
 * open-addressing hash table that doubles up to TD_KEYLOG_MAX_ENTRIES.  A
 * key log is the user's own file, but it is still read as untrusted text:
 * lines are capped, hex is checked, lengths are checked per label, and
 * nothing in it can make us allocate more than the caps allow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlsdiag/alloc.h"
#include "tlsdiag/decrypt.h"
#include "util/hash.h"
#include "util/seed.h"

struct kl_entry {
    uint8_t random[32];
    uint8_t len[TD_SEC_NUM];              /* 0 = not logged */
    uint8_t secret[TD_SEC_NUM][TD_SECRET_MAX];
};

struct td_keylog {
    struct kl_entry **slots;
    uint32_t cap;           /* power of two */
    struct td_keylog_stats st;
    char line[TD_KEYLOG_LINE_MAX + 1]; /* a line split across add_text calls */
    size_t line_len;
    bool line_too_long;
};

static const struct {
    const char *name;
    enum td_secret_label label;
} labels[] = {
    {"CLIENT_RANDOM", TD_SEC_MASTER},
    {"CLIENT_EARLY_TRAFFIC_SECRET", TD_SEC_CLIENT_EARLY},
    {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", TD_SEC_CLIENT_HS},
    {"SERVER_HANDSHAKE_TRAFFIC_SECRET", TD_SEC_SERVER_HS},
    {"CLIENT_TRAFFIC_SECRET_0", TD_SEC_CLIENT_AP},
    {"SERVER_TRAFFIC_SECRET_0", TD_SEC_SERVER_AP},
    {"EXPORTER_SECRET", TD_SEC_EXPORTER},
};

struct td_keylog *td_keylog_new(void)
{
    struct td_keylog *kl;

    td_seed_init(); /* hash_random's key */
    kl = td_calloc(1, sizeof(*kl));
    if (kl == NULL)
        return NULL;
    kl->cap = 64;
    kl->slots = td_calloc(kl->cap, sizeof(*kl->slots));
    if (kl->slots == NULL) {
        free(kl);
        return NULL;
    }
    return kl;
}

void td_keylog_free(struct td_keylog *kl)
{
    if (kl == NULL)
        return;
    for (uint32_t i = 0; i < kl->cap; i++)
        free(kl->slots[i]);
    free(kl->slots);
    free(kl);
}

/* The randoms are the peers' and the log may come from the capture itself
 * (a pcapng Decryption Secrets Block): neither may pile entries into one
 * long probe sequence of the open-addressing table.  An unkeyed FNV-1a did
 * not stop that (its low bits, which pick the slot, can be steered by the
 * last bytes of a random); its words go through td_hash_words5 with the
 * process's key (util/seed.h) instead. */
static uint32_t hash_random(const uint8_t r[32])
{
    uint64_t w[5] = {0, 0, 0, 0, 0};
    memcpy(w, r, 32);
    return (uint32_t)td_hash_words5(w, td_seed);
}

static struct kl_entry **slot_for(struct kl_entry **slots, uint32_t cap, const uint8_t r[32])
{
    uint32_t i = hash_random(r) & (cap - 1);
    for (;;) {
        if (slots[i] == NULL || memcmp(slots[i]->random, r, 32) == 0)
            return &slots[i];
        i = (i + 1) & (cap - 1);
    }
}

static bool grow(struct td_keylog *kl)
{
    uint32_t ncap = kl->cap * 2;
    struct kl_entry **ns = td_calloc(ncap, sizeof(*ns));
    if (ns == NULL)
        return false;
    for (uint32_t i = 0; i < kl->cap; i++)
        if (kl->slots[i] != NULL)
            *slot_for(ns, ncap, kl->slots[i]->random) = kl->slots[i];
    free(kl->slots);
    kl->slots = ns;
    kl->cap = ncap;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* unhex decodes exactly |n| hex digits from |s| into |out| (n/2 bytes). */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
    if (n % 2 != 0)
        return false;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i / 2] = (uint8_t)(hi * 16 + lo);
    }
    return true;
}

static size_t field(const char *s, size_t len, size_t *pos, const char **start)
{
    size_t b, e;
    b = *pos;
    while (b < len && (s[b] == ' ' || s[b] == '\t'))
        b++;
    e = b;
    while (e < len && s[e] != ' ' && s[e] != '\t')
        e++;
    *start = s + b;
    *pos = e;
    return e - b;
}

static void add_line(struct td_keylog *kl, const char *s, size_t len)
{
    const char *f1, *f2, *f3, *extra;
    size_t n1, n2, n3, pos = 0;
    uint8_t random[32], secret[TD_SECRET_MAX];
    size_t want_min, want_max, slen;
    int li = -1;
    struct kl_entry **sl, *en;

    while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    while (len > 0 && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    if (len == 0 || s[0] == '#')
        return;
    kl->st.lines++;
    n1 = field(s, len, &pos, &f1);
    n2 = field(s, len, &pos, &f2);
    n3 = field(s, len, &pos, &f3);
    if (field(s, len, &pos, &extra) != 0 || n3 == 0) {
        kl->st.ignored++;
        return;
    }
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (strlen(labels[i].name) == n1 && memcmp(labels[i].name, f1, n1) == 0)
            li = (int)i;
    if (li < 0) {
        /* labels other tools write that we have no use for: not an error
         * (RSA: pre-master secrets by encrypted pre-master; *_N: later
         * secrets, which we derive ourselves from KeyUpdate) */
        static const char *const known[] = {"RSA", "CLIENT_TRAFFIC_SECRET_N", "SERVER_TRAFFIC_SECRET_N",
                                            "EARLY_EXPORTER_SECRET", "EARLY_EXPORTER_MASTER_SECRET",
                                            "EXPORTER_MASTER_SECRET"};
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (strlen(known[i]) == n1 && memcmp(known[i], f1, n1) == 0) {
                kl->st.unused++;
                return;
            }
        }
    }
    if (li < 0 || n2 != 64 || !unhex(f2, n2, random)) {
        kl->st.ignored++;
        return;
    }
    /* master secret: 48 bytes; TLS 1.3 secrets: a hash length (32 or 48) */
    if (labels[li].label == TD_SEC_MASTER) {
        want_min = want_max = 48;
    } else {
        want_min = 32;
        want_max = 48;
    }
    slen = n3 / 2;
    if (n3 % 2 != 0 || slen < want_min || slen > want_max || (slen != 32 && slen != 48) || !unhex(f3, n3, secret)) {
        kl->st.ignored++;
        return;
    }
    sl = slot_for(kl->slots, kl->cap, random);
    if (*sl == NULL) {
        if (kl->st.entries >= TD_KEYLOG_MAX_ENTRIES) {
            kl->st.dropped++;
            return;
        }
        /* keep the table at most half full */
        if ((kl->st.entries + 1) * 2 > kl->cap) {
            if (!grow(kl)) {
                kl->st.dropped++;
                return;
            }
            sl = slot_for(kl->slots, kl->cap, random);
        }
        en = td_calloc(1, sizeof(*en));
        if (en == NULL) {
            kl->st.dropped++;
            return;
        }
        memcpy(en->random, random, 32);
        *sl = en;
        kl->st.entries++;
    }
    en = *sl;
    if (en->len[labels[li].label] == 0)
        kl->st.secrets++;
    /* a later line for the same random and label wins (a reused log file) */
    memcpy(en->secret[labels[li].label], secret, slen);
    en->len[labels[li].label] = (uint8_t)slen;
}

void td_keylog_add_text(struct td_keylog *kl, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = (char)p[i];
        if (ch == '\n') {
            if (kl->line_too_long) {
                kl->st.lines++;
                kl->st.ignored++;
            } else {
                add_line(kl, kl->line, kl->line_len);
            }
            kl->line_len = 0;
            kl->line_too_long = false;
            continue;
        }
        if (kl->line_len >= TD_KEYLOG_LINE_MAX) {
            kl->line_too_long = true;
            continue;
        }
        kl->line[kl->line_len++] = ch;
    }
    /* a last line without a newline: take it now (a pcapng block or a file
     * ends here); the buffer is cleared so the next text starts afresh */
    if (kl->line_too_long) {
        kl->st.lines++;
        kl->st.ignored++;
    } else if (kl->line_len > 0) {
        add_line(kl, kl->line, kl->line_len);
    }
    kl->line_len = 0;
    kl->line_too_long = false;
}

int td_keylog_load_file(struct td_keylog *kl, const char *path, char *err, size_t err_len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    size_t n, total = 0;
    int rc = 0;

    if (fp == NULL) {
        snprintf(err, err_len, "%s", strerror(errno));
        return -1;
    }
    buf = td_malloc(64 * 1024);
    if (buf == NULL) {
        fclose(fp);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    /* read in chunks; a line split across chunks is kept in kl->line, so
     * add_text is told the chunk does not end a line: feed up to the last
     * newline and carry the rest */
    {
        size_t carry = 0;
        while ((n = fread(buf + carry, 1, 64 * 1024 - carry, fp)) > 0) {
            size_t have = carry + n, cut = have;
            total += n;
            if (total > TD_KEYLOG_FILE_MAX) {
                snprintf(err, err_len, "larger than %u MiB", TD_KEYLOG_FILE_MAX >> 20);
                rc = -1;
                break;
            }
            while (cut > 0 && buf[cut - 1] != '\n')
                cut--;
            if (cut == 0 && have == 64 * 1024)
                cut = have; /* one huge line: add_text counts it as too long */
            td_keylog_add_text(kl, buf, cut);
            carry = have - cut;
            memmove(buf, buf + cut, carry);
        }
        if (rc == 0 && ferror(fp)) {
            snprintf(err, err_len, "read error: %s", strerror(errno));
            rc = -1;
        }
        if (rc == 0 && carry > 0)
            td_keylog_add_text(kl, buf, carry);
    }
    free(buf);
    fclose(fp);
    return rc;
}

void td_keylog_stats(const struct td_keylog *kl, struct td_keylog_stats *st) { *st = kl->st; }

static const struct kl_entry *find(const struct td_keylog *kl, const uint8_t r[32])
{
    if (kl == NULL)
        return NULL;
    return *slot_for(kl->slots, kl->cap, r);
}

size_t td_keylog_find(const struct td_keylog *kl, const uint8_t client_random[32], enum td_secret_label label,
                      uint8_t out[TD_SECRET_MAX])
{
    const struct kl_entry *en = find(kl, client_random);
    if (en == NULL || (unsigned)label >= TD_SEC_NUM || en->len[label] == 0)
        return 0;
    memcpy(out, en->secret[label], en->len[label]);
    return en->len[label];
}

bool td_keylog_has_any(const struct td_keylog *kl, const uint8_t client_random[32])
{
    return find(kl, client_random) != NULL;
}
