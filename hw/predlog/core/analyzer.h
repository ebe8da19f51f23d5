/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: traffic analyzer, functions finer than their source
 *
 * The recorder logs per I/O function, and a tap (network, block, guest
 * records) is one source.  A source's traffic is not uniform: DNS queries
 * and a bulk HTTPS download through the same NIC have very different
 * volumes and very different value in a post-mortem.  The analyzer splits
 * every source into classes, cheaply, from the first bytes of each record,
 * and keeps a short per-class series of offered records and bytes per
 * interval, which the forecasters and the granularity policy work from.
 *
 * Classes are named "<source>/<class>", e.g. "net0/dns", "blk0/write",
 * "guest0/sshd.err".  Every source has an "other" class that takes what
 * does not fit elsewhere, including new classes once the table is full.
 *
 * Pure C11 + GLib, no QEMU headers.  Not thread-safe: the caller locks.
 *
 * Copyright (c) 2026 The predlog authors
 */

#ifndef HW_PREDLOG_ANALYZER_H
#define HW_PREDLOG_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest class part of a name, without "<source>/". */
#define PREDLOG_CLASS_NAME_MAX 23

/* Longest guest tag predlog_analyze_guest() recognises. */
#define PREDLOG_GUEST_TAG_MAX 15

/*
 * Class of an Ethernet frame of @len bytes, one of:
 *
 *   "arp"    EtherType ARP
 *   "icmp"   IPv4 protocol 1
 *   "icmp6"  IPv6 next header 58 (after extension headers)
 *   "dns"    UDP or TCP, port 53
 *   "dhcp"   UDP, ports 67/68 (DHCPv4) or 546/547 (DHCPv6)
 *   "ntp"    UDP, port 123
 *   "web"    TCP, ports 80, 443, 8080
 *   "ssh"    TCP, port 22
 *   "tcp"    other TCP
 *   "udp"    other UDP
 *   "ipv4"   other IPv4: other protocols, fragments after the first,
 *            headers cut short or malformed
 *   "ipv6"   the same for IPv6 (also ESP, "no next header", chains of
 *            more than PREDLOG_ANALYZER_MAX_EXT_HDRS extension headers)
 *   "other"  everything else: other EtherTypes, 802.3 length frames,
 *            frames shorter than an Ethernet header
 *
 * A port matches as source or destination, so both directions of a flow
 * get the same class; if both ports are known services the lower port
 * wins (servers listen on the lower one far more often).  802.1Q/802.1ad
 * tags are skipped (up to PREDLOG_ANALYZER_MAX_VLAN_TAGS), IPv4 options
 * by IHL, IPv6 hop-by-hop, routing, destination options, fragment and AH
 * headers by their length fields.  Never reads past @len.  Returns a
 * static string.
 */
#define PREDLOG_ANALYZER_MAX_VLAN_TAGS  4
#define PREDLOG_ANALYZER_MAX_EXT_HDRS   8
const char *predlog_analyze_net(const uint8_t *frame, size_t len);

/*
 * Class of a block request by its PredlogBlockOp: "read", "write",
 * "flush", "discard", "write-zeroes", or "other" for any other value.
 */
const char *predlog_analyze_block(uint32_t op);

/*
 * Class of a guest record, "<app>.<sev>", written NUL-terminated into
 * @buf (cut to @size - 1 characters; @size >= PREDLOG_CLASS_NAME_MAX + 1
 * never cuts).  <app> is the tag of a syslog-style message prefix "tag: "
 * or "tag[pid]: " (tag of 1 to PREDLOG_GUEST_TAG_MAX characters from
 * [A-Za-z0-9_.-], pid of 1 to 10 digits), else "-".  <sev> is "err" for
 * severity 0-3, "warn" for 4, "info" for 5-6 and "debug" for 7; values
 * above 7 (the guest is hostile) count as "debug".
 */
void predlog_analyze_guest(uint32_t severity, const uint8_t *msg, size_t len,
                           char *buf, size_t size);

/* Offered records and payload bytes (at full detail) of one interval. */
typedef struct PredlogAnalyzerPoint {
    uint64_t records;
    uint64_t bytes;
} PredlogAnalyzerPoint;

typedef struct PredlogAnalyzer PredlogAnalyzer;

/*
 * An analyzer of at most @max_classes classes overall, each keeping the
 * last @history closed intervals (0 keeps none; last() still works).
 */
PredlogAnalyzer *predlog_analyzer_new(unsigned max_classes, unsigned history);
void predlog_analyzer_free(PredlogAnalyzer *an);

/*
 * Index of class @cls of @source, created if new (*created, if non-NULL,
 * says whether it was).  Indices are dense, 0 .. n_classes - 1, and never
 * change.  Table budget: the first class of a new source also reserves a
 * slot for that source's "other" class, so the "other" class can always
 * be created later.  When a new class does not fit, the source's "other"
 * class is returned instead (created on demand); -1 only if even that is
 * impossible (a new source when no slot is left), or if @source is NULL,
 * empty or contains '/'.  A @cls that is NULL, empty, longer than
 * PREDLOG_CLASS_NAME_MAX or contains '/' is taken as "other".
 */
int predlog_analyzer_lookup(PredlogAnalyzer *an, const char *source,
                            const char *cls, bool *created);

/* "net0/dns"; NULL for an unknown index.  Owned by the analyzer. */
const char *predlog_analyzer_class_name(PredlogAnalyzer *an, int cls);
/* "net0"; NULL for an unknown index.  Owned by the analyzer. */
const char *predlog_analyzer_class_source(PredlogAnalyzer *an, int cls);
unsigned predlog_analyzer_n_classes(PredlogAnalyzer *an);

/*
 * Count one offered record of @bytes (payload bytes at full detail) in
 * the running interval of @cls.  Two additions and a bounds check: no
 * allocation, no lookup.  Unknown indices are ignored.
 */
void predlog_analyzer_account(PredlogAnalyzer *an, int cls, uint64_t bytes);

/* Close the running interval of every class; its point enters history. */
void predlog_analyzer_tick(PredlogAnalyzer *an);

/*
 * The last closed interval, the running one, lifetime totals (closed
 * intervals plus the running one).  All zero for an unknown index.
 */
PredlogAnalyzerPoint predlog_analyzer_last(PredlogAnalyzer *an, int cls);
PredlogAnalyzerPoint predlog_analyzer_current(PredlogAnalyzer *an, int cls);
PredlogAnalyzerPoint predlog_analyzer_total(PredlogAnalyzer *an, int cls);

/*
 * Copy the most recent min(kept, @max) closed intervals into @out, oldest
 * first, and return how many.  A class created after some ticks has only
 * the intervals since its creation (the one it was created in included).
 */
unsigned predlog_analyzer_history(PredlogAnalyzer *an, int cls,
                                  PredlogAnalyzerPoint *out, unsigned max);

#endif /* HW_PREDLOG_ANALYZER_H */
