// Hardware floors of this CPU core, measured in the same benchmark run as the figures they bound.
//
//   floor fma            f32 FMA throughput: 12 independent 8-lane FMA chains (GFLOP/s, best of 5)
//   floor stream BYTES   time to read BYTES of f32 once from cache, summing them with 8 vector
//                        accumulators: the cost of streaming a network's weights once per call
//                        (median and best of 20000 passes, ns)
//
// Portable C with GCC/Clang vector extensions (AVX2+FMA on x86-64 with -mavx2 -mfma, NEON on
// ARM64). Prints one JSON object. Used by scripts/bench/10-inference.sh.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef float v8 __attribute__((vector_size(32)));

// A register constraint for vector values: keeps them in registers across the empty asm.
#if defined(__x86_64__)
#define VREG "+x"
#elif defined(__aarch64__)
#define VREG "+w"
#else
#define VREG "+r"
#endif

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double fma_gflops(void) {
    v8 m = {0}, c = {0};
    for (int k = 0; k < 8; k++) { m[k] = 0.999999f; c[k] = 1e-7f; }
    v8 a0 = m, a1 = m, a2 = m, a3 = m, a4 = m, a5 = m, a6 = m, a7 = m, a8 = m, a9 = m, a10 = m, a11 = m;
    const long n = 50000000;
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) {
            a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
            a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
            a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
            // Keep the chains in registers and stop the compiler from folding the loop.
            __asm__ volatile("" : VREG(a0), VREG(a1), VREG(a2), VREG(a3), VREG(a4), VREG(a5));
            __asm__ volatile("" : VREG(a6), VREG(a7), VREG(a8), VREG(a9), VREG(a10), VREG(a11));
        }
        double gflops = (double)n * 12 * 16 / (now_ns() - t0);
        if (gflops > best) best = gflops;
    }
    v8 s = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    printf("{\"fma_gflops\": %.2f, \"checksum\": %g}\n", best, (double)s[0]);
    return best;
}

static void stream(size_t bytes) {
    size_t n = (bytes / sizeof(float) + 63) / 64 * 64;
    float *w = aligned_alloc(64, n * sizeof(float));
    if (!w) { fprintf(stderr, "floor: out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) w[i] = (float)(i % 1000) * 1e-6f;
    enum { passes = 20000 };
    static double times[passes];
    v8 total = {0};
    for (int r = 0; r < passes; r++) {
        // Accumulators local to one pass, so they stay in registers (no call inside the loop).
        v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, s4 = {0}, s5 = {0}, s6 = {0}, s7 = {0};
        double t0 = now_ns();
        for (size_t i = 0; i < n; i += 64) {
            const v8 *p = (const v8 *)(w + i);
            s0 += p[0]; s1 += p[1]; s2 += p[2]; s3 += p[3];
            s4 += p[4]; s5 += p[5]; s6 += p[6]; s7 += p[7];
        }
        __asm__ volatile("" : VREG(s0), VREG(s1), VREG(s2), VREG(s3));
        times[r] = now_ns() - t0;
        total += s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7;
    }
    qsort(times, passes, sizeof(double), compare);
    v8 s = total;
    printf("{\"stream_bytes\": %zu, \"stream_median_ns\": %.1f, \"stream_best_ns\": %.1f, \"stream_gb_per_s_at_best\": %.1f, \"checksum\": %g}\n",
           n * sizeof(float), times[passes / 2], times[0], (double)(n * sizeof(float)) / times[0], (double)s[0]);
    free(w);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "fma") == 0) {
        fma_gflops();
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "stream") == 0) {
        stream((size_t)strtoull(argv[2], NULL, 10));
        return 0;
    }
    fprintf(stderr, "usage: floor fma | floor stream BYTES\n");
    return 2;
}
