/* seed.h: records from shared/seed/handshake-failures-field-guide.txt
 * (openssl s_client -msg output against a real server). */
#ifndef TLSDIAG_TESTS_SEED_H
#define TLSDIAG_TESTS_SEED_H

/* SSL 3.0 ClientHello record: 50 suites, compression null, no extensions. */
#define SEED_SSL3_CH                                        \
    "16 03 00 00 8f"                                        \
    "01 00 00 8b 03 00 2a a0 d3 c5 10 b0 0a c0 0b ea"       \
    "fc e7 49 8f d1 66 cd 2a 51 c1 ab f4 ab b7 63 e1"       \
    "a7 3e e0 d7 14 9b 00 00 64 c0 14 c0 0a 00 39 00"       \
    "38 00 37 00 36 00 88 00 87 00 86 00 85 c0 0f c0"       \
    "05 00 35 00 84 c0 13 c0 09 00 33 00 32 00 31 00"       \
    "30 00 9a 00 99 00 98 00 97 00 45 00 44 00 43 00"       \
    "42 c0 0e c0 04 00 2f 00 96 00 41 c0 12 c0 08 00"       \
    "16 00 13 00 10 00 0d c0 0d c0 03 00 0a 00 07 c0"       \
    "11 c0 07 c0 0c c0 02 00 05 00 04 00 ff 01 00"

/* TLS 1.2 ClientHello record offering DHE-RSA-AES128-SHA256 + SCSV. */
#define SEED_TLS12_CH                                       \
    "16 03 01 00 5e"                                        \
    "01 00 00 5a 03 03 4a d3 f5 53 f0 f3 e2 8f a8 a3"       \
    "4a 26 81 91 84 fb fd cf 80 13 21 c6 42 d3 c4 2b"       \
    "a7 70 de 4c e0 48 00 00 04 00 67 00 ff 01 00 00"       \
    "2d 00 23 00 00 00 0d 00 20 00 1e 06 01 06 02 06"       \
    "03 05 01 05 02 05 03 04 01 04 02 04 03 03 01 03"       \
    "02 03 03 02 01 02 02 02 03 00 0f 00 01 01"

#define SEED_SSL3_ALERT "15 03 00 00 02 02 28"
#define SEED_TLS12_ALERT "15 03 03 00 02 02 28"

#endif
