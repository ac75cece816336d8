// MallocCounter: counts heap allocations per thread, for the real-time tests.
//
// The test binaries link this target, whose malloc/calloc/realloc/free/memalign family
// override glibc's (symbols in the executable win at dynamic link time) and forward to
// glibc's __libc_* entry points. Counting is per thread (thread-local), so a test can
// check that one thread, e.g. the control thread, allocated nothing while others did.
#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H
#include <stdint.h>

/// Allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign,
/// valloc) made by the calling thread since it started.
uint64_t malloc_counter_thread_allocations(void);
/// Frees (free, realloc to 0) made by the calling thread since it started.
uint64_t malloc_counter_thread_frees(void);
/// Allocations made by all threads since the process started.
uint64_t malloc_counter_total_allocations(void);
/// 1 when this interposer is active in the process (its malloc is the one called).
int malloc_counter_is_active(void);

#endif
