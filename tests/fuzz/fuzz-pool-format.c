/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: superblock and directory validation
 * (hw/predlog/core/pool-format.c)
 *
 * The input is the start of a pool file.  Checks: predlog_pool_sb_read()
 * reads nothing outside the input, says why it refuses (with a message),
 * and what it accepts is a layout that fits (directory and data area
 * inside pool_size, a salt with no zero half exactly when the flag says
 * so) and writes back, with predlog_pool_sb_write(), to a superblock
 * that reads back the same.  Every directory slot within the
 * input resolves to an intact copy of its own, or to none.
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <string.h>

#include "hw/predlog/core/pool-format.h"
#include "hw/predlog/core/record.h"
#include "qemu/predlog/byteorder.h"
#include "fuzz-common.h"

static void check_directory(const uint8_t *data, size_t size,
                            uint32_t slots)
{
    const uint8_t *dir = data + PREDLOG_POOL_SB_SIZE;
    size_t avail = size - PREDLOG_POOL_SB_SIZE;

    for (uint32_t id = 0; id < slots; id++) {
        const uint8_t *copies = dir + 2 * (size_t)id *
                                      PREDLOG_POOL_DIR_ENTRY_SIZE;
        const uint8_t *e;
        unsigned copy = 2;

        if ((size_t)(copies - dir) + 2 * PREDLOG_POOL_DIR_ENTRY_SIZE >
            avail) {
            break;
        }
        e = predlog_pool_dir_entry(dir, id, &copy);
        if (!e) {
            FUZZ_CHECK(!predlog_pool_dir_entry_ok(copies, id));
            FUZZ_CHECK(!predlog_pool_dir_entry_ok(
                copies + PREDLOG_POOL_DIR_ENTRY_SIZE, id));
            continue;
        }
        FUZZ_CHECK(copy < 2);
        FUZZ_CHECK(e == copies + copy * PREDLOG_POOL_DIR_ENTRY_SIZE);
        FUZZ_CHECK(predlog_pool_dir_entry_ok(e, id));
        FUZZ_CHECK(get_le16(e + PREDLOG_POOL_DIR_OFF_FUNC_ID) == id);
        FUZZ_CHECK(e[PREDLOG_POOL_DIR_OFF_LEVEL] <=
                   PREDLOG_RECORD_LEVEL__MAX);
        FUZZ_CHECK(strcmp(predlog_function_kind_str(
                       e[PREDLOG_POOL_DIR_OFF_KIND]), "unknown") != 0);
        /* the other copy, if intact, is not newer */
        if (predlog_pool_dir_entry_ok(copies + (1 - copy) *
                                      PREDLOG_POOL_DIR_ENTRY_SIZE, id)) {
            FUZZ_CHECK(get_le64(copies + (1 - copy) *
                                PREDLOG_POOL_DIR_ENTRY_SIZE +
                                PREDLOG_POOL_DIR_OFF_GENERATION) <=
                       get_le64(e + PREDLOG_POOL_DIR_OFF_GENERATION));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    PredlogPoolSuperblock sb, again;
    g_autofree char *msg = NULL;
    g_autofree uint8_t *rewritten = NULL;
    PredlogPoolSbError why = predlog_pool_sb_read(data, size, &sb, &msg);
    uint64_t dir_end;
    uint64_t seq;

    /* the first 12 bytes as a sequence table word and its slot */
    if (size >= 12 &&
        predlog_pool_seq_word_read(get_le64(data + 4), get_le32(data),
                                   &seq)) {
        FUZZ_CHECK(seq <= PREDLOG_POOL_SEQ_MAX);
        FUZZ_CHECK(predlog_pool_seq_word(get_le32(data), seq) ==
                   get_le64(data + 4));
    }

    if (why != PREDLOG_POOL_SB_OK) {
        FUZZ_CHECK(why <= PREDLOG_POOL_SB_CORRUPT);
        FUZZ_CHECK(msg && *msg);
        /* without a message pointer nothing leaks (LeakSanitizer) */
        FUZZ_CHECK(predlog_pool_sb_read(data, size, &again, NULL) == why);
        return 0;
    }
    FUZZ_CHECK(msg == NULL);
    FUZZ_CHECK(size >= PREDLOG_POOL_SB_SIZE);
    FUZZ_CHECK(sb.dir_slots >= PREDLOG_RECORDER_MIN_FUNCTIONS &&
               sb.dir_slots <= PREDLOG_RECORDER_MAX_FUNCTIONS);
    FUZZ_CHECK(sb.policy < PREDLOG_POLICY__MAX);
    FUZZ_CHECK((sb.flags & ~PREDLOG_POOL_FLAGS_KNOWN) == 0);
    dir_end = PREDLOG_POOL_SB_SIZE +
              (uint64_t)sb.dir_slots * 2 * PREDLOG_POOL_DIR_ENTRY_SIZE;
    if (sb.flags & PREDLOG_POOL_FLAG_SEQ_TABLE) {
        dir_end += (uint64_t)sb.dir_slots * 8;  /* the sequence table */
    }
    FUZZ_CHECK(sb.data_offset >= dir_end);
    FUZZ_CHECK(sb.data_offset <= sb.pool_size);
    FUZZ_CHECK(sb.data_size <= sb.pool_size - sb.data_offset);
    FUZZ_CHECK(strlen(sb.name) <= PREDLOG_POOL_NAME_MAX);
    /* a salt, with both halves, exactly in salted pools */
    if (sb.flags & PREDLOG_POOL_FLAG_SALT) {
        FUZZ_CHECK((uint32_t)sb.salt && sb.salt >> 32);
        FUZZ_CHECK(sb.salt == get_le64(data + PREDLOG_POOL_SB_OFF_SALT));
    } else {
        FUZZ_CHECK(sb.salt == 0);
    }

    /* read -> write -> read */
    rewritten = g_malloc(PREDLOG_POOL_SB_SIZE);
    predlog_pool_sb_write(rewritten, &sb);
    FUZZ_CHECK(predlog_pool_sb_read(rewritten, PREDLOG_POOL_SB_SIZE, &again,
                                    NULL) == PREDLOG_POOL_SB_OK);
    FUZZ_CHECK(again.pool_size == sb.pool_size &&
               again.dir_slots == sb.dir_slots &&
               again.data_offset == sb.data_offset &&
               again.data_size == sb.data_size &&
               again.policy == sb.policy && again.flags == sb.flags &&
               again.created_ns == sb.created_ns &&
               again.buffer_size == sb.buffer_size &&
               again.salt == sb.salt);
    /* a name cut at its first NUL is what the writer keeps */
    FUZZ_CHECK(strcmp(again.name, sb.name) == 0);
    /* the fields the reader checks are where the input has them */
    FUZZ_CHECK(memcmp(rewritten, data, PREDLOG_POOL_SB_OFF_NAME) == 0);

    check_directory(data, size, sb.dir_slots);
    return 0;
}
