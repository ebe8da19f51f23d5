/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests of the predlog traffic analyzer
 *
 * The frame cases are built byte by byte, one per class and per header
 * variant the classifier claims to handle, so that each rule of
 * analyzer.h has a frame that breaks if the rule does.  Every case is
 * then cut to every shorter length and classified from an exactly sized
 * heap copy, so that a sanitizer build (-Db_sanitize=address,undefined)
 * catches any read past the end.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <string.h>

#include "hw/predlog/core/analyzer.h"
#include "hw/predlog/core/record.h"

/* ------------------------------------------------------------------ */
/* Frame builder                                                       */
/* ------------------------------------------------------------------ */

typedef struct Frame {
    uint8_t b[512];
    size_t len;
} Frame;

static void put8(Frame *f, uint8_t v)
{
    g_assert_cmpuint(f->len, <, sizeof(f->b));
    f->b[f->len++] = v;
}

static void put16(Frame *f, uint16_t v)
{
    put8(f, v >> 8);
    put8(f, v & 0xff);
}

static void fill(Frame *f, uint8_t v, size_t n)
{
    while (n--) {
        put8(f, v);
    }
}

/* Addresses only; the EtherType (after any tags) is put by the caller. */
static void eth(Frame *f)
{
    f->len = 0;
    fill(f, 0x52, 6);
    fill(f, 0x54, 6);
}

static void eth_type(Frame *f, uint16_t type)
{
    eth(f);
    put16(f, type);
}

static void vlan_tag(Frame *f, uint16_t tpid, uint16_t tci)
{
    put16(f, tpid);
    put16(f, tci);
}

/* IPv4 header with @opt_words 32-bit option words (NOPs). */
static void ipv4(Frame *f, uint8_t proto, unsigned opt_words, uint16_t frag)
{
    put16(f, 0x0800);
    put8(f, 0x45 + opt_words);
    put8(f, 0);
    put16(f, 20 + 4 * opt_words + 28);
    put16(f, 0x1234);
    put16(f, frag);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    fill(f, 10, 4);
    fill(f, 11, 4);
    fill(f, 1, 4 * opt_words);
}

static void ipv6(Frame *f, uint8_t nh)
{
    put16(f, 0x86dd);
    put8(f, 0x60);
    fill(f, 0, 3);
    put16(f, 28);
    put8(f, nh);
    put8(f, 64);
    fill(f, 0xfe, 16);
    fill(f, 0xfd, 16);
}

/* Hop-by-hop, routing or destination options: (len8 + 1) * 8 bytes. */
static void ext6(Frame *f, uint8_t nh, uint8_t len8)
{
    put8(f, nh);
    put8(f, len8);
    fill(f, 0, 6 + 8 * len8);
}

static void frag6(Frame *f, uint8_t nh, uint16_t off_flags)
{
    put8(f, nh);
    put8(f, 0);
    put16(f, off_flags);
    fill(f, 0xab, 4);
}

/* A TCP or UDP header (both start with the ports) and some payload. */
static void ports(Frame *f, uint16_t sport, uint16_t dport)
{
    put16(f, sport);
    put16(f, dport);
    fill(f, 0, 16);
    fill(f, 'x', 8);
}

/* ------------------------------------------------------------------ */
/* Frame cases                                                         */
/* ------------------------------------------------------------------ */

typedef struct NetCase {
    const char *name;
    void (*build)(Frame *f);
    const char *cls;
} NetCase;

static void b_arp(Frame *f)
{
    eth_type(f, 0x0806);
    fill(f, 0, 28);
}

static void b_icmp(Frame *f)
{
    eth(f);
    ipv4(f, 1, 0, 0);
    fill(f, 8, 8);
}

static void b_icmp6(Frame *f)
{
    eth(f);
    ipv6(f, 58);
    fill(f, 128, 8);
}

static void b_dns_udp(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 0);
    ports(f, 40000, 53);
}

static void b_dns_udp_reply(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 0);
    ports(f, 53, 40000);
}

static void b_dns_tcp(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 40001, 53);
}

static void b_dns_tcp6(Frame *f)
{
    eth(f);
    ipv6(f, 6);
    ports(f, 53, 40001);
}

static void b_dhcp(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 0);
    ports(f, 68, 67);
}

static void b_dhcp6(Frame *f)
{
    eth(f);
    ipv6(f, 17);
    ports(f, 546, 547);
}

static void b_ntp(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 0);
    ports(f, 123, 123);
}

static void b_http(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 51000, 80);
}

static void b_https_reply(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 443, 51000);
}

static void b_http_alt6(Frame *f)
{
    eth(f);
    ipv6(f, 6);
    ports(f, 51000, 8080);
}

static void b_ssh(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 50022, 22);
}

static void b_tcp(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 5000, 6000);
}

static void b_udp(Frame *f)
{
    eth(f);
    ipv6(f, 17);
    ports(f, 5000, 6000);
}

/* UDP to port 80 and TCP to port 123 are not those services. */
static void b_udp_80(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 0);
    ports(f, 5000, 80);
}

static void b_tcp_123(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 123, 5000);
}

/* Both ports known: the lower one decides. */
static void b_ssh_from_80(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 80, 22);
}

static void b_ssh_reply_to_8080(Frame *f)
{
    eth(f);
    ipv6(f, 6);
    ports(f, 22, 8080);
}

static void b_dns_from_8080(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 8080, 53);
}

static void b_vlan_dns(Frame *f)
{
    eth(f);
    vlan_tag(f, 0x8100, 0x0064);
    ipv4(f, 17, 0, 0);
    ports(f, 40000, 53);
}

static void b_qinq_https6(Frame *f)
{
    eth(f);
    vlan_tag(f, 0x88a8, 0x0010);
    vlan_tag(f, 0x8100, 0x0064);
    ipv6(f, 6);
    ports(f, 40000, 443);
}

static void b_vlan_arp(Frame *f)
{
    eth(f);
    vlan_tag(f, 0x9100, 0x0005);
    put16(f, 0x0806);
    fill(f, 0, 28);
}

static void b_vlan_too_deep(Frame *f)
{
    eth(f);
    for (int i = 0; i <= PREDLOG_ANALYZER_MAX_VLAN_TAGS; i++) {
        vlan_tag(f, 0x8100, i);
    }
    ipv4(f, 17, 0, 0);
    ports(f, 40000, 53);
}

static void b_ipv4_opts_ssh(Frame *f)
{
    eth(f);
    ipv4(f, 6, 1, 0);
    ports(f, 22, 50000);
}

static void b_ipv4_max_opts_ntp(Frame *f)
{
    eth(f);
    ipv4(f, 17, 10, 0);
    ports(f, 40000, 123);
}

static void b_ipv4_first_frag(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 0x2000);     /* MF, offset 0: ports present */
    ports(f, 40000, 53);
}

static void b_ipv4_later_frag(Frame *f)
{
    eth(f);
    ipv4(f, 17, 0, 185);        /* offset 1480: bytes look like ports */
    ports(f, 40000, 53);
}

static void b_ipv4_last_frag(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0x2000 | 1);
    ports(f, 40000, 22);
}

static void b_ipv4_gre(Frame *f)
{
    eth(f);
    ipv4(f, 47, 0, 0);
    fill(f, 0, 16);
}

static void b_ipv4_icmp6_proto(Frame *f)
{
    eth(f);
    ipv4(f, 58, 0, 0);
    fill(f, 0, 16);
}

static void b_ipv4_bad_version(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 40000, 22);
    f->b[14] = 0x65;
}

static void b_ipv4_short_ihl(Frame *f)
{
    eth(f);
    ipv4(f, 6, 0, 0);
    ports(f, 40000, 22);
    f->b[14] = 0x44;
}

static void b_ipv6_hbh_ssh(Frame *f)
{
    eth(f);
    ipv6(f, 0);
    ext6(f, 6, 0);
    ports(f, 50000, 22);
}

static void b_ipv6_chain_dns(Frame *f)
{
    eth(f);
    ipv6(f, 0);
    ext6(f, 60, 1);
    ext6(f, 43, 0);
    ext6(f, 17, 2);
    ports(f, 40000, 53);
}

static void b_ipv6_ah_icmp6(Frame *f)
{
    eth(f);
    ipv6(f, 51);
    put8(f, 58);
    put8(f, 4);                 /* (4 + 2) * 4 = 24 bytes */
    fill(f, 0, 22);
    fill(f, 128, 8);
}

static void b_ipv6_first_frag(Frame *f)
{
    eth(f);
    ipv6(f, 44);
    frag6(f, 17, 0x0001);       /* offset 0, M */
    ports(f, 123, 40000);
}

static void b_ipv6_later_frag(Frame *f)
{
    eth(f);
    ipv6(f, 44);
    frag6(f, 17, 1480 | 1);
    ports(f, 123, 40000);
}

static void b_ipv6_no_next(Frame *f)
{
    eth(f);
    ipv6(f, 59);
    fill(f, 0, 8);
}

static void b_ipv6_esp(Frame *f)
{
    eth(f);
    ipv6(f, 50);
    fill(f, 0, 16);
}

static void b_ipv6_icmp4_proto(Frame *f)
{
    eth(f);
    ipv6(f, 1);
    fill(f, 0, 16);
}

static void b_ipv6_chain_too_long(Frame *f)
{
    eth(f);
    ipv6(f, 60);
    /* One more than the limit, the last one leading to ICMPv6. */
    for (int i = 0; i <= PREDLOG_ANALYZER_MAX_EXT_HDRS; i++) {
        ext6(f, i < PREDLOG_ANALYZER_MAX_EXT_HDRS ? 60 : 58, 0);
    }
    fill(f, 128, 8);
}

static void b_ipv6_chain_at_limit(Frame *f)
{
    eth(f);
    ipv6(f, 60);
    for (int i = 0; i < PREDLOG_ANALYZER_MAX_EXT_HDRS; i++) {
        ext6(f, i + 1 < PREDLOG_ANALYZER_MAX_EXT_HDRS ? 60 : 58, 0);
    }
    fill(f, 128, 8);
}

static void b_ipv6_ext_past_end(Frame *f)
{
    eth(f);
    ipv6(f, 0);
    put8(f, 6);
    put8(f, 200);               /* claims 1608 bytes */
    fill(f, 0, 30);
}

static void b_lldp(Frame *f)
{
    eth_type(f, 0x88cc);
    fill(f, 0, 40);
}

static void b_8023(Frame *f)
{
    eth_type(f, 0x0030);
    fill(f, 0x42, 48);
}

static const NetCase net_cases[] = {
    { "arp", b_arp, "arp" },
    { "icmp", b_icmp, "icmp" },
    { "icmp6", b_icmp6, "icmp6" },
    { "dns-udp", b_dns_udp, "dns" },
    { "dns-udp-reply", b_dns_udp_reply, "dns" },
    { "dns-tcp", b_dns_tcp, "dns" },
    { "dns-tcp6", b_dns_tcp6, "dns" },
    { "dhcp", b_dhcp, "dhcp" },
    { "dhcp6", b_dhcp6, "dhcp" },
    { "ntp", b_ntp, "ntp" },
    { "http", b_http, "web" },
    { "https-reply", b_https_reply, "web" },
    { "http-alt6", b_http_alt6, "web" },
    { "ssh", b_ssh, "ssh" },
    { "tcp", b_tcp, "tcp" },
    { "udp", b_udp, "udp" },
    { "udp-80", b_udp_80, "udp" },
    { "tcp-123", b_tcp_123, "tcp" },
    { "ssh-from-80", b_ssh_from_80, "ssh" },
    { "ssh-reply-to-8080", b_ssh_reply_to_8080, "ssh" },
    { "dns-from-8080", b_dns_from_8080, "dns" },
    { "vlan-dns", b_vlan_dns, "dns" },
    { "qinq-https6", b_qinq_https6, "web" },
    { "vlan-arp", b_vlan_arp, "arp" },
    { "vlan-too-deep", b_vlan_too_deep, "other" },
    { "ipv4-opts-ssh", b_ipv4_opts_ssh, "ssh" },
    { "ipv4-max-opts-ntp", b_ipv4_max_opts_ntp, "ntp" },
    { "ipv4-first-frag", b_ipv4_first_frag, "dns" },
    { "ipv4-later-frag", b_ipv4_later_frag, "ipv4" },
    { "ipv4-last-frag", b_ipv4_last_frag, "ipv4" },
    { "ipv4-gre", b_ipv4_gre, "ipv4" },
    { "ipv4-icmp6-proto", b_ipv4_icmp6_proto, "ipv4" },
    { "ipv4-bad-version", b_ipv4_bad_version, "ipv4" },
    { "ipv4-short-ihl", b_ipv4_short_ihl, "ipv4" },
    { "ipv6-hbh-ssh", b_ipv6_hbh_ssh, "ssh" },
    { "ipv6-chain-dns", b_ipv6_chain_dns, "dns" },
    { "ipv6-ah-icmp6", b_ipv6_ah_icmp6, "icmp6" },
    { "ipv6-first-frag", b_ipv6_first_frag, "ntp" },
    { "ipv6-later-frag", b_ipv6_later_frag, "ipv6" },
    { "ipv6-no-next", b_ipv6_no_next, "ipv6" },
    { "ipv6-esp", b_ipv6_esp, "ipv6" },
    { "ipv6-icmp4-proto", b_ipv6_icmp4_proto, "ipv6" },
    { "ipv6-chain-too-long", b_ipv6_chain_too_long, "ipv6" },
    { "ipv6-chain-at-limit", b_ipv6_chain_at_limit, "icmp6" },
    { "ipv6-ext-past-end", b_ipv6_ext_past_end, "ipv6" },
    { "lldp", b_lldp, "other" },
    { "802.3", b_8023, "other" },
};

static const char *const net_classes[] = {
    "arp", "icmp", "icmp6", "dns", "dhcp", "ntp", "web", "ssh", "tcp",
    "udp", "ipv4", "ipv6", "other",
};

static bool is_net_class(const char *cls)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(net_classes); i++) {
        if (cls && strcmp(cls, net_classes[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Classify from a heap copy of exactly @len bytes: overreads are caught. */
static const char *classify_exact(const uint8_t *frame, size_t len)
{
    g_autofree uint8_t *copy = g_malloc(len); /* NULL for 0 */

    if (len) {
        memcpy(copy, frame, len);
    }
    return predlog_analyze_net(copy, len);
}

static void test_net_case(gconstpointer data)
{
    const NetCase *c = data;
    Frame f;
    const char *cls;

    c->build(&f);
    cls = classify_exact(f.b, f.len);
    g_assert_cmpstr(cls, ==, c->cls);
    /* Ethernet padding to the 60-byte minimum changes nothing. */
    if (f.len < 60) {
        memset(f.b + f.len, 0, 60 - f.len);
        g_assert_cmpstr(classify_exact(f.b, 60), ==, c->cls);
    }
}

/*
 * Every prefix of every case: a valid class, never a read past the end,
 * and for the port-based classes, once the ports are cut off, the
 * transport's class (the protocol is still known from the IP header).
 */
static void test_net_truncated(void)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(net_cases); i++) {
        Frame f;

        net_cases[i].build(&f);
        if (f.len < 60) {
            memset(f.b + f.len, 0, 60 - f.len);
            f.len = 60;
        }
        for (size_t len = 0; len <= f.len; len++) {
            const char *cls = classify_exact(f.b, len);

            g_assert_true(is_net_class(cls));
            if (len < 14) {
                g_assert_cmpstr(cls, ==, "other");
            }
        }
    }
}

static void test_net_truncated_exact(void)
{
    Frame f;

    /* IPv4 + TCP to port 80: cut inside the IP header, then the ports. */
    b_http(&f);
    g_assert_cmpstr(classify_exact(f.b, 14), ==, "ipv4");
    g_assert_cmpstr(classify_exact(f.b, 14 + 19), ==, "ipv4");
    g_assert_cmpstr(classify_exact(f.b, 14 + 20), ==, "tcp");
    g_assert_cmpstr(classify_exact(f.b, 14 + 23), ==, "tcp");
    g_assert_cmpstr(classify_exact(f.b, 14 + 24), ==, "web");

    /* IPv6 + hop-by-hop + UDP 53. */
    eth(&f);
    ipv6(&f, 0);
    ext6(&f, 17, 0);
    ports(&f, 53, 1000);
    g_assert_cmpstr(classify_exact(f.b, 14 + 39), ==, "ipv6");
    g_assert_cmpstr(classify_exact(f.b, 14 + 41), ==, "ipv6");
    g_assert_cmpstr(classify_exact(f.b, 14 + 48), ==, "udp");
    g_assert_cmpstr(classify_exact(f.b, 14 + 52), ==, "dns");

    /* A VLAN tag cut in half. */
    b_vlan_dns(&f);
    g_assert_cmpstr(classify_exact(f.b, 15), ==, "other");
    g_assert_cmpstr(classify_exact(f.b, 17), ==, "other");
    g_assert_cmpstr(classify_exact(f.b, 18), ==, "ipv4");

    g_assert_cmpstr(predlog_analyze_net(NULL, 0), ==, "other");
    g_assert_cmpstr(predlog_analyze_net(NULL, 100), ==, "other");
}

/* Random bytes behind plausible headers: always a valid class. */
static void test_net_random(void)
{
    static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x0806 };
    GRand *rand = g_rand_new_with_seed(4);

    for (int iter = 0; iter < 200000; iter++) {
        uint8_t buf[128];
        size_t len = g_rand_int_range(rand, 0, sizeof(buf) + 1);

        for (size_t i = 0; i < sizeof(buf); i++) {
            buf[i] = g_rand_int(rand);
        }
        if (g_rand_boolean(rand)) {
            uint16_t t = types[g_rand_int_range(rand, 0, 4)];

            buf[12] = t >> 8;
            buf[13] = t;
            buf[14] = (buf[14] & 0x0f) | (g_rand_boolean(rand) ? 0x40 : 0x60);
            if (g_rand_boolean(rand)) {
                buf[20] = 0;    /* IPv6 next header: hop-by-hop */
            }
        }
        g_assert_true(is_net_class(classify_exact(buf, len)));
    }
    g_rand_free(rand);
}

/* ------------------------------------------------------------------ */
/* Block and guest                                                     */
/* ------------------------------------------------------------------ */

static void test_block(void)
{
    g_assert_cmpstr(predlog_analyze_block(PREDLOG_BLOCK_READ), ==, "read");
    g_assert_cmpstr(predlog_analyze_block(PREDLOG_BLOCK_WRITE), ==, "write");
    g_assert_cmpstr(predlog_analyze_block(PREDLOG_BLOCK_FLUSH), ==, "flush");
    g_assert_cmpstr(predlog_analyze_block(PREDLOG_BLOCK_DISCARD), ==,
                    "discard");
    g_assert_cmpstr(predlog_analyze_block(PREDLOG_BLOCK_WRITE_ZEROES), ==,
                    "write-zeroes");
    g_assert_cmpstr(predlog_analyze_block(0), ==, "other");
    g_assert_cmpstr(predlog_analyze_block(6), ==, "other");
    g_assert_cmpstr(predlog_analyze_block(UINT32_MAX), ==, "other");
}

static void check_guest(uint32_t sev, const char *msg, size_t len,
                        const char *want)
{
    char buf[PREDLOG_CLASS_NAME_MAX + 1];
    g_autofree uint8_t *copy = g_malloc(len ? len : 1);

    memcpy(copy, msg, len);
    memset(buf, 'X', sizeof(buf));
    predlog_analyze_guest(sev, copy, len, buf, sizeof(buf));
    g_assert_cmpstr(buf, ==, want);
    g_assert_cmpuint(strlen(buf), <=, PREDLOG_CLASS_NAME_MAX);
}

static void check_guest_str(uint32_t sev, const char *msg, const char *want)
{
    check_guest(sev, msg, strlen(msg), want);
}

static void test_guest(void)
{
    char buf[PREDLOG_CLASS_NAME_MAX + 1];

    check_guest_str(6, "sshd[123]: Accepted publickey", "sshd.info");
    check_guest_str(2, "kernel: Oops", "kernel.err");
    check_guest_str(4, "a.b_c-D9: x", "a.b_c-D9.warn");
    check_guest_str(7, "abcdefghijklmno: fifteen", "abcdefghijklmno.debug");
    check_guest_str(7, "abcdefghijklmnop: sixteen", "-.debug");
    check_guest_str(7, "systemd-networkd: sixteen too", "-.debug");
    check_guest_str(5, "no tag here", "-.info");
    check_guest_str(5, "tag:no space", "-.info");
    check_guest_str(5, "tag :space first", "-.info");
    check_guest_str(5, ": empty tag", "-.info");
    check_guest_str(5, "tag[]: no pid", "-.info");
    check_guest_str(5, "tag[12a]: bad pid", "-.info");
    check_guest_str(5, "tag[1234567890]: ten digits", "tag.info");
    check_guest_str(5, "tag[12345678901]: eleven", "-.info");
    check_guest_str(5, "tag[12 : unclosed", "-.info");
    check_guest_str(5, "tag[12]:x", "-.info");
    check_guest_str(5, "t@g: bad char", "-.info");
    check_guest_str(5, "", "-.info");

    /* Cut inside the prefix: the prefix must be complete. */
    check_guest(6, "sshd: x", 5, "-.info");
    check_guest(6, "sshd: x", 6, "sshd.info");
    check_guest(6, "sshd[42]: x", 8, "-.info");
    check_guest(6, "sshd[42]: x", 9, "-.info");
    check_guest(6, "sshd[42]: x", 10, "sshd.info");
    check_guest(6, "abcdefghijklmno", 15, "-.info");

    /* Severity bands. */
    check_guest_str(0, "x: y", "x.err");
    check_guest_str(1, "x: y", "x.err");
    check_guest_str(3, "x: y", "x.err");
    check_guest_str(4, "x: y", "x.warn");
    check_guest_str(5, "x: y", "x.info");
    check_guest_str(6, "x: y", "x.info");
    check_guest_str(7, "x: y", "x.debug");
    check_guest_str(8, "x: y", "x.debug");
    check_guest_str(UINT32_MAX, "x: y", "x.debug");

    predlog_analyze_guest(3, NULL, 0, buf, sizeof(buf));
    g_assert_cmpstr(buf, ==, "-.err");
    predlog_analyze_guest(3, NULL, 100, buf, sizeof(buf));
    g_assert_cmpstr(buf, ==, "-.err");

    /* A short buffer is cut and terminated; size 0 writes nothing. */
    predlog_analyze_guest(3, (const uint8_t *)"x: y", 4, buf, 4);
    g_assert_cmpstr(buf, ==, "x.e");
    buf[0] = 'Q';
    predlog_analyze_guest(3, (const uint8_t *)"x: y", 4, buf, 0);
    g_assert_cmpint(buf[0], ==, 'Q');
}

/* Every prefix of every message byte by byte: no read past the end. */
static void test_guest_truncated(void)
{
    static const char *const msgs[] = {
        "sshd[123]: Accepted", "abcdefghijklmno: x", "tag[1234567890]: x",
        "tag[12345678901]: x", "x: ",
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(msgs); i++) {
        for (size_t len = 0; len <= strlen(msgs[i]); len++) {
            char buf[PREDLOG_CLASS_NAME_MAX + 1];
            g_autofree uint8_t *copy = g_malloc(len ? len : 1);

            memcpy(copy, msgs[i], len);
            predlog_analyze_guest(5, copy, len, buf, sizeof(buf));
            g_assert_true(g_str_has_suffix(buf, ".info"));
        }
    }
}

/* ------------------------------------------------------------------ */
/* Class table                                                         */
/* ------------------------------------------------------------------ */

static int must_lookup(PredlogAnalyzer *an, const char *source,
                       const char *cls, bool want_created,
                       const char *want_name)
{
    bool created = !want_created;
    int idx = predlog_analyzer_lookup(an, source, cls, &created);

    g_assert_cmpint(idx, >=, 0);
    g_assert_cmpint(created, ==, want_created);
    g_assert_cmpstr(predlog_analyzer_class_name(an, idx), ==, want_name);
    return idx;
}

static void test_lookup(void)
{
    PredlogAnalyzer *an = predlog_analyzer_new(16, 4);
    bool created = true;
    int dns, web, rd;

    g_assert_cmpuint(predlog_analyzer_n_classes(an), ==, 0);
    dns = must_lookup(an, "net0", "dns", true, "net0/dns");
    web = must_lookup(an, "net0", "web", true, "net0/web");
    rd = must_lookup(an, "blk0", "read", true, "blk0/read");
    g_assert_cmpint(dns, ==, 0);
    g_assert_cmpint(web, ==, 1);
    g_assert_cmpint(rd, ==, 2);
    g_assert_cmpint(must_lookup(an, "net0", "dns", false, "net0/dns"), ==,
                    dns);
    g_assert_cmpint(must_lookup(an, "blk0", "read", false, "blk0/read"), ==,
                    rd);
    g_assert_cmpuint(predlog_analyzer_n_classes(an), ==, 3);
    g_assert_cmpstr(predlog_analyzer_class_source(an, dns), ==, "net0");
    g_assert_cmpstr(predlog_analyzer_class_source(an, rd), ==, "blk0");
    /* The same class name under another source is another class. */
    must_lookup(an, "net1", "dns", true, "net1/dns");

    /* created may be NULL. */
    g_assert_cmpint(predlog_analyzer_lookup(an, "net0", "web", NULL), ==,
                    web);

    /* Bad sources fail; bad class names mean "other". */
    g_assert_cmpint(predlog_analyzer_lookup(an, NULL, "dns", &created), ==,
                    -1);
    g_assert_false(created);
    g_assert_cmpint(predlog_analyzer_lookup(an, "", "dns", NULL), ==, -1);
    g_assert_cmpint(predlog_analyzer_lookup(an, "a/b", "dns", NULL), ==, -1);
    g_assert_cmpint(predlog_analyzer_lookup(NULL, "net0", "dns", NULL), ==,
                    -1);
    must_lookup(an, "net0", NULL, true, "net0/other");
    must_lookup(an, "net0", "", false, "net0/other");
    must_lookup(an, "net0", "x/y", false, "net0/other");
    must_lookup(an, "net0", "abcdefghijklmnopqrstuvwx", false, "net0/other");
    must_lookup(an, "net0", "abcdefghijklmnopqrstuvw", true,
                "net0/abcdefghijklmnopqrstuvw");

    /* A long source name takes the heap path of the key. */
    {
        g_autofree char *src = g_strnfill(120, 's');
        g_autofree char *name = g_strconcat(src, "/write", NULL);
        int idx = must_lookup(an, src, "write", true, name);

        g_assert_cmpint(must_lookup(an, src, "write", false, name), ==, idx);
        g_assert_cmpstr(predlog_analyzer_class_source(an, idx), ==, src);
    }

    /* Unknown indices. */
    g_assert_null(predlog_analyzer_class_name(an, -1));
    g_assert_null(predlog_analyzer_class_name(an, 1000));
    g_assert_null(predlog_analyzer_class_source(an, -1));
    g_assert_cmpuint(predlog_analyzer_n_classes(NULL), ==, 0);
    predlog_analyzer_free(an);
    predlog_analyzer_free(NULL);
}

static void test_lookup_full(void)
{
    PredlogAnalyzer *an = predlog_analyzer_new(5, 2);

    /* net0 holds 3 classes plus its reservation: one slot left. */
    must_lookup(an, "net0", "dns", true, "net0/dns");
    must_lookup(an, "net0", "web", true, "net0/web");
    must_lookup(an, "net0", "ssh", true, "net0/ssh");
    must_lookup(an, "net0", "tcp", true, "net0/tcp");
    /* Full: new classes of net0 land in its "other". */
    must_lookup(an, "net0", "udp", true, "net0/other");
    must_lookup(an, "net0", "icmp", false, "net0/other");
    must_lookup(an, "net0", "other", false, "net0/other");
    /* Existing classes are still found. */
    must_lookup(an, "net0", "web", false, "net0/web");
    g_assert_cmpuint(predlog_analyzer_n_classes(an), ==, 5);
    /* No slot for a new source at all. */
    g_assert_cmpint(predlog_analyzer_lookup(an, "blk0", "read", NULL), ==,
                    -1);
    g_assert_cmpint(predlog_analyzer_lookup(an, "blk0", "other", NULL), ==,
                    -1);
    predlog_analyzer_free(an);

    /* Two sources share the table; each keeps its "other". */
    an = predlog_analyzer_new(4, 2);
    must_lookup(an, "net0", "dns", true, "net0/dns");
    must_lookup(an, "blk0", "read", true, "blk0/read");
    must_lookup(an, "net0", "web", true, "net0/other");
    must_lookup(an, "blk0", "write", true, "blk0/other");
    g_assert_cmpint(predlog_analyzer_lookup(an, "guest0", "x.err", NULL), ==,
                    -1);
    g_assert_cmpuint(predlog_analyzer_n_classes(an), ==, 4);
    predlog_analyzer_free(an);

    /* One slot left for a new source: it gets its "other" directly. */
    an = predlog_analyzer_new(3, 2);
    must_lookup(an, "net0", "dns", true, "net0/dns");
    must_lookup(an, "blk0", "read", true, "blk0/other");
    must_lookup(an, "blk0", "write", false, "blk0/other");
    must_lookup(an, "net0", "web", true, "net0/other");
    g_assert_cmpuint(predlog_analyzer_n_classes(an), ==, 3);
    predlog_analyzer_free(an);

    /* Asking for "other" first takes one slot, no reservation. */
    an = predlog_analyzer_new(2, 2);
    must_lookup(an, "net0", "other", true, "net0/other");
    must_lookup(an, "net0", "dns", true, "net0/dns");
    must_lookup(an, "net0", "web", false, "net0/other");
    predlog_analyzer_free(an);

    /* No classes at all. */
    an = predlog_analyzer_new(0, 2);
    g_assert_cmpint(predlog_analyzer_lookup(an, "net0", "dns", NULL), ==, -1);
    g_assert_cmpint(predlog_analyzer_lookup(an, "net0", "other", NULL), ==,
                    -1);
    predlog_analyzer_free(an);
}

/*
 * Random sources and classes against a small table: the table never
 * exceeds its size, and every source that got a class can always get its
 * "other" class.
 */
static void test_lookup_random(void)
{
    GRand *rand = g_rand_new_with_seed(7);

    for (int round = 0; round < 200; round++) {
        unsigned max = g_rand_int_range(rand, 1, 24);
        PredlogAnalyzer *an = predlog_analyzer_new(max, 1);
        GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
                                                 g_free, NULL);

        for (int step = 0; step < 200; step++) {
            g_autofree char *src =
                g_strdup_printf("s%d", g_rand_int_range(rand, 0, 6));
            g_autofree char *cls =
                g_strdup_printf("c%d", g_rand_int_range(rand, 0, 10));
            int idx = predlog_analyzer_lookup(an, src, cls, NULL);

            g_assert_cmpuint(predlog_analyzer_n_classes(an), <=, max);
            if (idx >= 0) {
                g_assert_cmpstr(predlog_analyzer_class_source(an, idx), ==,
                                src);
                g_hash_table_add(seen, g_strdup(src));
            } else {
                g_assert_false(g_hash_table_contains(seen, src));
            }
        }
        {
            GHashTableIter it;
            gpointer key;

            g_hash_table_iter_init(&it, seen);
            while (g_hash_table_iter_next(&it, &key, NULL)) {
                g_autofree char *name = g_strconcat(key, "/other", NULL);
                int idx = predlog_analyzer_lookup(an, key, "other", NULL);

                g_assert_cmpint(idx, >=, 0);
                g_assert_cmpstr(predlog_analyzer_class_name(an, idx), ==,
                                name);
            }
        }
        g_assert_cmpuint(predlog_analyzer_n_classes(an), <=, max);
        g_hash_table_destroy(seen);
        predlog_analyzer_free(an);
    }
    g_rand_free(rand);
}

/* ------------------------------------------------------------------ */
/* Series                                                              */
/* ------------------------------------------------------------------ */

static void assert_point(PredlogAnalyzerPoint p, uint64_t records,
                         uint64_t bytes)
{
    g_assert_cmpuint(p.records, ==, records);
    g_assert_cmpuint(p.bytes, ==, bytes);
}

static void test_series(void)
{
    PredlogAnalyzer *an = predlog_analyzer_new(8, 3);
    PredlogAnalyzerPoint h[8];
    int a = predlog_analyzer_lookup(an, "net0", "dns", NULL);
    int b = predlog_analyzer_lookup(an, "net0", "web", NULL);
    int c;

    predlog_analyzer_account(an, a, 100);
    predlog_analyzer_account(an, a, 60);
    predlog_analyzer_account(an, b, 1500);
    assert_point(predlog_analyzer_current(an, a), 2, 160);
    assert_point(predlog_analyzer_last(an, a), 0, 0);
    assert_point(predlog_analyzer_total(an, a), 2, 160);
    g_assert_cmpuint(predlog_analyzer_history(an, a, h, 8), ==, 0);

    predlog_analyzer_tick(an);                          /* interval 1 */
    assert_point(predlog_analyzer_current(an, a), 0, 0);
    assert_point(predlog_analyzer_last(an, a), 2, 160);
    assert_point(predlog_analyzer_last(an, b), 1, 1500);
    assert_point(predlog_analyzer_total(an, a), 2, 160);

    predlog_analyzer_account(an, a, 40);
    assert_point(predlog_analyzer_total(an, a), 3, 200);
    c = predlog_analyzer_lookup(an, "blk0", "read", NULL);
    predlog_analyzer_account(an, c, 4096);
    predlog_analyzer_tick(an);                          /* interval 2 */
    predlog_analyzer_tick(an);                          /* 3: empty */
    assert_point(predlog_analyzer_last(an, a), 0, 0);
    for (int i = 0; i < 5; i++) {
        predlog_analyzer_account(an, a, 1);
    }
    predlog_analyzer_tick(an);                          /* 4 */

    /* History keeps the last 3, oldest first. */
    g_assert_cmpuint(predlog_analyzer_history(an, a, h, 8), ==, 3);
    assert_point(h[0], 1, 40);
    assert_point(h[1], 0, 0);
    assert_point(h[2], 5, 5);
    /* A smaller max gives the most recent ones, oldest first. */
    g_assert_cmpuint(predlog_analyzer_history(an, a, h, 2), ==, 2);
    assert_point(h[0], 0, 0);
    assert_point(h[1], 5, 5);
    g_assert_cmpuint(predlog_analyzer_history(an, a, h, 0), ==, 0);
    g_assert_cmpuint(predlog_analyzer_history(an, a, NULL, 8), ==, 0);
    assert_point(predlog_analyzer_total(an, a), 8, 205);
    assert_point(predlog_analyzer_total(an, b), 1, 1500);

    /* c was created during interval 2: its history starts there. */
    g_assert_cmpuint(predlog_analyzer_history(an, c, h, 8), ==, 3);
    assert_point(h[0], 1, 4096);
    assert_point(h[1], 0, 0);
    assert_point(h[2], 0, 0);

    /* Unknown indices: ignored by account, zeros from the getters. */
    predlog_analyzer_account(an, -1, 7);
    predlog_analyzer_account(an, 3, 7);
    predlog_analyzer_account(an, 1000, 7);
    assert_point(predlog_analyzer_current(an, 3), 0, 0);
    assert_point(predlog_analyzer_last(an, -1), 0, 0);
    assert_point(predlog_analyzer_total(an, 99), 0, 0);
    g_assert_cmpuint(predlog_analyzer_history(an, -1, h, 8), ==, 0);
    predlog_analyzer_tick(NULL);
    predlog_analyzer_free(an);
}

static void test_series_no_history(void)
{
    PredlogAnalyzer *an = predlog_analyzer_new(4, 0);
    PredlogAnalyzerPoint h[2];
    int a = predlog_analyzer_lookup(an, "guest0", "sshd.info", NULL);

    predlog_analyzer_account(an, a, 10);
    predlog_analyzer_tick(an);
    predlog_analyzer_tick(an);
    predlog_analyzer_account(an, a, 20);
    predlog_analyzer_tick(an);
    assert_point(predlog_analyzer_last(an, a), 1, 20);
    assert_point(predlog_analyzer_total(an, a), 2, 30);
    g_assert_cmpuint(predlog_analyzer_history(an, a, h, 2), ==, 0);
    predlog_analyzer_free(an);
}

/* Long runs: the ring wraps many times and stays in order. */
static void test_series_wrap(void)
{
    PredlogAnalyzer *an = predlog_analyzer_new(2, 5);
    PredlogAnalyzerPoint h[5];
    int a = predlog_analyzer_lookup(an, "net0", "udp", NULL);
    uint64_t sum = 0;

    for (uint64_t t = 1; t <= 1003; t++) {
        for (uint64_t k = 0; k < t % 7; k++) {
            predlog_analyzer_account(an, a, t);
            sum += t;
        }
        predlog_analyzer_tick(an);
    }
    g_assert_cmpuint(predlog_analyzer_history(an, a, h, 5), ==, 5);
    for (unsigned j = 0; j < 5; j++) {
        uint64_t t = 999 + j;

        assert_point(h[j], t % 7, t * (t % 7));
    }
    g_assert_cmpuint(predlog_analyzer_total(an, a).bytes, ==, sum);
    predlog_analyzer_free(an);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (unsigned i = 0; i < G_N_ELEMENTS(net_cases); i++) {
        g_autofree char *path = g_strdup_printf("/analyzer/net/%s",
                                                net_cases[i].name);

        g_test_add_data_func(path, &net_cases[i], test_net_case);
    }
    g_test_add_func("/analyzer/net/truncated", test_net_truncated);
    g_test_add_func("/analyzer/net/truncated-exact",
                    test_net_truncated_exact);
    g_test_add_func("/analyzer/net/random", test_net_random);
    g_test_add_func("/analyzer/block", test_block);
    g_test_add_func("/analyzer/guest", test_guest);
    g_test_add_func("/analyzer/guest/truncated", test_guest_truncated);
    g_test_add_func("/analyzer/lookup", test_lookup);
    g_test_add_func("/analyzer/lookup/full", test_lookup_full);
    g_test_add_func("/analyzer/lookup/random", test_lookup_random);
    g_test_add_func("/analyzer/series", test_series);
    g_test_add_func("/analyzer/series/no-history", test_series_no_history);
    g_test_add_func("/analyzer/series/wrap", test_series_wrap);
    return g_test_run();
}
