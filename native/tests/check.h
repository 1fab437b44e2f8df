/* check.h - the few assertion macros the native tests need. */
#ifndef PSYNE_TEST_CHECK_H
#define PSYNE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                       \
        }                                                                           \
    } while (0)

#define CHECK_EQ_U64(expected, actual)                                                    \
    do {                                                                                  \
        unsigned long long e_ = (unsigned long long)(expected);                           \
        unsigned long long a_ = (unsigned long long)(actual);                             \
        if (e_ != a_) {                                                                   \
            fprintf(stderr, "%s:%d: expected %s == %llu (0x%llx), got %llu (0x%llx)\n", __FILE__, \
                    __LINE__, #actual, e_, e_, a_, a_);                                   \
            check_failures++;                                                             \
        }                                                                                 \
    } while (0)

#define CHECK_STATUS(expected, call)                                                  \
    do {                                                                              \
        psyne_status s_ = (call);                                                     \
        if (s_ != (expected)) {                                                       \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n",  \
                    __FILE__, __LINE__, #call, psyne_status_name(s_),                 \
                    psyne_status_name(expected), psyne_last_error());                 \
            check_failures++;                                                         \
        }                                                                             \
    } while (0)

/* Call at the start of main: applies PSYNE_ISA; exits 77 (skipped) if the CPU cannot run it. */
#define TEST_INIT()                                                                       \
    do {                                                                                  \
        psyne_status s_ = psyne_init();                                                   \
        if (s_ == PSYNE_E_UNSUPPORTED) {                                                  \
            printf("skipped: %s\n", psyne_last_error());                                  \
            return 77;                                                                    \
        }                                                                                 \
        if (s_ != PSYNE_OK) {                                                             \
            fprintf(stderr, "psyne_init failed: %s\n", psyne_last_error());               \
            return 1;                                                                     \
        }                                                                                 \
    } while (0)

#define TEST_DONE()                                                                       \
    do {                                                                                  \
        if (check_failures) {                                                             \
            fprintf(stderr, "%d check(s) failed\n", check_failures);                      \
            return 1;                                                                     \
        }                                                                                 \
        printf("ok\n");                                                                   \
        return 0;                                                                         \
    } while (0)

#endif
