/* A minimal test harness: CHECK records a failure with its location and carries on. */
#ifndef FP_TEST_H
#define FP_TEST_H

#include <stdio.h>

extern int fp_test_failures;
extern int fp_test_checks;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        fp_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            fp_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long fp_a_ = (long long)(a), fp_b_ = (long long)(b);                          \
        fp_test_checks++;                                                                  \
        if (fp_a_ != fp_b_) {                                                              \
            fp_test_failures++;                                                            \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, \
                    #b, fp_a_, fp_b_);                                                     \
        }                                                                                  \
    } while (0)

void test_link(void);
void test_vectors(const char *path);
void test_firmware(void);
void test_fuzz(unsigned long frames, unsigned long seed);

/* xorshift64*: the tests' only random generator, seeded explicitly. */
typedef struct { unsigned long long s; } fp_rng;
static inline unsigned long long fp_rng_next(fp_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}
static inline unsigned fp_rng_below(fp_rng *r, unsigned n) { return (unsigned)(fp_rng_next(r) % n); }

#endif
