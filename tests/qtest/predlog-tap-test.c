/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QTest testcase for predlog's host-side taps: the filter-predlog network
 * filter and the predlog block filter driver
 *
 * Traffic goes through the taps from outside the guest (socket netdevs
 * joined by a hub, HMP qemu-io on block nodes), so no guest code runs.
 * The tests check that the I/O is untouched, that query-predlog counts
 * the records of each tap's function, and, reading a file-backed pool
 * back, that the records carry the right direction, operation and data.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include <glib/gstdio.h>
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/iov.h"
#include "qemu/sockets.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "../../hw/predlog/core/record.h"

#define MACHINE_ARGS    "-M q35 -nodefaults"
#define RECORDER_ARGS   MACHINE_ARGS " -device predlog,id=pl0,policy=dynamic"
#define POOL_SIZE       (16 * 1024 * 1024)

/* Two socket netdevs joined by a hub: what enters one leaves the other */
#define NET_PAIR_ARGS \
    "-netdev socket,id=s0,fd=%d -netdev socket,id=s1,fd=%d " \
    "-netdev hubport,id=h0,hubid=0,netdev=s0 " \
    "-netdev hubport,id=h1,hubid=0,netdev=s1"

typedef struct NetPair {
    int s0[2];          /* [0] is ours, [1] backs netdev s0 */
    int s1[2];          /* [0] is ours, [1] backs netdev s1 */
} NetPair;

static void net_pair_init(NetPair *p)
{
    struct timeval tv = { .tv_sec = 20 };
    int i;

    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, p->s0), ==, 0);
    g_assert_cmpint(socketpair(PF_UNIX, SOCK_STREAM, 0, p->s1), ==, 0);
    /* A lost packet fails the test instead of hanging it */
    for (i = 0; i < 2; i++) {
        int fd = i ? p->s1[0] : p->s0[0];

        g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
                                   sizeof(tv)), ==, 0);
    }
}

static void net_pair_close(NetPair *p)
{
    close(p->s0[0]);
    close(p->s0[1]);
    close(p->s1[0]);
    close(p->s1[1]);
}

/* A frame of @len bytes whose every byte depends on @seed */
static uint8_t *make_frame(uint8_t seed, size_t len)
{
    uint8_t *frame = g_malloc(len);
    size_t i;

    for (i = 0; i < len; i++) {
        frame[i] = seed + i * 7;
    }
    return frame;
}

/* The socket netdev's stream framing: a big-endian length, then the frame */
static void send_frame(int fd, const uint8_t *frame, uint32_t len)
{
    uint32_t be_len = htonl(len);
    struct iovec iov[] = {
        { .iov_base = &be_len, .iov_len = sizeof(be_len) },
        { .iov_base = (void *)frame, .iov_len = len },
    };

    g_assert_cmpint(iov_send(fd, iov, 2, 0, sizeof(be_len) + len), ==,
                    sizeof(be_len) + len);
}

static void recv_all(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len) {
        ssize_t n = recv(fd, p, len, 0);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        /* 0: QEMU went away; -1 with EAGAIN: the frame never came */
        g_assert_cmpint(n, >, 0);
        p += n;
        len -= n;
    }
}

/* Send @frame into netdev @from's socket; it must arrive whole at @to's */
static void pass_frame(int from, int to, const uint8_t *frame, uint32_t len)
{
    g_autofree uint8_t *got = NULL;
    uint32_t got_len;

    send_frame(from, frame, len);
    recv_all(to, &got_len, sizeof(got_len));
    g_assert_cmpuint(ntohl(got_len), ==, len);
    got = g_malloc(len);
    recv_all(to, got, len);
    g_assert_cmpmem(got, len, frame, len);
}

/*
 * The I/O function of pl0 named @name, or NULL.  A deleted tap's function
 * stays in the directory, so a re-created one is the last of its name.
 */
static QDict *get_function(QTestState *qts, const char *name)
{
    QDict *resp = qtest_qmp(qts, "{ 'execute': 'query-predlog' }");
    QList *devs = qdict_get_qlist(resp, "return");
    QDict *found = NULL;
    QListEntry *e;
    QDict *dev;

    g_assert_nonnull(devs);
    g_assert_cmpuint(qlist_size(devs), ==, 1);
    dev = qobject_to(QDict, qlist_peek(devs));
    QLIST_FOREACH_ENTRY(qdict_get_qlist(dev, "functions"), e) {
        QDict *f = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(f, "name"), name)) {
            found = f;
        }
    }
    qobject_ref(found);
    qobject_unref(resp);
    return found;
}

typedef struct FunctionStats {
    int64_t id;
    int64_t records;
    int64_t bytes;
    int64_t dropped;
} FunctionStats;

static FunctionStats function_stats(QTestState *qts, const char *name,
                                    const char *type)
{
    QDict *f = get_function(qts, name);
    FunctionStats st;

    g_assert_nonnull(f);
    g_assert_cmpstr(qdict_get_str(f, "type"), ==, type);
    st.id = qdict_get_int(f, "id");
    st.records = qdict_get_int(f, "records");
    st.bytes = qdict_get_int(f, "bytes");
    st.dropped = qdict_get_int(f, "dropped");
    qobject_unref(f);
    g_assert_cmpint(st.dropped, ==, 0);
    return st;
}

static void assert_stats(QTestState *qts, const char *name, const char *type,
                         int64_t records, int64_t bytes)
{
    FunctionStats st = function_stats(qts, name, type);

    g_assert_cmpint(st.records, ==, records);
    g_assert_cmpint(st.bytes, ==, bytes);
}

/* A record found in a pool file */
typedef struct PoolRecord {
    uint16_t func_id;
    uint32_t orig_len;
    uint32_t stored_len;
    uint32_t aux;
    const uint8_t *payload;
} PoolRecord;

/*
 * Count the records of @type and function @func_id in @pool whose payload
 * holds @needle at @needle_off; fill @out with the last one.  Records are
 * 8-byte aligned and start with the magic; the tests only need the
 * header fields and payload (record.h), not the checksums, which the
 * core's unit tests cover.
 */
static int pool_find(const uint8_t *pool, size_t size, PredlogRecordType type,
                     int64_t func_id, const void *needle, size_t needle_len,
                     size_t needle_off, PoolRecord *out)
{
    size_t off;
    int n = 0;

    for (off = 0; off + PREDLOG_RECORD_HDR_LEN <= size;
         off += PREDLOG_RECORD_ALIGN) {
        const uint8_t *r = pool + off;
        uint32_t stored;

        if (ldl_le_p(r + PREDLOG_RECORD_OFF_MAGIC) != PREDLOG_RECORD_MAGIC ||
            r[PREDLOG_RECORD_OFF_VERSION] != PREDLOG_RECORD_VERSION ||
            r[PREDLOG_RECORD_OFF_TYPE] != type ||
            lduw_le_p(r + PREDLOG_RECORD_OFF_FUNC_ID) != func_id) {
            continue;
        }
        stored = ldl_le_p(r + PREDLOG_RECORD_OFF_STORED_LEN);
        if (stored < needle_off + needle_len ||
            stored > size - off - PREDLOG_RECORD_HDR_LEN ||
            memcmp(r + PREDLOG_RECORD_HDR_LEN + needle_off, needle,
                   needle_len)) {
            continue;
        }
        out->func_id = func_id;
        out->orig_len = ldl_le_p(r + PREDLOG_RECORD_OFF_ORIG_LEN);
        out->stored_len = stored;
        out->aux = ldl_le_p(r + PREDLOG_RECORD_OFF_AUX);
        out->payload = r + PREDLOG_RECORD_HDR_LEN;
        n++;
    }
    return n;
}

typedef struct PoolFile {
    char *dir;
    char *path;
    char *args;
    gchar *data;
    gsize size;
} PoolFile;

/* A recorder whose pool is a shared file the test can read back */
static void pool_file_init(PoolFile *pf)
{
    pf->dir = g_dir_make_tmp("predlog-tap-test-XXXXXX", NULL);
    g_assert_nonnull(pf->dir);
    pf->path = g_strdup_printf("%s/pool", pf->dir);
    pf->args = g_strdup_printf(MACHINE_ARGS " -object memory-backend-file,"
                               "id=pool0,mem-path=%s,size=%d,share=on "
                               "-device predlog,id=pl0,memdev=pool0,policy=dynamic",
                               pf->path, POOL_SIZE);
}

/* The pool as QEMU sees it: a shared mapping reads through the file */
static void pool_file_read(PoolFile *pf)
{
    g_free(pf->data);
    g_assert_true(g_file_get_contents(pf->path, &pf->data, &pf->size, NULL));
    g_assert_cmpuint(pf->size, ==, POOL_SIZE);
}

static void pool_file_cleanup(PoolFile *pf)
{
    g_unlink(pf->path);
    g_rmdir(pf->dir);
    g_free(pf->dir);
    g_free(pf->path);
    g_free(pf->args);
    g_free(pf->data);
}

/* Run QEMU to its exit; return its exit status and its stderr in @err */
static int run_qemu(const char *args, char **err)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmdline = NULL;
    g_auto(GStrv) argv = NULL;
    g_autofree char *out = NULL;
    g_autoptr(GError) gerr = NULL;
    int status;

    g_assert_nonnull(qemu);
    cmdline = g_strdup_printf("%s -accel qtest -display none %s", qemu, args);
    g_assert_true(g_shell_parse_argv(cmdline, NULL, &argv, &gerr));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                               &out, err, &status, &gerr));
    g_assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* QEMU must refuse @args at startup with a message containing @msg */
static void assert_startup_error(const char *args, const char *msg)
{
    g_autofree char *err = NULL;

    g_assert_cmpint(run_qemu(args, &err), !=, 0);
    if (!strstr(err, msg)) {
        g_test_message("expected \"%s\" in: %s", msg, err);
    }
    g_assert_nonnull(strstr(err, msg));
}

/* A QMP command must fail with a message containing @msg */
static void assert_qmp_error(QTestState *qts, const char *msg,
                             const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void assert_qmp_error(QTestState *qts, const char *msg,
                             const char *fmt, ...)
{
    va_list ap;
    QDict *resp, *error;
    const char *desc;

    va_start(ap, fmt);
    resp = qtest_vqmp(qts, fmt, ap);
    va_end(ap);
    error = qdict_get_qdict(resp, "error");
    g_assert_nonnull(error);
    desc = qdict_get_str(error, "desc");
    if (!strstr(desc, msg)) {
        g_test_message("expected \"%s\" in: %s", msg, desc);
    }
    g_assert_nonnull(strstr(desc, msg));
    qobject_unref(resp);
}

/* -object filter-predlog,help documents the filter's own properties */
static void test_net_help(void)
{
    g_autofree char *err = NULL;
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *argv[] = { qemu, "-object", "filter-predlog,help", NULL };
    g_autofree char *out = NULL;
    int status;

    g_assert_nonnull(qemu);
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT,
                               NULL, NULL, &out, &err, &status, NULL));
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
    g_assert_nonnull(strstr(out, "filter-predlog options:"));
    g_assert_nonnull(strstr(out, "recorder=<string>"));
    g_assert_nonnull(strstr(out, "id of the -device predlog"));
    g_assert_nonnull(strstr(out, "snaplen=<uint32>"));
    g_assert_nonnull(strstr(out, "default: 65536"));
    g_assert_nonnull(strstr(out, "netdev=<string>"));
    g_assert_nonnull(strstr(out, "queue=<NetFilterDirection>"));
}

/*
 * Packets pass every filter unchanged, in both directions; each filter
 * logs those of its queue with the right direction, cut at its snaplen.
 */
static void test_net_traffic(void)
{
    const uint32_t len_a = 98, len_b = 1514;
    g_autofree uint8_t *frame_a = make_frame(0xa0, len_a);
    g_autofree uint8_t *frame_b = make_frame(0xb0, len_b);
    FunctionStats tx, all, rx;
    PoolFile pf = { 0 };
    PoolRecord rec;
    QTestState *qts;
    NetPair p;

    net_pair_init(&p);
    pool_file_init(&pf);
    /* The filters come before their recorder and wait for it */
    qts = qtest_initf("%s " NET_PAIR_ARGS " "
                      "-object filter-predlog,id=ftx,netdev=s0,"
                      "recorder=pl0,queue=tx "
                      "-object filter-predlog,id=fall,netdev=s0,"
                      "recorder=pl0 "
                      "-object filter-predlog,id=frx,netdev=s1,"
                      "recorder=pl0,queue=rx,snaplen=20",
                      pf.args, p.s0[1], p.s1[1]);
    /* The netdevs are connected once QEMU answers */
    qtest_qmp_assert_success(qts, "{ 'execute': 'query-status' }");

    /* s0 sends A towards its peer; s1 is sent A from its peer */
    pass_frame(p.s0[0], p.s1[0], frame_a, len_a);
    /* s1 sends B; s0 is sent B */
    pass_frame(p.s1[0], p.s0[0], frame_b, len_b);

    assert_stats(qts, "ftx", "net", 1, len_a);
    assert_stats(qts, "fall", "net", 2, len_a + len_b);
    assert_stats(qts, "frx", "net", 1, 20);
    tx = function_stats(qts, "ftx", "net");
    all = function_stats(qts, "fall", "net");
    rx = function_stats(qts, "frx", "net");
    g_assert_cmpint(tx.id, !=, all.id);
    g_assert_cmpint(rx.id, !=, all.id);

    pool_file_read(&pf);
    /* Sent by the netdev: towards the guest's NIC */
    g_assert_cmpint(pool_find((uint8_t *)pf.data, pf.size,
                              PREDLOG_RECORD_TYPE_NET_PACKET, tx.id,
                              frame_a, len_a, 0, &rec), ==, 1);
    g_assert_cmpuint(rec.aux, ==, PREDLOG_NET_TO_GUEST);
    g_assert_cmpuint(rec.orig_len, ==, len_a);
    g_assert_cmpuint(rec.stored_len, ==, len_a);
    g_assert_cmpint(pool_find((uint8_t *)pf.data, pf.size,
                              PREDLOG_RECORD_TYPE_NET_PACKET, all.id,
                              frame_a, len_a, 0, &rec), ==, 1);
    g_assert_cmpuint(rec.aux, ==, PREDLOG_NET_TO_GUEST);
    /* Sent to the netdev: from the guest's NIC */
    g_assert_cmpint(pool_find((uint8_t *)pf.data, pf.size,
                              PREDLOG_RECORD_TYPE_NET_PACKET, all.id,
                              frame_b, len_b, 0, &rec), ==, 1);
    g_assert_cmpuint(rec.aux, ==, PREDLOG_NET_FROM_GUEST);
    g_assert_cmpuint(rec.orig_len, ==, len_b);
    /* Cut at the filter's snaplen, with the frame's true length kept */
    g_assert_cmpint(pool_find((uint8_t *)pf.data, pf.size,
                              PREDLOG_RECORD_TYPE_NET_PACKET, rx.id,
                              frame_a, 20, 0, &rec), ==, 1);
    g_assert_cmpuint(rec.aux, ==, PREDLOG_NET_FROM_GUEST);
    g_assert_cmpuint(rec.orig_len, ==, len_a);
    g_assert_cmpuint(rec.stored_len, ==, 20);

    qtest_quit(qts);
    pool_file_cleanup(&pf);
    net_pair_close(&p);
}

/* object-add and object-del at run time; status=off pauses logging */
static void test_net_hotplug(void)
{
    const uint32_t len = 60;
    g_autofree uint8_t *frame = make_frame(0x42, len);
    QTestState *qts;
    NetPair p;

    net_pair_init(&p);
    qts = qtest_initf(RECORDER_ARGS " " NET_PAIR_ARGS, p.s0[1], p.s1[1]);
    g_assert_null(get_function(qts, "f1"));

    qtest_qmp_assert_success(qts,
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f1', 'netdev': 's0',"
        "  'recorder': 'pl0' } }");
    assert_stats(qts, "f1", "net", 0, 0);
    pass_frame(p.s0[0], p.s1[0], frame, len);
    pass_frame(p.s1[0], p.s0[0], frame, len);
    assert_stats(qts, "f1", "net", 2, 2 * len);

    /* Off: packets pass, nothing is logged */
    qtest_qmp_assert_success(qts,
        "{ 'execute': 'qom-set', 'arguments': {"
        "  'path': '/objects/f1', 'property': 'status', 'value': 'off' } }");
    pass_frame(p.s0[0], p.s1[0], frame, len);
    assert_stats(qts, "f1", "net", 2, 2 * len);
    qtest_qmp_assert_success(qts,
        "{ 'execute': 'qom-set', 'arguments': {"
        "  'path': '/objects/f1', 'property': 'status', 'value': 'on' } }");
    pass_frame(p.s0[0], p.s1[0], frame, len);
    assert_stats(qts, "f1", "net", 3, 3 * len);

    /* The recorder of a live filter is fixed */
    assert_qmp_error(qts, "cannot change",
        "{ 'execute': 'qom-set', 'arguments': {"
        "  'path': '/objects/f1', 'property': 'recorder', 'value': 'x' } }");

    /* Deleted: traffic flows on; the function and its records stay */
    qtest_qmp_assert_success(qts,
        "{ 'execute': 'object-del', 'arguments': { 'id': 'f1' } }");
    pass_frame(p.s0[0], p.s1[0], frame, len);
    pass_frame(p.s1[0], p.s0[0], frame, len);
    assert_stats(qts, "f1", "net", 3, 3 * len);

    /*
     * Added again under the same id: the same function logs on (and
     * takes no second function slot), with the new filter's snaplen.
     */
    qtest_qmp_assert_success(qts,
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f1', 'netdev': 's1',"
        "  'recorder': 'pl0', 'queue': 'rx', 'snaplen': 14 } }");
    pass_frame(p.s0[0], p.s1[0], frame, len);
    assert_stats(qts, "f1", "net", 4, 3 * len + 14);

    /* Bad filters are refused and leave nothing behind */
    assert_qmp_error(qts, "no device with id 'nope'",
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f2', 'netdev': 's0',"
        "  'recorder': 'nope' } }");
    assert_qmp_error(qts, "property 'recorder' is required",
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f2', 'netdev': 's0',"
        "  'recorder': '' } }");
    assert_qmp_error(qts, "'recorder' is missing",
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f2', 'netdev': 's0' } }");
    assert_qmp_error(qts, "snaplen=13 is out of range",
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f2', 'netdev': 's0',"
        "  'recorder': 'pl0', 'snaplen': 13 } }");
    assert_qmp_error(qts, "netdev",
        "{ 'execute': 'object-add', 'arguments': {"
        "  'qom-type': 'filter-predlog', 'id': 'f2', 'netdev': 'nonet',"
        "  'recorder': 'pl0' } }");
    g_assert_null(get_function(qts, "f2"));
    pass_frame(p.s0[0], p.s1[0], frame, len);

    qtest_quit(qts);
    net_pair_close(&p);
}

static void test_net_bad_startup(void)
{
    assert_startup_error(RECORDER_ARGS " -netdev hubport,id=n0,hubid=0 "
                         "-object filter-predlog,id=f0,netdev=n0",
                         "'recorder' is missing");
    assert_startup_error(RECORDER_ARGS " -netdev hubport,id=n0,hubid=0 "
                         "-object filter-predlog,id=f0,netdev=n0,recorder=",
                         "filter-predlog: property 'recorder' is required "
                         "(the id of a -device predlog)");
    assert_startup_error(RECORDER_ARGS " -netdev hubport,id=n0,hubid=0 "
                         "-object filter-predlog,id=f0,netdev=n0,"
                         "recorder=nope",
                         "there is no '-device predlog,id=nope'");
    assert_startup_error(MACHINE_ARGS " -netdev hubport,id=n0,hubid=0 "
                         "-object filter-predlog,id=f0,netdev=n0,"
                         "recorder=pl0",
                         "there is no '-device predlog,id=pl0'");
    assert_startup_error(RECORDER_ARGS " -netdev hubport,id=n0,hubid=0 "
                         "-object filter-predlog,id=f0,netdev=n0,"
                         "recorder=pl0,snaplen=70000000",
                         "snaplen=70000000 is out of range");
}

/*
 * Run a qemu-io command on @node through HMP.  qemu-io reports on QEMU's
 * stdout (hence -q), so the monitor only says whether the node exists;
 * what the requests did is checked in the pool.
 */
static void qemu_io(QTestState *qts, const char *node, const char *cmd)
{
    g_autofree char *out = qtest_hmp(qts, "qemu-io %s \"%s\"", node, cmd);

    g_assert_cmpstr(out, ==, "");
}

static void assert_block_event_ret(const PoolRecord *rec, PredlogBlockOp op,
                                   uint64_t offset, uint64_t bytes, int ret,
                                   uint32_t orig_len, uint32_t stored_len)
{
    g_assert_cmpuint(rec->aux, ==, op);
    g_assert_cmpuint(ldq_le_p(rec->payload + PREDLOG_BLOCK_OFF_OFFSET), ==,
                     offset);
    g_assert_cmpuint(ldq_le_p(rec->payload + PREDLOG_BLOCK_OFF_BYTES), ==,
                     bytes);
    g_assert_cmpint((int32_t)ldl_le_p(rec->payload + PREDLOG_BLOCK_OFF_RET),
                    ==, ret);
    /* latency: any value, but not a wrapped-around negative one */
    g_assert_cmpuint(ldq_le_p(rec->payload + PREDLOG_BLOCK_OFF_LATENCY), <,
                     UINT64_MAX / 2);
    g_assert_cmpuint(rec->orig_len, ==, orig_len);
    g_assert_cmpuint(rec->stored_len, ==, stored_len);
}

static void assert_block_event(const PoolRecord *rec, PredlogBlockOp op,
                               uint64_t offset, uint64_t bytes,
                               uint32_t orig_len, uint32_t stored_len)
{
    assert_block_event_ret(rec, op, offset, bytes, 0, orig_len, stored_len);
}

/* The one record of function @func_id whose event starts @offset, @bytes */
static PoolRecord find_block_event(PoolFile *pf, int64_t func_id,
                                   uint64_t offset, uint64_t bytes)
{
    uint8_t event[16];
    PoolRecord rec;

    stq_le_p(event + PREDLOG_BLOCK_OFF_OFFSET, offset);
    stq_le_p(event + PREDLOG_BLOCK_OFF_BYTES, bytes);
    g_assert_cmpint(pool_find((uint8_t *)pf->data, pf->size,
                              PREDLOG_RECORD_TYPE_BLOCK_REQUEST, func_id,
                              event, sizeof(event), 0, &rec), ==, 1);
    return rec;
}

/* Every kind of request is logged with its event and, cut, its data */
static void test_block_requests(void)
{
    const uint32_t ev = PREDLOG_BLOCK_EVENT_LEN, snap = 512;
    uint8_t pattern[512], zeroes[512];
    FunctionStats st;
    PoolFile pf = { 0 };
    PoolRecord rec;
    QTestState *qts;

    memset(pattern, 0x5a, sizeof(pattern));
    memset(zeroes, 0, sizeof(zeroes));
    pool_file_init(&pf);
    qts = qtest_initf("%s -blockdev null-co,node-name=null0,size=1048576,"
                      "read-zeroes=on "
                      "-blockdev predlog,node-name=p0,file=null0,"
                      "recorder=pl0,payload=on,snaplen=%u,discard=unmap",
                      pf.args, snap);

    qemu_io(qts, "p0", "write -q -P 0x5a 4096 4096");
    qemu_io(qts, "p0", "read -q 0 8192");
    qemu_io(qts, "p0", "flush");
    qemu_io(qts, "p0", "discard -q 65536 65536");
    qemu_io(qts, "p0", "write -q -z 131072 4096");

    st = function_stats(qts, "p0", "block");
    g_assert_cmpint(st.records, ==, 5);
    g_assert_cmpint(st.bytes, ==, 5 * ev + 2 * snap);

    pool_file_read(&pf);
    /* The write: its data as submitted, cut at snaplen */
    g_assert_cmpint(pool_find((uint8_t *)pf.data, pf.size,
                              PREDLOG_RECORD_TYPE_BLOCK_REQUEST, st.id,
                              pattern, snap, ev, &rec), ==, 1);
    assert_block_event(&rec, PREDLOG_BLOCK_WRITE, 4096, 4096, ev + 4096,
                       ev + snap);
    /* The read: the data as returned */
    g_assert_cmpint(pool_find((uint8_t *)pf.data, pf.size,
                              PREDLOG_RECORD_TYPE_BLOCK_REQUEST, st.id,
                              zeroes, snap, ev, &rec), ==, 1);
    assert_block_event(&rec, PREDLOG_BLOCK_READ, 0, 8192, ev + 8192,
                       ev + snap);
    /* The others carry only their event */
    rec = find_block_event(&pf, st.id, 0, 0);
    assert_block_event(&rec, PREDLOG_BLOCK_FLUSH, 0, 0, ev, ev);
    rec = find_block_event(&pf, st.id, 65536, 65536);
    assert_block_event(&rec, PREDLOG_BLOCK_DISCARD, 65536, 65536, ev, ev);
    rec = find_block_event(&pf, st.id, 131072, 4096);
    assert_block_event(&rec, PREDLOG_BLOCK_WRITE_ZEROES, 131072, 4096, ev, ev);

    qtest_quit(qts);
    pool_file_cleanup(&pf);
}

/*
 * Over a file: writes reach it, reads return its data; payload=off logs
 * events only, and payload=on with the default snaplen 4096 bytes
 */
static void test_block_file(void)
{
    const uint32_t ev = PREDLOG_BLOCK_EVENT_LEN;
    g_autofree char *dir = g_dir_make_tmp("predlog-tap-test-XXXXXX", NULL);
    g_autofree char *img = g_strdup_printf("%s/disk.raw", dir);
    g_autofree char *zero = g_malloc0(65536);
    g_autofree gchar *data = NULL;
    uint8_t pattern[4096];
    FunctionStats st;
    PoolFile pf = { 0 };
    PoolRecord rec;
    gsize size;
    QTestState *qts;
    int i;

    memset(pattern, 0xc3, sizeof(pattern));
    g_assert_true(g_file_set_contents(img, zero, 65536, NULL));
    pool_file_init(&pf);
    qts = qtest_initf("%s -blockdev file,node-name=file0,filename=%s "
                      "-blockdev predlog,node-name=p0,file=file0,"
                      "recorder=pl0 "
                      "-blockdev predlog,node-name=p1,file=p0,"
                      "recorder=pl0,payload=on", pf.args, img);

    /* Through both filters */
    qemu_io(qts, "p1", "write -q -P 0xc3 8192 4096");
    qemu_io(qts, "p1", "read -q 8192 8192");
    assert_stats(qts, "p0", "block", 2, 2 * ev);
    assert_stats(qts, "p1", "block", 2, 2 * (ev + 4096));

    pool_file_read(&pf);
    st = function_stats(qts, "p1", "block");
    rec = find_block_event(&pf, st.id, 8192, 4096);
    assert_block_event(&rec, PREDLOG_BLOCK_WRITE, 8192, 4096, ev + 4096,
                       ev + 4096);
    g_assert_cmpmem(rec.payload + ev, 4096, pattern, sizeof(pattern));
    /* The read returned what the write stored, cut at 4096 */
    rec = find_block_event(&pf, st.id, 8192, 8192);
    assert_block_event(&rec, PREDLOG_BLOCK_READ, 8192, 8192, ev + 8192,
                       ev + 4096);
    g_assert_cmpmem(rec.payload + ev, 4096, pattern, sizeof(pattern));
    st = function_stats(qts, "p0", "block");
    rec = find_block_event(&pf, st.id, 8192, 4096);
    assert_block_event(&rec, PREDLOG_BLOCK_WRITE, 8192, 4096, ev, ev);
    rec = find_block_event(&pf, st.id, 8192, 8192);
    assert_block_event(&rec, PREDLOG_BLOCK_READ, 8192, 8192, ev, ev);

    qtest_quit(qts);

    g_assert_true(g_file_get_contents(img, &data, &size, NULL));
    g_assert_cmpuint(size, ==, 65536);
    for (i = 0; i < 65536; i++) {
        g_assert_cmphex((uint8_t)data[i], ==,
                        i >= 8192 && i < 12288 ? 0xc3 : 0);
    }
    g_unlink(img);
    g_rmdir(dir);
    pool_file_cleanup(&pf);
}

/* A failed request is logged with its error, and the error returned */
static void test_block_error(void)
{
    const uint32_t ev = PREDLOG_BLOCK_EVENT_LEN;
    FunctionStats st;
    PoolFile pf = { 0 };
    PoolRecord rec;
    QTestState *qts;

    pool_file_init(&pf);
    /* raw's reads raise blkdebug's read_aio event, which fails them */
    qts = qtest_initf("%s -blockdev null-co,node-name=null0,size=1048576,"
                      "read-zeroes=on "
                      "-blockdev blkdebug,node-name=dbg,image=null0,"
                      "inject-error.0.event=read_aio,"
                      "inject-error.0.errno=%d "
                      "-blockdev raw,node-name=raw0,file=dbg "
                      "-blockdev predlog,node-name=p0,file=raw0,"
                      "recorder=pl0,payload=on", pf.args, EIO);

    qemu_io(qts, "p0", "read -q 512 1024");
    st = function_stats(qts, "p0", "block");
    g_assert_cmpint(st.records, ==, 1);
    /* Data that was not read is not logged */
    g_assert_cmpint(st.bytes, ==, ev);
    pool_file_read(&pf);
    rec = find_block_event(&pf, st.id, 512, 1024);
    assert_block_event_ret(&rec, PREDLOG_BLOCK_READ, 512, 1024, -EIO,
                           ev + 1024, ev);

    qtest_quit(qts);
    pool_file_cleanup(&pf);
}

/* blockdev-add, -reopen and -del at run time; bad options refused */
static void test_block_hotplug(void)
{
    QTestState *qts = qtest_init(RECORDER_ARGS);

    qtest_qmp_assert_success(qts,
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'null-co', 'node-name': 'null0', 'size': 1048576,"
        "  'read-zeroes': true } }");

    assert_qmp_error(qts, "'recorder' is missing",
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0' } }");
    assert_qmp_error(qts, "no device with id 'nope'",
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': 'nope' } }");
    assert_qmp_error(qts, "option 'recorder' is required",
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': '' } }");
    assert_qmp_error(qts, "snaplen=0 is out of range",
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': 'pl0', 'payload': true, 'snaplen': 0 } }");
    assert_qmp_error(qts, "snaplen only applies with payload=on",
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': 'pl0', 'snaplen': 100 } }");
    g_assert_null(get_function(qts, "p1"));

    qtest_qmp_assert_success(qts,
        "{ 'execute': 'blockdev-add', 'arguments': {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': 'pl0' } }");
    qemu_io(qts, "p1", "write -q 0 1024");
    assert_stats(qts, "p1", "block", 1, PREDLOG_BLOCK_EVENT_LEN);

    /* payload and snaplen may change; the recorder may not */
    assert_qmp_error(qts, "recorder cannot change",
        "{ 'execute': 'blockdev-reopen', 'arguments': { 'options': [ {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': 'other' } ] } }");
    qtest_qmp_assert_success(qts,
        "{ 'execute': 'blockdev-reopen', 'arguments': { 'options': [ {"
        "  'driver': 'predlog', 'node-name': 'p1', 'file': 'null0',"
        "  'recorder': 'pl0', 'payload': true, 'snaplen': 100 } ] } }");
    /* Each reopen flushes the node first: two flushes, then the write */
    qemu_io(qts, "p1", "write -q 0 1024");
    assert_stats(qts, "p1", "block", 4, 4 * PREDLOG_BLOCK_EVENT_LEN + 100);

    qtest_qmp_assert_success(qts,
        "{ 'execute': 'blockdev-del', 'arguments': {"
        "  'node-name': 'p1' } }");
    /* Closing flushed it a last time; I/O below it is not logged */
    qemu_io(qts, "null0", "write -q 0 1024");
    assert_stats(qts, "p1", "block", 5, 5 * PREDLOG_BLOCK_EVENT_LEN + 100);

    qtest_quit(qts);
}

/* Requests completing in an iothread are logged like the others */
static void test_block_iothread(void)
{
    QTestState *qts = qtest_init(RECORDER_ARGS " -object iothread,id=io0 "
                                 "-blockdev null-co,node-name=null0,"
                                 "size=1048576 "
                                 "-blockdev predlog,node-name=p0,file=null0,"
                                 "recorder=pl0,payload=on");
    int i;

    qtest_qmp_assert_success(qts,
        "{ 'execute': 'x-blockdev-set-iothread', 'arguments': {"
        "  'node-name': 'p0', 'iothread': 'io0' } }");
    for (i = 0; i < 20; i++) {
        qemu_io(qts, "p0", "aio_write -q -P 0x11 0 4096");
        qemu_io(qts, "p0", "aio_read -q 0 4096");
    }
    qemu_io(qts, "p0", "flush");
    assert_stats(qts, "p0", "block", 41,
                 40 * (PREDLOG_BLOCK_EVENT_LEN + 4096) +
                 PREDLOG_BLOCK_EVENT_LEN);
    qtest_quit(qts);
}

static void test_block_bad_startup(void)
{
    assert_startup_error(RECORDER_ARGS " -blockdev null-co,node-name=n0 "
                         "-blockdev predlog,node-name=p0,file=n0",
                         "'recorder' is missing");
    assert_startup_error(RECORDER_ARGS " -drive driver=predlog,if=none,"
                         "file.driver=null-co",
                         "predlog: option 'recorder' is required "
                         "(the id of a -device predlog)");
    assert_startup_error(RECORDER_ARGS " -blockdev null-co,node-name=n0 "
                         "-blockdev predlog,node-name=p0,file=n0,"
                         "recorder=nope",
                         "there is no '-device predlog,id=nope'");
    assert_startup_error(RECORDER_ARGS " -blockdev null-co,node-name=n0 "
                         "-blockdev predlog,node-name=p0,file=n0,"
                         "recorder=pl0,payload=on,snaplen=16777216",
                         "snaplen=16777216 is out of range");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/predlog-tap/net/help", test_net_help);
    qtest_add_func("/predlog-tap/net/traffic", test_net_traffic);
    qtest_add_func("/predlog-tap/net/hotplug", test_net_hotplug);
    qtest_add_func("/predlog-tap/net/bad-startup", test_net_bad_startup);
    qtest_add_func("/predlog-tap/block/requests", test_block_requests);
    qtest_add_func("/predlog-tap/block/file", test_block_file);
    qtest_add_func("/predlog-tap/block/error", test_block_error);
    qtest_add_func("/predlog-tap/block/hotplug", test_block_hotplug);
    qtest_add_func("/predlog-tap/block/iothread", test_block_iothread);
    qtest_add_func("/predlog-tap/block/bad-startup", test_block_bad_startup);

    return g_test_run();
}
