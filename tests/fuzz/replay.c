/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Replays a fuzz target's corpus as a test: every file of every directory
 * named on the command line goes to LLVMFuzzerTestOneInput() once, in
 * name order, and each is a TAP test point.  A target reports a broken
 * invariant by aborting (fuzz-common.h), which fails the run: a crash
 * ends the TAP stream short of its plan.  An empty or missing directory
 * is a failure too, so that a corpus cannot silently vanish.  --tap is
 * accepted and ignored (TAP is the only output).
 *
 * Copyright (c) 2026 The predlog authors
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz-common.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
    unsigned n_dirs = 0, bad_dirs = 0, test = 0;

    for (int i = 1; i < argc; i++) {
        g_autoptr(GDir) dir = NULL;
        const char *name;
        unsigned found = 0;

        if (!strcmp(argv[i], "--tap")) {
            continue;
        }
        n_dirs++;
        dir = g_dir_open(argv[i], 0, NULL);
        while (dir && (name = g_dir_read_name(dir))) {
            char *path = g_build_filename(argv[i], name, NULL);

            if (name[0] != '.' && g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
                g_ptr_array_add(files, path);
                found++;
            } else {
                g_free(path);
            }
        }
        if (!found) {
            /* reported below as a failing test point of its own */
            g_ptr_array_add(files, g_strconcat("\x01", argv[i], NULL));
            bad_dirs++;
        }
    }
    if (!n_dirs) {
        fprintf(stderr, "usage: %s [--tap] CORPUS-DIR...\n", argv[0]);
        return 2;
    }
    qsort(files->pdata, files->len, sizeof(char *), cmp_str);

    printf("1..%u\n", files->len);
    fflush(stdout);
    for (guint i = 0; i < files->len; i++) {
        const char *path = g_ptr_array_index(files, i);
        g_autofree char *data = NULL;
        g_autoptr(GError) err = NULL;
        gsize len;

        test++;
        if (path[0] == '\x01') {
            printf("not ok %u - %s: no input in this corpus directory\n",
                   test, path + 1);
            continue;
        }
        if (!g_file_get_contents(path, &data, &len, &err)) {
            printf("not ok %u - %s: %s\n", test, path, err->message);
            bad_dirs++;
            continue;
        }
        /* a copy of exactly len bytes, so ASan sees reads past the end */
        {
            g_autofree uint8_t *copy = g_malloc(MAX(len, 1));

            memcpy(copy, data, len);
            LLVMFuzzerTestOneInput(copy, len);
        }
        printf("ok %u - %s\n", test, path);
        fflush(stdout);
    }
    return bad_dirs ? 1 : 0;
}
