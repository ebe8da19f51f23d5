/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: partition-level copy-on-write for background snapshots
 *
 * A stock background snapshot write-protects guest RAM with userfaultfd
 * and saves it in address order; the first write to a page not yet saved
 * faults, and the vCPU sleeps until the migration thread has written that
 * page to the stream and unprotected it: one writev and one ioctl per
 * page, per fault.  With the "predlog-cow" capability ram.c's fault poll
 * asks this file instead (predlog-cow.h):
 *
 *  1. Partitions.  At the start every RAMBlock is cut into partitions
 *     (predlog/partition.c) from a per-page heat (predlog/heat.c): the
 *     dirty history of the last predlog pre-copy, if any, and the write
 *     faults of this VM's previous snapshot (predlog/faultlog.c), kept
 *     across snapshots.  Faults of the snapshot under way heat their
 *     cells, and the maps are re-cut every COW_RECUT_NS.
 *  2. Copy-on-write.  A fault in a hot partition copies the partition's
 *     pages not yet saved into the bounce pool (predlog/bounce.c), a
 *     fault in a cold one the cell around it; then one ioctl unprotects
 *     the range and wakes the vCPU.  The copies are the memory of the
 *     snapshot instant: until that ioctl every one of those pages is
 *     still write-protected.  The pages stay dirty in ram.c's bitmap;
 *     ram.c saves them from their copies (predlog_cow_copy_of()), oldest
 *     first, without flush or ioctl.
 *  3. Hot first.  Before ram.c's search, hot partitions are saved in the
 *     map's save order, copied the same way while the pool is at most
 *     half full (one ioctl per partition), page by page through ram.c
 *     otherwise: written before the guest gets there, they never fault.
 *  4. Fallback.  A fault whose copy does not fit the pool, or in a block
 *     predlog does not manage (huge pages, discard managers), is queued
 *     and handed back to ram.c, which serves it as stock: the page is
 *     saved and unprotected.  Nothing waits for the pool, nothing is lost.
 *
 * Everything but the query runs in the migration thread with ram.c's
 * bitmap_mutex held, as stock's fault poll, so the cores need no lock and
 * a block's migration bitmap says which pages are still to be saved.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qemu/userfaultfd.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "exec/ram_addr.h"
#include "exec/ramblock.h"
#include "exec/target_page.h"
#include "migration.h"
#include "options.h"
#include "qemu-file.h"
#include "ram.h"
#include "predlog/bounce.h"
#include "predlog/faultlog.h"
#include "predlog/heat.h"
#include "predlog/partition.h"
#include "predlog-ram.h"
#include "predlog-cow.h"
#include "trace.h"

/* The bounce pool's cap when predlog-cow-bounce-size is 0. */
#define COW_BOUNCE_DEFAULT_PERCENT  5
/* Fault messages read at once. */
#define COW_READ_BATCH              32
/* Faults waiting for ram.c's stock path; more stay in the uffd. */
#define COW_FALLBACK_MAX            256
/* How often the snapshot's own faults re-cut the maps. */
#define COW_RECUT_NS                (50 * SCALE_MS)
/*
 * Saved pages unprotected with one ioctl.  Stock QEMU flushes the stream
 * and unprotects after every page: a writev and an ioctl, whose TLB
 * shootdown interrupts every CPU running the guest, per page.  A saved
 * page still protected costs only a fault that unprotects the run at
 * once (the fault poll flushes it first), so the batch is small.
 */
#define COW_UNPROTECT_BATCH         64
/* Faults kept per snapshot for the next one (24 bytes each). */
#define COW_FAULTLOG_MAX            (1u << 20)
/*
 * Heat of one write fault, per page of its cell: a cell's first fault
 * copies the whole cell, so one fault is all a cell ever shows, and it
 * says "written before it was saved" for all of it.
 */
#define COW_FAULT_HEAT              1.0f
/* Faults of the previous snapshot count half this much later. */
#define COW_FAULT_HALF_LIFE_NS      NANOSECONDS_PER_SECOND

typedef struct CowBlock {
    RAMBlock *rb;
    uint64_t first;             /* global page of its page 0 */
    uint64_t npages;
    PredlogPartitionMap *map;
    float *heat;                /* per page, what the map was cut from */
    uint32_t *slot;             /* per page: bounce slot + 1, 0 no copy */
    unsigned long *prev_fault;  /* faulted in the previous snapshot */
    bool heat_changed;          /* faults since the last re-cut */
    uint64_t base_splits;       /* the initial cut's, not counted */
    uint64_t base_merges;
} CowBlock;

/* A page: a managed block's index (or -1) and block-relative page */
typedef struct CowRef {
    RAMBlock *rb;
    int block;
    uint64_t page;
    int64_t t_ns;               /* when its fault was read */
} CowRef;

/* A hot partition in save order */
typedef struct CowHot {
    unsigned block;
    uint64_t start;
    uint64_t npages;
    double heat;
} CowHot;

typedef struct PredlogCow {
    bool active;
    int uffd;
    int64_t start_ns;
    int64_t recut_ns;
    PredlogPartitionConfig cfg;
    CowBlock *blocks;
    unsigned nblocks;
    unsigned last_block;        /* block_of()'s guess */
    PredlogBouncePool *pool;
    uint64_t pool_cap;
    uint32_t *taken;            /* one copy's slots */

    CowRef *copies;             /* ring, in the order they were made */
    uint64_t copies_cap, copies_head, copies_len;
    CowRef fallback[COW_FALLBACK_MAX];
    unsigned fallback_head, fallback_len;
    bool serving;               /* a fallback ram.c is saving now */
    CowRef served;
    RAMBlock *copy_rb;          /* the page last saved from a copy */
    uint64_t copy_page;
    bool copy_valid;
    QEMUFile *file;             /* the stream of the pending run */
    RAMBlock *pend_rb;          /* saved pages not yet unprotected */
    uint64_t pend_start, pend_len;

    GArray *hot;                /* CowHot, save order */
    guint hot_pos;
    uint64_t hot_page;          /* next page of hot[hot_pos] */

    PredlogCowStats st;         /* the migration thread's */
} PredlogCow;

static PredlogCow cow;
/* The fault log outlives snapshots: the next one learns from it. */
static PredlogFaultLog *cow_faults;
static QemuMutex cow_stats_lock;
static bool cow_have_stats;
static PredlogCowStats cow_published;

static void __attribute__((constructor)) predlog_cow_init(void)
{
    qemu_mutex_init(&cow_stats_lock);
}

bool predlog_cow_check_params(const MigrationParameters *params,
                              Error **errp)
{
    static const struct {
        const char *name;
        size_t offset_has, offset_val;
        bool zero_ok;
    } sizes[] = {
#define COW_SIZE(n, f, z) { n, offsetof(MigrationParameters, has_##f), \
                            offsetof(MigrationParameters, f), z }
        COW_SIZE("predlog-cow-bounce-size", predlog_cow_bounce_size, true),
        COW_SIZE("predlog-cow-cell-size", predlog_cow_cell_size, false),
        COW_SIZE("predlog-cow-max-hot-size", predlog_cow_max_hot_size,
                 false),
        COW_SIZE("predlog-cow-max-cold-size", predlog_cow_max_cold_size,
                 false),
#undef COW_SIZE
    };
    const char *p = (const char *)params;

    for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
        uint64_t v;

        if (!*(const bool *)(p + sizes[i].offset_has)) {
            continue;
        }
        v = *(const uint64_t *)(p + sizes[i].offset_val);
        if ((!v && !sizes[i].zero_ok) || v % TARGET_PAGE_SIZE ||
            v / TARGET_PAGE_SIZE > UINT32_MAX) {
            error_setg(errp, "Parameter '%s' expects a multiple of the "
                       "target page size (%u bytes), %sat most %" PRIu64
                       " bytes", sizes[i].name, (unsigned)TARGET_PAGE_SIZE,
                       sizes[i].zero_ok ? "0 or more, " : "",
                       (uint64_t)UINT32_MAX * TARGET_PAGE_SIZE);
            return false;
        }
    }
    if (params->has_predlog_cow_cell_size &&
        params->has_predlog_cow_max_hot_size &&
        params->has_predlog_cow_max_cold_size &&
        (params->predlog_cow_max_hot_size < params->predlog_cow_cell_size ||
         params->predlog_cow_max_cold_size < params->predlog_cow_cell_size)) {
        error_setg(errp, "Parameters 'predlog-cow-max-hot-size' and "
                   "'predlog-cow-max-cold-size' must be at least "
                   "'predlog-cow-cell-size' (%" PRIu64 " bytes)",
                   params->predlog_cow_cell_size);
        return false;
    }
    if (params->has_predlog_cow_hot_threshold &&
        (params->predlog_cow_hot_threshold < 1 ||
         params->predlog_cow_hot_threshold > 100)) {
        error_setg(errp, "Parameter 'predlog-cow-hot-threshold' expects a "
                   "percentage in the range of 1 to 100");
        return false;
    }
    if (params->has_predlog_cow_hot_threshold &&
        params->has_predlog_cow_cold_threshold &&
        params->predlog_cow_cold_threshold >=
        params->predlog_cow_hot_threshold) {
        error_setg(errp, "Parameter 'predlog-cow-cold-threshold' (%u) must "
                   "be below 'predlog-cow-hot-threshold' (%u)",
                   params->predlog_cow_cold_threshold,
                   params->predlog_cow_hot_threshold);
        return false;
    }
    return true;
}

uint64_t predlog_cow_uffd_features(void)
{
    uint64_t features;

    if (!migrate_predlog_cow() || uffd_query_features(&features)) {
        return 0;
    }
    return features & UFFD_FEATURE_THREAD_ID;
}

static int64_t cow_now(void)
{
    return qemu_clock_get_ns(QEMU_CLOCK_REALTIME);
}

static void cow_config(PredlogPartitionConfig *cfg)
{
    predlog_partition_config_default(cfg);
    cfg->cell_pages = migrate_predlog_cow_cell_size() / TARGET_PAGE_SIZE;
    cfg->max_hot_pages = migrate_predlog_cow_max_hot_size() /
                         TARGET_PAGE_SIZE;
    cfg->max_pages = migrate_predlog_cow_max_cold_size() / TARGET_PAGE_SIZE;
    cfg->hot_on = migrate_predlog_cow_hot_threshold() / 100.0;
    cfg->hot_off = migrate_predlog_cow_cold_threshold() / 100.0;
}

/* Blocks predlog-cow saves: write-protected, target pages, no holes. */
static bool cow_block_managed(RAMBlock *rb)
{
    return (rb->flags & RAM_UF_WRITEPROTECT) && rb->bmap &&
           rb->page_size == TARGET_PAGE_SIZE &&
           !(rb->mr && memory_region_has_ram_discard_manager(rb->mr)) &&
           rb->used_length >= TARGET_PAGE_SIZE;
}

static CowBlock *block_of(RAMBlock *rb)
{
    if (cow.last_block < cow.nblocks &&
        cow.blocks[cow.last_block].rb == rb) {
        return &cow.blocks[cow.last_block];
    }
    for (unsigned i = 0; i < cow.nblocks; i++) {
        if (cow.blocks[i].rb == rb) {
            cow.last_block = i;
            return &cow.blocks[i];
        }
    }
    return NULL;
}

static gint cow_hot_cmp(gconstpointer a, gconstpointer b)
{
    const CowHot *x = a, *y = b;

    if (x->heat != y->heat) {
        return x->heat > y->heat ? -1 : 1;
    }
    if (x->block != y->block) {
        return x->block < y->block ? -1 : 1;
    }
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The hot partitions of every map, hottest first; restart the cursor. */
static void cow_build_order(void)
{
    g_array_set_size(cow.hot, 0);
    for (unsigned b = 0; b < cow.nblocks; b++) {
        PredlogPartitionMap *m = cow.blocks[b].map;
        unsigned n = predlog_partition_count(m);

        for (unsigned i = 0; i < n; i++) {
            const PredlogPartition *part = predlog_partition_get(m, i);
            CowHot h = {
                .block = b, .start = part->start, .npages = part->npages,
                .heat = part->heat,
            };

            if (part->hot) {
                g_array_append_val(cow.hot, h);
            }
        }
    }
    g_array_sort(cow.hot, cow_hot_cmp);
    cow.hot_pos = 0;
    cow.hot_page = cow.hot->len ? g_array_index(cow.hot, CowHot, 0).start : 0;
}

static void cow_publish(void)
{
    PredlogBounceStats bs;
    PredlogFaultLogStats fs;

    cow.st.partitions = cow.st.hot_partitions = cow.st.hot_pages = 0;
    cow.st.splits = cow.st.merges = 0;
    for (unsigned b = 0; b < cow.nblocks; b++) {
        PredlogPartitionStats ps;

        predlog_partition_get_stats(cow.blocks[b].map, &ps);
        cow.st.partitions += ps.partitions;
        cow.st.hot_partitions += ps.hot_partitions;
        cow.st.hot_pages += ps.hot_pages;
        cow.st.splits += ps.splits - cow.blocks[b].base_splits;
        cow.st.merges += ps.merges - cow.blocks[b].base_merges;
    }
    predlog_bounce_get_stats(cow.pool, &bs);
    cow.st.bounce_size = bs.cap * TARGET_PAGE_SIZE;
    cow.st.bounce_peak = bs.peak * TARGET_PAGE_SIZE;
    cow.st.bounce_refused = bs.refused;
    predlog_faultlog_get_stats(cow_faults, &fs);
    cow.st.fault_threads = fs.threads;
    cow.st.pages_per_fault = cow.st.faults_copied ?
        (double)cow.st.pages_copied / cow.st.faults_copied : 0;
    WITH_QEMU_LOCK_GUARD(&cow_stats_lock) {
        cow_published = cow.st;
        cow_have_stats = true;
    }
}

static void cow_free(void)
{
    for (unsigned b = 0; b < cow.nblocks; b++) {
        predlog_partition_map_free(cow.blocks[b].map);
        g_free(cow.blocks[b].heat);
        g_free(cow.blocks[b].slot);
        g_free(cow.blocks[b].prev_fault);
    }
    g_free(cow.blocks);
    predlog_bounce_free(cow.pool);
    g_free(cow.taken);
    g_free(cow.copies);
    if (cow.hot) {
        g_array_free(cow.hot, true);
    }
    memset(&cow, 0, sizeof(cow));
}

/* A block's first map, from the history and the previous snapshot. */
static bool cow_block_init(CowBlock *cb, RAMBlock *rb,
                           const PredlogHistory *history, Error **errp)
{
    PredlogHeatWeights w;
    PredlogPartitionStats ps;
    g_autoptr(GError) gerr = NULL;
    uint32_t nprev = predlog_faultlog_count(cow_faults,
                                            PREDLOG_FAULTS_PREVIOUS);

    cb->rb = rb;
    cb->first = rb->offset >> TARGET_PAGE_BITS;
    cb->npages = rb->used_length >> TARGET_PAGE_BITS;
    cb->map = predlog_partition_map_new(cb->npages, &cow.cfg, &gerr);
    if (!cb->map) {
        error_setg(errp, "predlog-cow: %s", gerr->message);
        return false;
    }
    cb->heat = g_try_new0(float, cb->npages);
    cb->slot = g_try_new0(uint32_t, cb->npages);
    cb->prev_fault = bitmap_try_new(cb->npages);
    if (!cb->heat || !cb->slot || !cb->prev_fault) {
        error_setg(errp, "predlog-cow: no memory for the partition map of "
                   "'%s' (%" PRIu64 " pages); disable 'predlog-cow'",
                   rb->idstr, cb->npages);
        return false;
    }

    predlog_heat_default_weights(&w);
    w.fault = COW_FAULT_HEAT * cow.cfg.cell_pages;
    w.fault_half_life_ns = COW_FAULT_HALF_LIFE_NS;
    predlog_heat_build(history, cow_faults, cb->first, cb->npages, &w,
                       cb->heat);
    /* a class holds only after dwell updates: settle the first map */
    for (unsigned i = 0; i < cow.cfg.dwell; i++) {
        predlog_partition_update(cb->map, cb->heat);
    }
    predlog_partition_get_stats(cb->map, &ps);
    cb->base_splits = ps.splits;
    cb->base_merges = ps.merges;

    for (uint32_t i = 0; i < nprev; i++) {
        const PredlogFault *f = predlog_faultlog_get(cow_faults,
                                                     PREDLOG_FAULTS_PREVIOUS,
                                                     i);

        if (f->page >= cb->first && f->page - cb->first < cb->npages) {
            set_bit(f->page - cb->first, cb->prev_fault);
        }
    }
    return true;
}

bool predlog_cow_start(int uffd_fd, Error **errp)
{
    const PredlogHistory *history;
    RAMBlock *rb;
    uint64_t total = 0, npages = 1, cap;
    unsigned n = 0;

    cow_free();
    if (!migrate_predlog_cow()) {
        return true;
    }
    cow_config(&cow.cfg);

    RCU_READ_LOCK_GUARD();
    RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
        npages = MAX(npages, (rb->offset + rb->max_length) >> TARGET_PAGE_BITS);
        if (cow_block_managed(rb)) {
            n++;
            total += rb->used_length >> TARGET_PAGE_BITS;
        }
    }

    if (cow_faults && predlog_faultlog_npages(cow_faults) != npages) {
        /* the RAM layout changed: the last snapshot's pages mean nothing */
        predlog_faultlog_free(cow_faults);
        cow_faults = NULL;
    }
    if (!cow_faults) {
        cow_faults = predlog_faultlog_new(npages, COW_FAULTLOG_MAX);
    }
    predlog_faultlog_begin(cow_faults);
    history = predlog_ram_history();
    if (history && predlog_history_npages(history) < npages) {
        history = NULL;
    }

    cap = migrate_predlog_cow_bounce_size() / TARGET_PAGE_SIZE;
    if (!cap) {
        /*
         * 5 % of RAM in all: the per-page maps (heat, slot, one bit of
         * previous faults) come off it, and each slot costs its page
         * and its place in the ring of copies.
         */
        uint64_t budget = total * TARGET_PAGE_SIZE *
                          COW_BOUNCE_DEFAULT_PERCENT / 100;
        uint64_t maps = total * (sizeof(float) + sizeof(uint32_t)) +
                        total / 8;

        cap = MAX((budget - MIN(maps, budget)) /
                  (TARGET_PAGE_SIZE + sizeof(CowRef)), 1);
    }
    cap = MIN(cap, UINT32_MAX);
    cow.pool = predlog_bounce_new(cap, TARGET_PAGE_SIZE);
    if (!cow.pool) {
        error_setg(errp, "predlog-cow: cannot reserve a bounce pool of %"
                   PRIu64 " bytes", cap * TARGET_PAGE_SIZE);
        error_append_hint(errp, "Lower 'predlog-cow-bounce-size' or "
                          "disable 'predlog-cow'\n");
        goto fail;
    }
    cow.pool_cap = cap;
    cow.taken = g_new(uint32_t, MAX(cow.cfg.max_hot_pages,
                                    cow.cfg.cell_pages));
    cow.copies_cap = cap;
    cow.copies = g_try_new(CowRef, cap);
    cow.blocks = g_new0(CowBlock, MAX(n, 1));
    cow.hot = g_array_new(false, false, sizeof(CowHot));
    if (!cow.copies) {
        error_setg(errp, "predlog-cow: no memory for %" PRIu64 " copies",
                   cap);
        goto fail;
    }
    RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
        if (cow_block_managed(rb)) {
            if (!cow_block_init(&cow.blocks[cow.nblocks++], rb, history,
                                errp)) {
                goto fail;
            }
        }
    }
    cow_build_order();

    memset(&cow.st, 0, sizeof(cow.st));
    cow.st.previous_faults =
        predlog_faultlog_count(cow_faults, PREDLOG_FAULTS_PREVIOUS);
    cow.st.history = history != NULL;
    cow.uffd = uffd_fd;
    cow.start_ns = cow.recut_ns = cow_now();
    cow.active = true;
    cow_publish();
    trace_predlog_cow_start(cow.nblocks, total, cap, cow.st.partitions,
                            cow.st.hot_partitions, cow.st.hot_pages,
                            cow.st.previous_faults, cow.st.history);
    return true;

fail:
    cow_free();
    return false;
}

void predlog_cow_stop(void)
{
    if (!cow.active) {
        return;
    }
    cow_publish();
    trace_predlog_cow_stop(cow.st.faults, cow.st.faults_copied,
                           cow.st.faults_fallback, cow.st.pages_copied,
                           cow.copies_len, cow.st.stall_total,
                           cow.st.stall_max);
    /* unwritten copies belong to a snapshot that failed: drop them */
    cow_free();
}

static void cow_stall(int64_t t_ns)
{
    uint64_t us = MAX(cow_now() - t_ns, 0) / SCALE_US;

    cow.st.stall_total += us;
    cow.st.stall_max = MAX(cow.st.stall_max, us);
}

static void cow_fail(int err)
{
    MigrationState *s = migrate_get_current();

    error_report_once("predlog-cow: unprotecting guest memory failed: %s",
                      strerror(-err));
    qemu_file_set_error(s->to_dst_file, err);
}

/*
 * Unprotect the run of saved pages still protected, after flushing the
 * stream: ram.c queues a page's memory itself, not a copy of it, so the
 * guest may change the page only once the stream has it.
 */
static void cow_flush_pending(void)
{
    int ret;

    if (!cow.pend_len) {
        return;
    }
    qemu_fflush(cow.file);
    ret = uffd_change_protection(cow.uffd, cow.pend_rb->host +
                                 (cow.pend_start << TARGET_PAGE_BITS),
                                 cow.pend_len << TARGET_PAGE_BITS, false,
                                 false);
    if (ret) {
        cow_fail(ret);
    }
    cow.pend_len = 0;
}

/*
 * Make room for @n more copies in the ring: drop the entries whose copy
 * ram.c's own search saved first.  Copies in use never exceed the pool's
 * cap, the ring's size, so this always makes room for a take that fit.
 */
static void cow_copies_compact(uint64_t n)
{
    uint64_t kept = 0;

    if (cow.copies_len + n <= cow.copies_cap) {
        return;
    }
    for (uint64_t i = 0; i < cow.copies_len; i++) {
        CowRef ref = cow.copies[(cow.copies_head + i) % cow.copies_cap];

        if (cow.blocks[ref.block].slot[ref.page]) {
            cow.copies[(cow.copies_head + kept++) % cow.copies_cap] = ref;
        }
    }
    cow.copies_len = kept;
}

/*
 * Copy the pages of @cb's [@a, @e) that are still to be saved and have
 * no copy, then unprotect [@a, @e) with one ioctl that wakes whoever
 * faulted there.  False, nothing done, if the pool has no room.
 */
static bool cow_copy_range(CowBlock *cb, int64_t t_ns, uint64_t a,
                           uint64_t e, uint64_t *copied)
{
    RAMBlock *rb = cb->rb;
    uint64_t n = 0, k = 0;
    int ret;

    /* [a, e) is unprotected below: no saved page of it may be in flight */
    cow_flush_pending();
    for (uint64_t p = a; p < e; p++) {
        n += test_bit(p, rb->bmap) && !cb->slot[p];
    }
    if (n && !predlog_bounce_take(cow.pool, n, cow.taken)) {
        return false;
    }
    cow_copies_compact(n);
    for (uint64_t p = a; p < e && k < n; p++) {
        if (test_bit(p, rb->bmap) && !cb->slot[p]) {
            uint32_t s = cow.taken[k++];
            CowRef *ref = &cow.copies[(cow.copies_head + cow.copies_len++) %
                                      cow.copies_cap];

            memcpy(predlog_bounce_page(cow.pool, s),
                   rb->host + (p << TARGET_PAGE_BITS), TARGET_PAGE_SIZE);
            cb->slot[p] = s + 1;
            *ref = (CowRef) { .rb = rb, .block = cb - cow.blocks, .page = p,
                              .t_ns = t_ns };
        }
    }
    ret = uffd_change_protection(cow.uffd, rb->host + (a << TARGET_PAGE_BITS),
                                 (e - a) << TARGET_PAGE_BITS, false, false);
    if (ret) {
        cow_fail(ret);
    }
    *copied = n;
    return true;
}

/* Serve a write fault on @cb's @page by copy-on-write, if it fits. */
static bool cow_serve(CowBlock *cb, uint64_t page, int64_t t_ns)
{
    const PredlogPartition *part;
    uint64_t a, n, e, cell = cow.cfg.cell_pages, copied;
    int i = predlog_partition_fault(cb->map, page, &a, &n);

    if (i < 0) {
        /* past the block's used length (a resized block): stock */
        return false;
    }
    part = predlog_partition_get(cb->map, i);
    /*
     * The partition's extent for this fault (partition.h).  What the pool
     * has no room for shrinks to the cell, then to the page, before the
     * fault goes the stock way.
     */
    e = a + n;
    if (!cow_copy_range(cb, t_ns, a, e, &copied)) {
        trace_predlog_cow_refused(cb->rb->idstr, page, e - a,
                                  predlog_bounce_free_slots(cow.pool));
        a = MAX(page - page % cell, part->start);
        e = MIN(page - page % cell + cell, part->start + part->npages);
        if (!cow_copy_range(cb, t_ns, a, e, &copied)) {
            a = page;
            e = page + 1;
            if (!cow_copy_range(cb, t_ns, a, e, &copied)) {
                return false;
            }
        }
    }
    cow.st.faults_copied++;
    cow.st.pages_copied += copied;
    cow_stall(t_ns);
    trace_predlog_cow_fault(cb->rb->idstr, page, part->hot, a, e - a, copied,
                            (cow_now() - t_ns) / SCALE_US);

    /* the snapshot's own faults heat their cells for the next re-cut */
    for (uint64_t p = page - page % cell; p < MIN(page - page % cell + cell,
                                                  cb->npages); p++) {
        cb->heat[p] += COW_FAULT_HEAT;
    }
    cb->heat_changed = true;
    return true;
}

static void cow_queue_fallback(RAMBlock *rb, int block, uint64_t page,
                               int64_t t_ns)
{
    CowRef *ref = &cow.fallback[(cow.fallback_head + cow.fallback_len++) %
                                COW_FALLBACK_MAX];

    *ref = (CowRef) { .rb = rb, .block = block, .page = page, .t_ns = t_ns };
    cow.st.faults_fallback++;
}

static void cow_read_faults(void)
{
    struct uffd_msg msg[COW_READ_BATCH];
    int n = MIN(COW_READ_BATCH, COW_FALLBACK_MAX - cow.fallback_len);
    int got;

    if (n <= 0) {
        return;
    }
    got = uffd_read_events(cow.uffd, msg, n);
    if (got > 0) {
        /* a vCPU may wait on a saved page of the pending run */
        cow_flush_pending();
    }
    for (int i = 0; i < got; i++) {
        void *addr = (void *)(uintptr_t)msg[i].arg.pagefault.address;
        int64_t t_ns = cow_now();
        ram_addr_t offset;
        RAMBlock *rb;
        CowBlock *cb;
        uint64_t page;

        if (msg[i].event != UFFD_EVENT_PAGEFAULT) {
            continue;
        }
        rb = qemu_ram_block_from_host(addr, false, &offset);
        if (!rb || !(rb->flags & RAM_UF_WRITEPROTECT)) {
            /* stock asserts here; unregistering at the end wakes it */
            error_report_once("predlog-cow: write fault outside guest RAM "
                              "at %p", addr);
            continue;
        }
        page = offset >> TARGET_PAGE_BITS;
        cow.st.faults++;
        predlog_faultlog_add(cow_faults,
                             (rb->offset >> TARGET_PAGE_BITS) + page,
                             t_ns - cow.start_ns,
                             msg[i].arg.pagefault.feat.ptid);
        cb = block_of(rb);
        if (!cb || !cow_serve(cb, page, t_ns)) {
            cow_queue_fallback(rb, cb ? cb - cow.blocks : -1, page, t_ns);
        }
    }
    if (got > 0) {
        cow_publish();
    }
}

static void cow_recut(void)
{
    bool changed = false;

    for (unsigned b = 0; b < cow.nblocks; b++) {
        CowBlock *cb = &cow.blocks[b];

        if (cb->heat_changed) {
            predlog_partition_update(cb->map, cb->heat);
            cb->heat_changed = false;
            changed = true;
        }
    }
    if (changed) {
        cow_build_order();
        cow_publish();
        trace_predlog_cow_recut(cow.st.partitions, cow.st.hot_partitions,
                                cow.st.splits, cow.st.merges);
    }
}

/*
 * The next page of the hot partitions still to be saved.  While the pool
 * is at most half full a whole partition is copied and unprotected at
 * once (and then saved as copies); otherwise its pages go one by one.
 */
static RAMBlock *cow_next_hot(ram_addr_t *offset)
{
    while (cow.hot_pos < cow.hot->len) {
        const CowHot *h = &g_array_index(cow.hot, CowHot, cow.hot_pos);
        CowBlock *cb = &cow.blocks[h->block];
        uint64_t end = h->start + h->npages, copied;

        if (cow.hot_page == h->start &&
            predlog_bounce_free_slots(cow.pool) >=
            cow.pool_cap / 2 + h->npages &&
            cow_copy_range(cb, cow_now(), h->start, end, &copied)) {
            cow.st.hot_first_pages += copied;
            cow.hot_page = end;
            for (uint64_t p = h->start; p < end; p++) {
                cow.st.faults_avoided += test_bit(p, cb->prev_fault) &&
                                         cb->slot[p];
            }
        }
        for (; cow.hot_page < end; cow.hot_page++) {
            uint64_t p = cow.hot_page;

            if (test_bit(p, cb->rb->bmap) && !cb->slot[p]) {
                cow.hot_page++;
                cow.st.hot_first_pages++;
                cow.st.faults_avoided += test_bit(p, cb->prev_fault);
                *offset = p << TARGET_PAGE_BITS;
                return cb->rb;
            }
        }
        if (++cow.hot_pos < cow.hot->len) {
            cow.hot_page = g_array_index(cow.hot, CowHot, cow.hot_pos).start;
        }
    }
    return NULL;
}

RAMBlock *predlog_cow_next_page(ram_addr_t *offset)
{
    if (!cow.active) {
        return NULL;
    }
    cow_read_faults();
    if (cow_now() - cow.recut_ns >= COW_RECUT_NS) {
        cow.recut_ns = cow_now();
        cow_recut();
    }

    /* 1. faults the pool had no room for: their vCPUs are waiting */
    while (cow.fallback_len) {
        CowRef ref = cow.fallback[cow.fallback_head];

        cow.fallback_head = (cow.fallback_head + 1) % COW_FALLBACK_MAX;
        cow.fallback_len--;
        if (test_bit(ref.page, ref.rb->bmap)) {
            cow.serving = true;
            cow.served = ref;
            *offset = ref.page << TARGET_PAGE_BITS;
            return ref.rb;
        }
        /* saved meanwhile, and unprotected with it: already awake */
    }

    /* 2. copies, oldest first: they hold the pool */
    while (cow.copies_len) {
        CowRef ref = cow.copies[cow.copies_head];

        cow.copies_head = (cow.copies_head + 1) % cow.copies_cap;
        cow.copies_len--;
        if (cow.blocks[ref.block].slot[ref.page]) {
            *offset = ref.page << TARGET_PAGE_BITS;
            return ref.rb;
        }
        /* ram.c's search reached it first */
    }

    /* 3. hot partitions, before the guest writes them */
    return cow_next_hot(offset);
}

uint8_t *predlog_cow_copy_of(RAMBlock *rb, ram_addr_t offset)
{
    CowBlock *cb = cow.active ? block_of(rb) : NULL;
    uint32_t s;

    if (!cb) {
        return NULL;
    }
    s = cb->slot[offset >> TARGET_PAGE_BITS];
    return s ? predlog_bounce_page(cow.pool, s - 1) : NULL;
}

void predlog_cow_copy_saved(RAMBlock *rb, ram_addr_t offset)
{
    CowBlock *cb = cow.active ? block_of(rb) : NULL;
    uint64_t page = offset >> TARGET_PAGE_BITS;

    if (cb && cb->slot[page]) {
        predlog_bounce_put(cow.pool, cb->slot[page] - 1);
        cb->slot[page] = 0;
        cow.copy_rb = rb;
        cow.copy_page = page;
        cow.copy_valid = true;
    }
}

bool predlog_cow_release(QEMUFile *f, RAMBlock *rb, unsigned long start,
                         unsigned long end)
{
    bool from_copy, waited = false;

    if (!cow.active) {
        return false;
    }
    if (cow.serving && cow.served.rb == rb && cow.served.page >= start &&
        cow.served.page < end) {
        cow.serving = false;
        waited = true;
    }
    from_copy = cow.copy_valid && cow.copy_rb == rb &&
                cow.copy_page == start && end == start + 1;
    cow.copy_valid = false;
    if (from_copy) {
        return true;
    }
    if (!block_of(rb)) {
        /* ram.c unprotects it, which wakes a waiting vCPU */
        cow_flush_pending();
        if (waited) {
            cow_stall(cow.served.t_ns);
        }
        return false;
    }
    if (cow.pend_len && (cow.pend_rb != rb || cow.file != f ||
                         cow.pend_start + cow.pend_len != start ||
                         cow.pend_len >= COW_UNPROTECT_BATCH)) {
        cow_flush_pending();
    }
    if (!cow.pend_len) {
        cow.pend_rb = rb;
        cow.pend_start = start;
        cow.file = f;
    }
    cow.pend_len += end - start;
    if (waited) {
        /* a vCPU waits for this page: unprotect and wake it now */
        cow_flush_pending();
        cow_stall(cow.served.t_ns);
    }
    return true;
}

PredlogCowStats *predlog_cow_query(void)
{
    QEMU_LOCK_GUARD(&cow_stats_lock);
    return cow_have_stats ? g_memdup2(&cow_published, sizeof(cow_published))
                          : NULL;
}

void predlog_cow_hmp_info_migrate(Monitor *mon, const PredlogCowStats *st)
{
    monitor_printf(mon, "predlog-cow faults: %" PRIu64 " (copied %" PRIu64
                   ", fallback %" PRIu64 ", threads %" PRIu32 ")\n",
                   st->faults, st->faults_copied, st->faults_fallback,
                   st->fault_threads);
    monitor_printf(mon, "predlog-cow pages copied: %" PRIu64
                   " (%0.1f per fault)\n", st->pages_copied,
                   st->pages_per_fault);
    monitor_printf(mon, "predlog-cow vCPU stall: %" PRIu64 " us total, %"
                   PRIu64 " us max\n", st->stall_total, st->stall_max);
    monitor_printf(mon, "predlog-cow partitions: %" PRIu64 " (hot %" PRIu64
                   ", %" PRIu64 " pages; splits %" PRIu64 ", merges %"
                   PRIu64 ")\n", st->partitions, st->hot_partitions,
                   st->hot_pages, st->splits, st->merges);
    monitor_printf(mon, "predlog-cow bounce pool: %" PRIu64 " bytes peak of %"
                   PRIu64 " (refused %" PRIu64 ")\n", st->bounce_peak,
                   st->bounce_size, st->bounce_refused);
    monitor_printf(mon, "predlog-cow hot first: %" PRIu64 " pages, %" PRIu64
                   " faults avoided (previous snapshot: %" PRIu64
                   " faults%s)\n", st->hot_first_pages, st->faults_avoided,
                   st->previous_faults, st->history ? ", dirty history" : "");
}

void predlog_cow_hmp_info_params(Monitor *mon,
                                 const MigrationParameters *params)
{
    monitor_printf(mon, "%s: %" PRIu64 " bytes%s\n",
        MigrationParameter_str(MIGRATION_PARAMETER_PREDLOG_COW_BOUNCE_SIZE),
        params->predlog_cow_bounce_size,
        params->predlog_cow_bounce_size ? "" : " (5% of guest RAM)");
    monitor_printf(mon, "%s: %" PRIu64 " bytes\n",
        MigrationParameter_str(MIGRATION_PARAMETER_PREDLOG_COW_CELL_SIZE),
        params->predlog_cow_cell_size);
    monitor_printf(mon, "%s: %" PRIu64 " bytes\n",
        MigrationParameter_str(MIGRATION_PARAMETER_PREDLOG_COW_MAX_HOT_SIZE),
        params->predlog_cow_max_hot_size);
    monitor_printf(mon, "%s: %" PRIu64 " bytes\n",
        MigrationParameter_str(MIGRATION_PARAMETER_PREDLOG_COW_MAX_COLD_SIZE),
        params->predlog_cow_max_cold_size);
    monitor_printf(mon, "%s: %u%%\n",
        MigrationParameter_str(MIGRATION_PARAMETER_PREDLOG_COW_HOT_THRESHOLD),
        params->predlog_cow_hot_threshold);
    monitor_printf(mon, "%s: %u%%\n",
        MigrationParameter_str(MIGRATION_PARAMETER_PREDLOG_COW_COLD_THRESHOLD),
        params->predlog_cow_cold_threshold);
}
