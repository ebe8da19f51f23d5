/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: traffic analyzer, functions finer than their source
 *
 * The semantics are specified in analyzer.h.  The classifiers run on the
 * record path for every frame, so they look only at fixed header fields,
 * never loop more than a small constant number of times, and check every
 * read against the length first (frames come from the guest).
 *
 * The per-class running counters sit in their own array, apart from the
 * cold per-class state, so that accounting touches one 16-byte slot.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <glib.h>
#include <string.h>

#include "analyzer.h"
#include "record.h"

/* ------------------------------------------------------------------ */
/* Network frames                                                      */
/* ------------------------------------------------------------------ */

#define ETH_ALEN2           12  /* destination and source addresses */
#define ETHERTYPE_IPV4      0x0800
#define ETHERTYPE_ARP       0x0806
#define ETHERTYPE_VLAN      0x8100
#define ETHERTYPE_QINQ      0x88a8
#define ETHERTYPE_QINQ_OLD  0x9100
#define ETHERTYPE_IPV6      0x86dd
/* Below this, the field is an 802.3 length, not a type. */
#define ETHERTYPE_MIN       0x0600

#define IPPROTO_HOPOPTS_    0
#define IPPROTO_ICMP_       1
#define IPPROTO_TCP_        6
#define IPPROTO_UDP_        17
#define IPPROTO_ROUTING_    43
#define IPPROTO_FRAGMENT_   44
#define IPPROTO_AH_         51
#define IPPROTO_ICMPV6_     58
#define IPPROTO_DSTOPTS_    60

#define IPV4_MIN_HLEN       20
#define IPV6_HLEN           40
#define IPV4_OFFSET_MASK    0x1fff
#define IPV6_OFFSET_MASK    0xfff8

/* Network byte order: the one place in predlog that needs it. */
static inline uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static const char *tcp_port_class(uint16_t port)
{
    switch (port) {
    case 22:
        return "ssh";
    case 53:
        return "dns";
    case 80:
    case 443:
    case 8080:
        return "web";
    }
    return NULL;
}

static const char *udp_port_class(uint16_t port)
{
    switch (port) {
    case 53:
        return "dns";
    case 67:
    case 68:
    case 546:
    case 547:
        return "dhcp";
    case 123:
        return "ntp";
    }
    return NULL;
}

/*
 * Class of a TCP or UDP segment from its ports, which are the first four
 * bytes of both headers.  Either port may be the service's, depending on
 * direction; when both are, the lower one is more likely the server.
 */
static const char *classify_ports(const uint8_t *l4, size_t len, bool tcp)
{
    const char *(*port_class)(uint16_t) = tcp ? tcp_port_class :
                                                udp_port_class;
    const char *fallback = tcp ? "tcp" : "udp";
    uint16_t sport, dport;
    const char *cs, *cd;

    if (len < 4) {
        /* Not even the ports: the transport is still known. */
        return fallback;
    }
    sport = get_be16(l4);
    dport = get_be16(l4 + 2);
    cs = port_class(sport);
    cd = port_class(dport);
    if (cs && cd) {
        return sport < dport ? cs : cd;
    }
    if (cs || cd) {
        return cs ? cs : cd;
    }
    return fallback;
}

static const char *classify_ipv4(const uint8_t *p, size_t len)
{
    size_t ihl;

    if (len < IPV4_MIN_HLEN || (p[0] >> 4) != 4) {
        return "ipv4";
    }
    ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl < IPV4_MIN_HLEN || ihl > len) {
        return "ipv4";
    }
    /* A later fragment has no transport header to look at. */
    if (get_be16(p + 6) & IPV4_OFFSET_MASK) {
        return "ipv4";
    }
    switch (p[9]) {
    case IPPROTO_ICMP_:
        return "icmp";
    case IPPROTO_TCP_:
        return classify_ports(p + ihl, len - ihl, true);
    case IPPROTO_UDP_:
        return classify_ports(p + ihl, len - ihl, false);
    }
    return "ipv4";
}

static const char *classify_ipv6(const uint8_t *p, size_t len)
{
    size_t off = IPV6_HLEN;
    uint8_t nh;

    if (len < IPV6_HLEN || (p[0] >> 4) != 6) {
        return "ipv6";
    }
    nh = p[6];
    /*
     * Walk the extension headers whose length is cheap to find.  The
     * bound keeps a hostile chain of empty headers from costing more than
     * a few steps per frame.
     */
    for (unsigned i = 0; ; i++) {
        size_t hlen;

        switch (nh) {
        case IPPROTO_HOPOPTS_:
        case IPPROTO_ROUTING_:
        case IPPROTO_DSTOPTS_:
            if (len - off < 2) {
                return "ipv6";
            }
            hlen = ((size_t)p[off + 1] + 1) * 8;
            break;
        case IPPROTO_FRAGMENT_:
            if (len - off < 8) {
                return "ipv6";
            }
            if (get_be16(p + off + 2) & IPV6_OFFSET_MASK) {
                return "ipv6";
            }
            hlen = 8;
            break;
        case IPPROTO_AH_:
            if (len - off < 2) {
                return "ipv6";
            }
            hlen = ((size_t)p[off + 1] + 2) * 4;
            break;
        case IPPROTO_ICMPV6_:
            return "icmp6";
        case IPPROTO_TCP_:
            return classify_ports(p + off, len - off, true);
        case IPPROTO_UDP_:
            return classify_ports(p + off, len - off, false);
        default:
            return "ipv6";
        }
        if (i == PREDLOG_ANALYZER_MAX_EXT_HDRS || hlen > len - off) {
            return "ipv6";
        }
        nh = p[off];
        off += hlen;
    }
}

const char *predlog_analyze_net(const uint8_t *frame, size_t len)
{
    size_t off = ETH_ALEN2;
    uint16_t type;

    if (!frame) {
        return "other";
    }
    for (unsigned tags = 0; ; tags++) {
        if (len < off + 2) {
            return "other";
        }
        type = get_be16(frame + off);
        if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ &&
            type != ETHERTYPE_QINQ_OLD) {
            break;
        }
        if (tags == PREDLOG_ANALYZER_MAX_VLAN_TAGS) {
            return "other";
        }
        off += 4;
    }
    off += 2;

    if (type < ETHERTYPE_MIN) {
        return "other";
    }
    switch (type) {
    case ETHERTYPE_ARP:
        return "arp";
    case ETHERTYPE_IPV4:
        return classify_ipv4(frame + off, len - off);
    case ETHERTYPE_IPV6:
        return classify_ipv6(frame + off, len - off);
    }
    return "other";
}

/* ------------------------------------------------------------------ */
/* Block requests and guest records                                    */
/* ------------------------------------------------------------------ */

const char *predlog_analyze_block(uint32_t op)
{
    switch (op) {
    case PREDLOG_BLOCK_READ:
        return "read";
    case PREDLOG_BLOCK_WRITE:
        return "write";
    case PREDLOG_BLOCK_FLUSH:
        return "flush";
    case PREDLOG_BLOCK_DISCARD:
        return "discard";
    case PREDLOG_BLOCK_WRITE_ZEROES:
        return "write-zeroes";
    }
    return "other";
}

static bool is_tag_char(uint8_t c)
{
    return g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
}

/*
 * Length of the tag of a "tag: " or "tag[pid]: " prefix of @msg, or 0 if
 * @msg does not start with one.
 */
static size_t guest_tag_len(const uint8_t *msg, size_t len)
{
    size_t tag = 0, i;

    /* Stop one past the limit: a longer word is not a tag. */
    while (tag < len && tag <= PREDLOG_GUEST_TAG_MAX &&
           is_tag_char(msg[tag])) {
        tag++;
    }
    if (tag == 0 || tag > PREDLOG_GUEST_TAG_MAX) {
        return 0;
    }
    i = tag;
    if (i < len && msg[i] == '[') {
        size_t digits = 0;

        i++;
        while (i < len && digits <= 10 && g_ascii_isdigit(msg[i])) {
            i++;
            digits++;
        }
        if (digits == 0 || digits > 10 || i >= len || msg[i] != ']') {
            return 0;
        }
        i++;
    }
    if (len - i < 2 || msg[i] != ':' || msg[i + 1] != ' ') {
        return 0;
    }
    return tag;
}

void predlog_analyze_guest(uint32_t severity, const uint8_t *msg, size_t len,
                           char *buf, size_t size)
{
    char app[PREDLOG_GUEST_TAG_MAX + 1] = "-";
    size_t tag = msg ? guest_tag_len(msg, len) : 0;
    const char *sev;

    if (!buf || size == 0) {
        return;
    }
    if (tag) {
        memcpy(app, msg, tag);
        app[tag] = '\0';
    }
    if (severity <= 3) {
        sev = "err";
    } else if (severity == 4) {
        sev = "warn";
    } else if (severity <= 6) {
        sev = "info";
    } else {
        sev = "debug";
    }
    g_snprintf(buf, size, "%s.%s", app, sev);
}

/* ------------------------------------------------------------------ */
/* Class table and series                                              */
/* ------------------------------------------------------------------ */

typedef struct AnSource {
    char *name;
    int other;                  /* index of "<name>/other", -1 if none */
} AnSource;

typedef struct AnClass {
    char *name;                 /* "<source>/<class>", key of by_name */
    const char *source;         /* owned by the AnSource */
    PredlogAnalyzerPoint last;
    PredlogAnalyzerPoint closed; /* sum over closed intervals */
    PredlogAnalyzerPoint *hist; /* ring of an->history points */
    unsigned hist_head;         /* where the next point goes */
    unsigned hist_len;
} AnClass;

struct PredlogAnalyzer {
    unsigned max_classes;
    unsigned history;
    unsigned n_classes;
    /*
     * Sources seen without an "other" class yet: each holds one slot, so
     * n_classes + reserved <= max_classes always.
     */
    unsigned reserved;
    PredlogAnalyzerPoint *cur;  /* running interval, by class: hot */
    AnClass *classes;
    GHashTable *by_name;        /* class name -> index + 1 */
    GHashTable *sources;        /* source name -> AnSource */
};

static void source_free(gpointer p)
{
    AnSource *src = p;

    g_free(src->name);
    g_free(src);
}

PredlogAnalyzer *predlog_analyzer_new(unsigned max_classes, unsigned history)
{
    PredlogAnalyzer *an = g_new0(PredlogAnalyzer, 1);

    an->max_classes = max_classes;
    an->history = history;
    an->cur = g_new0(PredlogAnalyzerPoint, max_classes);
    an->classes = g_new0(AnClass, max_classes);
    an->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    an->sources = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                        source_free);
    return an;
}

void predlog_analyzer_free(PredlogAnalyzer *an)
{
    if (!an) {
        return;
    }
    for (unsigned i = 0; i < an->n_classes; i++) {
        g_free(an->classes[i].name);
        g_free(an->classes[i].hist);
    }
    g_hash_table_destroy(an->by_name);
    g_hash_table_destroy(an->sources);
    g_free(an->classes);
    g_free(an->cur);
    g_free(an);
}

static bool valid_source(const char *source)
{
    return source && source[0] && !strchr(source, '/');
}

static bool valid_class(const char *cls)
{
    return cls && cls[0] && strlen(cls) <= PREDLOG_CLASS_NAME_MAX &&
           !strchr(cls, '/');
}

static int class_create(PredlogAnalyzer *an, AnSource *src, const char *cls)
{
    int idx = an->n_classes++;
    AnClass *c = &an->classes[idx];

    g_assert(an->n_classes + an->reserved <= an->max_classes);
    c->name = g_strconcat(src->name, "/", cls, NULL);
    c->source = src->name;
    if (an->history) {
        c->hist = g_new0(PredlogAnalyzerPoint, an->history);
    }
    an->cur[idx] = (PredlogAnalyzerPoint) { 0, 0 };
    g_hash_table_insert(an->by_name, c->name, GINT_TO_POINTER(idx + 1));
    return idx;
}

/* Create @src's "other" class, spending its reserved slot if it has one. */
static int other_create(PredlogAnalyzer *an, AnSource *src, bool reserved)
{
    if (reserved) {
        g_assert(an->reserved > 0);
        an->reserved--;
    }
    src->other = class_create(an, src, "other");
    return src->other;
}

static AnSource *source_create(PredlogAnalyzer *an, const char *name)
{
    AnSource *src = g_new0(AnSource, 1);

    src->name = g_strdup(name);
    src->other = -1;
    g_hash_table_insert(an->sources, src->name, src);
    return src;
}

int predlog_analyzer_lookup(PredlogAnalyzer *an, const char *source,
                            const char *cls, bool *created)
{
    /* Keys of the usual size are built on the stack: no allocation. */
    char stack_key[96];
    g_autofree char *heap_key = NULL;
    const char *key;
    gpointer found;
    AnSource *src;
    unsigned free_slots;
    size_t need;
    bool is_other;

    if (created) {
        *created = false;
    }
    if (!an || !valid_source(source)) {
        return -1;
    }
    if (!valid_class(cls)) {
        cls = "other";
    }
    need = strlen(source) + 1 + strlen(cls) + 1;
    if (need <= sizeof(stack_key)) {
        g_snprintf(stack_key, sizeof(stack_key), "%s/%s", source, cls);
        key = stack_key;
    } else {
        heap_key = g_strconcat(source, "/", cls, NULL);
        key = heap_key;
    }
    found = g_hash_table_lookup(an->by_name, key);
    if (found) {
        return GPOINTER_TO_INT(found) - 1;
    }

    is_other = strcmp(cls, "other") == 0;
    free_slots = an->max_classes - an->n_classes - an->reserved;
    src = g_hash_table_lookup(an->sources, source);
    if (src) {
        if (!is_other && free_slots >= 1) {
            if (created) {
                *created = true;
            }
            return class_create(an, src, cls);
        }
        /* Full, or "other" asked for: the reserved slot always serves. */
        if (src->other >= 0) {
            return src->other;
        }
        if (created) {
            *created = true;
        }
        return other_create(an, src, true);
    }

    /* A new source: it needs its class and the reservation for "other". */
    if (free_slots == 0) {
        return -1;
    }
    src = source_create(an, source);
    if (created) {
        *created = true;
    }
    if (is_other || free_slots == 1) {
        return other_create(an, src, false);
    }
    an->reserved++;
    return class_create(an, src, cls);
}

static AnClass *get_class(PredlogAnalyzer *an, int cls)
{
    if (!an || cls < 0 || (unsigned)cls >= an->n_classes) {
        return NULL;
    }
    return &an->classes[cls];
}

const char *predlog_analyzer_class_name(PredlogAnalyzer *an, int cls)
{
    AnClass *c = get_class(an, cls);

    return c ? c->name : NULL;
}

const char *predlog_analyzer_class_source(PredlogAnalyzer *an, int cls)
{
    AnClass *c = get_class(an, cls);

    return c ? c->source : NULL;
}

unsigned predlog_analyzer_n_classes(PredlogAnalyzer *an)
{
    return an ? an->n_classes : 0;
}

void predlog_analyzer_account(PredlogAnalyzer *an, int cls, uint64_t bytes)
{
    /* One unsigned compare also rejects negative indices. */
    if ((unsigned)cls < an->n_classes) {
        an->cur[cls].records++;
        an->cur[cls].bytes += bytes;
    }
}

void predlog_analyzer_tick(PredlogAnalyzer *an)
{
    if (!an) {
        return;
    }
    for (unsigned i = 0; i < an->n_classes; i++) {
        AnClass *c = &an->classes[i];
        PredlogAnalyzerPoint p = an->cur[i];

        c->last = p;
        c->closed.records += p.records;
        c->closed.bytes += p.bytes;
        if (an->history) {
            c->hist[c->hist_head] = p;
            c->hist_head = (c->hist_head + 1) % an->history;
            if (c->hist_len < an->history) {
                c->hist_len++;
            }
        }
        an->cur[i] = (PredlogAnalyzerPoint) { 0, 0 };
    }
}

PredlogAnalyzerPoint predlog_analyzer_last(PredlogAnalyzer *an, int cls)
{
    AnClass *c = get_class(an, cls);

    return c ? c->last : (PredlogAnalyzerPoint) { 0, 0 };
}

PredlogAnalyzerPoint predlog_analyzer_current(PredlogAnalyzer *an, int cls)
{
    return get_class(an, cls) ? an->cur[cls] : (PredlogAnalyzerPoint) { 0, 0 };
}

PredlogAnalyzerPoint predlog_analyzer_total(PredlogAnalyzer *an, int cls)
{
    AnClass *c = get_class(an, cls);
    PredlogAnalyzerPoint p = { 0, 0 };

    if (c) {
        p.records = c->closed.records + an->cur[cls].records;
        p.bytes = c->closed.bytes + an->cur[cls].bytes;
    }
    return p;
}

unsigned predlog_analyzer_history(PredlogAnalyzer *an, int cls,
                                  PredlogAnalyzerPoint *out, unsigned max)
{
    AnClass *c = get_class(an, cls);
    unsigned k;

    if (!c || !out) {
        return 0;
    }
    k = MIN(c->hist_len, max);
    for (unsigned j = 0; j < k; j++) {
        unsigned pos = (c->hist_head + an->history - k + j) % an->history;

        out[j] = c->hist[pos];
    }
    return k;
}
