/* bench/pcaploop.c: the floor for bench/run.sh.  Reads every record of a
 * capture with libpcap's pcap_next_ex and nothing else, touching the last
 * byte of each packet so the data is really fetched.
 *   cc -O2 -o pcaploop pcaploop.c -lpcap
 *   pcaploop FILE   -> "packets=N bytes=B check=C" */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long long n = 0, bytes = 0;
    unsigned check = 0;
    pcap_t *p;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: pcaploop FILE\n");
        return 2;
    }
    p = pcap_open_offline(argv[1], err);
    if (p == NULL) {
        fprintf(stderr, "pcaploop: %s\n", err);
        return 1;
    }
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        n++;
        bytes += h->caplen;
        if (h->caplen > 0)
            check = check * 31u + d[h->caplen - 1];
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcaploop: %s\n", pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    printf("packets=%llu bytes=%llu check=%u\n", n, bytes, check);
    return 0;
}
