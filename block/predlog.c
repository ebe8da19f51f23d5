/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: block filter driver that logs every request of the node it
 * sits on into a predlog flight recorder
 *
 *   -blockdev driver=predlog,node-name=p0,file=<child>,recorder=pl0
 *             [,payload=on|off][,snaplen=N]
 *
 * Each request (read, write, write-zeroes, discard, flush) is forwarded
 * unchanged to the child, timed, and logged once it completed as one
 * BLOCK_REQUEST record of the I/O function named after the node: a
 * PREDLOG_BLOCK_EVENT_LEN byte event (offset, length, latency, result,
 * request flags), followed with payload=on by up to @snaplen bytes of the
 * request's data (for writes as submitted, for reads as returned).  The
 * filter never changes a request or its result, and never fails one: a
 * record the recorder cannot store is counted as dropped.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "block/block-io.h"
#include "block/block_int.h"
#include "qapi/error.h"
#include "qemu/bswap.h"
#include "qemu/iov.h"
#include "qemu/module.h"
#include "qemu/option.h"
#include "qemu/timer.h"
#include "hw/predlog/predlog-tap.h"

#define PREDLOG_OPT_RECORDER    "recorder"
#define PREDLOG_OPT_PAYLOAD     "payload"
#define PREDLOG_OPT_SNAPLEN     "snaplen"

#define PREDLOG_BLOCK_DEF_SNAPLEN   4096
#define PREDLOG_BLOCK_MAX_SNAPLEN   (PREDLOG_RECORD_MAX_PAYLOAD - \
                                     PREDLOG_BLOCK_EVENT_LEN)

/* iovec entries kept on the stack before falling back to the heap */
#define PREDLOG_BLOCK_STACK_IOV     9

typedef struct PredlogBlockOpts {
    char *recorder;
    bool payload;
    uint32_t snaplen;           /* data bytes logged per request */
} PredlogBlockOpts;

typedef struct BDRVPredlogState {
    PredlogTap *tap;
    PredlogBlockOpts opts;
} BDRVPredlogState;

static QemuOptsList predlog_runtime_opts = {
    .name = "predlog",
    .head = QTAILQ_HEAD_INITIALIZER(predlog_runtime_opts.head),
    .desc = {
        {
            .name = PREDLOG_OPT_RECORDER,
            .type = QEMU_OPT_STRING,
            .help = "id of the -device predlog that records the requests",
        },
        {
            .name = PREDLOG_OPT_PAYLOAD,
            .type = QEMU_OPT_BOOL,
            .help = "also record the data of reads and writes "
                    "(default: off)",
        },
        {
            .name = PREDLOG_OPT_SNAPLEN,
            .type = QEMU_OPT_NUMBER,
            .help = "with payload=on, data bytes recorded per request "
                    "(default: 4096)",
        },
        { /* end of list */ }
    },
};

static bool predlog_absorb_opts(PredlogBlockOpts *dest, QDict *options,
                                Error **errp)
{
    ERRP_GUARD();
    QemuOpts *opts = qemu_opts_create(&predlog_runtime_opts, NULL, 0,
                                      &error_abort);
    const char *recorder;
    uint64_t snaplen;
    bool ok = false;

    if (!qemu_opts_absorb_qdict(opts, options, errp)) {
        goto out;
    }

    recorder = qemu_opt_get(opts, PREDLOG_OPT_RECORDER);
    if (!recorder || !*recorder) {
        error_setg(errp, "predlog: option 'recorder' is required "
                   "(the id of a -device predlog)");
        goto out;
    }

    dest->payload = qemu_opt_get_bool(opts, PREDLOG_OPT_PAYLOAD, false);
    snaplen = qemu_opt_get_number(opts, PREDLOG_OPT_SNAPLEN,
                                  PREDLOG_BLOCK_DEF_SNAPLEN);
    if (qemu_opt_find(opts, PREDLOG_OPT_SNAPLEN) && !dest->payload) {
        error_setg(errp, "predlog: snaplen only applies with payload=on");
        goto out;
    }
    if (snaplen < 1 || snaplen > PREDLOG_BLOCK_MAX_SNAPLEN) {
        error_setg(errp, "predlog: snaplen=%" PRIu64 " is out of range: it "
                   "must be between 1 and %u bytes", snaplen,
                   PREDLOG_BLOCK_MAX_SNAPLEN);
        goto out;
    }
    dest->snaplen = snaplen;
    dest->recorder = g_strdup(recorder);
    ok = true;

out:
    qemu_opts_del(opts);
    return ok;
}

static int GRAPH_UNLOCKED
predlog_open(BlockDriverState *bs, QDict *options, int flags, Error **errp)
{
    BDRVPredlogState *s = bs->opaque;
    int ret;

    GLOBAL_STATE_CODE();

    if (!predlog_absorb_opts(&s->opts, options, errp)) {
        return -EINVAL;
    }

    ret = bdrv_open_file_child(NULL, options, "file", bs, errp);
    if (ret < 0) {
        goto fail;
    }

    bdrv_graph_rdlock_main_loop();
    bs->supported_write_flags = bs->file->bs->supported_write_flags |
                                BDRV_REQ_WRITE_UNCHANGED;
    bs->supported_zero_flags = bs->file->bs->supported_zero_flags |
                               BDRV_REQ_WRITE_UNCHANGED;
    bdrv_graph_rdunlock_main_loop();

    /* The function is named after the node, as query-named-block-nodes is */
    s->tap = predlog_tap_new(s->opts.recorder, PREDLOG_FUNCTION_BLOCK,
                             bs->node_name, errp);
    if (!s->tap) {
        ret = -EINVAL;
        goto fail;
    }
    return 0;

fail:
    g_free(s->opts.recorder);
    s->opts.recorder = NULL;
    return ret;
}

static void GRAPH_UNLOCKED predlog_close(BlockDriverState *bs)
{
    BDRVPredlogState *s = bs->opaque;

    if (s->tap) {
        predlog_tap_free(s->tap);
        s->tap = NULL;
    }
    g_free(s->opts.recorder);
    s->opts.recorder = NULL;
}

static int predlog_reopen_prepare(BDRVReopenState *state,
                                  BlockReopenQueue *queue, Error **errp)
{
    BDRVPredlogState *s = state->bs->opaque;
    PredlogBlockOpts *opts = g_new0(PredlogBlockOpts, 1);

    if (!predlog_absorb_opts(opts, state->options, errp)) {
        g_free(opts);
        return -EINVAL;
    }
    if (strcmp(opts->recorder, s->opts.recorder)) {
        error_setg(errp, "predlog: node '%s' records into '%s'; its "
                   "recorder cannot change (insert another predlog node "
                   "instead)", state->bs->node_name, s->opts.recorder);
        g_free(opts->recorder);
        g_free(opts);
        return -EINVAL;
    }
    state->opaque = opts;
    return 0;
}

static void predlog_reopen_commit(BDRVReopenState *state)
{
    BDRVPredlogState *s = state->bs->opaque;
    PredlogBlockOpts *opts = state->opaque;

    /* Requests are drained during reopen: no request sees a half update */
    s->opts.payload = opts->payload;
    s->opts.snaplen = opts->snaplen;
    g_free(opts->recorder);
    g_free(opts);
    state->opaque = NULL;
}

static void predlog_reopen_abort(BDRVReopenState *state)
{
    PredlogBlockOpts *opts = state->opaque;

    if (opts) {
        g_free(opts->recorder);
        g_free(opts);
        state->opaque = NULL;
    }
}

/*
 * Log one completed request.  @data (from @data_offset, at most @data_len
 * bytes) is the request data to store after the event, if any; @bytes is
 * the request's length and, with payload=on, the data's true length.
 */
static void predlog_log_request(BDRVPredlogState *s, PredlogBlockOp op,
                                int64_t offset, int64_t bytes,
                                BdrvRequestFlags flags, int ret,
                                int64_t start_ns, int64_t end_ns,
                                QEMUIOVector *data, size_t data_offset,
                                size_t data_len)
{
    uint8_t ev[PREDLOG_BLOCK_EVENT_LEN];
    struct iovec stack_iov[PREDLOG_BLOCK_STACK_IOV];
    g_autofree struct iovec *heap_iov = NULL;
    struct iovec *iov = stack_iov;
    unsigned iovcnt = 1;
    size_t orig_len = PREDLOG_BLOCK_EVENT_LEN;

    stq_le_p(ev + PREDLOG_BLOCK_OFF_OFFSET, offset);
    stq_le_p(ev + PREDLOG_BLOCK_OFF_BYTES, bytes);
    stq_le_p(ev + PREDLOG_BLOCK_OFF_LATENCY, MAX(end_ns - start_ns, 0));
    stl_le_p(ev + PREDLOG_BLOCK_OFF_RET, ret);
    stl_le_p(ev + PREDLOG_BLOCK_OFF_FLAGS, flags);

    if (s->opts.payload &&
        (op == PREDLOG_BLOCK_READ || op == PREDLOG_BLOCK_WRITE)) {
        orig_len += bytes;
    }
    if (data && data_len) {
        if (data->niov + 1 > ARRAY_SIZE(stack_iov)) {
            heap_iov = g_new(struct iovec, data->niov + 1);
            iov = heap_iov;
        }
        iovcnt += iov_copy(iov + 1, data->niov, data->iov, data->niov,
                           data_offset, data_len);
    }
    iov[0].iov_base = ev;
    iov[0].iov_len = sizeof(ev);

    predlog_tap_log(s->tap, PREDLOG_RECORD_TYPE_BLOCK_REQUEST, op,
                    iov, iovcnt, orig_len);
}

static void predlog_log_simple(BDRVPredlogState *s, PredlogBlockOp op,
                               int64_t offset, int64_t bytes,
                               BdrvRequestFlags flags, int ret,
                               int64_t start_ns)
{
    int64_t end_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (predlog_tap_active(s->tap)) {
        predlog_log_request(s, op, offset, bytes, flags, ret, start_ns,
                            end_ns, NULL, 0, 0);
    }
}

static int64_t coroutine_fn GRAPH_RDLOCK
predlog_co_getlength(BlockDriverState *bs)
{
    return bdrv_co_getlength(bs->file->bs);
}

static int coroutine_fn GRAPH_RDLOCK
predlog_co_preadv_part(BlockDriverState *bs, int64_t offset, int64_t bytes,
                       QEMUIOVector *qiov, size_t qiov_offset,
                       BdrvRequestFlags flags)
{
    BDRVPredlogState *s = bs->opaque;
    int64_t start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int64_t end_ns;
    int ret;

    ret = bdrv_co_preadv_part(bs->file, offset, bytes, qiov, qiov_offset,
                              flags);
    end_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (predlog_tap_active(s->tap)) {
        /* Data that was not read is not worth keeping */
        size_t data_len = s->opts.payload && ret >= 0 ?
                          MIN(bytes, s->opts.snaplen) : 0;

        predlog_log_request(s, PREDLOG_BLOCK_READ, offset, bytes, flags, ret,
                            start_ns, end_ns, qiov, qiov_offset, data_len);
    }
    return ret;
}

static int coroutine_fn GRAPH_RDLOCK
predlog_co_pwritev_part(BlockDriverState *bs, int64_t offset, int64_t bytes,
                        QEMUIOVector *qiov, size_t qiov_offset,
                        BdrvRequestFlags flags)
{
    BDRVPredlogState *s = bs->opaque;
    g_autofree void *copy = NULL;
    size_t copy_len = 0;
    QEMUIOVector copy_qiov;
    int64_t start_ns, end_ns;
    int ret;

    /*
     * Keep the data as submitted: the guest may rewrite its buffer while
     * the request is in flight.
     */
    if (s->opts.payload && qiov && predlog_tap_active(s->tap)) {
        copy_len = MIN(bytes, s->opts.snaplen);
        copy = g_malloc(copy_len);
        qemu_iovec_to_buf(qiov, qiov_offset, copy, copy_len);
    }

    start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    ret = bdrv_co_pwritev_part(bs->file, offset, bytes, qiov, qiov_offset,
                               flags);
    end_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (predlog_tap_active(s->tap)) {
        if (copy) {
            qemu_iovec_init_buf(&copy_qiov, copy, copy_len);
        }
        predlog_log_request(s, PREDLOG_BLOCK_WRITE, offset, bytes, flags, ret,
                            start_ns, end_ns, copy ? &copy_qiov : NULL, 0,
                            copy_len);
    }
    return ret;
}

static int coroutine_fn GRAPH_RDLOCK
predlog_co_pwritev_compressed(BlockDriverState *bs, int64_t offset,
                              int64_t bytes, QEMUIOVector *qiov)
{
    return predlog_co_pwritev_part(bs, offset, bytes, qiov, 0,
                                   BDRV_REQ_WRITE_COMPRESSED);
}

static int coroutine_fn GRAPH_RDLOCK
predlog_co_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
                         BdrvRequestFlags flags)
{
    int64_t start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int ret = bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);

    predlog_log_simple(bs->opaque, PREDLOG_BLOCK_WRITE_ZEROES, offset, bytes,
                       flags, ret, start_ns);
    return ret;
}

static int coroutine_fn GRAPH_RDLOCK
predlog_co_pdiscard(BlockDriverState *bs, int64_t offset, int64_t bytes)
{
    int64_t start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int ret = bdrv_co_pdiscard(bs->file, offset, bytes);

    predlog_log_simple(bs->opaque, PREDLOG_BLOCK_DISCARD, offset, bytes, 0,
                       ret, start_ns);
    return ret;
}

static int coroutine_fn GRAPH_RDLOCK predlog_co_flush(BlockDriverState *bs)
{
    int64_t start_ns = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
    int ret = bdrv_co_flush(bs->file->bs);

    predlog_log_simple(bs->opaque, PREDLOG_BLOCK_FLUSH, 0, 0, 0, ret,
                       start_ns);
    return ret;
}

static const char *const predlog_strong_runtime_opts[] = {
    PREDLOG_OPT_RECORDER,
    PREDLOG_OPT_PAYLOAD,
    PREDLOG_OPT_SNAPLEN,

    NULL
};

static const char *const predlog_mutable_opts[] = {
    PREDLOG_OPT_PAYLOAD,
    PREDLOG_OPT_SNAPLEN,

    NULL
};

static BlockDriver bdrv_predlog = {
    .format_name                    = "predlog",
    .instance_size                  = sizeof(BDRVPredlogState),
    .is_filter                      = true,

    .bdrv_open                      = predlog_open,
    .bdrv_close                     = predlog_close,
    .bdrv_reopen_prepare            = predlog_reopen_prepare,
    .bdrv_reopen_commit             = predlog_reopen_commit,
    .bdrv_reopen_abort              = predlog_reopen_abort,
    .bdrv_child_perm                = bdrv_default_perms,

    .bdrv_co_getlength              = predlog_co_getlength,
    .bdrv_co_preadv_part            = predlog_co_preadv_part,
    .bdrv_co_pwritev_part           = predlog_co_pwritev_part,
    .bdrv_co_pwritev_compressed     = predlog_co_pwritev_compressed,
    .bdrv_co_pwrite_zeroes          = predlog_co_pwrite_zeroes,
    .bdrv_co_pdiscard               = predlog_co_pdiscard,
    .bdrv_co_flush                  = predlog_co_flush,

    .strong_runtime_opts            = predlog_strong_runtime_opts,
    .mutable_opts                   = predlog_mutable_opts,
};

static void bdrv_predlog_init(void)
{
    bdrv_register(&bdrv_predlog);
}

block_init(bdrv_predlog_init);
