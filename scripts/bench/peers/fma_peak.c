/* One core's peak f32 FMA rate: 12 independent chains of vector FMAs (enough to cover the FMA
 * latency on both pipes of current x86-64 and ARM64 cores), GNU C vector extensions only.
 * Build: cc -O2 -mavx2 -mfma fma_peak.c (x86-64) or cc -O2 fma_peak.c (ARM64).
 * Prints GFLOP/s (an FMA counts as 2 FLOPs), best of 5 runs. */
#include <stdio.h>
#include <time.h>

#if defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vf __attribute__((vector_size(LANES * 4)));

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const long n = 50000000;
    double best = 0;
    float sink = 0;
    for (int run = 0; run < 5; run++) {
        vf b, c;
        for (int l = 0; l < LANES; l++) { b[l] = 0.999999f; c[l] = 1e-7f; }
#define DECLARE(i) vf a##i = b * (float)(i + run);
        DECLARE(0) DECLARE(1) DECLARE(2) DECLARE(3) DECLARE(4) DECLARE(5)
        DECLARE(6) DECLARE(7) DECLARE(8) DECLARE(9) DECLARE(10) DECLARE(11)
#define STEP(i) a##i = a##i * b + c; /* contracted to one FMA */
/* Keeps each chain in a register and opaque to the optimiser ("x": SSE/AVX, "w": NEON). */
#if defined(__x86_64__)
#define KEEP(i) __asm__ volatile("" : "+x"(a##i));
#else
#define KEEP(i) __asm__ volatile("" : "+w"(a##i));
#endif
        double t0 = now();
        for (long k = 0; k < n; k++) {
            STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7) STEP(8) STEP(9) STEP(10) STEP(11)
            KEEP(0) KEEP(1) KEEP(2) KEEP(3) KEEP(4) KEEP(5) KEEP(6) KEEP(7) KEEP(8) KEEP(9) KEEP(10) KEEP(11)
        }
        double t = now() - t0;
        double gflops = (double)n * 12 * LANES * 2 / t / 1e9;
        if (gflops > best) best = gflops;
        sink += a0[0] + a1[0] + a2[0] + a3[0] + a4[0] + a5[0] + a6[0] + a7[0] + a8[0] + a9[0] + a10[0] + a11[0];
    }
    printf("%.1f\n", best);
    fprintf(stderr, "fma_peak: %d-lane vectors, 12 chains, checksum %g\n", LANES, sink);
    return 0;
}
