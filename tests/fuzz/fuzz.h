/* fuzz.h - what every libFuzzer target of tests/fuzz/ shares */
#ifndef CS_TESTS_FUZZ_H
#define CS_TESTS_FUZZ_H

/*
 * A target defines LLVMFuzzerTestOneInput (and, when it needs set-up,
 * LLVMFuzzerInitialize). It is linked two ways: with libFuzzer
 * (-fsanitize=fuzzer, CS_FUZZ=ON, tests/fuzz/run.sh), and with replay.c,
 * a main() that feeds it the files it is given, for the ctest that
 * replays tests/fuzz/<target>/regressions/ in every build. Beyond the
 * sanitizers' checks, a target checks the contract of what it calls with
 * FUZZ_CHECK: a broken promise aborts, which libFuzzer reports as a
 * crash with the input that caused it.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regex/regex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,        \
                    __LINE__, #cond);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

/* A message of struct cs_err as the style wants it: not empty, one line,
 * valid UTF-8 (it goes to stderr and into JSON: the rejects file). */
#define FUZZ_CHECK_MSG(msg)                                               \
    do {                                                                  \
        if (!((msg)[0] != '\0' && !strchr((msg), '\n') &&                 \
              cs_regex_utf8_check((msg), strlen(msg), NULL) == 0)) {      \
            fprintf(stderr, "%s:%d: not a one-line UTF-8 message: [%s]\n", \
                    __FILE__, __LINE__, (msg));                           \
            abort();                                                      \
        }                                                                 \
    } while (0)

#endif
