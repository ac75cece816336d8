/* CHECK for single-file test programs (the emulator, MCU and cross-target tests): records a
 * failure with its location in this program's own counters and carries on. The multi-file
 * firmware suite uses tests/test.h, whose counters live in test_main.c. */
#ifndef FP_CHECK_H
#define FP_CHECK_H

#include <stdio.h>

static int failures = 0, checks = 0;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#endif
