// See include/CRealtime.h for why each shim exists.
#define _GNU_SOURCE
#include "CRealtime.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

int crt_set_thread_affinity(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

int crt_set_thread_fifo(int priority) {
    struct sched_param param = {.sched_priority = priority};
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
}

int crt_thread_policy(int *priority) {
    int policy = 0;
    struct sched_param param = {0};
    if (pthread_getschedparam(pthread_self(), &policy, &param) != 0) return -1;
    if (priority) *priority = param.sched_priority;
    return policy;
}

int crt_lock_memory(void) {
    return mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? 0 : errno;
}

int crt_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}

int crt_flush_denormals(void) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(_mm_getcsr() | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
    return 1;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr |= (1ull << 24);  // FZ
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
    return 1;
#else
    return 0;
#endif
}

int crt_denormals_flushed(void) {
#if defined(__x86_64__) || defined(__i386__)
    return (_mm_getcsr() & 0x8000u) != 0;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (fpcr & (1ull << 24)) != 0;
#else
    return 0;
#endif
}

void crt_set_thread_name(const char *name) {
    char shortName[16] = {0};
    for (int i = 0; i < 15 && name[i]; i++) shortName[i] = name[i];
    pthread_setname_np(pthread_self(), shortName);
}

uint64_t crt_monotonic_nanos(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int crt_sleep_until(uint64_t deadline_nanos) {
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_nanos / 1000000000ull),
        .tv_nsec = (long)(deadline_nanos % 1000000000ull),
    };
    int rc;
    do {
        rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    } while (rc == EINTR);
    return rc;
}
