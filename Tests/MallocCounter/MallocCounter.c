// See include/MallocCounter.h. Forwards to glibc's __libc_* allocator entry points.
#define _GNU_SOURCE
#include "MallocCounter.h"
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>

// Sanitizers interpose the allocator themselves; under them this file defines only the
// query functions, and malloc_counter_is_active() reports 0 so no test can pass by
// counting nothing.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MALLOC_COUNTER_DISABLED 1
#endif
#endif

#ifndef MALLOC_COUNTER_DISABLED

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Thread_local uint64_t thread_allocations;
static _Thread_local uint64_t thread_frees;
static atomic_uint_fast64_t total_allocations;
static atomic_int active;

static inline void count_allocation(void) {
    thread_allocations++;
    atomic_fetch_add_explicit(&total_allocations, 1, memory_order_relaxed);
    atomic_store_explicit(&active, 1, memory_order_relaxed);
}

void *malloc(size_t size) {
    count_allocation();
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    count_allocation();
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size) {
    if (ptr != NULL && size == 0) {
        thread_frees++;
    } else {
        count_allocation();
    }
    return __libc_realloc(ptr, size);
}

void free(void *ptr) {
    if (ptr != NULL) thread_frees++;
    __libc_free(ptr);
}

void *memalign(size_t alignment, size_t size) {
    count_allocation();
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count_allocation();
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    count_allocation();
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, size);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size) {
    count_allocation();
    return __libc_memalign(4096, size);
}

uint64_t malloc_counter_thread_allocations(void) { return thread_allocations; }
#else
static _Thread_local uint64_t thread_allocations;
static _Thread_local uint64_t thread_frees;
static atomic_uint_fast64_t total_allocations;
static atomic_int active;
uint64_t malloc_counter_thread_allocations(void) { return thread_allocations; }
#endif
uint64_t malloc_counter_thread_frees(void) { return thread_frees; }
uint64_t malloc_counter_total_allocations(void) {
    return atomic_load_explicit(&total_allocations, memory_order_relaxed);
}
int malloc_counter_is_active(void) { return atomic_load_explicit(&active, memory_order_relaxed); }
