/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: predictive dirty-page logging for pre-copy RAM migration
 *
 * Stock pre-copy walks the dirty bitmap in address order and resends
 * every page the guest dirtied since the last pass.  A page the guest
 * writes all the time is sent again and again and is dirty at switchover
 * anyway.  With the "predlog" capability ram.c asks this file instead,
 * which maps RAMBlocks and migration parameters onto the decisions made
 * in predlog/plan.c (plain C, unit-tested on synthetic dirty patterns):
 *
 *  1. Observe.  Before each block's dirty log is synced into its
 *     migration bitmap, the pages dirtied in the period are ORed into a
 *     one-byte-per-page history (predlog/history.c), which learns
 *     P(dirtied again | history pattern).  vCPU threads attribute the
 *     pages they dirty (include/migration/predlog.h).
 *  2. Choose.  After the sync the hottest pages, as many as the defer
 *     budget allows (predlog-defer-budget percent of bandwidth x
 *     downtime-limit, at the learned cost of a page in the final round,
 *     and no more than the XBZRLE cache holds), form the hot set.
 *  3. Pre-log and defer.  A hot page is sent once more as a base: it
 *     goes through save_xbzrle_page(), which puts it in the XBZRLE
 *     cache.  From then on the page search skips it while it is hot: it
 *     stays dirty in the bitmap and the final round sends it, as an
 *     XBZRLE delta against that base.  Cold pages are found first.
 *  4. Switch over.  ram_state_pending_*() report the predicted cost of
 *     the final round, deltas at their learned size (sampled after each
 *     sync by encoding a few deferred pages against their base), so that
 *     migration switches over when the predicted final round fits the
 *     downtime limit.
 *
 * Nothing is ever skipped: the search only passes over pages that stay
 * set in the migration bitmap, and in the final round (and in postcopy)
 * it does not pass over anything.  The stream holds ordinary pages and
 * XBZRLE pages, which every QEMU destination loads: only the source needs
 * the capability.
 *
 * Global page numbers are ram_addr_t >> TARGET_PAGE_BITS.  QEMU places
 * RAMBlocks on multiples of BITS_PER_LONG pages (find_ram_offset()), so
 * a block's bitmap words line up with the global ones; a block that does
 * not, or whose pages are larger than target pages, is left to stock
 * behaviour.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include "qemu/osdep.h"
#include "qemu/bitmap.h"
#include "qemu/bitops.h"
#include "qemu/host-utils.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "monitor/monitor.h"
#include "exec/ram_addr.h"
#include "exec/target_page.h"
#include "hw/boards.h"
#include "migration/misc.h"
#include "migration/predlog.h"
#include "migration.h"
#include "options.h"
#include "ram.h"
#include "predlog/plan.h"
#include "predlog/vcpu.h"
#include "predlog-ram.h"
#include "trace.h"

/* The XBZRLE cache predlog starts with when it is the only user. */
#define PREDLOG_CACHE_MIN       (1 * MiB)
/* Cache slots per hot page: the cache is direct-mapped. */
#define PREDLOG_CACHE_SLACK     2
/*
 * Shortest sync period the history learns from.  Migration syncs at the
 * end of every pass and whenever the pending size looks small, so two
 * syncs can be a few milliseconds apart; a hot page is rarely dirtied in
 * so short a period, and learning from it would make every hot page look
 * cold.  A shorter period is merged into the next one.
 */
#define PREDLOG_MIN_PERIOD_NS   (200 * SCALE_MS)
/*
 * Stream bytes of an XBZRLE page besides its data: be64 offset | flags,
 * the encoding byte and the be16 length (ram.c save_xbzrle_page()).
 */
#define PREDLOG_DELTA_HEADER    (8 + 1 + 2)

bool predlog_dirty_attribution;

typedef struct PredlogRam {
    bool active;                /* set up for the current migration */
    PredlogPlan *plan;          /* every decision (predlog/plan.h) */
    /*
     * vCPU threads may be inside predlog_dirty_attribute() when a
     * migration ends, so the attribution counters live as long as QEMU.
     */
    PredlogVcpuDirty *vcpu;
    int64_t last_sync_ns;
    uint64_t cache_bytes;

    QemuMutex stats_lock;       /* stats and vcpu_rate, for the monitor */
    bool have_stats;
    PredlogMigrationStats stats;
    double *vcpu_rate;
    unsigned vcpu_count;
} PredlogRam;

static PredlogRam pr;

static void __attribute__((constructor)) predlog_ram_init(void)
{
    qemu_mutex_init(&pr.stats_lock);
}

void predlog_dirty_attribute(int cpu_index, uint64_t npages)
{
    PredlogVcpuDirty *v = qatomic_read(&pr.vcpu);

    if (v) {
        predlog_vcpu_dirty_note(v, cpu_index, npages);
    }
}

static uint64_t predlog_block_first_page(RAMBlock *rb)
{
    return rb->offset >> TARGET_PAGE_BITS;
}

static uint64_t predlog_block_pages(RAMBlock *rb)
{
    return rb->used_length >> TARGET_PAGE_BITS;
}

/* Can this block's bitmap be matched word for word with the plan's? */
static bool predlog_block_ok(RAMBlock *rb)
{
    return pr.active && rb->bmap && rb->page_size == TARGET_PAGE_SIZE &&
           predlog_plan_covers(pr.plan, predlog_block_first_page(rb),
                               predlog_block_pages(rb));
}

bool predlog_ram_setup(Error **errp)
{
    MachineState *ms = MACHINE(qdev_get_machine());
    RAMBlock *rb;
    uint64_t npages = 0;

    predlog_ram_cleanup();
    if (!migrate_predlog()) {
        return true;
    }
    /* a new history; the last migration's was kept for predlog-cow */
    predlog_plan_free(pr.plan);

    WITH_RCU_READ_LOCK_GUARD() {
        RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
            npages = MAX(npages,
                         (rb->offset + rb->max_length) >> TARGET_PAGE_BITS);
        }
    }
    npages = ROUND_UP(MAX(npages, 1), BITS_PER_LONG);

    pr.plan = predlog_plan_new(npages, migrate_predlog_history(),
                               migrate_predlog_hot_threshold() / 100.0,
                               TARGET_PAGE_SIZE, PREDLOG_DELTA_HEADER);
    if (!pr.plan) {
        error_setg(errp, "predlog: cannot keep a dirty history of %" PRIu64
                   " pages; disable the 'predlog' capability", npages);
        return false;
    }
    pr.last_sync_ns = 0;
    pr.cache_bytes = 0;

    if (!pr.vcpu) {
        unsigned ncpus = MIN(MAX(ms->smp.max_cpus, 1), PREDLOG_VCPU_MAX);

        qatomic_set(&pr.vcpu, predlog_vcpu_dirty_new(ncpus));
    }

    WITH_QEMU_LOCK_GUARD(&pr.stats_lock) {
        memset(&pr.stats, 0, sizeof(pr.stats));
        pr.have_stats = true;
        g_free(pr.vcpu_rate);
        pr.vcpu_rate = NULL;
        pr.vcpu_count = 0;
    }

    pr.active = true;
    qatomic_set(&predlog_dirty_attribution, true);
    trace_predlog_ram_setup(npages, migrate_predlog_history(),
                            migrate_predlog_defer_budget(),
                            migrate_predlog_hot_threshold(),
                            predlog_ram_cache_initial());
    return true;
}

void predlog_ram_cleanup(void)
{
    qatomic_set(&predlog_dirty_attribution, false);
    pr.active = false;
    /*
     * The plan stays until the next predlog migration: its dirty history
     * tells a later background snapshot (predlog-cow.c) where the guest
     * writes.
     */
}

const PredlogHistory *predlog_ram_history(void)
{
    return pr.active || !pr.plan ? NULL : predlog_plan_history(pr.plan);
}

bool predlog_ram_check_params(const MigrationParameters *params,
                              Error **errp)
{
    if (params->has_predlog_history &&
        (params->predlog_history < PREDLOG_HISTORY_DEPTH_MIN ||
         params->predlog_history > PREDLOG_HISTORY_DEPTH_MAX)) {
        error_setg(errp, "Parameter 'predlog-history' expects an integer in "
                   "the range of %u to %u (sync periods)",
                   PREDLOG_HISTORY_DEPTH_MIN, PREDLOG_HISTORY_DEPTH_MAX);
        return false;
    }
    if (params->has_predlog_defer_budget &&
        params->predlog_defer_budget > 100) {
        error_setg(errp, "Parameter 'predlog-defer-budget' expects a "
                   "percentage in the range of 0 to 100");
        return false;
    }
    if (params->has_predlog_hot_threshold &&
        (params->predlog_hot_threshold < 1 ||
         params->predlog_hot_threshold > 100)) {
        error_setg(errp, "Parameter 'predlog-hot-threshold' expects a "
                   "percentage in the range of 1 to 100");
        return false;
    }
    return true;
}

uint64_t predlog_ram_cache_initial(void)
{
    return MIN(PREDLOG_CACHE_MIN, migrate_xbzrle_cache_size());
}

/* Bytes the cache should have now, 0 to leave it (predlog alone only). */
static uint64_t predlog_cache_wanted(void)
{
    PredlogPlanStats ps;
    uint64_t want;

    if (!pr.active || migrate_xbzrle()) {
        return 0;
    }
    predlog_plan_stats(pr.plan, &ps);
    if (!ps.hot_pages) {
        return 0;
    }
    want = pow2ceil(ps.hot_pages * PREDLOG_CACHE_SLACK * TARGET_PAGE_SIZE);
    want = MIN(MAX(want, PREDLOG_CACHE_MIN), migrate_xbzrle_cache_size());
    if (want <= pr.cache_bytes) {
        return 0;
    }
    trace_predlog_ram_cache_resize(pr.cache_bytes, want, ps.hot_pages);
    return want;
}

void predlog_ram_cache_resized(uint64_t bytes)
{
    pr.cache_bytes = bytes;
    predlog_plan_cache_emptied(pr.plan);
}

void predlog_ram_observe(RAMBlock *rb)
{
    DirtyMemoryBlocks *dmb;
    uint64_t first, pages, done = 0;

    /*
     * The first sync of a migration finds every page dirty (nothing was
     * logged before): it says nothing about the guest, so skip it.
     */
    if (!pr.last_sync_ns || !predlog_block_ok(rb)) {
        return;
    }
    first = predlog_block_first_page(rb);
    pages = predlog_block_pages(rb);
    dmb = qatomic_rcu_read(&ram_list.dirty_memory[DIRTY_MEMORY_MIGRATION]);
    while (done < pages) {
        uint64_t page = first + done;
        uint64_t idx = page / DIRTY_MEMORY_BLOCK_SIZE;
        uint64_t off = page % DIRTY_MEMORY_BLOCK_SIZE;
        uint64_t n = MIN(pages - done, DIRTY_MEMORY_BLOCK_SIZE - off);

        /*
         * A plain read racing with vCPUs setting bits, as the fast path
         * of cpu_physical_memory_sync_dirty_bitmap() does: a page set a
         * moment too late is seen in the next period.
         */
        predlog_plan_observe(pr.plan, page,
                             dmb->blocks[idx] + off / BITS_PER_LONG, n);
        done += n;
    }
}

/* What bounds the hot set now, from the migration's parameters. */
static void predlog_limits(PredlogPlanLimits *lim)
{
    MigrationState *s = migrate_get_current();

    lim->threshold_bytes = s->threshold_size;
    if (!lim->threshold_bytes) {
        /* No bandwidth measured yet: assume the configured limit. */
        lim->threshold_bytes = migrate_max_bandwidth() / 1000 *
                               migrate_downtime_limit();
    }
    lim->budget_pct = migrate_predlog_defer_budget();
    /*
     * Keep the hot set within what the cache can hold (a direct-mapped
     * cache; shared with cold pages when xbzrle is on too).
     */
    lim->cache_pages = migrate_xbzrle_cache_size() / TARGET_PAGE_SIZE /
                       (migrate_xbzrle() ? 2 : PREDLOG_CACHE_SLACK);
}

static uint64_t predlog_count_deferred(void)
{
    uint64_t deferred = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
        if (predlog_block_ok(rb)) {
            deferred += predlog_plan_count_deferred(
                pr.plan, predlog_block_first_page(rb), rb->bmap,
                predlog_block_pages(rb));
        }
    }
    return deferred;
}

static double predlog_bytes_per_ms(void)
{
    MigrationState *s = migrate_get_current();
    uint64_t limit = migrate_downtime_limit();

    if (s->threshold_size && limit) {
        return (double)s->threshold_size / limit;
    }
    return migrate_max_bandwidth() / 1000.0;
}

static void predlog_update_stats(void)
{
    PredlogHistoryStats hs;
    PredlogPlanStats ps;
    uint64_t downtime;
    unsigned i, n = predlog_vcpu_dirty_ncpus(pr.vcpu);
    g_autofree double *rates = g_new0(double, n);

    predlog_history_stats(predlog_plan_history(pr.plan), &hs);
    predlog_plan_stats(pr.plan, &ps);
    /* the final round QEMU's switchover decision prices (pending) */
    downtime = predlog_policy_downtime_ms(ps.final_bytes,
                                          predlog_bytes_per_ms());
    for (i = 0; i < n; i++) {
        PredlogVcpuStats vs;

        predlog_vcpu_dirty_stats(pr.vcpu, i, &vs);
        rates[i] = vs.rate;
    }

    trace_predlog_ram_sync(hs.periods, hs.dirty_last, ps.hot_pages,
                           ps.deferred_dirty, ps.budget_pages,
                           (unsigned)(ps.hit_rate * 1000),
                           (uint64_t)hs.dirty_rate_forecast);
    trace_predlog_ram_final_estimate(ps.deferred_dirty,
                                     ps.dirty_pages - ps.deferred_dirty,
                                     ps.final_bytes, downtime);

    WITH_QEMU_LOCK_GUARD(&pr.stats_lock) {
        PredlogMigrationStats *st = &pr.stats;

        st->sync_periods = hs.periods;
        st->hot_pages = ps.hot_pages;
        st->deferred_pages = ps.deferred_dirty;
        st->deferred_total = ps.deferred_seen;
        st->prelogged_pages = ps.prelogged;
        st->delta_pages = ps.delta_pages;
        st->delta_bytes = ps.delta_bytes;
        st->hit_rate = ps.hit_rate;
        st->recall = hs.recall;
        st->dirty_rate = hs.dirty_rate;
        st->dirty_rate_forecast = hs.dirty_rate_forecast;
        st->predicted_final_pages = ps.dirty_pages;
        st->predicted_final_bytes = ps.final_bytes;
        st->predicted_downtime = downtime;
        st->defer_budget_pages = ps.budget_pages;
        g_free(pr.vcpu_rate);
        pr.vcpu_rate = g_steal_pointer(&rates);
        pr.vcpu_count = n;
    }
}

/* Close the period: learn, choose the hot set, count what is deferred. */
static void predlog_learn(uint64_t dirty_pages, bool last_stage)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (!pr.last_sync_ns) {
        /* the setup sync: the first period starts now */
        pr.last_sync_ns = now;
    } else if (!last_stage && now - pr.last_sync_ns >= PREDLOG_MIN_PERIOD_NS) {
        /* (the last sync runs with the guest stopped: nothing to learn) */
        double seconds = (now - pr.last_sync_ns) /
                         (double)NANOSECONDS_PER_SECOND;
        PredlogPlanLimits lim;

        predlog_limits(&lim);
        predlog_plan_end_period(pr.plan, seconds, &lim,
                                !migration_in_postcopy());
        predlog_vcpu_dirty_end_period(pr.vcpu, seconds);
        pr.last_sync_ns = now;
    }
    predlog_plan_synced(pr.plan, dirty_pages, predlog_count_deferred());
    predlog_update_stats();
}

unsigned long predlog_ram_find_next_dirty(RAMBlock *rb, unsigned long size,
                                          unsigned long start,
                                          bool last_stage)
{
    if (!pr.active || !predlog_block_ok(rb)) {
        return find_next_bit(rb->bmap, size, start);
    }
    /* The final round and postcopy send every dirty page. */
    return predlog_plan_find_next(pr.plan, predlog_block_first_page(rb),
                                  rb->bmap, size, start,
                                  last_stage || migration_in_postcopy());
}

static bool predlog_page_index(ram_addr_t addr, uint64_t *page)
{
    *page = addr >> TARGET_PAGE_BITS;
    return pr.active;
}

bool predlog_ram_page_is_hot(ram_addr_t addr)
{
    uint64_t page;

    return predlog_page_index(addr, &page) &&
           predlog_plan_page_is_hot(pr.plan, page);
}

void predlog_ram_note_cached(ram_addr_t addr)
{
    uint64_t page;

    if (predlog_page_index(addr, &page) &&
        predlog_plan_note_cached(pr.plan, page)) {
        trace_predlog_ram_prelog(addr);
    }
}

void predlog_ram_note_delta(ram_addr_t addr, uint64_t bytes)
{
    uint64_t page;

    if (predlog_page_index(addr, &page)) {
        predlog_plan_note_delta(pr.plan, page, bytes);
    }
}

void predlog_ram_note_full(ram_addr_t addr)
{
    uint64_t page;

    if (predlog_page_index(addr, &page)) {
        predlog_plan_note_full(pr.plan, page);
    }
}

/*
 * Pick up to @max deferred pages (dirty, hot, with a base) to price the
 * final round by; returns how many, in @blocks/@offsets.
 */
static int predlog_delta_sample(RAMBlock **blocks, ram_addr_t *offsets,
                                int max)
{
    PredlogPlanStats ps;
    uint64_t stride, seen = 0;
    RAMBlock *rb;
    int n = 0;

    if (!pr.active || max <= 0) {
        return 0;
    }
    predlog_plan_stats(pr.plan, &ps);
    if (!ps.deferred_dirty) {
        return 0;
    }
    /* Spread the sample over the deferred pages, not just the first. */
    stride = MAX(ps.deferred_dirty / max, 1);
    RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
        uint64_t first = predlog_block_first_page(rb);
        unsigned long w, words;

        if (!predlog_block_ok(rb)) {
            continue;
        }
        words = BITS_TO_LONGS(predlog_block_pages(rb));
        for (w = 0; w < words && n < max; w++) {
            unsigned long bits = predlog_plan_deferred_word(pr.plan, first, w,
                                                            rb->bmap[w]);

            while (bits && n < max) {
                unsigned long bit = ctzl(bits);

                bits &= bits - 1;
                if (seen++ % stride == 0) {
                    blocks[n] = rb;
                    offsets[n] = (ram_addr_t)(w * BITS_PER_LONG + bit)
                                 << TARGET_PAGE_BITS;
                    n++;
                }
            }
        }
    }
    return n;
}

/* Deferred pages the final round is priced by: a few, encoded each sync. */
#define PREDLOG_DELTA_SAMPLE 32

static void predlog_sample_deltas(void)
{
    RAMBlock *blocks[PREDLOG_DELTA_SAMPLE];
    ram_addr_t offsets[PREDLOG_DELTA_SAMPLE];
    g_autofree uint8_t *encoded = NULL;
    int i, n, len;

    n = predlog_delta_sample(blocks, offsets, PREDLOG_DELTA_SAMPLE);
    encoded = n ? g_malloc(TARGET_PAGE_SIZE) : NULL;
    for (i = 0; i < n; i++) {
        if (!ram_predlog_xbzrle_delta(blocks[i], offsets[i], encoded, &len)) {
            return;                 /* no cache: nothing to price by */
        }
        predlog_plan_note_delta_estimate(pr.plan, len);
    }
}

void predlog_ram_sync_done(uint64_t dirty_pages, bool last_stage)
{
    uint64_t want;

    if (!pr.active) {
        return;
    }
    predlog_learn(dirty_pages, last_stage);
    if (last_stage) {
        return;
    }
    /*
     * Keep the dirty log of the deferred pages armed: with KVM's manual
     * dirty-log clear a page's log is re-armed only when the page is
     * sent, and deferred pages are not sent.  Clearing right after the
     * sync is what the page search does before each send, only earlier;
     * TCG has no log to clear.
     */
    if (!migration_in_postcopy()) {
        ram_predlog_rearm_dirty_log();
    }
    /* predlog alone: a cache big enough for the hot set just chosen */
    want = predlog_cache_wanted();
    if (want && ram_predlog_xbzrle_replace(want)) {
        predlog_ram_cache_resized(want);
    }
    predlog_sample_deltas();
}

uint64_t predlog_ram_remaining_bytes(uint64_t dirty_pages)
{
    if (!pr.active || migration_in_postcopy()) {
        return dirty_pages * TARGET_PAGE_SIZE;
    }
    return predlog_plan_final_bytes(pr.plan, dirty_pages);
}

void predlog_ram_complete(void)
{
    PredlogPlanStats ps;

    if (!pr.active) {
        return;
    }
    predlog_plan_stats(pr.plan, &ps);
    trace_predlog_ram_complete(ps.deferred_dirty, ps.delta_pages,
                               ps.delta_bytes);
    WITH_QEMU_LOCK_GUARD(&pr.stats_lock) {
        pr.stats.prelogged_pages = ps.prelogged;
        pr.stats.delta_pages = ps.delta_pages;
        pr.stats.delta_bytes = ps.delta_bytes;
        pr.stats.deferred_total = ps.deferred_seen;
    }
}

PredlogMigrationStats *predlog_ram_query(void)
{
    PredlogMigrationStats *st;
    unsigned i;

    QEMU_LOCK_GUARD(&pr.stats_lock);
    if (!pr.have_stats) {
        return NULL;
    }
    st = g_memdup2(&pr.stats, sizeof(pr.stats));
    st->vcpu_dirty_rate = NULL;
    st->has_vcpu_dirty_rate = pr.vcpu_count > 0;
    for (i = pr.vcpu_count; i > 0; i--) {
        QAPI_LIST_PREPEND(st->vcpu_dirty_rate, pr.vcpu_rate[i - 1]);
    }
    return st;
}

void predlog_hmp_info_migrate(Monitor *mon, const PredlogMigrationStats *st)
{
    const numberList *r;
    int i = 0;

    monitor_printf(mon, "predlog sync periods: %" PRIu64 "\n",
                   st->sync_periods);
    monitor_printf(mon, "predlog hot pages: %" PRIu64 " (budget %" PRIu64
                   ")\n", st->hot_pages, st->defer_budget_pages);
    monitor_printf(mon, "predlog deferred pages: %" PRIu64 "\n",
                   st->deferred_pages);
    monitor_printf(mon, "predlog pre-logged pages: %" PRIu64 "\n",
                   st->prelogged_pages);
    monitor_printf(mon, "predlog delta pages: %" PRIu64 " (%" PRIu64
                   " bytes)\n", st->delta_pages, st->delta_bytes);
    monitor_printf(mon, "predlog hit rate: %0.3f recall: %0.3f\n",
                   st->hit_rate, st->recall);
    monitor_printf(mon, "predlog dirty rate: %0.0f pages/s (forecast %0.0f)\n",
                   st->dirty_rate, st->dirty_rate_forecast);
    monitor_printf(mon, "predlog predicted final round: %" PRIu64
                   " pages, %" PRIu64 " bytes, %" PRIu64 " ms\n",
                   st->predicted_final_pages, st->predicted_final_bytes,
                   st->predicted_downtime);
    if (st->has_vcpu_dirty_rate) {
        monitor_printf(mon, "predlog vCPU dirty rate (pages/s):");
        for (r = st->vcpu_dirty_rate; r; r = r->next) {
            monitor_printf(mon, " %d:%0.0f", i++, r->value);
        }
        monitor_printf(mon, "\n");
    }
}
