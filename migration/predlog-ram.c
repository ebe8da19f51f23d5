/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog: predictive dirty-page logging for pre-copy RAM migration
 *
 * Stock pre-copy walks the dirty bitmap in address order and resends
 * every page the guest dirtied since the last pass.  A page the guest
 * writes all the time is sent again and again and is dirty at switchover
 * anyway.  With the "predlog" capability ram.c asks this file instead:
 *
 *  1. Observe.  Before each block's dirty log is synced into its
 *     migration bitmap, the pages dirtied in the period are ORed into a
 *     one-byte-per-page history (predlog-history.c), which learns
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
#include "predlog-history.h"
#include "predlog-policy.h"
#include "predlog-vcpu.h"
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
    PredlogHistory *history;
    /*
     * vCPU threads may be inside predlog_dirty_attribute() when a
     * migration ends, so the attribution counters live as long as QEMU.
     */
    PredlogVcpuDirty *vcpu;
    unsigned long *hot;         /* the hot set, by global page */
    /* pages with a base in the XBZRLE cache; a hint: it may evict one */
    unsigned long *cached;
    uint64_t npages;
    PredlogDeltaCost cost;
    int64_t last_sync_ns;
    uint64_t cache_bytes;
    uint64_t budget_pages;
    uint64_t hot_pages;
    uint64_t deferred_dirty;
    uint64_t dirty_pages;
    uint64_t deferred_seen;
    uint64_t prelogged;
    uint64_t delta_pages;
    uint64_t delta_bytes;
    uint64_t hot_scored;        /* pages of past hot sets ... */
    uint64_t hot_hits;          /* ... and those dirtied again next period */

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

/* Can this block's bitmap be matched word for word with ours? */
static bool predlog_block_ok(RAMBlock *rb)
{
    uint64_t first = predlog_block_first_page(rb);

    return pr.active && rb->bmap && rb->page_size == TARGET_PAGE_SIZE &&
           first % BITS_PER_LONG == 0 &&
           first + (rb->used_length >> TARGET_PAGE_BITS) <= pr.npages;
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

    WITH_RCU_READ_LOCK_GUARD() {
        RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
            npages = MAX(npages,
                         (rb->offset + rb->max_length) >> TARGET_PAGE_BITS);
        }
    }
    npages = ROUND_UP(MAX(npages, 1), BITS_PER_LONG);

    pr.history = predlog_history_new(npages, migrate_predlog_history(),
                                     migrate_predlog_hot_threshold() / 100.0);
    if (!pr.history) {
        error_setg(errp, "predlog: cannot keep a dirty history of %" PRIu64
                   " pages; disable the 'predlog' capability", npages);
        return false;
    }
    pr.npages = npages;
    pr.hot = bitmap_new(npages);
    pr.cached = bitmap_new(npages);
    predlog_delta_cost_init(&pr.cost, TARGET_PAGE_SIZE, PREDLOG_DELTA_HEADER);
    pr.last_sync_ns = 0;
    pr.cache_bytes = 0;
    pr.budget_pages = pr.hot_pages = pr.deferred_dirty = 0;
    pr.dirty_pages = pr.deferred_seen = pr.prelogged = 0;
    pr.delta_pages = pr.delta_bytes = 0;
    pr.hot_scored = pr.hot_hits = 0;

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
    predlog_history_free(pr.history);
    pr.history = NULL;
    g_free(pr.hot);
    pr.hot = NULL;
    g_free(pr.cached);
    pr.cached = NULL;
    pr.npages = 0;
}

uint64_t predlog_ram_cache_initial(void)
{
    return MIN(PREDLOG_CACHE_MIN, migrate_xbzrle_cache_size());
}

uint64_t predlog_ram_cache_wanted(void)
{
    uint64_t want;

    if (!pr.active || migrate_xbzrle() || !pr.hot_pages) {
        return 0;
    }
    want = pow2ceil(pr.hot_pages * PREDLOG_CACHE_SLACK * TARGET_PAGE_SIZE);
    want = MIN(MAX(want, PREDLOG_CACHE_MIN), migrate_xbzrle_cache_size());
    if (want <= pr.cache_bytes) {
        return 0;
    }
    trace_predlog_ram_cache_resize(pr.cache_bytes, want, pr.hot_pages);
    return want;
}

void predlog_ram_cache_resized(uint64_t bytes)
{
    pr.cache_bytes = bytes;
    if (pr.cached) {
        bitmap_zero(pr.cached, pr.npages);
    }
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
    pages = rb->used_length >> TARGET_PAGE_BITS;
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
        predlog_history_observe(pr.history, page,
                                dmb->blocks[idx] + off / BITS_PER_LONG, n);
        done += n;
    }
}

/*
 * The policy's hit rate: of the hot set chosen at the last sync, how many
 * pages the period just closed dirtied again (bit 0 of their history).
 */
static void predlog_score_hot(void)
{
    uint64_t page = find_first_bit(pr.hot, pr.npages);

    while (page < pr.npages) {
        pr.hot_scored++;
        pr.hot_hits += predlog_history_pattern(pr.history, page) & 1;
        page = find_next_bit(pr.hot, pr.npages, page + 1);
    }
}

static void predlog_choose_hot(void)
{
    MigrationState *s = migrate_get_current();
    uint64_t threshold = s->threshold_size;
    uint64_t budget, cache_pages;

    if (!threshold) {
        /* No bandwidth measured yet: assume the configured limit. */
        threshold = migrate_max_bandwidth() / 1000 *
                    migrate_downtime_limit();
    }
    budget = predlog_policy_max_deferred(threshold,
                                         migrate_predlog_defer_budget(),
                                         predlog_delta_cost_expected(&pr.cost));
    /*
     * A hot page is deferred only once its base is cached: keep the hot
     * set within what the cache can hold (shared with cold pages when
     * xbzrle is on too).
     */
    cache_pages = migrate_xbzrle_cache_size() / TARGET_PAGE_SIZE;
    cache_pages /= migrate_xbzrle() ? 2 : PREDLOG_CACHE_SLACK;
    pr.budget_pages = MIN(budget, cache_pages);
    pr.hot_pages = predlog_history_select_hot(
        pr.history, pr.hot, migrate_predlog_hot_threshold() / 100.0,
        pr.budget_pages);
}

/*
 * Word @w of @rb's deferred pages, those dirty (@dirty: a word of its
 * bitmap), hot and with a base: what the page search passes over.
 */
static unsigned long predlog_deferred_word(RAMBlock *rb, unsigned long w,
                                           unsigned long dirty)
{
    unsigned long base = predlog_block_first_page(rb) / BITS_PER_LONG;

    return dirty & pr.hot[base + w] & pr.cached[base + w];
}

static uint64_t predlog_count_deferred(void)
{
    uint64_t deferred = 0;
    RAMBlock *rb;

    RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
        unsigned long w, words;

        if (!predlog_block_ok(rb)) {
            continue;
        }
        words = BITS_TO_LONGS(rb->used_length >> TARGET_PAGE_BITS);
        for (w = 0; w < words; w++) {
            deferred += ctpopl(predlog_deferred_word(rb, w, rb->bmap[w]));
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
    uint64_t other, final_pages, final_bytes, downtime;
    double cost = predlog_delta_cost_expected(&pr.cost);
    double expected_other;
    unsigned i, n = predlog_vcpu_dirty_ncpus(pr.vcpu);
    g_autofree double *rates = g_new0(double, n);

    predlog_history_stats(pr.history, &hs);
    other = pr.dirty_pages - MIN(pr.deferred_dirty, pr.dirty_pages);
    /*
     * At switchover the final round sends the deferred pages plus the
     * other pages dirty then: at least those dirty now, or what one more
     * period is expected to dirty outside the hot set.
     */
    expected_other = predlog_history_final_set(pr.history, pr.hot, 0, 1.0);
    final_pages = pr.deferred_dirty + MAX(other, (uint64_t)expected_other);
    final_bytes = predlog_policy_final_bytes(pr.deferred_dirty,
                                             final_pages - pr.deferred_dirty,
                                             cost, TARGET_PAGE_SIZE, 0);
    downtime = predlog_policy_downtime_ms(final_bytes, predlog_bytes_per_ms());
    for (i = 0; i < n; i++) {
        PredlogVcpuStats vs;

        predlog_vcpu_dirty_stats(pr.vcpu, i, &vs);
        rates[i] = vs.rate;
    }

    trace_predlog_ram_sync(hs.periods, hs.dirty_last, pr.hot_pages,
                           pr.deferred_dirty, pr.budget_pages,
                           pr.hot_scored ?
                           (unsigned)(pr.hot_hits * 1000 / pr.hot_scored) : 0,
                           (uint64_t)hs.dirty_rate_forecast);
    trace_predlog_ram_final_estimate(pr.deferred_dirty, other, final_bytes,
                                     downtime);

    WITH_QEMU_LOCK_GUARD(&pr.stats_lock) {
        PredlogMigrationStats *st = &pr.stats;

        st->sync_periods = hs.periods;
        st->hot_pages = pr.hot_pages;
        st->deferred_pages = pr.deferred_dirty;
        st->deferred_total = pr.deferred_seen;
        st->prelogged_pages = pr.prelogged;
        st->delta_pages = pr.delta_pages;
        st->delta_bytes = pr.delta_bytes;
        st->hit_rate = pr.hot_scored ?
                       (double)pr.hot_hits / pr.hot_scored : 0;
        st->recall = hs.recall;
        st->dirty_rate = hs.dirty_rate;
        st->dirty_rate_forecast = hs.dirty_rate_forecast;
        st->predicted_final_pages = final_pages;
        st->predicted_final_bytes = final_bytes;
        st->predicted_downtime = downtime;
        st->defer_budget_pages = pr.budget_pages;
        g_free(pr.vcpu_rate);
        pr.vcpu_rate = g_steal_pointer(&rates);
        pr.vcpu_count = n;
    }
}

void predlog_ram_sync_done(uint64_t dirty_pages, bool last_stage)
{
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_REALTIME);

    if (!pr.active) {
        return;
    }
    if (!pr.last_sync_ns) {
        /* the setup sync: the first period starts now */
        pr.last_sync_ns = now;
    } else if (!last_stage && now - pr.last_sync_ns >= PREDLOG_MIN_PERIOD_NS) {
        /* (the last sync runs with the guest stopped: nothing to learn) */
        double seconds = (now - pr.last_sync_ns) /
                         (double)NANOSECONDS_PER_SECOND;

        predlog_history_end_period(pr.history, seconds);
        predlog_vcpu_dirty_end_period(pr.vcpu, seconds);
        predlog_score_hot();
        pr.last_sync_ns = now;
        if (!migration_in_postcopy()) {
            predlog_choose_hot();
        }
    }
    pr.dirty_pages = dirty_pages;
    pr.deferred_dirty = predlog_count_deferred();
    predlog_update_stats();
}

unsigned long predlog_ram_find_next_dirty(RAMBlock *rb, unsigned long size,
                                          unsigned long start,
                                          bool last_stage)
{
    const unsigned long *bmap = rb->bmap;
    unsigned long w, mask;

    if (!pr.active || last_stage || !pr.hot_pages ||
        migration_in_postcopy() || !predlog_block_ok(rb)) {
        return find_next_bit(bmap, size, start);
    }
    if (start >= size) {
        return size;
    }
    mask = BITMAP_FIRST_WORD_MASK(start);
    for (w = BIT_WORD(start); w * BITS_PER_LONG < size; w++) {
        unsigned long dirty = bmap[w] & mask;
        unsigned long deferred = predlog_deferred_word(rb, w, dirty);
        unsigned long send = dirty & ~deferred;

        pr.deferred_seen += ctpopl(deferred);
        if (send) {
            return MIN(w * BITS_PER_LONG + ctzl(send), size);
        }
        mask = ~0UL;
    }
    return size;
}

static bool predlog_page_index(ram_addr_t addr, uint64_t *page)
{
    *page = addr >> TARGET_PAGE_BITS;
    return pr.active && *page < pr.npages;
}

bool predlog_ram_page_is_hot(ram_addr_t addr)
{
    uint64_t page;

    return predlog_page_index(addr, &page) && test_bit(page, pr.hot);
}

void predlog_ram_note_cached(ram_addr_t addr)
{
    uint64_t page;

    if (predlog_page_index(addr, &page) && !test_bit(page, pr.cached)) {
        set_bit(page, pr.cached);
        if (test_bit(page, pr.hot)) {
            pr.prelogged++;
            trace_predlog_ram_prelog(addr);
        }
    }
}

void predlog_ram_note_delta(ram_addr_t addr, uint64_t bytes)
{
    uint64_t page;

    if (predlog_page_index(addr, &page) && test_bit(page, pr.hot)) {
        predlog_delta_cost_note(&pr.cost, bytes);
        pr.delta_pages++;
        pr.delta_bytes += bytes;
    }
}

void predlog_ram_note_full(ram_addr_t addr)
{
    uint64_t page;

    if (predlog_page_index(addr, &page) && test_bit(page, pr.hot)) {
        predlog_delta_cost_note_full(&pr.cost);
    }
}

int predlog_ram_delta_sample(RAMBlock **blocks, ram_addr_t *offsets, int max)
{
    uint64_t stride, seen = 0;
    RAMBlock *rb;
    int n = 0;

    if (!pr.active || !pr.deferred_dirty || max <= 0) {
        return 0;
    }
    /* Spread the sample over the deferred pages, not just the first. */
    stride = MAX(pr.deferred_dirty / max, 1);
    RAMBLOCK_FOREACH_NOT_IGNORED(rb) {
        unsigned long w, words;

        if (!predlog_block_ok(rb)) {
            continue;
        }
        words = BITS_TO_LONGS(rb->used_length >> TARGET_PAGE_BITS);
        for (w = 0; w < words && n < max; w++) {
            unsigned long bits = predlog_deferred_word(rb, w, rb->bmap[w]);

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

void predlog_ram_note_delta_estimate(int len)
{
    if (len < 0) {
        predlog_delta_cost_note_full(&pr.cost);
    } else {
        /* An unchanged page costs nothing: it is not sent at all. */
        predlog_delta_cost_note(&pr.cost,
                                len ? len + PREDLOG_DELTA_HEADER : 0);
    }
}

uint64_t predlog_ram_remaining_bytes(uint64_t dirty_pages)
{
    uint64_t deferred;

    if (!pr.active || migration_in_postcopy()) {
        return dirty_pages * TARGET_PAGE_SIZE;
    }
    deferred = MIN(pr.deferred_dirty, dirty_pages);
    return predlog_policy_final_bytes(deferred, dirty_pages - deferred,
                                      predlog_delta_cost_expected(&pr.cost),
                                      TARGET_PAGE_SIZE, 0);
}

void predlog_ram_complete(void)
{
    if (!pr.active) {
        return;
    }
    trace_predlog_ram_complete(pr.deferred_dirty, pr.delta_pages,
                               pr.delta_bytes);
    WITH_QEMU_LOCK_GUARD(&pr.stats_lock) {
        pr.stats.prelogged_pages = pr.prelogged;
        pr.stats.delta_pages = pr.delta_pages;
        pr.stats.delta_bytes = pr.delta_bytes;
        pr.stats.deferred_total = pr.deferred_seen;
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
