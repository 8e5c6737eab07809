/* cmd_probe.c: `tlsdiag probe` is not built yet (issue "Probe").  It says so
 * plainly instead of pretending. */
#include <stdio.h>

#include "cli.h"

int cmd_probe(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("tlsdiag probe: not implemented yet. Capture a failing attempt instead:\n"
          "  tcpdump -i any -s 0 -w fail.pcap 'tcp port 443' & <run the client>; tlsdiag read fail.pcap\n",
          stderr);
    return TD_EXIT_USAGE;
}
