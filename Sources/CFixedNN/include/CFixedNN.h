// CFixedNN: the few things FixedNN and its benchmark cannot express in Swift.
//
// 1. Element-wise SIMD operations that Swift's SIMD16<Float> methods leave scalarised
//    (`squareRoot()`, `pointwiseMin/Max`; performance-notes.md, trap 2). Clang's
//    `ext_vector_type(16)` float vector imports into Swift as SIMD16<Float>, and the
//    `__builtin_elementwise_*` builtins compile to one packed instruction per register
//    (vsqrtps / vmaxps on x86-64, fsqrt / fmax on ARM64). `static inline`: no call overhead.
// 2. For `robotctl bench inference`: heap statistics (mallinfo2 is not exported by Swift's
//    Glibc module) and pinning the calling thread to one CPU (CPU_SET is a macro).
//
// Every symbol carries the `cfixednn_` prefix.
#ifndef CFIXEDNN_H
#define CFIXEDNN_H

#include <stddef.h>

typedef float cfixednn_float16 __attribute__((ext_vector_type(16)));

/// Lane-wise square root.
static inline cfixednn_float16 cfixednn_sqrt16(cfixednn_float16 x) { return __builtin_elementwise_sqrt(x); }

/// Lane-wise maximum.
static inline cfixednn_float16 cfixednn_max16(cfixednn_float16 a, cfixednn_float16 b) {
    return __builtin_elementwise_max(a, b);
}

/// Lane-wise minimum.
static inline cfixednn_float16 cfixednn_min16(cfixednn_float16 a, cfixednn_float16 b) {
    return __builtin_elementwise_min(a, b);
}

/// Bytes currently allocated by malloc in this process (glibc `mallinfo2`: `uordblks` +
/// `hblkhd`); 0 where mallinfo2 is unavailable (non-glibc platforms).
size_t cfixednn_heap_bytes_in_use(void);

/// Pins the calling thread to `cpu` (sched_setaffinity). Returns 0 or an errno value
/// (EINVAL for a CPU the process may not use; ENOSYS where unsupported).
int cfixednn_pin_thread_to_cpu(int cpu);

#endif
