/* Unit tests of Sources/CRealtime (the real-time shims Control calls), built natively and for
 * aarch64 (run under qemu-aarch64-static) by firmware-proto/cross-test/Makefile.
 *
 * What is checked: flush-to-zero really flushes (a subnormal product is 0 after
 * crt_flush_denormals and was not before, on x86-64 via MXCSR and on ARM64 via FPCR.FZ), the
 * flag is per thread, the monotonic clock and the absolute-deadline sleep, CPU count and
 * affinity, the scheduling-policy query, the thread name, the relaxed atomics. */
#define _GNU_SOURCE
#include <errno.h>
#include <float.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "CRealtime.h"

#include "../tests/check.h"

/* volatile: the compiler must not fold the products at build time (it would use the
 * build machine's default rounding, not this thread's FTZ setting). */
static volatile float tiny_f = FLT_MIN;   /* smallest normal float, 2^-126 */
static volatile double tiny_d = DBL_MIN;  /* smallest normal double, 2^-1022 */
static volatile float half_f = 0.5f;
static volatile double half_d = 0.5;

static float subnormal_float(void) { return tiny_f * half_f; }   /* 2^-127: subnormal */
static double subnormal_double(void) { return tiny_d * half_d; } /* 2^-1023: subnormal */

static void *flush_in_other_thread(void *out) {
    int before = crt_denormals_flushed();
    int set = crt_flush_denormals();
    *(int *)out = before * 100 + set * 10 + (subnormal_float() == 0.0f);
    return NULL;
}

static void test_flush_to_zero(void) {
    CHECK(crt_denormals_flushed() == 0);
    /* Another thread sets FTZ for itself; this thread's setting is untouched. (Threads
     * created later inherit the creator's FP control register, so it is tested first.) */
    int other = -1;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, flush_in_other_thread, &other) == 0);
    pthread_join(t, NULL);
    CHECK(other == 11); /* it was off there, set, and flushed there */
    CHECK(crt_denormals_flushed() == 0);
    float before_f = subnormal_float();
    double before_d = subnormal_double();
    CHECK(before_f != 0.0f && before_f < FLT_MIN);  /* gradual underflow by default */
    CHECK(before_d != 0.0 && before_d < DBL_MIN);

    CHECK(crt_flush_denormals() == 1);               /* x86-64 and aarch64 are both known */
    CHECK(crt_denormals_flushed() == 1);
    CHECK(subnormal_float() == 0.0f);                /* flushed: single precision */
    CHECK(subnormal_double() == 0.0);                /* and double precision */
    volatile float normal = FLT_MIN * 2.0f;          /* normal results are untouched */
    CHECK(normal == FLT_MIN * 2.0f);
    CHECK(crt_flush_denormals() == 1);               /* idempotent */
    CHECK(crt_denormals_flushed() == 1);
    printf("crealtime: FTZ flushes 2^-127f and 2^-1023 to 0 on this thread only\n");
}

static void test_clock_and_sleep(void) {
    uint64_t a = crt_monotonic_nanos(), b = crt_monotonic_nanos();
    CHECK(a > 0 && b >= a);
    uint64_t deadline = crt_monotonic_nanos() + 3000000u; /* 3 ms ahead */
    CHECK(crt_sleep_until(deadline) == 0);
    uint64_t woke = crt_monotonic_nanos();
    CHECK(woke >= deadline);                            /* never early */
    CHECK(woke - deadline < 2000000000u);               /* and not absurdly late (loaded host) */
    uint64_t past = crt_monotonic_nanos() - 1000000u;   /* a deadline already gone: at once */
    uint64_t t0 = crt_monotonic_nanos();
    CHECK(crt_sleep_until(past) == 0);
    CHECK(crt_monotonic_nanos() - t0 < 1000000000u);
}

static void test_cpus_and_policy(void) {
    int cpus = crt_available_cpus();
    CHECK(cpus >= 1);
    CHECK(crt_set_thread_affinity(-1) == EINVAL);
    CHECK(crt_set_thread_affinity(CPU_SETSIZE) == EINVAL);
    /* CPU 0 may be outside this process's set (a container's cpuset): 0 or EINVAL only. */
    int rc = crt_set_thread_affinity(0);
    CHECK(rc == 0 || rc == EINVAL);
    int priority = -1;
    CHECK(crt_thread_policy(&priority) == SCHED_OTHER);
    CHECK(priority == 0);
    CHECK(crt_thread_policy(NULL) == SCHED_OTHER);
    /* Priority 0 is invalid for SCHED_FIFO: an errno value, never a crash or a silent 0. */
    CHECK(crt_set_thread_fifo(0) == EINVAL);
    int lock = crt_lock_memory();
    CHECK(lock == 0 || lock == EPERM || lock == ENOMEM || lock == EAGAIN);
}

static void test_thread_name(void) {
    crt_set_thread_name("crt-test-a-very-long-thread-name");
    char name[32] = {0};
    CHECK(pthread_getname_np(pthread_self(), name, sizeof name) == 0);
    CHECK(strcmp(name, "crt-test-a-very") == 0); /* first 15 bytes */
    crt_set_thread_name("short");
    CHECK(pthread_getname_np(pthread_self(), name, sizeof name) == 0);
    CHECK(strcmp(name, "short") == 0);
}

static void test_atomics(void) {
    uint64_t cell = 0;
    crt_atomic_store_relaxed(&cell, 41);
    crt_atomic_add_relaxed(&cell, 1);
    CHECK(crt_atomic_load_relaxed(&cell) == 42);
    crt_atomic_add_relaxed(&cell, UINT64_MAX); /* wraps modulo 2^64 */
    CHECK(crt_atomic_load_relaxed(&cell) == 41);
}

int main(void) {
    test_flush_to_zero();
    test_clock_and_sleep();
    test_cpus_and_policy();
    test_thread_name();
    test_atomics();
    printf("crealtime tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
