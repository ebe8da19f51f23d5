/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter-predlog: log a netdev's packets into a predlog flight recorder
 *
 *   -object filter-predlog,id=f0,netdev=n0,recorder=pl0[,snaplen=N]
 *           [,queue=all|rx|tx][,status=on|off][,position=...][,insert=...]
 *
 * Every packet that passes the filter becomes one NET_PACKET record of
 * the I/O function named after the filter's id, in the predlog device
 * whose id is @recorder.  The filter is a pure observer: it never queues,
 * drops, delays or changes a packet, and a record that cannot be stored
 * is counted as dropped by the device, never pushed back on the guest.
 *
 * Direction.  A filter sits on a netdev (the host-side backend, never the
 * guest's NIC).  Packets the netdev sends (queue=tx) travel towards the
 * guest's NIC; packets sent to the netdev (queue=rx) come from the
 * guest's NIC.  The filter API does not pass the direction, so it is
 * derived like net/filter.c does: the sender is the netdev itself for
 * the former.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "net/filter.h"
#include "net/net.h"
#include "net/eth.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "qemu/iov.h"
#include "qom/object.h"
#include "hw/predlog/predlog-tap.h"

#define TYPE_FILTER_PREDLOG "filter-predlog"

OBJECT_DECLARE_SIMPLE_TYPE(FilterPredlogState, FILTER_PREDLOG)

/* A frame cut below its Ethernet header would say nothing */
#define FILTER_PREDLOG_MIN_SNAPLEN  ETH_HLEN
#define FILTER_PREDLOG_MAX_SNAPLEN  PREDLOG_RECORD_MAX_PAYLOAD
/* Like filter-dump's maxlen: every frame but the largest GSO ones whole */
#define FILTER_PREDLOG_DEF_SNAPLEN  65536

/* iovec entries copied on the stack before falling back to the heap */
#define FILTER_PREDLOG_STACK_IOV    8

struct FilterPredlogState {
    NetFilterState parent_obj;

    char *recorder;
    uint32_t snaplen;
    PredlogTap *tap;
};

static ssize_t filter_predlog_receive_iov(NetFilterState *nf,
                                          NetClientState *sender,
                                          unsigned flags,
                                          const struct iovec *iov,
                                          int iovcnt,
                                          NetPacketSent *sent_cb)
{
    FilterPredlogState *s = FILTER_PREDLOG(nf);
    PredlogNetDirection dir = sender == nf->netdev ? PREDLOG_NET_TO_GUEST
                                                   : PREDLOG_NET_FROM_GUEST;
    size_t hdr_len = flags & QEMU_NET_PACKET_FLAG_RAW ?
                     0 : qemu_get_vnet_hdr_len(nf->netdev);
    size_t size = iov_size(iov, iovcnt);
    size_t frame_len, cap_len;
    struct iovec stack_iov[FILTER_PREDLOG_STACK_IOV];
    g_autofree struct iovec *heap_iov = NULL;
    struct iovec *cut = stack_iov;
    unsigned cutcnt;

    if (!s->tap || !predlog_tap_active(s->tap) || size < hdr_len) {
        return 0;
    }

    /* The record holds the Ethernet frame, without any virtio-net header */
    frame_len = size - hdr_len;
    cap_len = MIN(frame_len, s->snaplen);
    if (!hdr_len && cap_len == frame_len) {
        predlog_tap_log(s->tap, PREDLOG_RECORD_TYPE_NET_PACKET, dir,
                        iov, iovcnt, frame_len);
        return 0;
    }

    if (iovcnt > FILTER_PREDLOG_STACK_IOV) {
        heap_iov = g_new(struct iovec, iovcnt);
        cut = heap_iov;
    }
    cutcnt = iov_copy(cut, iovcnt, iov, iovcnt, hdr_len, cap_len);
    predlog_tap_log(s->tap, PREDLOG_RECORD_TYPE_NET_PACKET, dir,
                    cut, cutcnt, frame_len);

    /* Let the packet go on, unchanged, to the next filter or receiver */
    return 0;
}

static void filter_predlog_setup(NetFilterState *nf, Error **errp)
{
    FilterPredlogState *s = FILTER_PREDLOG(nf);
    const char *name = object_get_canonical_path_component(OBJECT(nf));

    if (!s->recorder || !*s->recorder) {
        error_setg(errp, "filter-predlog: property 'recorder' is required "
                   "(the id of a -device predlog)");
        return;
    }

    s->tap = predlog_tap_new(s->recorder, PREDLOG_FUNCTION_NET, name, errp);
}

static void filter_predlog_cleanup(NetFilterState *nf)
{
    FilterPredlogState *s = FILTER_PREDLOG(nf);

    if (s->tap) {
        predlog_tap_free(s->tap);
        s->tap = NULL;
    }
}

static char *filter_predlog_get_recorder(Object *obj, Error **errp)
{
    FilterPredlogState *s = FILTER_PREDLOG(obj);

    return g_strdup(s->recorder);
}

static void filter_predlog_set_recorder(Object *obj, const char *value,
                                        Error **errp)
{
    FilterPredlogState *s = FILTER_PREDLOG(obj);

    if (s->tap) {
        error_setg(errp, "filter-predlog: 'recorder' cannot change once "
                   "the filter is created");
        return;
    }
    g_free(s->recorder);
    s->recorder = g_strdup(value);
}

static void filter_predlog_get_snaplen(Object *obj, Visitor *v,
                                       const char *name, void *opaque,
                                       Error **errp)
{
    FilterPredlogState *s = FILTER_PREDLOG(obj);
    uint32_t value = s->snaplen;

    visit_type_uint32(v, name, &value, errp);
}

static void filter_predlog_set_snaplen(Object *obj, Visitor *v,
                                       const char *name, void *opaque,
                                       Error **errp)
{
    FilterPredlogState *s = FILTER_PREDLOG(obj);
    uint32_t value;

    if (!visit_type_uint32(v, name, &value, errp)) {
        return;
    }
    if (value < FILTER_PREDLOG_MIN_SNAPLEN ||
        value > FILTER_PREDLOG_MAX_SNAPLEN) {
        error_setg(errp, "filter-predlog: snaplen=%" PRIu32 " is out of "
                   "range: it must be between %u (an Ethernet header) and "
                   "%u bytes", value, FILTER_PREDLOG_MIN_SNAPLEN,
                   FILTER_PREDLOG_MAX_SNAPLEN);
        return;
    }
    s->snaplen = value;
}

static void filter_predlog_finalize(Object *obj)
{
    FilterPredlogState *s = FILTER_PREDLOG(obj);

    g_free(s->recorder);
}

static void filter_predlog_class_init(ObjectClass *oc, void *data)
{
    NetFilterClass *nfc = NETFILTER_CLASS(oc);
    ObjectProperty *prop;

    object_class_property_add_str(oc, "recorder",
                                  filter_predlog_get_recorder,
                                  filter_predlog_set_recorder);
    object_class_property_set_description(oc, "recorder",
        "id of the -device predlog that records the packets (required)");

    prop = object_class_property_add(oc, "snaplen", "uint32",
                                     filter_predlog_get_snaplen,
                                     filter_predlog_set_snaplen, NULL, NULL);
    object_property_set_default_uint(prop, FILTER_PREDLOG_DEF_SNAPLEN);
    object_class_property_set_description(oc, "snaplen",
        "bytes of each Ethernet frame to record; longer frames are cut, "
        "and the record keeps their true length");

    nfc->setup = filter_predlog_setup;
    nfc->cleanup = filter_predlog_cleanup;
    nfc->receive_iov = filter_predlog_receive_iov;
}

static const TypeInfo filter_predlog_info = {
    .name = TYPE_FILTER_PREDLOG,
    .parent = TYPE_NETFILTER,
    .class_init = filter_predlog_class_init,
    .instance_finalize = filter_predlog_finalize,
    .instance_size = sizeof(FilterPredlogState),
};

static void filter_predlog_register_types(void)
{
    type_register_static(&filter_predlog_info);
}

type_init(filter_predlog_register_types);
