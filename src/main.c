/* main.c: tlsdiag's command line.  Subcommands live in cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef TD_VERSION
#define TD_VERSION "0.1.0"
#endif

void usage_main(FILE *f)
{
    fputs("usage: tlsdiag COMMAND [options]\n"
          "\n"
          "Tell why TLS handshakes failed, with the packets that prove it.\n"
          "\n"
          "commands:\n"
          "  read FILE... [FILTER]     read pcap/pcapng/gzip captures ('-' = stdin); FILTER is a\n"
          "                            BPF expression as for tcpdump, e.g. 'host 10.0.0.5 and port 443'\n"
          "  live -i IFACE [FILTER]    the same on live packets; Ctrl-C prints the summary\n"
          "  decode [--json] [FILE|-]  explain pasted text: openssl s_client -msg dumps, error strings,\n"
          "                            alert numbers\n"
          "  probe HOST[:PORT]         probe a live server with differential handshakes: versions,\n"
          "                            ciphers, SNI, client certificates, chain (exit 1: problems)\n"
          "  version                   print the version\n"
          "\n"
          "Run 'tlsdiag COMMAND --help' for the options of a command; for the rest, the manual:\n"
          "'man tlsdiag' once installed (make install), or 'man -l docs/tlsdiag.1' in the source tree.\n"
          "\n"
          "exit codes: 0 read fine, 1 handshake failures found (with --fail), 2 usage error,\n"
          "            3 unreadable input, 4 corrupt or truncated input (partial results printed),\n"
          "            5 internal error; when several apply the highest wins (5, 4, 3, then 1):\n"
          "            a failed handshake in a truncated file is 4 even with --fail.\n"
          "            decode: 3 also when nothing was recognised; probe: 1 problems found\n",
          f);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    static char prog[32];

    if (cmd == NULL) {
        usage_main(stderr);
        return TD_EXIT_USAGE;
    }
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage_main(stdout);
        return TD_EXIT_OK;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tlsdiag %s\n", TD_VERSION);
        return TD_EXIT_OK;
    }
    /* getopt names the program by argv[0]: "tlsdiag read: unrecognized option" */
    if (strlen(cmd) < sizeof(prog) - 8) {
        snprintf(prog, sizeof(prog), "tlsdiag %s", cmd);
        argv[1] = prog;
    }
    if (strcmp(cmd, "read") == 0)
        return cmd_read(argc - 1, argv + 1, false);
    if (strcmp(cmd, "live") == 0)
        return cmd_read(argc - 1, argv + 1, true);
    if (strcmp(cmd, "decode") == 0)
        return cmd_decode(argc - 1, argv + 1);
    if (strcmp(cmd, "probe") == 0)
        return cmd_probe(argc - 1, argv + 1);
    fprintf(stderr, "tlsdiag: unknown command '%s'\n\n", cmd);
    usage_main(stderr);
    return TD_EXIT_USAGE;
}
