/* Unit tests of Sources/CFixedNN (lane-wise SIMD helpers FixedNN imports, heap statistics and
 * CPU pinning for the inference benchmark). Needs clang (ext_vector_type); built natively and
 * for aarch64 (run under qemu-aarch64-static) by firmware-proto/cross-test/Makefile.
 * Each of the 16 lanes is checked, with values that differ per lane, so a kernel that
 * computed only some lanes, or the wrong ones, fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "CFixedNN.h"

#include "../tests/check.h"

static void test_lanes(void) {
    cfixednn_float16 a, b;
    for (int i = 0; i < 16; i++) {
        a[i] = (float)(i * i) + 0.25f;          /* 0.25, 1.25, 4.25, ... */
        b[i] = (float)(16 - i) * 7.0f - 40.0f;  /* crosses a at some lanes, negative at others */
    }
    cfixednn_float16 s = cfixednn_sqrt16(a), hi = cfixednn_max16(a, b), lo = cfixednn_min16(a, b);
    for (int i = 0; i < 16; i++) {
        CHECK(s[i] == sqrtf(a[i])); /* IEEE sqrt is correctly rounded: exact equality */
        CHECK(hi[i] == (a[i] > b[i] ? a[i] : b[i]));
        CHECK(lo[i] == (a[i] < b[i] ? a[i] : b[i]));
    }
    cfixednn_float16 neg = -a;
    cfixednn_float16 r = cfixednn_sqrt16(neg);
    for (int i = 0; i < 16; i++) CHECK(isnan(r[i])); /* sqrt of a negative: NaN in every lane */
}

static void test_heap_and_pin(void) {
    size_t before = cfixednn_heap_bytes_in_use();
    char *volatile p = malloc(1 << 20); /* volatile: the pair must not be optimised away */
    CHECK(p != NULL);
    size_t during = cfixednn_heap_bytes_in_use();
    CHECK(during >= before + (1 << 20)); /* glibc >= 2.33 (bookworm has 2.36) */
    free(p);
    CHECK(cfixednn_heap_bytes_in_use() < during);
    CHECK(cfixednn_pin_thread_to_cpu(-1) == EINVAL);
    int rc = cfixednn_pin_thread_to_cpu(0);
    CHECK(rc == 0 || rc == EINVAL);
}

int main(void) {
    test_lanes();
    test_heap_and_pin();
    printf("cfixednn tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
