// CRealtime: the few real-time calls Swift cannot make directly. Every symbol is `crt_`.
//
// Why each shim exists:
// - crt_set_thread_affinity: CPU_ZERO/CPU_SET are macros over cpu_set_t; Swift cannot call them.
// - crt_set_thread_fifo: wraps pthread_setschedparam so the errno comes back as a value.
// - crt_lock_memory: mlockall flags are macros (MCL_CURRENT | MCL_FUTURE).
// - crt_flush_denormals: FTZ/DAZ live in MXCSR (x86) or FPCR (ARM64), reachable only via
//   intrinsics or inline assembly.
// - crt_sleep_until / crt_monotonic_nanos: TIMER_ABSTIME and timespec arithmetic in one
//   call, retrying EINTR, so the control tick makes exactly one syscall to sleep.
// - crt_set_thread_name: pthread_setname_np is a GNU extension Swift's Glibc module hides.
// - crt_atomic_*: relaxed atomic loads/adds on plain uint64_t memory (histogram buckets
//   that live in a preallocated raw buffer); Swift's Atomic needs its own storage.
#ifndef CREALTIME_H
#define CREALTIME_H
#include <stdint.h>

/// Pins the calling thread to CPU `cpu`. Returns 0 or an errno value.
int crt_set_thread_affinity(int cpu);
/// Gives the calling thread SCHED_FIFO at `priority` (1...99). Returns 0 or an errno value
/// (EPERM without CAP_SYS_NICE or an RLIMIT_RTPRIO of at least `priority`).
int crt_set_thread_fifo(int priority);
/// The calling thread's scheduling policy (SCHED_OTHER = 0, SCHED_FIFO = 1) and priority.
int crt_thread_policy(int *priority);
/// Locks all current and future pages (mlockall(MCL_CURRENT | MCL_FUTURE)). 0 or errno.
int crt_lock_memory(void);
/// Number of CPUs the process may run on.
int crt_available_cpus(void);
/// Sets flush-to-zero and denormals-are-zero for the calling thread (MXCSR FTZ|DAZ on x86-64,
/// FPCR.FZ on ARM64). Returns 1 if set, 0 on an architecture it does not know.
int crt_flush_denormals(void);
/// 1 when flush-to-zero is set on the calling thread.
int crt_denormals_flushed(void);
/// Names the calling thread (first 15 bytes), as shown by `top -H` and `ps -L`.
void crt_set_thread_name(const char *name);
/// CLOCK_MONOTONIC in nanoseconds.
uint64_t crt_monotonic_nanos(void);
/// Sleeps until CLOCK_MONOTONIC reaches `deadline_nanos` (clock_nanosleep, TIMER_ABSTIME),
/// retrying EINTR. Returns 0 or an errno value. Real-time safe: one syscall, no allocation.
int crt_sleep_until(uint64_t deadline_nanos);

static inline uint64_t crt_atomic_load_relaxed(const uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void crt_atomic_store_relaxed(uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}
static inline void crt_atomic_add_relaxed(uint64_t *p, uint64_t v) {
    __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}

#endif
