/* fuzz_pcap_file: a whole pcap or pcapng file through the reader's buffer
 * API (td_reader_open_mem over an exact-size heap copy), and every packet
 * through td_decode_tcp.
 * Invariants: packet data lies inside the input; caplen <= TD_MAX_PACKET and
 * <= the bytes after the record's offset; frames count 1, 2, 3...; record
 * offsets increase and stay inside the input; an error has a message and an
 * offset inside the input; decoded payload views lie inside the packet;
 * where td_decode_ends (read -j's shard test) names endpoints and the full
 * decode finds a TCP segment, they are the same. */
#include "fuzz_common.h"
#include "tlsdiag/capture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = fuzz_dup(data, size);
    struct td_input_error err;
    struct td_reader *r;
    struct td_pkt pkt;
    uint64_t frame = 0, last_off = 0;
    int n = 0;

    memset(&err, 0, sizeof(err));
    r = td_reader_open_mem(buf, size, &err);
    if (r == NULL) {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
        FUZZ_CHECK(err.off <= size);
        free(buf);
        return 0;
    }
    for (int i = 0; i < 100000 && (n = td_reader_next(r, &pkt)) == 1; i++) {
        struct td_tcp_pkt tcp;
        struct td_diag d;
        struct td_ends en;
        enum td_decode_res res;

        FUZZ_CHECK(pkt.frame == ++frame);
        FUZZ_CHECK(pkt.caplen <= TD_MAX_PACKET);
        FUZZ_CHECK(pkt.file_off >= last_off && pkt.file_off < size);
        last_off = pkt.file_off;
        if (pkt.caplen != 0) {
            FUZZ_CHECK((uintptr_t)pkt.data >= (uintptr_t)buf);
            FUZZ_CHECK((uintptr_t)pkt.data - (uintptr_t)buf + pkt.caplen <= size);
        }
        FUZZ_CHECK(td_reader_offset(r) <= size);
        memset(&d, 0, sizeof(d));
        bool ends = td_decode_ends(&pkt, &en);
        res = td_decode_tcp(&tcp, &pkt, &d);
        fuzz_check_diag(&d, pkt.caplen);
        if (res == TD_DEC_TCP && ends) {
            FUZZ_CHECK(en.ipver == tcp.ipver);
            FUZZ_CHECK(memcmp(en.src, tcp.src, 16) == 0 && memcmp(en.dst, tcp.dst, 16) == 0);
            FUZZ_CHECK(en.sport == tcp.sport && en.dport == tcp.dport);
        }
        if (res == TD_DEC_TCP) {
            struct td_cur whole;
            td_cur_init(&whole, pkt.data, pkt.caplen);
            fuzz_check_view(&tcp.payload, pkt.data, pkt.caplen);
            FUZZ_CHECK(tcp.ipver == 4 || tcp.ipver == 6);
            (void)whole;
        }
    }
    if (n < 0) {
        const struct td_input_error *e = td_reader_error(r);
        FUZZ_CHECK(e->msg[0] != '\0');
        FUZZ_CHECK(memchr(e->msg, '\0', sizeof(e->msg)) != NULL);
        FUZZ_CHECK(e->off <= size);
        FUZZ_CHECK(td_reader_next(r, &pkt) == -1); /* errors are sticky */
    }
    td_reader_close(r);
    free(buf);
    return 0;
}
