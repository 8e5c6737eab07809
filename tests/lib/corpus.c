#include "corpus.h"

#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* TD_CORPUS, else TD_SHARED/corpus, else ../shared/corpus (the tests run
 * from the repository's root), as tests/corpus and the other unit tests */
const char *corpus_dir(void)
{
    static char buf[1024];
    const char *d = getenv("TD_CORPUS");
    const char *s = getenv("TD_SHARED");
    struct stat st;

    if (d == NULL) {
        snprintf(buf, sizeof(buf), "%s/corpus", s != NULL ? s : "../shared");
        d = buf;
    }
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return NULL;
    return d;
}

static size_t tcp_payload(int dlt, const uint8_t *p, size_t n, const uint8_t **pl)
{
    size_t o;
    unsigned ethertype = 0;
    size_t ip_hl;
    unsigned proto;

    if (dlt == DLT_EN10MB) {
        if (n < 14)
            return 0;
        ethertype = (unsigned)(p[12] << 8 | p[13]);
        o = 14;
        if (ethertype == 0x8100 && n >= 18) {
            ethertype = (unsigned)(p[16] << 8 | p[17]);
            o = 18;
        }
    } else if (dlt == DLT_NULL) {
        if (n < 4)
            return 0;
        o = 4;
        ethertype = (p[4] >> 4) == 6 ? 0x86dd : 0x0800;
    } else if (dlt == DLT_LINUX_SLL) {
        if (n < 16)
            return 0;
        ethertype = (unsigned)(p[14] << 8 | p[15]);
        o = 16;
    } else if (dlt == DLT_RAW) {
        o = 0;
        ethertype = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
    } else {
        return 0;
    }
    if (ethertype == 0x0800) {
        if (n < o + 20)
            return 0;
        ip_hl = (size_t)(p[o] & 0x0f) * 4;
        proto = p[o + 9];
        {
            size_t tot = (size_t)(p[o + 2] << 8 | p[o + 3]);
            if (o + tot < n)
                n = o + tot;
        }
        o += ip_hl;
    } else if (ethertype == 0x86dd) {
        if (n < o + 40)
            return 0;
        proto = p[o + 6];
        {
            size_t pl_len = (size_t)(p[o + 4] << 8 | p[o + 5]);
            if (o + 40 + pl_len < n)
                n = o + 40 + pl_len;
        }
        o += 40;
    } else {
        return 0;
    }
    if (proto != 6 || n < o + 20)
        return 0;
    o += (size_t)(p[o + 12] >> 4) * 4;
    if (o > n)
        return 0;
    *pl = p + o;
    return n - o;
}

size_t corpus_first_client_hello(const char *path, uint8_t *out, size_t cap)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    size_t got = 0;

    if (pc == NULL)
        return 0;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        const uint8_t *pl;
        size_t n = tcp_payload(pcap_datalink(pc), data, h->caplen, &pl);

        if (n >= 6 && pl[0] == 0x16 && pl[1] == 3 && pl[5] == 1 && n <= cap) {
            memcpy(out, pl, n);
            got = n;
            break;
        }
    }
    pcap_close(pc);
    return got;
}

int corpus_json_field(const char *path, const char *key, char *out, size_t cap)
{
    FILE *f = fopen(path, "rb");
    static char buf[1 << 16];
    size_t n;
    char pat[128];
    const char *p;
    size_t i = 0;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    snprintf(pat, sizeof(pat), "\"%s\": \"", key);
    p = strstr(buf, pat);
    if (p == NULL)
        return -1;
    p += strlen(pat);
    while (p[i] != '"' && p[i] != '\0' && i + 1 < cap) {
        out[i] = p[i];
        i++;
    }
    out[i] = '\0';
    return 0;
}
