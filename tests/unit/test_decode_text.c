/* test_decode.c: lib/decode (text.c, errors.c, synth.c).
 *
 * Strings marked REAL were printed by the real programs on this machine
 * (OpenSSL 3.0.22, curl 7.88.1, GnuTLS 3.7.9, Python 3 ssl on OpenSSL
 * 3.0.22) against servers on 127.0.0.1, and are pasted verbatim.  Strings
 * marked DOC are quoted from the cited documentation, source or issue
 * thread.  The two field-guide dumps are verbatim from
 * shared/seed/handshake-failures-field-guide.txt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlsdiag/decode.h"
#include "tlsdiag/registry.h"

/* field guide, dump 1 (verbatim) */
static const char guide_dump1[] =
    "# openssl s_client -connect www.taobao.com:443 -ssl3 -msg\n"
    "CONNECTED(00000003)\n"
    ">>> ??? [length 0005]\n"
    "16 03 00 00 8f\n"
    ">>> SSL 3.0 Handshake [length 008f], ClientHello\n"
    "01 00 00 8b 03 00 2a a0 d3 c5 10 b0 0a c0 0b ea\n"
    "fc e7 49 8f d1 66 cd 2a 51 c1 ab f4 ab b7 63 e1\n"
    "a7 3e e0 d7 14 9b 00 00 64 c0 14 c0 0a 00 39 00\n"
    "38 00 37 00 36 00 88 00 87 00 86 00 85 c0 0f c0\n"
    "05 00 35 00 84 c0 13 c0 09 00 33 00 32 00 31 00\n"
    "30 00 9a 00 99 00 98 00 97 00 45 00 44 00 43 00\n"
    "42 c0 0e c0 04 00 2f 00 96 00 41 c0 12 c0 08 00\n"
    "16 00 13 00 10 00 0d c0 0d c0 03 00 0a 00 07 c0\n"
    "11 c0 07 c0 0c c0 02 00 05 00 04 00 ff 01 00\n"
    "<<< ??? [length 0005]\n"
    "15 03 00 00 02\n"
    "<<< SSL 3.0 Alert [length 0002], fatal handshake_failure\n"
    "02 28\n"
    "140191222585232:error:14094410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:s3_pkt.c:1493:SSL alert number 40\n"
    "140191222585232:error:1409E0E5:SSL routines:ssl3_write_bytes:ssl handshake failure:s3_pkt.c:659:\n"
    "---\n"
    "no peer certificate available\n"
    "---\n"
    "No client certificate CA names sent\n";

/* field guide, dump 2 (verbatim) */
static const char guide_dump2[] =
    "# openssl s_client -connect www.taobao.com:443 -cipher DHE-RSA-AES128-SHA256 -msg\n"
    "CONNECTED(00000003)\n"
    ">>> TLS 1.2 [length 0005]\n"
    "16 03 01 00 5e\n"
    ">>> TLS 1.2 Handshake [length 005e], ClientHello\n"
    "01 00 00 5a 03 03 4a d3 f5 53 f0 f3 e2 8f a8 a3\n"
    "4a 26 81 91 84 fb fd cf 80 13 21 c6 42 d3 c4 2b\n"
    "a7 70 de 4c e0 48 00 00 04 00 67 00 ff 01 00 00\n"
    "2d 00 23 00 00 00 0d 00 20 00 1e 06 01 06 02 06\n"
    "03 05 01 05 02 05 03 04 01 04 02 04 03 03 01 03\n"
    "02 03 03 02 01 02 02 02 03 00 0f 00 01 01\n"
    "<<< TLS 1.2 [length 0005]\n"
    "15 03 03 00 02\n"
    "<<< TLS 1.2 Alert [length 0002], fatal handshake_failure\n"
    "02 28\n"
    "139737777813392:error:14077410:SSL routines:SSL23_GET_SERVER_HELLO:sslv3 alert handshake failure:s23_clnt.c:769:\n"
    "---\n"
    "no peer certificate available\n"
    "---\n"
    "No client certificate CA names sent\n";

/* openssl s_client 3.0.22 -tls1_2 -msg against s_server -tls1_3 (real, loopback) */
static const char real_msg[] =
    "CONNECTED(00000003)\n"
    ">>> TLS 1.0, RecordHeader [length 0005]\n"
    "    16 03 01 00 b7\n"
    ">>> TLS 1.2, Handshake [length 00b7], ClientHello\n"
    "    01 00 00 b3 03 03 c3 db 45 f4 f5 92 9e af 14 31\n"
    "    46 6d 48 9c ac fc ef e0 c0 51 9d 5a af f5 47 2c\n"
    "    ff 8b 88 80 c7 23 00 00 38 c0 2c c0 30 00 9f cc\n"
    "    a9 cc a8 cc aa c0 2b c0 2f 00 9e c0 24 c0 28 00\n"
    "    6b c0 23 c0 27 00 67 c0 0a c0 14 00 39 c0 09 c0\n"
    "    13 00 33 00 9d 00 9c 00 3d 00 3c 00 35 00 2f 00\n"
    "    ff 01 00 00 52 00 0b 00 04 03 00 01 02 00 0a 00\n"
    "    0c 00 0a 00 1d 00 17 00 1e 00 19 00 18 00 23 00\n"
    "    00 00 16 00 00 00 17 00 00 00 0d 00 2a 00 28 04\n"
    "    03 05 03 06 03 08 07 08 08 08 09 08 0a 08 0b 08\n"
    "    04 08 05 08 06 04 01 05 01 06 01 03 03 03 01 03\n"
    "    02 04 02 05 02 06 02\n"
    "<<< TLS 1.2, RecordHeader [length 0005]\n"
    "    15 03 03 00 02\n"
    "<<< TLS 1.2, Alert [length 0002], fatal protocol_version\n"
    "    02 46\n"
    "4037F7DB527F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70\n"
    "---\n";

/* openssl s_client 3.0.22 -tls1_2 -debug against s_server -tls1_3 (real, loopback) */
static const char real_debug[] =
    "40D783F67E7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70\n"
    "CONNECTED(00000003)\n"
    "write to 0x55ee68229180 [0x55ee68240ca0] (188 bytes => 188 (0xBC))\n"
    "0000 - 16 03 01 00 b7 01 00 00-b3 03 03 6c d9 c0 75 3e   ...........l..u>\n"
    "0010 - e6 89 c6 ff b1 25 f1 86-2a e0 e5 9e 1f 40 9c ae   .....%..*....@..\n"
    "0020 - 92 32 b4 39 82 2e a2 03-34 a2 70 00 00 38 c0 2c   .2.9....4.p..8.,\n"
    "0030 - c0 30 00 9f cc a9 cc a8-cc aa c0 2b c0 2f 00 9e   .0.........+./..\n"
    "0040 - c0 24 c0 28 00 6b c0 23-c0 27 00 67 c0 0a c0 14   .$.(.k.#.'.g....\n"
    "0050 - 00 39 c0 09 c0 13 00 33-00 9d 00 9c 00 3d 00 3c   .9.....3.....=.<\n"
    "0060 - 00 35 00 2f 00 ff 01 00-00 52 00 0b 00 04 03 00   .5./.....R......\n"
    "0070 - 01 02 00 0a 00 0c 00 0a-00 1d 00 17 00 1e 00 19   ................\n"
    "0080 - 00 18 00 23 00 00 00 16-00 00 00 17 00 00 00 0d   ...#............\n"
    "0090 - 00 2a 00 28 04 03 05 03-06 03 08 07 08 08 08 09   .*.(............\n"
    "00a0 - 08 0a 08 0b 08 04 08 05-08 06 04 01 05 01 06 01   ................\n"
    "00b0 - 03 03 03 01 03 02 04 02-05 02 06 02               ............\n"
    "read from 0x55ee68229180 [0x55ee68238a83] (5 bytes => 5 (0x5))\n"
    "0000 - 15 03 03 00 02                                    .....\n"
    "read from 0x55ee68229180 [0x55ee68238a88] (2 bytes => 2 (0x2))\n"
    "0000 - 02 46                                             .F\n"
    "---\n";

/* xxd of the ClientHello bytes from real_debug */
static const char real_xxd[] =
    "00000000: 1603 0100 b701 0000 b303 036c d9c0 753e  ...........l..u>\n"
    "00000010: e689 c6ff b125 f186 2ae0 e59e 1f40 9cae  .....%..*....@..\n"
    "00000020: 9232 b439 822e a203 34a2 7000 0038 c02c  .2.9....4.p..8.,\n"
    "00000030: c030 009f cca9 cca8 ccaa c02b c02f 009e  .0.........+./..\n"
    "00000040: c024 c028 006b c023 c027 0067 c00a c014  .$.(.k.#.'.g....\n"
    "00000050: 0039 c009 c013 0033 009d 009c 003d 003c  .9.....3.....=.<\n"
    "00000060: 0035 002f 00ff 0100 0052 000b 0004 0300  .5./.....R......\n"
    "00000070: 0102 000a 000c 000a 001d 0017 001e 0019  ................\n"
    "00000080: 0018 0023 0000 0016 0000 0017 0000 000d  ...#............\n"
    "00000090: 002a 0028 0403 0503 0603 0807 0808 0809  .*.(............\n"
    "000000a0: 080a 080b 0804 0805 0806 0401 0501 0601  ................\n"
    "000000b0: 0303 0301 0302 0402 0502 0602            ............\n";

/* hexdump -C of the same bytes */
static const char real_hexdump[] =
    "00000000  16 03 01 00 b7 01 00 00  b3 03 03 6c d9 c0 75 3e  |...........l..u>|\n"
    "00000010  e6 89 c6 ff b1 25 f1 86  2a e0 e5 9e 1f 40 9c ae  |.....%..*....@..|\n"
    "00000020  92 32 b4 39 82 2e a2 03  34 a2 70 00 00 38 c0 2c  |.2.9....4.p..8.,|\n"
    "00000030  c0 30 00 9f cc a9 cc a8  cc aa c0 2b c0 2f 00 9e  |.0.........+./..|\n"
    "00000040  c0 24 c0 28 00 6b c0 23  c0 27 00 67 c0 0a c0 14  |.$.(.k.#.'.g....|\n"
    "00000050  00 39 c0 09 c0 13 00 33  00 9d 00 9c 00 3d 00 3c  |.9.....3.....=.<|\n"
    "00000060  00 35 00 2f 00 ff 01 00  00 52 00 0b 00 04 03 00  |.5./.....R......|\n"
    "00000070  01 02 00 0a 00 0c 00 0a  00 1d 00 17 00 1e 00 19  |................|\n"
    "00000080  00 18 00 23 00 00 00 16  00 00 00 17 00 00 00 0d  |...#............|\n"
    "00000090  00 2a 00 28 04 03 05 03  06 03 08 07 08 08 08 09  |.*.(............|\n"
    "000000a0  08 0a 08 0b 08 04 08 05  08 06 04 01 05 01 06 01  |................|\n"
    "000000b0  03 03 03 01 03 02 04 02  05 02 06 02              |............|\n"
    "000000bc\n";

static struct td_dec_result *dec(const char *s)
{
    struct td_dec_result *r = td_decode_text(s, strlen(s));
    assert_non_null(r);
    return r;
}

static const uint8_t *rec_bytes(const struct td_dec_result *r, uint32_t i)
{
    return r->bytes + r->records[i].off;
}

static bool has_issue(const struct td_dec_result *r, unsigned kind)
{
    for (uint32_t i = 0; i < r->num_issues; i++) {
        if (r->issues[i].kind == kind)
            return true;
    }
    return false;
}

static const struct td_dec_item *find_alert_item(const struct td_dec_result *r, int alert)
{
    for (uint32_t i = 0; i < r->num_items; i++) {
        if (r->items[i].alert == alert)
            return &r->items[i];
    }
    return NULL;
}

/* ---- hex dumps ---- */

static void test_guide_dump1(void **state)
{
    (void)state;
    struct td_dec_result *r = dec(guide_dump1);
    static const uint8_t hdr[] = {0x16, 0x03, 0x00, 0x00, 0x8f};
    static const uint8_t alert[] = {0x15, 0x03, 0x00, 0x00, 0x02, 0x02, 0x28};
    const struct td_dec_item *it;

    assert_int_equal(r->format, TD_DEC_FMT_MSG);
    assert_int_equal(r->num_records, 2);
    assert_int_equal(r->records[0].dir, TD_DEC_DIR_CLIENT);
    assert_int_equal(r->records[0].len, 5 + 0x8f);
    assert_memory_equal(rec_bytes(r, 0), hdr, sizeof(hdr));
    assert_int_equal(rec_bytes(r, 0)[5], 1); /* ClientHello */
    assert_int_equal(rec_bytes(r, 0)[9], 3);  /* client_version 3.0 */
    assert_int_equal(rec_bytes(r, 0)[10], 0);
    assert_int_equal(r->records[0].flags, 0);
    assert_int_equal(r->records[1].dir, TD_DEC_DIR_SERVER);
    assert_int_equal(r->records[1].len, sizeof(alert));
    assert_memory_equal(rec_bytes(r, 1), alert, sizeof(alert));
    assert_int_equal(r->num_issues, 0);
    assert_string_equal(r->target, "www.taobao.com:443");
    it = find_alert_item(r, 40);
    assert_non_null(it);
    assert_int_equal(it->side, TD_DEC_SIDE_PEER);
    assert_string_equal(td_dec_by(it), "server");
    assert_true(it->ambiguous);
    assert_string_equal(it->codes[0], "no_shared_cipher");
    assert_string_equal(it->codes[1], "protocol_version");
    td_dec_result_free(r);
}

static void test_guide_dump2(void **state)
{
    (void)state;
    struct td_dec_result *r = dec(guide_dump2);
    static const uint8_t hdr[] = {0x16, 0x03, 0x01, 0x00, 0x5e, 0x01, 0x00, 0x00, 0x5a};
    static const uint8_t alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};

    assert_int_equal(r->num_records, 2);
    assert_int_equal(r->records[0].dir, TD_DEC_DIR_CLIENT);
    assert_int_equal(r->records[0].len, 5 + 0x5e);
    assert_memory_equal(rec_bytes(r, 0), hdr, sizeof(hdr));
    assert_int_equal(r->records[1].dir, TD_DEC_DIR_SERVER);
    assert_memory_equal(rec_bytes(r, 1), alert, sizeof(alert));
    assert_int_equal(r->records[1].len, sizeof(alert));
    assert_int_equal(r->num_issues, 0);
    assert_non_null(find_alert_item(r, 40));
    td_dec_result_free(r);
}

static void test_real_msg(void **state)
{
    (void)state;
    struct td_dec_result *r = dec(real_msg);
    const struct td_dec_item *it;

    assert_int_equal(r->num_records, 2);
    assert_int_equal(r->records[0].dir, TD_DEC_DIR_CLIENT);
    assert_int_equal(r->records[0].len, 5 + 0xb7);
    assert_int_equal(r->records[1].dir, TD_DEC_DIR_SERVER);
    assert_int_equal(r->records[1].len, 7);
    assert_int_equal(rec_bytes(r, 1)[6], 70);
    assert_int_equal(r->num_issues, 0);
    it = find_alert_item(r, 70);
    assert_non_null(it);
    assert_int_equal(it->num_codes, 1);
    assert_string_equal(it->codes[0], "protocol_version");
    assert_string_equal(td_dec_by(it), "server");
    td_dec_result_free(r);
}

static void test_real_debug(void **state)
{
    (void)state;
    struct td_dec_result *r = dec(real_debug);

    assert_int_equal(r->format, TD_DEC_FMT_DEBUG);
    assert_int_equal(r->num_records, 2);
    assert_int_equal(r->records[0].dir, TD_DEC_DIR_CLIENT);
    assert_int_equal(r->records[0].len, 188);
    assert_int_equal(rec_bytes(r, 0)[187], 0x02);
    assert_int_equal(r->records[1].dir, TD_DEC_DIR_SERVER);
    assert_int_equal(r->records[1].len, 7);
    assert_int_equal(rec_bytes(r, 1)[6], 0x46);
    assert_int_equal(r->num_issues, 0);
    td_dec_result_free(r);
}

static void test_xxd_and_hexdump(void **state)
{
    (void)state;
    struct td_dec_result *a = dec(real_xxd), *b = dec(real_hexdump), *c = dec(real_debug);

    assert_int_equal(a->num_records, 1);
    assert_int_equal(b->num_records, 1);
    assert_int_equal(a->records[0].len, 188);
    assert_int_equal(b->records[0].len, 188);
    assert_int_equal(a->records[0].dir, TD_DEC_DIR_CLIENT);
    assert_true(a->records[0].flags & TD_DEC_REC_DIR_INFERRED);
    assert_memory_equal(rec_bytes(a, 0), rec_bytes(c, 0), 188);
    assert_memory_equal(rec_bytes(b, 0), rec_bytes(c, 0), 188);
    assert_int_equal(a->num_issues, 0);
    assert_int_equal(b->num_issues, 0);
    td_dec_result_free(a);
    td_dec_result_free(b);
    td_dec_result_free(c);
}

static void test_bare_hex_alert_after_hello(void **state)
{
    (void)state;
    /* bare hex, no arrows: ClientHello (field guide 2) then the alert */
    struct td_dec_result *r = dec(
        "16 03 01 00 5e 01 00 00 5a 03 03 4a d3 f5 53 f0 f3 e2 8f a8 a3\n"
        "4a 26 81 91 84 fb fd cf 80 13 21 c6 42 d3 c4 2b\n"
        "a7 70 de 4c e0 48 00 00 04 00 67 00 ff 01 00 00\n"
        "2d 00 23 00 00 00 0d 00 20 00 1e 06 01 06 02 06\n"
        "03 05 01 05 02 05 03 04 01 04 02 04 03 03 01 03\n"
        "02 03 03 02 01 02 02 02 03 00 0f 00 01 01\n"
        "\n"
        "15 03 03 00 02 02 28\n");
    assert_int_equal(r->num_records, 2);
    assert_int_equal(r->records[0].dir, TD_DEC_DIR_CLIENT);
    assert_int_equal(r->records[1].dir, TD_DEC_DIR_SERVER);
    assert_true(r->records[1].flags & TD_DEC_REC_DIR_INFERRED);
    td_dec_result_free(r);
}

static void test_trace_alert(void **state)
{
    (void)state;
    /* REAL: openssl s_client 3.0.22 -tls1_2 -trace against s_server -tls1_3 */
    struct td_dec_result *r = dec("Received Record\n"
                                  "Header:\n"
                                  "  Version = TLS 1.2 (0x303)\n"
                                  "  Content Type = Alert (21)\n"
                                  "  Length = 2\n"
                                  "    Level=fatal(2), description=protocol version(70)\n");
    const struct td_dec_item *it = find_alert_item(r, 70);
    assert_non_null(it);
    assert_int_equal(it->side, TD_DEC_SIDE_PEER);
    assert_string_equal(td_dec_by(it), "server");
    td_dec_result_free(r);
}

/* ---- negative neighbours ---- */

static void test_odd_hex(void **state)
{
    (void)state;
    struct td_dec_result *r = dec(">>> TLS 1.2 [length 0005]\n16 03 01 00 5\n");
    assert_true(has_issue(r, TD_DEC_ISSUE_ODD_HEX));
    assert_int_equal(r->issues[0].line, 2);
    assert_int_equal(r->num_records, 0);
    td_dec_result_free(r);
}

static void test_length_mismatch(void **state)
{
    (void)state;
    struct td_dec_result *r =
        dec("<<< TLS 1.2 Alert [length 0003], fatal handshake_failure\n15 03 03 00 02 02 28\n");
    assert_true(has_issue(r, TD_DEC_ISSUE_LENGTH_MISMATCH));
    assert_int_equal(r->issues[0].expected, 3);
    assert_int_equal(r->issues[0].got, 7);
    td_dec_result_free(r);
}

static void test_record_truncated(void **state)
{
    (void)state;
    /* the header printed, the body lost: the record says 0x8f bytes follow */
    struct td_dec_result *r = dec(">>> ??? [length 0005]\n16 03 00 00 8f\n");
    assert_true(has_issue(r, TD_DEC_ISSUE_RECORD_TRUNCATED));
    assert_int_equal(r->num_records, 1);
    assert_true(r->records[0].flags & TD_DEC_REC_TRUNCATED);
    td_dec_result_free(r);
}

static void test_not_tls_hex(void **state)
{
    (void)state;
    /* "HTTP/1.1 400" as hex from the server */
    struct td_dec_result *r = dec("<<< ??? [length 000c]\n48 54 54 50 2f 31 2e 31 20 34 30 30\n");
    assert_int_equal(r->num_records, 1);
    assert_true(r->records[0].flags & TD_DEC_REC_NOT_TLS);
    assert_true(has_issue(r, TD_DEC_ISSUE_NOT_TLS));
    td_dec_result_free(r);
}

static void test_prose_not_recognised(void **state)
{
    (void)state;
    struct td_dec_result *r = dec("The quick brown fox jumps over the lazy dog.\n"
                                  "Add a bead to the cafe\n"
                                  "It worked yesterday, now it does not.\n");
    assert_false(td_dec_recognised(r));
    assert_int_equal(r->num_items, 0);
    assert_int_equal(r->num_records, 0);
    assert_int_equal(r->unknown_lines, 3);
    assert_int_equal(r->first_unknown_line, 1);
    assert_int_equal(r->num_issues, 0);
    td_dec_result_free(r);
}

static void test_garbage_no_crash(void **state)
{
    (void)state;
    uint8_t buf[8192];
    uint32_t x = 12345;
    for (int round = 0; round < 50; round++) {
        struct td_dec_result *r;
        for (size_t i = 0; i < sizeof(buf); i++) {
            x = x * 1103515245u + 12345u;
            /* biased to hex digits, spaces, arrows and newlines */
            static const char alpha[] = "0123456789abcdef   \n\n>><<-:|[length ]";
            buf[i] = (round & 1) ? (uint8_t)(x >> 16) : (uint8_t)alpha[(x >> 16) % (sizeof(alpha) - 1)];
        }
        r = td_decode_text((const char *)buf, sizeof(buf));
        assert_non_null(r);
        assert_true(r->num_records <= TD_DEC_MAX_RECORDS);
        for (uint32_t i = 0; i < r->num_records; i++)
            assert_true((uint64_t)r->records[i].off + r->records[i].len <= r->bytes_len);
        assert_true(r->num_items <= r->total_items);
        assert_true(r->num_issues <= r->total_issues);
        td_dec_result_free(r);
    }
    {
        struct td_dec_result *r = td_decode_text(NULL, 0);
        assert_non_null(r);
        assert_false(td_dec_recognised(r));
        td_dec_result_free(r);
    }
}

static void test_caps(void **state)
{
    (void)state;
    /* 600 one-record arrow blocks: records are capped, the cap is reported */
    size_t cap = 600 * 40, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    for (int i = 0; i < 600; i++) {
        const char *blk = ">>> x\n15 03 03 00 02 02 28\n<<< x\n15 03 03 00 02 02 28\n";
        size_t l = strlen(blk);
        if (n + l >= cap)
            break;
        memcpy(s + n, blk, l);
        n += l;
    }
    {
        struct td_dec_result *r = td_decode_text(s, n);
        assert_non_null(r);
        assert_int_equal(r->num_records, TD_DEC_MAX_RECORDS);
        assert_true(r->total_records > TD_DEC_MAX_RECORDS || has_issue(r, TD_DEC_ISSUE_LIMIT_RECORDS));
        assert_true(has_issue(r, TD_DEC_ISSUE_LIMIT_RECORDS));
        td_dec_result_free(r);
    }
    free(s);
}

/* ---- error strings ---- */

struct estr {
    const char *origin;
    const char *line;
    uint8_t kind;
    uint8_t side;
    int alert;
    const char *code0; /* first-ranked contract code */
    const char *by;    /* "client", "server", "unknown" */
};

#define K_ERR TD_DEC_ITEM_ERROR
#define K_AL TD_DEC_ITEM_ALERT_TEXT
#define K_BARE TD_DEC_ITEM_BARE_ALERT
#define PEER TD_DEC_SIDE_PEER
#define LOCAL TD_DEC_SIDE_LOCAL
#define UNK TD_DEC_SIDE_UNKNOWN

static const struct estr estrs[] = {
    /* ---- REAL, produced here ---- */
    {"REAL s_client -tls1_2 vs s_server -tls1_3",
     "408741158D7F0000:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70",
     K_AL, PEER, 70, "protocol_version", "unknown"},
    {"REAL s_client -cipher AES256-SHA vs s_server -cipher AES128-SHA",
     "4077A904137F0000:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:../ssl/record/rec_layer_s3.c:1602:SSL alert number 40",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"REAL s_server side of the same",
     "40579B98B97F0000:error:0A0000C1:SSL routines:tls_post_process_client_hello:no shared cipher:../ssl/statem/statem_srvr.c:2226:",
     K_ERR, LOCAL, -1, "no_shared_cipher", "server"},
    {"REAL s_server -Verify 1, client without certificate",
     "40075D69147F0000:error:0A0000C7:SSL routines:tls_process_client_certificate:peer did not return a certificate:../ssl/statem/statem_srvr.c:3517:",
     K_ERR, LOCAL, -1, "client_cert_missing", "server"},
    {"REAL s_client -verify_return_error vs self-signed server",
     "40F790BF577F0000:error:0A000086:SSL routines:tls_post_process_server_certificate:certificate verify failed:../ssl/statem/statem_clnt.c:1889:",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL s_server side of the same",
     "409794D9CF7F0000:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1602:SSL alert number 48",
     K_AL, PEER, 48, "server_cert_rejected", "unknown"},
    {"REAL s_server -tls1_3 side of a TLS 1.2 client",
     "40B74584DC7F0000:error:0A000102:SSL routines:tls_early_post_process_client_hello:unsupported protocol:../ssl/statem/statem_srvr.c:1664:",
     K_ERR, LOCAL, -1, "protocol_version", "server"}, /* the function names the server's state machine */
    {"REAL s_client vs s_server that exited",
     "4027EBD1277F0000:error:0A000126:SSL routines:ssl3_read_n:unexpected eof while reading:../ssl/record/rec_layer_s3.c:318:",
     K_ERR, PEER, -1, "closed_by_server", "unknown"},
    {"REAL curl to python3 -m http.server",
     "curl: (35) OpenSSL/3.0.22: error:0A00010B:SSL routines::wrong version number",
     K_ERR, LOCAL, -1, "not_tls", "client"},
    {"REAL curl vs self-signed s_server",
     "curl: (60) SSL certificate problem: self-signed certificate",
     K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"REAL curl vs server closing with SO_LINGER 0",
     "curl: (35) Recv failure: Connection reset by peer",
     K_ERR, PEER, -1, "reset_by_server", "server"},
    {"REAL curl vs server closing after the ClientHello",
     "curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to 127.0.0.1:44331 ",
     K_ERR, PEER, -1, "closed_by_server", "server"},
    {"REAL curl --max-time 2 vs a silent server",
     "curl: (28) Connection timed out after 2001 milliseconds",
     K_ERR, UNK, -1, "server_silent", "unknown"},
    {"REAL curl to a closed port",
     "curl: (7) Failed to connect to 127.0.0.1 port 44323 after 0 ms: Couldn't connect to server",
     K_ERR, PEER, -1, "tcp_refused", "server"},
    {"REAL python3 ssl to python3 -m http.server",
     "ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
     K_ERR, LOCAL, -1, "not_tls", "unknown"},
    {"REAL python3 ssl vs self-signed s_server",
     "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL python3 ssl maximum_version TLS 1.2 vs s_server -tls1_3",
     "ssl.SSLError: [SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)",
     K_AL, PEER, 70, "protocol_version", "unknown"},
    {"REAL python3 ssl without client cert vs s_server -Verify 1 -no_tls1_3",
     "ssl.SSLError: [SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"REAL python3 ssl vs server closing after the ClientHello",
     "ssl.SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)",
     K_ERR, PEER, -1, "closed_by_server", "unknown"},
    {"REAL python3 ssl vs server resetting",
     "ConnectionResetError: [Errno 104] Connection reset by peer",
     K_ERR, PEER, -1, "reset_by_server", "unknown"},
    {"REAL gnutls-cli NORMAL:-VERS-TLS1.3 vs s_server -tls1_3",
     "*** Fatal error: A TLS fatal alert has been received.",
     K_ERR, PEER, -1, "alert", "unknown"},
    {"REAL gnutls-cli, next line", "*** Received alert [70]: Error in protocol version",
     K_AL, PEER, 70, "protocol_version", "unknown"},
    {"REAL gnutls-cli vs server closing after the ClientHello",
     "*** Fatal error: The TLS connection was non-properly terminated.",
     K_ERR, PEER, -1, "closed_by_server", "server"},
    {"REAL gnutls-cli vs server resetting", "*** Fatal error: Error in the pull function.",
     K_ERR, PEER, -1, "reset_by_server", "server"},
    {"REAL gnutls-cli to python3 -m http.server",
     "*** Fatal error: An unexpected TLS packet was received.",
     K_ERR, LOCAL, -1, "not_tls", "client"},
    {"REAL gnutls-cli vs self-signed s_server", "*** Fatal error: Error in the certificate.",
     K_ERR, LOCAL, -1, "server_cert_rejected", "client"},

    /* ---- REAL, produced here by the lab (tests/lab) and by small clients
     * against servers on 127.0.0.1: Java 17.0.15 (javax.net.ssl SSLSocket),
     * Go 1.19.8 (crypto/tls Dial), Python 3.11 ssl, curl 7.88.1, GnuTLS
     * 3.7.9, nginx 1.22.1 error log (info), OpenSSL 3.0.22 ---- */
    {"REAL Java 17 vs self-signed s_server",
     "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL Java 17 TLSv1.2 vs s_server -tls1_3",
     "javax.net.ssl.SSLHandshakeException: Received fatal alert: protocol_version",
     K_AL, PEER, 70, "protocol_version", "unknown"},
    {"REAL Java 17 ECDHE-GCM only vs s_server -cipher AES128-SHA",
     "javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"REAL Java 17 without client cert vs s_server -Verify 1 (TLS 1.3, on the first read)",
     "javax.net.ssl.SSLHandshakeException: Received fatal alert: certificate_required",
     K_AL, PEER, 116, "client_cert_missing", "unknown"},
    {"REAL Java 17 vs expired server certificate",
     "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL Go 1.19 vs self-signed s_server", "x509: certificate signed by unknown authority",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL Go 1.19 MaxVersion 1.2 vs s_server -tls1_3", "remote error: tls: protocol version not supported",
     K_AL, PEER, 70, "protocol_version", "unknown"},
    {"REAL Go 1.19 without client cert vs s_server -Verify 1", "remote error: tls: certificate required",
     K_AL, PEER, 116, "client_cert_missing", "unknown"},
    {"REAL Go 1.19 TLS_RSA_WITH_AES_128_CBC_SHA only vs nginx ECDHE-only", "remote error: tls: handshake failure",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"REAL Go 1.19 vs expired server certificate",
     "x509: certificate has expired or is not yet valid: current time 2026-11-27T03:11:10Z is after 2021-01-01T00:00:00Z",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL Go 1.19 vs certificate for another name", "x509: certificate is valid for wrong.lab.test, not server.lab.test",
     K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"REAL Python 3.11 ssl AES128-SHA only vs nginx ECDHE-only",
     "SSLError(1, '[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure (_ssl.c:1006)')",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"REAL Python 3.11 ssl without client cert vs s_server -Verify 1 (TLS 1.3)",
     "SSLError(1, '[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)')",
     K_AL, PEER, 116, "client_cert_missing", "unknown"},
    {"REAL Python 3.11 ssl vs expired server certificate",
     "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)')",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL Python 3.11 ssl vs certificate for another name",
     "SSLCertVerificationError(1, \"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname mismatch, certificate is not valid for 'server.lab.test'. (_ssl.c:1006)\")",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"REAL curl 7.88 --ciphers AES128-SHA vs nginx ECDHE-only",
     "curl: (35) OpenSSL/3.0.22: error:0A000410:SSL routines::sslv3 alert handshake failure",
     K_AL, PEER, 40, "no_shared_cipher", "server"},
    {"REAL curl 7.88 without client cert vs s_server -Verify 1 (TLS 1.3, after the handshake)",
     "curl: (56) OpenSSL SSL_read: OpenSSL/3.0.22: error:0A00045C:SSL routines::tlsv13 alert certificate required, errno 0",
     K_AL, PEER, 116, "client_cert_missing", "server"},
    {"REAL curl 7.88 reset by the server host's firewall (lab fail_server_host_reset)",
     "curl: (35) Recv failure: Connection reset by peer",
     K_ERR, PEER, -1, "reset_by_server", "server"},
    {"REAL gnutls-cli 3.7.9 RSA-AES128-CBC only vs nginx ECDHE-only", "*** Received alert [40]: Handshake failed",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"REAL nginx 1.22 error log, client offering no ECDHE suite",
     "2026/11/27 03:10:53 [info] 29166#29166: *1 SSL_do_handshake() failed (SSL: error:0A0000C1:SSL routines::no shared cipher) while SSL handshaking, client: 127.0.0.1, server: 127.0.0.1:47444",
     K_ERR, LOCAL, -1, "no_shared_cipher", "server"},
    {"REAL nginx 1.22 error log, ssl_verify_client on without client cert",
     "2026/11/27 03:10:54 [info] 29166#29166: *4 client sent no required SSL certificate while reading client request headers, client: 127.0.0.1, server: , request: \"GET / HTTP/1.0\"",
     K_ERR, LOCAL, -1, "client_cert_missing", "server"},
    {"REAL s_client -fallback_scsv retry (lab fail_fallback_scsv)",
     "402799D66F7F0000:error:0A00043E:SSL routines:ssl3_read_bytes:tlsv1 alert inappropriate fallback:../ssl/record/rec_layer_s3.c:1602:SSL alert number 86",
     K_AL, PEER, 86, "inappropriate_fallback", "unknown"},
    {"REAL s_client vs s_server -servername_fatal (lab fail_sni_unrecognized)",
     "40071090BC7F0000:error:0A000458:SSL routines:ssl3_read_bytes:tlsv1 unrecognized name:../ssl/record/rec_layer_s3.c:1602:SSL alert number 112",
     K_AL, PEER, 112, "sni_unrecognized", "unknown"},
    {"REAL s_client -tls1_2 refusing a TLS 1.0 ServerHello (lab fail_version_fallback)",
     "4007ED4B577F0000:error:0A000102:SSL routines:ssl_choose_client_version:unsupported protocol:../ssl/statem/statem_lib.c:1980:",
     K_ERR, LOCAL, -1, "protocol_version", "unknown"},
    {"REAL s_server log, 1024-bit client cert (lab fail_client_cert_weak_key_tls13)",
     "401709AD357F0000:error:0A000086:SSL routines:tls_process_client_certificate:certificate verify failed:../ssl/statem/statem_srvr.c:3530:",
     K_ERR, LOCAL, -1, "client_cert_rejected", "server"},

    /* ---- DOC: quoted from documentation, sources and issue threads ---- */
    {"DOC field guide (Android/BoringSSL, server rejected the client cert)",
     "SSL handshake aborted: ssl=0x7c1bbf6e88: Failure in SSL library, usually a protocol errorerror:10000412:SSL routines:OPENSSL_internal:SSLV3_ALERT_BAD_CERTIFICATE (external/boringssl/src/ssl/tls_record.cc:592 0x7c6c627e48:0x00000001)",
     K_AL, PEER, 42, "client_cert_rejected", "server"},
    {"DOC field guide, OpenSSL 1.0 in dump 2",
     "139737777813392:error:14077410:SSL routines:SSL23_GET_SERVER_HELLO:sslv3 alert handshake failure:s23_clnt.c:769:",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"DOC Huawei ELB FAQ (Java)",
     "Exception in thread \"main\" javax.net.ssl.SSLHandshakeException: Received fatal alert: handshake_failure",
     K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"DOC swiftinc/gpi-v4-demo#13 (Java)",
     "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"DOC Go crypto/tls alert.go alertText (bad certificate)", "remote error: tls: bad certificate",
     K_AL, PEER, 42, "server_cert_rejected", "unknown"},
    {"DOC Go crypto/tls alert.go alertText (unknown CA)",
     "remote error: tls: unknown certificate authority", K_AL, PEER, 48, "server_cert_rejected",
     "unknown"},
    {"DOC Go crypto/tls alert.go alertText (version)",
     "remote error: tls: protocol version not supported", K_AL, PEER, 70, "protocol_version",
     "unknown"},
    {"DOC hashicorp/nomad#18833 (Go)",
     "tls: failed to verify certificate: x509: certificate signed by unknown authority",
     K_ERR, LOCAL, -1, "server_cert_rejected", "unknown"},
    {"DOC dotnet/runtime#47035 (.NET)",
     "---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure.",
     K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"DOC dotnet/corefx#4822 (.NET)",
     "System.IO.IOException: Authentication failed because the remote party has closed the transport stream.",
     K_ERR, PEER, -1, "closed_by_server", "server"},
    {"DOC rolandshoemaker/theca#1 (curl+NSS)", "* NSS error -12286 (SSL_ERROR_NO_CYPHER_OVERLAP)",
     K_ERR, LOCAL, -1, "no_shared_cipher", "unknown"},
    {"DOC NSS SSLerrs.h text", "Cannot communicate securely with peer: no common encryption algorithm(s).",
     K_ERR, LOCAL, -1, "no_shared_cipher", "unknown"},
    {"DOC NSS secerr.h", "SEC_ERROR_UNKNOWN_ISSUER", K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"DOC NSS sslerr.h", "SSL_ERROR_BAD_CERT_DOMAIN", K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"DOC NSS secerr.h", "SEC_ERROR_EXPIRED_CERTIFICATE", K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"DOC crowdsecurity/hub#1262 (HAProxy)",
     "192.168.1.1:33283 [28/Feb/2025:02:07:51.623] 1_HTTPS_frontend/192.168.5.100:443: SSL handshake failure (error:0A0000C1:SSL routines::no shared cipher)",
     K_ERR, LOCAL, -1, "no_shared_cipher", "server"},
    {"DOC HAProxy src/connection.c CO_ER_SSL_CA_FAIL", "SSL client CA chain cannot be verified",
     K_ERR, LOCAL, -1, "client_cert_rejected", "server"},
    {"DOC HAProxy src/connection.c CO_ER_SSL_HANDSHAKE (generic)",
     "10.0.0.1:5555 [01/Jan/2024:00:00:00.000] fe/1: SSL handshake failure",
     K_ERR, UNK, -1, "unknown", "unknown"},
    {"DOC OpenResty error log quoted in an issue (nginx)",
     "2019/05/09 22:23:48 [info] 5182#0: *5543 peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking, ",
     K_ERR, PEER, -1, "closed_by_client", "client"},
    {"DOC nginx upstream variant (issue threads)",
     "peer closed connection in SSL handshake while SSL handshaking to upstream",
     K_ERR, PEER, -1, "closed_by_server", "server"},
    {"DOC nginx ngx_http_request.c", "client sent no required SSL certificate while reading client request headers",
     K_ERR, LOCAL, -1, "client_cert_missing", "server"},

    /* ---- bare alerts ---- */
    {"bare number", "40", K_BARE, UNK, 40, "no_shared_cipher", "unknown"},
    {"bare IANA name", "bad_certificate", K_BARE, UNK, 42, "server_cert_rejected", "unknown"},
    /* BoringSSL/Python reason codes: OpenSSL's wording for a RECEIVED alert */
    {"bare BoringSSL name", "SSLV3_ALERT_BAD_CERTIFICATE", K_AL, PEER, 42, "server_cert_rejected", "unknown"},
    {"bare name", "handshake_failure", K_BARE, UNK, 40, "no_shared_cipher", "unknown"},
    {"bare Python name", "TLSV1_ALERT_UNKNOWN_CA", K_AL, PEER, 48, "server_cert_rejected", "unknown"},
    {"bare number 112", "112", K_BARE, UNK, 112, "sni_unrecognized", "unknown"},
    {"bare number 120", " 120 ", K_BARE, UNK, 120, "alpn_mismatch", "unknown"},

    /* ---- audit: group 1, Go's alert error without "remote error:" ---- */
    {"AUDIT Go local alert", "tls: handshake failure", K_AL, LOCAL, 40, "no_shared_cipher", "unknown"},
    {"AUDIT Go server log, local alert",
     "http: TLS handshake error from 192.0.2.7:51234: tls: handshake failure",
     K_AL, LOCAL, 40, "no_shared_cipher", "server"},
    {"AUDIT Go remote alert (kept)", "remote error: tls: handshake failure", K_AL, PEER, 40,
     "no_shared_cipher", "unknown"},
    /* ---- group 2, Windows SChannel / .NET ---- */
    {"AUDIT SChannel name", "SEC_E_ILLEGAL_MESSAGE", K_ERR, PEER, -1, "no_shared_cipher", "unknown"},
    {"AUDIT SChannel name and value", "SEC_E_ILLEGAL_MESSAGE (0x80090326)", K_ERR, PEER, -1,
     "no_shared_cipher", "unknown"},
    {"AUDIT curl schannel",
     "schannel: next InitializeSecurityContext failed: SEC_E_ILLEGAL_MESSAGE (0x80090326) - This error usually occurs when a fatal SSL/TLS alert is received (e.g. handshake failed).",
     K_ERR, PEER, -1, "no_shared_cipher", "unknown"},
    {"AUDIT .NET outer exception", "A call to SSPI failed, see inner exception.", K_ERR, UNK, -1,
     "unknown", "unknown"},
    {"AUDIT SChannel untrusted root", "SEC_E_UNTRUSTED_ROOT (0x80090325)", K_ERR, LOCAL, -1,
     "server_cert_rejected", "client"},
    {"AUDIT SChannel wrong principal", "SEC_E_WRONG_PRINCIPAL (0x80090322)", K_ERR, LOCAL, -1,
     "server_cert_rejected", "client"},
    {"AUDIT SChannel expired", "SEC_E_CERT_EXPIRED (0x80090328)", K_ERR, LOCAL, -1,
     "server_cert_rejected", "client"},
    {"AUDIT SChannel algorithm mismatch", "SEC_E_ALGORITHM_MISMATCH (0x80090331)", K_ERR, LOCAL, -1,
     "no_shared_cipher", "unknown"},
    {"AUDIT SChannel internal error", "SEC_E_INTERNAL_ERROR (0x80090304)", K_ERR, LOCAL, -1,
     "internal_error", "unknown"},
    {"AUDIT SChannel value only", "InitializeSecurityContext failed: 0x80090326", K_ERR, PEER, -1,
     "no_shared_cipher", "unknown"},
    /* ---- group 3, alert number forms ---- */
    {"AUDIT alert 40", "alert 40", K_BARE, UNK, 40, "no_shared_cipher", "unknown"},
    {"AUDIT alert 112", "alert 112", K_BARE, UNK, 112, "sni_unrecognized", "unknown"},
    {"AUDIT 0x28", "0x28", K_BARE, UNK, 40, "no_shared_cipher", "unknown"},
    {"AUDIT 0x46", "0x46", K_BARE, UNK, 70, "protocol_version", "unknown"},
    {"AUDIT alert 0x70", "alert 0x70", K_BARE, UNK, 112, "sni_unrecognized", "unknown"},
    {"AUDIT alert number 42", "alert number 42", K_BARE, UNK, 42, "server_cert_rejected", "unknown"},
    /* ---- group 4, Chrome ---- */
    {"AUDIT Chrome CA", "NET::ERR_CERT_AUTHORITY_INVALID", K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"AUDIT Chrome name", "NET::ERR_CERT_COMMON_NAME_INVALID", K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"AUDIT Chrome date", "NET::ERR_CERT_DATE_INVALID", K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    {"AUDIT Chrome protocol", "ERR_SSL_PROTOCOL_ERROR", K_ERR, UNK, -1, "protocol_error", "unknown"},
    {"AUDIT Chrome version/cipher", "ERR_SSL_VERSION_OR_CIPHER_MISMATCH", K_ERR, LOCAL, -1,
     "protocol_version", "client"},
    /* ---- group 5, Go name mismatch (Go 1.20+ prefix too) ---- */
    {"AUDIT Go name", "x509: certificate is valid for good.example, not wrong.example", K_ERR, LOCAL,
     -1, "server_cert_rejected", "client"},
    {"AUDIT Go 1.20 name",
     "tls: failed to verify certificate: x509: certificate is valid for good.example, not wrong.example",
     K_ERR, LOCAL, -1, "server_cert_rejected", "client"},
    /* ---- group 6, OpenSSL's "sslv3 alert" wording alone ---- */
    {"AUDIT bare sslv3 alert", "sslv3 alert handshake failure", K_AL, PEER, 40, "no_shared_cipher", "unknown"},
    {"AUDIT bare tlsv1 alert", "tlsv1 alert unknown ca", K_AL, PEER, 48, "server_cert_rejected", "unknown"},
};

/* what the audit's strings must say, beyond the table's fields */
static void expect_explained(const char *line, const char *id, const char *const *words)
{
    struct td_dec_result *r = dec(line);
    char buf[2048];

    print_message("  %s\n", line);
    assert_int_equal(r->num_items, 1);
    assert_string_equal(r->items[0].id, id);
    assert_true(td_dec_explain(&r->items[0], "", buf, sizeof(buf)) < sizeof(buf) - 1);
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strstr(buf, words[i]) == NULL)
            print_message("  missing \"%s\" in: %s\n", words[i], buf);
        assert_non_null(strstr(buf, words[i]));
    }
    td_dec_result_free(r);
}

static void test_audit_go_local_alert(void **state)
{
    (void)state;
    expect_explained("tls: handshake failure", "go.local_alert",
                     (const char *[]){"decided locally", "handshake_failure(40)",
                                      "this side failed the handshake", NULL});
    expect_explained("remote error: tls: handshake failure", "go.remote_error",
                     (const char *[]){"raised by the peer", "handshake_failure(40)", NULL});
    /* not Go's "tls: ": a word ending in "tls" */
    {
        struct td_dec_result *r = dec("mtls: handshake failure");
        assert_true(r->num_items == 0 || strcmp(r->items[0].id, "go.local_alert") != 0);
        td_dec_result_free(r);
    }
}

static void test_audit_schannel(void **state)
{
    (void)state;
    expect_explained("SEC_E_ILLEGAL_MESSAGE (0x80090326)", "schannel.illegal_message",
                     (const char *[]){"fatal alert from the peer", "raised by the peer", NULL});
    expect_explained("schannel: next InitializeSecurityContext failed: SEC_E_ILLEGAL_MESSAGE (0x80090326) - This error usually occurs when a fatal SSL/TLS alert is received (e.g. handshake failed).",
                     "schannel.illegal_message", (const char *[]){"0x80090326", NULL});
    expect_explained("A call to SSPI failed, see inner exception.", "dotnet.sspi_failed",
                     (const char *[]){"inner exception", "InnerException", NULL});
    expect_explained("SEC_E_UNTRUSTED_ROOT (0x80090325)", "schannel.untrusted_root",
                     (const char *[]){"0x80090325", "root", NULL});
    expect_explained("SEC_E_WRONG_PRINCIPAL", "schannel.wrong_principal",
                     (const char *[]){"0x80090322", "hostname mismatch", NULL});
    expect_explained("SEC_E_CERT_EXPIRED", "schannel.cert_expired",
                     (const char *[]){"0x80090328", "expired", NULL});
    expect_explained("SEC_E_ALGORITHM_MISMATCH", "dotnet.algorithm_mismatch",
                     (const char *[]){"0x80090331", NULL});
    expect_explained("SEC_E_INTERNAL_ERROR", "schannel.internal_error",
                     (const char *[]){"0x80090304", "private key", NULL});
    /* the .NET wrapper with the SChannel reason on the same line: the reason wins */
    expect_explained("AuthenticationException: A call to SSPI failed, see inner exception. ---> Win32Exception: SEC_E_UNTRUSTED_ROOT",
                     "schannel.untrusted_root", (const char *[]){"0x80090325", NULL});
}

static void test_audit_alert_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        long num;
        int alert;
    } t[] = {
        {"40", 40, 40},           {"alert 40", 40, 40},          {"alert 112", 112, 112},
        {"0x28", 40, 40},         {"0x46", 70, 70},              {"alert 0x70", 112, 112},
        {"alert number 42", 42, 42}, {"Alert 0X28.", 40, 40},    {"alert 7", 7, -1},
        {"0x07", 7, -1},          {"alert 256", 256, -1},        {"alert 0x100", 256, -1},
        {"alert", -1, -1},        {"0x", -1, -1},                {"alert 4O", -1, -1},
        {"alert 40 41", -1, -1},  {"1234567", -1, -1},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        print_message("  %s\n", t[i].s);
        assert_int_equal(td_dec_alert_number(t[i].s, strlen(t[i].s)), t[i].num);
        assert_int_equal(td_dec_alert_lookup(t[i].s, strlen(t[i].s)), t[i].alert);
    }
    /* numbers the registry does not assign are not explained */
    {
        struct td_dec_result *r = dec("alert 7\n");
        assert_false(td_dec_recognised(r));
        td_dec_result_free(r);
        r = dec("0x07\n");
        assert_false(td_dec_recognised(r));
        td_dec_result_free(r);
    }
}

static void test_audit_chrome(void **state)
{
    (void)state;
    expect_explained("NET::ERR_CERT_AUTHORITY_INVALID", "chrome.cert_authority",
                     (const char *[]){"trust", "issuer", NULL});
    expect_explained("NET::ERR_CERT_COMMON_NAME_INVALID", "chrome.cert_name",
                     (const char *[]){"hostname mismatch", "subjectAltName", NULL});
    expect_explained("NET::ERR_CERT_DATE_INVALID", "chrome.cert_date",
                     (const char *[]){"expired", "clock", NULL});
    expect_explained("ERR_SSL_PROTOCOL_ERROR", "chrome.protocol_error",
                     (const char *[]){"curl -v", NULL});
    expect_explained("ERR_SSL_VERSION_OR_CIPHER_MISMATCH", "chrome.version_or_cipher",
                     (const char *[]){"TLS 1.0/1.1", NULL});
}

static void test_audit_go_name(void **state)
{
    (void)state;
    expect_explained("x509: certificate is valid for good.example, not wrong.example", "go.name",
                     (const char *[]){"hostname mismatch", "It covers good.example; the client asked for wrong.example.",
                                      "connect with a name the certificate covers",
                                      "reissue the certificate", NULL});
    expect_explained("tls: failed to verify certificate: x509: certificate is valid for a.example, b.example, not c.example",
                     "go.name", (const char *[]){"It covers a.example, b.example; the client asked for c.example.", NULL});
    {
        struct td_dec_result *r = dec("tls: failed to verify certificate: x509: certificate is valid for good.example, not wrong.example");
        char buf[2048];
        td_dec_explain(&r->items[0], "", buf, sizeof(buf));
        assert_null(strstr(buf, "Ambiguous"));
        assert_null(strstr(buf, "client_cert_rejected"));
        assert_null(strstr(buf, "CA pool"));
        td_dec_result_free(r);
    }
}

static void test_audit_sslv3_alert(void **state)
{
    (void)state;
    expect_explained("sslv3 alert handshake failure", "openssl.alert",
                     (const char *[]){"raised by the peer", "received from the peer", NULL});
    {
        struct td_dec_result *r = dec("sslv3 alert handshake failure");
        char buf[2048];
        td_dec_explain(&r->items[0], "", buf, sizeof(buf));
        assert_null(strstr(buf, "side unknown"));
        td_dec_result_free(r);
    }
}

static void test_error_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(estrs) / sizeof(estrs[0]); i++) {
        const struct estr *e = &estrs[i];
        struct td_dec_result *r = dec(e->line);
        const struct td_dec_item *it;
        char buf[1024];

        print_message("  [%zu] %s\n", i, e->origin);
        assert_int_equal(r->num_items, 1);
        it = &r->items[0];
        assert_int_equal(it->kind, e->kind);
        assert_int_equal(it->side, e->side);
        assert_int_equal(it->alert, e->alert);
        assert_true(it->num_codes >= 1);
        assert_string_equal(it->codes[0], e->code0);
        assert_string_equal(td_dec_by(it), e->by);
        assert_int_equal(it->ambiguous, it->num_codes > 1);
        assert_int_equal(it->line, 1);
        assert_true((size_t)it->col + it->span_len <= strlen(e->line));
        assert_non_null(it->explanation);
        assert_non_null(it->next);
        assert_true(td_dec_explain(it, "example.org:443", buf, sizeof(buf)) > 0);
        assert_int_equal(r->unknown_lines, 0);
        td_dec_result_free(r);
    }
}

static void test_bare_unknown_numbers(void **state)
{
    (void)state;
    struct td_dec_result *r = dec("7\n");  /* no alert 7 in the registry */
    assert_false(td_dec_recognised(r));
    td_dec_result_free(r);
    r = dec("256\n");
    assert_false(td_dec_recognised(r));
    td_dec_result_free(r);
    assert_int_equal(td_dec_alert_lookup("certificate_required", 20), 116);
    assert_int_equal(td_dec_alert_lookup("tlsv13 alert certificate required", 33), 116);
    assert_int_equal(td_dec_alert_lookup("bogus_alert", 11), -1);
}

static void test_alert_codes(void **state)
{
    (void)state;
    const char *codes[TD_DEC_MAX_CODES];
    bool amb = false;
    unsigned n;

    n = td_dec_alert_codes(42, TD_DEC_ROLE_SERVER, codes, TD_DEC_MAX_CODES, &amb);
    assert_int_equal(n, 1);
    assert_string_equal(codes[0], "client_cert_rejected");
    n = td_dec_alert_codes(48, TD_DEC_ROLE_SERVER, codes, TD_DEC_MAX_CODES, &amb);
    assert_string_equal(codes[0], "client_cert_rejected");
    n = td_dec_alert_codes(48, TD_DEC_ROLE_CLIENT, codes, TD_DEC_MAX_CODES, &amb);
    assert_string_equal(codes[0], "server_cert_rejected");
    n = td_dec_alert_codes(40, TD_DEC_ROLE_SERVER, codes, TD_DEC_MAX_CODES, &amb);
    assert_true(amb);
    assert_true(n >= 2);
    assert_string_equal(codes[0], "no_shared_cipher");
    assert_string_equal(codes[1], "protocol_version");
    n = td_dec_alert_codes(86, TD_DEC_ROLE_SERVER, codes, TD_DEC_MAX_CODES, &amb);
    assert_string_equal(codes[0], "inappropriate_fallback");
    assert_false(amb);
    n = td_dec_alert_codes(50, TD_DEC_ROLE_UNKNOWN, codes, 1, &amb);
    assert_int_equal(n, 1);
    assert_string_equal(codes[0], "protocol_error");
}

static void test_explain(void **state)
{
    (void)state;
    struct td_dec_result *r = dec("curl: (35) OpenSSL/3.0.22: error:0A00010B:SSL routines::wrong version number");
    char buf[2048], small[16];
    size_t n;

    n = td_dec_explain(&r->items[0], "example.org:443", buf, sizeof(buf));
    assert_int_equal(n, strlen(buf));
    assert_non_null(strstr(buf, "not_tls"));
    assert_non_null(strstr(buf, "tlsdiag read fail.pcap"));
    assert_non_null(strstr(buf, "tcpdump -i any -w fail.pcap 'tcp port 443'"));
    assert_non_null(strstr(buf, "http://example.org:443/"));
    assert_null(strstr(buf, "HOST:PORT"));
    n = td_dec_explain(&r->items[0], "", small, sizeof(small));
    assert_int_equal(n, 15);
    assert_int_equal(strlen(small), 15);
    td_dec_result_free(r);
}

/* ---- synthetic packets ---- */

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t acc)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += ((uint32_t)p[i] << 8) | p[i + 1];
    if (i < n)
        acc += (uint32_t)p[i] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

static void test_synth(void **state)
{
    (void)state;
    struct td_dec_result *r = dec(guide_dump1);
    struct td_dec_pkts pk;
    const uint8_t *d;

    assert_int_equal(td_dec_synth(&pk, r), 0);
    assert_int_equal(pk.n, 5);
    for (uint32_t i = 0; i < pk.n; i++) {
        uint8_t pseudo[12];
        uint32_t tl;
        d = pk.pkts[i].data;
        assert_int_equal(pk.pkts[i].frame, i + 1);
        assert_int_equal(pk.pkts[i].linktype, 101);
        assert_int_equal(pk.pkts[i].ts_nsec, i * 1000000u);
        assert_int_equal(d[0], 0x45);
        tl = ((uint32_t)d[2] << 8) | d[3];
        assert_int_equal(tl, pk.pkts[i].caplen);
        assert_int_equal(csum(d, 20, 0), 0xffff); /* IPv4 header checksum */
        memcpy(pseudo, d + 12, 8);
        pseudo[8] = 0;
        pseudo[9] = 6;
        pseudo[10] = (uint8_t)((tl - 20) >> 8);
        pseudo[11] = (uint8_t)(tl - 20);
        assert_int_equal(csum(d + 20, tl - 20, csum(pseudo, 12, 0)), 0xffff); /* TCP */
    }
    assert_int_equal(pk.pkts[0].data[33], 0x02);                       /* SYN */
    assert_int_equal(pk.pkts[1].data[33], 0x12);                       /* SYN-ACK */
    assert_int_equal(be32(pk.pkts[1].data + 28), be32(pk.pkts[0].data + 24) + 1);
    assert_int_equal(pk.pkts[2].data[33], 0x10);                       /* ACK */
    d = pk.pkts[3].data;                                               /* ClientHello */
    assert_int_equal(d[12], 192);
    assert_int_equal(pk.pkts[3].caplen, 40 + 5 + 0x8f);
    assert_int_equal(d[40], 0x16);
    assert_int_equal(be32(d + 24), be32(pk.pkts[0].data + 24) + 1);
    d = pk.pkts[4].data;                                               /* the alert */
    assert_int_equal(d[12], 198);
    assert_int_equal(pk.pkts[4].caplen, 47);
    assert_int_equal(be32(d + 28), be32(pk.pkts[3].data + 24) + 5 + 0x8f);
    assert_int_equal(be32(d + 24), be32(pk.pkts[1].data + 24) + 1);
    td_dec_pkts_cleanup(&pk);
    td_dec_pkts_cleanup(&pk); /* twice is harmless */
    td_dec_result_free(r);
}

static void test_two_sessions(void **state)
{
    (void)state;
    /* both field-guide dumps in one paste: two connections */
    size_t l1 = strlen(guide_dump1), l2 = strlen(guide_dump2);
    char *both = malloc(l1 + l2 + 1);
    struct td_dec_result *r;
    struct td_dec_pkts pk;

    assert_non_null(both);
    memcpy(both, guide_dump1, l1);
    memcpy(both + l1, guide_dump2, l2 + 1);
    r = dec(both);
    assert_int_equal(r->num_records, 4);
    assert_int_equal(r->num_sessions, 2);
    assert_int_equal(r->records[1].session, 0);
    assert_int_equal(r->records[2].session, 1);
    assert_int_equal(td_dec_synth(&pk, r), 0);
    assert_int_equal(pk.n, 10);
    assert_int_equal(pk.pkts[5].data[33], 0x02); /* second SYN */
    assert_int_equal(pk.pkts[5].data[21], 0x41); /* client port 40001 = 0x9c41 */
    assert_int_equal(pk.pkts[9].frame, 10);
    td_dec_pkts_cleanup(&pk);
    td_dec_result_free(r);
    free(both);
}

static void test_prose_mentions(void **state)
{
    (void)state;
    /* the field guide's prose says "TLS/SSL handshake failure": not a log line */
    struct td_dec_result *r =
        dec("This article summarizes various TLS/SSL handshake failure scenarios.\n");
    assert_false(td_dec_recognised(r));
    td_dec_result_free(r);
}

/* REAL (OpenSSL 3.0 s_client -msg, TLS 1.3, excerpt): the server's CCS is
 * printed without its body, then a protected record's header, its inner
 * content type and the decrypted message.  The record is rebuilt as the
 * plaintext with the inner type (DECRYPTED), the CCS with its body. */
static void test_msg13_decrypted_view(void **state)
{
    static const char txt[] = "<<< TLS 1.2, RecordHeader [length 0005]\n"
                              "    14 03 03 00 01\n"
                              "<<< TLS 1.2, RecordHeader [length 0005]\n"
                              "    17 03 03 00 17\n"
                              "<<< TLS 1.3, InnerContent [length 0001]\n"
                              "    16\n"
                              "<<< TLS 1.3, Handshake [length 0006], EncryptedExtensions\n"
                              "    08 00 00 02 00 00\n"
                              ">>> TLS 1.2, RecordHeader [length 0005]\n"
                              "    17 03 03 00 13\n"
                              ">>> TLS 1.2, InnerContent [length 0001]\n"
                              "    15\n"
                              ">>> TLS 1.3, Alert [length 0002], fatal unknown_ca\n"
                              "    02 30\n";
    static const uint8_t ccs[] = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
    static const uint8_t ee[] = {0x16, 0x03, 0x03, 0x00, 0x06, 0x08, 0x00, 0x00, 0x02, 0x00, 0x00};
    static const uint8_t al[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x30};
    struct td_dec_result *r = td_decode_text(txt, sizeof(txt) - 1);
    (void)state;
    assert_non_null(r);
    assert_int_equal(r->num_records, 3);
    assert_false(has_issue(r, TD_DEC_ISSUE_NOT_TLS));
    assert_int_equal(r->records[0].len, sizeof(ccs));
    assert_memory_equal(r->bytes + r->records[0].off, ccs, sizeof(ccs));
    assert_int_equal(r->records[1].dir, TD_DEC_DIR_SERVER);
    assert_true(r->records[1].flags & TD_DEC_REC_DECRYPTED);
    assert_int_equal(r->records[1].len, sizeof(ee));
    assert_memory_equal(r->bytes + r->records[1].off, ee, sizeof(ee));
    assert_int_equal(r->records[2].dir, TD_DEC_DIR_CLIENT);
    assert_true(r->records[2].flags & TD_DEC_REC_DECRYPTED);
    assert_int_equal(r->records[2].len, sizeof(al));
    assert_memory_equal(r->bytes + r->records[2].off, al, sizeof(al));
    assert_true(td_dec_has_decrypted(r));
    td_dec_result_free(r);
}

/* REAL (TLS 1.2 past the ChangeCipherSpec): the header has the encrypted
 * length (0x28), -msg prints the 16-byte decrypted Finished. */
static void test_msg12_decrypted_finished(void **state)
{
    static const char txt[] = ">>> TLS 1.2, RecordHeader [length 0005]\n"
                              "    14 03 03 00 01\n"
                              ">>> TLS 1.2, ChangeCipherSpec [length 0001]\n"
                              "    01\n"
                              ">>> TLS 1.2, RecordHeader [length 0005]\n"
                              "    16 03 03 00 28\n"
                              ">>> TLS 1.2, Handshake [length 0010], Finished\n"
                              "    14 00 00 0c ad e7 55 86 e3 ce 84 cd ec 49 ea 32\n";
    struct td_dec_result *r = td_decode_text(txt, sizeof(txt) - 1);
    (void)state;
    assert_non_null(r);
    assert_int_equal(r->num_records, 2);
    assert_int_equal(r->records[0].len, 6);
    assert_int_equal(r->records[1].len, 5 + 16);
    assert_int_equal(r->records[1].content_type, 22);
    assert_true(r->records[1].flags & TD_DEC_REC_DECRYPTED);
    assert_int_equal(r->bytes[r->records[1].off + 4], 16);
    td_dec_result_free(r);
}

/* a dump pasted from a colour terminal: the arrows wrapped in SGR escapes */
static void test_ansi_colours(void **state)
{
    static const char txt[] = "\x1b[32m<<<\x1b[0m TLS 1.2, RecordHeader [length 0005]\n"
                              "    15 03 03 00 02\n"
                              "\x1b[1;32m<<<\x1b[0m TLS 1.2, Alert [length 0002], fatal handshake_failure\n"
                              "    \x1b[2m02 28\x1b[m\n";
    struct td_dec_result *r = td_decode_text(txt, sizeof(txt) - 1);
    (void)state;
    assert_non_null(r);
    assert_int_equal(r->num_records, 1);
    assert_int_equal(r->records[0].dir, TD_DEC_DIR_SERVER);
    assert_int_equal(r->records[0].len, 7);
    assert_false(has_issue(r, TD_DEC_ISSUE_NO_DIRECTION));
    assert_false(td_dec_has_decrypted(r));
    td_dec_result_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guide_dump1),
        cmocka_unit_test(test_guide_dump2),
        cmocka_unit_test(test_real_msg),
        cmocka_unit_test(test_real_debug),
        cmocka_unit_test(test_xxd_and_hexdump),
        cmocka_unit_test(test_bare_hex_alert_after_hello),
        cmocka_unit_test(test_trace_alert),
        cmocka_unit_test(test_odd_hex),
        cmocka_unit_test(test_length_mismatch),
        cmocka_unit_test(test_record_truncated),
        cmocka_unit_test(test_not_tls_hex),
        cmocka_unit_test(test_prose_not_recognised),
        cmocka_unit_test(test_garbage_no_crash),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_bare_unknown_numbers),
        cmocka_unit_test(test_alert_codes),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_synth),
        cmocka_unit_test(test_two_sessions),
        cmocka_unit_test(test_prose_mentions),
        cmocka_unit_test(test_audit_go_local_alert),
        cmocka_unit_test(test_audit_schannel),
        cmocka_unit_test(test_audit_alert_numbers),
        cmocka_unit_test(test_audit_chrome),
        cmocka_unit_test(test_audit_go_name),
        cmocka_unit_test(test_audit_sslv3_alert),
        cmocka_unit_test(test_msg13_decrypted_view),
        cmocka_unit_test(test_msg12_decrypted_finished),
        cmocka_unit_test(test_ansi_colours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
