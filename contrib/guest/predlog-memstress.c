/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * predlog-memstress: a paced, self-verifying guest memory writer for live
 * migration tests and benchmarks.
 *
 * It allocates a buffer, fills every page with a pattern computed from the
 * page's index, then rewrites pages at a stated rate (pages per second).
 * Each write bumps the page's version and stores a 16-byte record (page
 * index, version, checksum) into slot (version % slots) of the page, so the
 * whole content of a page follows from its index and version alone and a
 * write changes only 16 bytes.  On SIGUSR1, every --verify-secs and at
 * SIGTERM the program checks every page against that expectation, which is
 * how a migration test proves that no page was lost or torn.
 *
 * Pacing: writes happen in ticks of 1 ms on CLOCK_MONOTONIC.  A tick that
 * comes late does its own share of writes only; the shares of the ticks it
 * overslept are counted as "missed" and never caught up, so a throttled or
 * paused guest shows up as lost work instead of a burst afterwards.
 *
 * Built statically and put into the test initramfs by
 * tests/guest/build-image.sh.  Output lines start with "memstress: " and go
 * to stdout, line-buffered (the serial console in the test guest).
 *
 * Copyright (c) 2026 The predlog authors
 */

#define _DEFAULT_SOURCE

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PREFIX          "memstress: "
#define RECORD_SIZE     16
#define TICK_NS         UINT64_C(1000000)   /* pacing tick: 1 ms */
#define NS_PER_SEC      UINT64_C(1000000000)
#define NS_PER_MS       UINT64_C(1000000)
/* keeps page indices in the uint32 of a record; 16 TiB */
#define MAX_MB          (UINT64_C(16) * 1024 * 1024)
#define MAX_RATE        UINT64_C(100000000) /* pages/s, far above reach */

/* Exit codes, documented in usage() */
enum {
    EXIT_OK = 0,
    EXIT_VERIFY_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_SYSTEM = 3,
};

enum mode {
    MODE_UNIFORM,
    MODE_HOTCOLD,
    MODE_MOVING,
};

static const char *const mode_names[] = {
    [MODE_UNIFORM] = "uniform",
    [MODE_HOTCOLD] = "hotcold",
    [MODE_MOVING] = "moving",
};

/* What one write stores; the page's content is a function of this alone */
typedef struct Record {
    uint32_t page;
    uint32_t version;
    uint64_t check;
} Record;

typedef struct Config {
    enum mode mode;
    uint64_t mb;
    uint64_t rate;              /* pages per second; 0: never write */
    uint64_t hot_pct;           /* hot region, percent of the pages */
    uint64_t hot_share;         /* percent of the writes that go there */
    uint64_t move_secs;
    uint64_t report_ms;         /* 0: no progress lines */
    uint64_t seed;
    uint64_t verify_secs;       /* 0: verify on SIGUSR1/SIGTERM only */
    uint64_t slots;             /* records per page written, 0: all */
} Config;

typedef struct State {
    uint8_t *mem;
    uint32_t *versions;
    size_t page_size;
    uint32_t slots;             /* slots writes cycle through */
    uint32_t npages;
    uint32_t hot_first;
    uint32_t hot_pages;         /* 0 in uniform mode */
    uint64_t rng;
    uint64_t writes;
    uint64_t missed;
} State;

static volatile sig_atomic_t verify_requested;
static volatile sig_atomic_t stop_requested;

static void usage(FILE *out, const char *prog)
{
    fprintf(out,
            "Usage: %s --mode uniform|hotcold|moving --mb N"
            " --rate PAGES_PER_SEC\n"
            "          [--hot-pct 10] [--hot-share 90] [--move-secs 5]\n"
            "          [--report-ms 500] [--seed S] [--verify-secs S]\n"
            "          [--slots N]\n"
            "\n"
            "Allocate N MiB, give every page a known pattern, then rewrite\n"
            "pages at a paced rate; each write changes 16 bytes of one page.\n"
            "\n"
            "  --mode MODE       which pages are written:\n"
            "                      uniform  any page, uniformly at random\n"
            "                      hotcold  --hot-share %% of the writes go\n"
            "                               to a hot region of --hot-pct %%\n"
            "                               of the pages, the rest elsewhere\n"
            "                      moving   hotcold, but the hot region\n"
            "                               moves every --move-secs seconds\n"
            "  --mb N            buffer size in MiB (1..%llu)\n"
            "  --rate R          pages written per second (0..%llu), paced\n"
            "                    in 1 ms ticks; writes a late tick could not\n"
            "                    do are counted as missed, never caught up\n"
            "  --hot-pct P       hot region size, %% of pages (1..100, 10)\n"
            "  --hot-share P     %% of writes to the hot region (0..100, 90)\n"
            "  --move-secs S     seconds between hot region moves (1.., 5)\n"
            "  --report-ms MS    progress line period, 0 for none (500)\n"
            "  --seed S          random seed (default 1)\n"
            "  --verify-secs S   also verify every S seconds (default 0: on\n"
            "                    SIGUSR1 and SIGTERM only)\n"
            "  --slots N         writes cycle through the first N 16-byte\n"
            "                    slots of a page (a power of two; default:\n"
            "                    the whole page).  Few slots model writes\n"
            "                    that stay in a few cache lines (counters,\n"
            "                    queue heads), which delta encoding (XBZRLE)\n"
            "                    sends in a few bytes\n"
            "  --help            show this text\n"
            "\n"
            "Output (stdout, line-buffered):\n"
            "  " PREFIX "buffer addr=<hex address> bytes=<size>\n"
            "  " PREFIX "ready pages=<n> pid=<pid>\n"
            "  " PREFIX "hot first=<page> pages=<n> t_ms=<ms>"
            "   (hotcold, moving)\n"
            "  " PREFIX "P t_ms=<CLOCK_MONOTONIC ms> writes=<total>"
            " missed=<total>\n"
            "  " PREFIX "verify ok pages=<n> writes=<total>\n"
            "  " PREFIX "verify FAIL mismatches=<pages> first=<page>\n"
            "\n"
            "SIGUSR1: pause writing, verify every page, resume (the pause\n"
            "counts neither as writes nor as missed).  SIGTERM/SIGINT:\n"
            "verify and exit.\n"
            "\n"
            "Exit status:\n"
            "  0  stopped by SIGTERM/SIGINT, last verification passed\n"
            "  1  stopped by SIGTERM/SIGINT, last verification failed\n"
            "  2  bad usage\n"
            "  3  system error (memory, clock)\n",
            prog, (unsigned long long)MAX_MB, (unsigned long long)MAX_RATE);
}

/* splitmix64: the mixing function behind patterns, checks and the RNG */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t rng_next(State *s)
{
    s->rng += 0x9e3779b97f4a7c15ULL;
    return mix64(s->rng);
}

/* Uniform in [0, n) for n <= 2^32 (Lemire's multiply-shift) */
static uint32_t rng_below(State *s, uint64_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * n) >> 32);
}

/*
 * The initial content of 8-byte word @w of page @page.  Cheap (the whole
 * buffer is written and verified under TCG) and never all-zero pages, so
 * that migration's zero-page detection does not skip them.
 */
static uint64_t pattern_word(uint32_t page, size_t w)
{
    return ((uint64_t)page * 0x9e3779b97f4a7c15ULL) ^
           ((uint64_t)w * 0xc2b2ae3d27d4eb4fULL) ^ 0x505245444c4f4721ULL;
}

static Record make_record(uint32_t page, uint32_t version)
{
    Record r = {
        .page = page,
        .version = version,
        .check = mix64(((uint64_t)page << 32 | version) ^
                       0x6d656d7374726573ULL),
    };
    return r;
}

static uint8_t *page_addr(State *s, uint32_t page)
{
    return s->mem + (size_t)page * s->page_size;
}

static void fill_initial(State *s)
{
    size_t words = s->page_size / sizeof(uint64_t);

    for (uint32_t p = 0; p < s->npages; p++) {
        uint64_t *w = (uint64_t *)page_addr(s, p);

        for (size_t i = 0; i < words; i++) {
            w[i] = pattern_word(p, i);
        }
    }
}

/*
 * The newest version <= @version that wrote @slot, or 0 if none did (the
 * slot then still holds the initial pattern).  Versions 1..@version were
 * written in order, version u into slot u % slots.
 */
static uint32_t slot_version(const State *s, uint32_t version, uint32_t slot)
{
    uint32_t back = (version - slot) % s->slots;

    if (version < slot || version - back == 0) {
        return 0;
    }
    return version - back;
}

/* true if page @p holds exactly what its version says */
static bool page_ok(const State *s, uint32_t p, uint32_t *bad_slot)
{
    const uint8_t *base = s->mem + (size_t)p * s->page_size;
    uint32_t version = s->versions[p];
    size_t words_per_slot = RECORD_SIZE / sizeof(uint64_t);

    /* every slot of the page; those past --slots keep the pattern */
    for (uint32_t slot = 0; slot < s->page_size / RECORD_SIZE; slot++) {
        const uint8_t *at = base + (size_t)slot * RECORD_SIZE;
        uint32_t v = slot < s->slots ? slot_version(s, version, slot) : 0;
        bool ok;

        if (v) {
            Record want = make_record(p, v);

            ok = memcmp(at, &want, RECORD_SIZE) == 0;
        } else {
            uint64_t got[RECORD_SIZE / sizeof(uint64_t)];

            memcpy(got, at, RECORD_SIZE);
            ok = true;
            for (size_t i = 0; i < words_per_slot; i++) {
                ok &= got[i] == pattern_word(p, slot * words_per_slot + i);
            }
        }
        if (!ok) {
            *bad_slot = slot;
            return false;
        }
    }
    return true;
}

/* Check every page; print the result; true if all pages are right. */
static bool verify_all(State *s)
{
    uint64_t mismatches = 0;
    uint32_t first = 0, first_slot = 0;

    for (uint32_t p = 0; p < s->npages; p++) {
        uint32_t slot;

        if (!page_ok(s, p, &slot)) {
            if (!mismatches) {
                first = p;
                first_slot = slot;
            }
            mismatches++;
        }
    }
    if (mismatches) {
        fprintf(stderr, PREFIX "page %" PRIu32 " version %" PRIu32
                ": slot %" PRIu32 " is wrong\n",
                first, s->versions[first], first_slot);
        printf(PREFIX "verify FAIL mismatches=%" PRIu64 " first=%" PRIu32
               "\n", mismatches, first);
        return false;
    }
    printf(PREFIX "verify ok pages=%" PRIu32 " writes=%" PRIu64 "\n",
           s->npages, s->writes);
    return true;
}

static void write_page(State *s, uint32_t p)
{
    uint32_t version = s->versions[p] + 1;
    Record r;

    if (version == 0) {
        /* 2^32 writes to one page: the expectation would wrap */
        fprintf(stderr, PREFIX "page %" PRIu32 " reached 2^32 writes; "
                "version counter exhausted\n", p);
        exit(EXIT_SYSTEM);
    }
    r = make_record(p, version);
    memcpy(page_addr(s, p) + (size_t)(version % s->slots) * RECORD_SIZE,
           &r, RECORD_SIZE);
    s->versions[p] = version;
    s->writes++;
}

static uint32_t pick_page(State *s, const Config *c)
{
    uint32_t cold;

    if (c->mode == MODE_UNIFORM) {
        return rng_below(s, s->npages);
    }
    cold = s->npages - s->hot_pages;
    if (cold == 0 || rng_below(s, 100) < c->hot_share) {
        return s->hot_first + rng_below(s, s->hot_pages);
    }
    /* the cold pages are those before and after the hot region */
    {
        uint32_t r = rng_below(s, cold);

        return r < s->hot_first ? r : r + s->hot_pages;
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts)) {
        perror(PREFIX "clock_gettime");
        exit(EXIT_SYSTEM);
    }
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t ns)
{
    struct timespec ts = {
        .tv_sec = ns / NS_PER_SEC,
        .tv_nsec = ns % NS_PER_SEC,
    };

    /* EINTR is fine: the main loop looks at the signal flags */
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void place_hot(State *s, uint64_t t_ns)
{
    s->hot_first = rng_below(s, (uint64_t)s->npages - s->hot_pages + 1);
    printf(PREFIX "hot first=%" PRIu32 " pages=%" PRIu32 " t_ms=%" PRIu64
           "\n", s->hot_first, s->hot_pages, t_ns / NS_PER_MS);
}

static void report(const State *s, uint64_t t_ns)
{
    printf(PREFIX "P t_ms=%" PRIu64 " writes=%" PRIu64 " missed=%" PRIu64
           "\n", t_ns / NS_PER_MS, s->writes, s->missed);
}

/* Writes due over the first @ticks ticks at @rate pages per second */
static uint64_t due(uint64_t rate, uint64_t ticks)
{
    /* rate * ticks < 2^64 for any run shorter than ~5 years at MAX_RATE */
    return rate * ticks / (NS_PER_SEC / TICK_NS);
}

static void on_usr1(int sig)
{
    verify_requested = 1;
}

static void on_stop(int sig)
{
    stop_requested = 1;
}

static void install_handlers(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a signal cuts the tick's sleep short */
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/*
 * A decimal number in [@min, @max] for option --@opt.  Written out rather
 * than strtoull() so that "-1", "+5", " 5" or "12abc" are rejected.
 */
static bool parse_u64(const char *opt, const char *arg, uint64_t min,
                      uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    const char *p;

    for (p = arg; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = *p - '0';

        if (v > (UINT64_MAX - digit) / 10) {
            break;
        }
        v = v * 10 + digit;
    }
    if (p == arg || *p || v < min || v > max) {
        fprintf(stderr, "predlog-memstress: --%s: '%s' is not an integer in "
                "%llu..%llu\n", opt, arg, (unsigned long long)min,
                (unsigned long long)max);
        return false;
    }
    *out = v;
    return true;
}

/* Parse the command line into @c; returns an exit code, or -1 to run. */
static int parse_args(int argc, char **argv, Config *c)
{
    enum {
        OPT_MODE = 256, OPT_MB, OPT_RATE, OPT_HOT_PCT, OPT_HOT_SHARE,
        OPT_MOVE_SECS, OPT_REPORT_MS, OPT_SEED, OPT_VERIFY_SECS, OPT_SLOTS,
        OPT_HELP,
    };
    static const struct option longopts[] = {
        { "mode", required_argument, NULL, OPT_MODE },
        { "mb", required_argument, NULL, OPT_MB },
        { "rate", required_argument, NULL, OPT_RATE },
        { "hot-pct", required_argument, NULL, OPT_HOT_PCT },
        { "hot-share", required_argument, NULL, OPT_HOT_SHARE },
        { "move-secs", required_argument, NULL, OPT_MOVE_SECS },
        { "report-ms", required_argument, NULL, OPT_REPORT_MS },
        { "seed", required_argument, NULL, OPT_SEED },
        { "verify-secs", required_argument, NULL, OPT_VERIFY_SECS },
        { "slots", required_argument, NULL, OPT_SLOTS },
        { "help", no_argument, NULL, OPT_HELP },
        { NULL, 0, NULL, 0 },
    };
    bool have_mode = false, have_mb = false, have_rate = false;
    int opt;

    *c = (Config) {
        .hot_pct = 10, .hot_share = 90, .move_secs = 5, .report_ms = 500,
        .seed = 1,
    };
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        bool ok = true;
        const char *name = NULL;

        for (const struct option *o = longopts; o->name; o++) {
            if (o->val == opt) {
                name = o->name;
            }
        }
        switch (opt) {
        case OPT_MODE: {
            size_t m;

            for (m = 0; m < sizeof(mode_names) / sizeof(mode_names[0]); m++) {
                if (!strcmp(optarg, mode_names[m])) {
                    break;
                }
            }
            if (m == sizeof(mode_names) / sizeof(mode_names[0])) {
                fprintf(stderr, "predlog-memstress: --mode: '%s' is not "
                        "uniform, hotcold or moving\n", optarg);
                ok = false;
            }
            c->mode = m;
            have_mode = true;
            break;
        }
        case OPT_MB:
            ok = parse_u64(name, optarg, 1, MAX_MB, &c->mb);
            have_mb = true;
            break;
        case OPT_RATE:
            ok = parse_u64(name, optarg, 0, MAX_RATE, &c->rate);
            have_rate = true;
            break;
        case OPT_HOT_PCT:
            ok = parse_u64(name, optarg, 1, 100, &c->hot_pct);
            break;
        case OPT_HOT_SHARE:
            ok = parse_u64(name, optarg, 0, 100, &c->hot_share);
            break;
        case OPT_MOVE_SECS:
            ok = parse_u64(name, optarg, 1, 86400, &c->move_secs);
            break;
        case OPT_REPORT_MS:
            ok = parse_u64(name, optarg, 0, 3600000, &c->report_ms);
            break;
        case OPT_SEED:
            ok = parse_u64(name, optarg, 0, UINT64_MAX, &c->seed);
            break;
        case OPT_VERIFY_SECS:
            ok = parse_u64(name, optarg, 0, 86400, &c->verify_secs);
            break;
        case OPT_SLOTS:
            ok = parse_u64(name, optarg, 1, 65536, &c->slots);
            if (ok && (c->slots & (c->slots - 1))) {
                fprintf(stderr, "predlog-memstress: --slots: %llu is not a "
                        "power of two\n", (unsigned long long)c->slots);
                ok = false;
            }
            break;
        case OPT_HELP:
            usage(stdout, argv[0]);
            return EXIT_OK;
        case ':':
            fprintf(stderr, "predlog-memstress: %s needs a value\n",
                    argv[optind - 1]);
            ok = false;
            break;
        default:
            fprintf(stderr, "predlog-memstress: unknown option '%s'\n",
                    argv[optind - 1]);
            ok = false;
            break;
        }
        if (!ok) {
            goto bad;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "predlog-memstress: unexpected argument '%s'\n",
                argv[optind]);
        goto bad;
    }
    if (!have_mode || !have_mb || !have_rate) {
        fprintf(stderr, "predlog-memstress: --mode, --mb and --rate are "
                "required\n");
        goto bad;
    }
    return -1;
bad:
    fprintf(stderr, "Try '%s --help'.\n", argv[0]);
    return EXIT_USAGE;
}

static int setup(State *s, const Config *c)
{
    unsigned long ps = getauxval(AT_PAGESZ);
    size_t len;

    /* slot = version % slots must survive the uint32 wrap: power of two */
    if (ps < RECORD_SIZE || ps & (ps - 1)) {
        fprintf(stderr, PREFIX "unusable page size %lu\n", ps);
        return EXIT_SYSTEM;
    }
    s->page_size = ps;
    s->slots = ps / RECORD_SIZE;
    if (c->slots > s->slots) {
        fprintf(stderr, PREFIX "--slots %llu: a %lu-byte page has %u\n",
                (unsigned long long)c->slots, ps, s->slots);
        return EXIT_USAGE;
    }
    if (c->slots) {
        s->slots = c->slots;
    }
    len = c->mb << 20;
    if (len / s->page_size > UINT32_MAX) {
        fprintf(stderr, PREFIX "--mb %llu is too many pages\n",
                (unsigned long long)c->mb);
        return EXIT_USAGE;
    }
    s->npages = len / s->page_size;

    s->mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (s->mem == MAP_FAILED) {
        fprintf(stderr, PREFIX "cannot map %llu MiB: %s\n",
                (unsigned long long)c->mb, strerror(errno));
        return EXIT_SYSTEM;
    }
    s->versions = calloc(s->npages, sizeof(*s->versions));
    if (!s->versions) {
        fprintf(stderr, PREFIX "out of memory for the version table\n");
        return EXIT_SYSTEM;
    }
    /*
     * Best effort: the test guest has no swap, but keep the pages resident
     * anyway.  Not MCL_FUTURE: under a small RLIMIT_MEMLOCK that would make
     * the allocations above fail instead of this call.
     */
    if (mlockall(MCL_CURRENT)) {
        fprintf(stderr, PREFIX "mlockall: %s (continuing unlocked)\n",
                strerror(errno));
    }
    s->rng = mix64(c->seed);
    fill_initial(s);
    if (c->mode != MODE_UNIFORM) {
        uint64_t hot = (uint64_t)s->npages * c->hot_pct / 100;

        s->hot_pages = hot ? hot : 1;
    }
    return -1;
}

int main(int argc, char **argv)
{
    Config c;
    State s = { 0 };
    uint64_t start, tick, next_report, next_move, next_verify, t;
    bool last_ok = true;
    int ret;

    setvbuf(stdout, NULL, _IOLBF, 0);
    ret = parse_args(argc, argv, &c);
    if (ret >= 0) {
        return ret;
    }
    ret = setup(&s, &c);
    if (ret >= 0) {
        return ret;
    }
    install_handlers();

    /* where the pages are, for tests that corrupt one on purpose */
    printf(PREFIX "buffer addr=%p bytes=%zu\n", (void *)s.mem,
           (size_t)s.npages * s.page_size);
    printf(PREFIX "ready pages=%" PRIu32 " pid=%ld\n", s.npages,
           (long)getpid());
    start = now_ns();
    if (s.hot_pages) {
        place_hot(&s, start);
    }
    tick = 0;
    next_report = start + c.report_ms * NS_PER_MS;
    next_move = start + c.move_secs * NS_PER_SEC;
    next_verify = start + c.verify_secs * NS_PER_SEC;

    while (!stop_requested) {
        uint64_t late, n;

        t = now_ns();
        if (verify_requested || (c.verify_secs && t >= next_verify)) {
            verify_requested = 0;
            last_ok = verify_all(&s);
            t = now_ns();
            next_verify = t + c.verify_secs * NS_PER_SEC;
            /* restart the schedule: the pause is neither written nor missed */
            start = t - tick * TICK_NS;
        }
        if (c.mode == MODE_MOVING && t >= next_move) {
            place_hot(&s, t);
            next_move = t + c.move_secs * NS_PER_SEC;
        }
        if (c.report_ms && t >= next_report) {
            report(&s, t);
            while (next_report <= t) {
                next_report += c.report_ms * NS_PER_MS;
            }
        }

        /*
         * Tick number @tick is due at start + tick * TICK_NS.  Do its share
         * of writes; if later ticks are already due as well, their shares
         * are missed, not added to this one.
         */
        if (t >= start + tick * TICK_NS) {
            late = (t - start) / TICK_NS;      /* the newest due tick */
            s.missed += due(c.rate, late) - due(c.rate, tick);
            n = due(c.rate, late + 1) - due(c.rate, late);
            for (uint64_t i = 0; i < n; i++) {
                write_page(&s, pick_page(&s, &c));
            }
            tick = late + 1;
        }
        sleep_until(start + tick * TICK_NS);
    }

    t = now_ns();
    report(&s, t);
    last_ok = verify_all(&s);
    return last_ok ? EXIT_OK : EXIT_VERIFY_FAILED;
}
