/* Runs the firmware-proto C tests: test_firmware VECTORS_FILE [FUZZ_FRAMES [SEED]]. */
#include <stdlib.h>

#include "test.h"

int fp_test_failures = 0;
int fp_test_checks = 0;

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s VECTORS_FILE [FUZZ_FRAMES [SEED]]\n", argv[0]);
        return 2;
    }
    unsigned long frames = argc > 2 ? strtoul(argv[2], NULL, 10) : 2000000ul;
    unsigned long seed = argc > 3 ? strtoul(argv[3], NULL, 10) : 1ul;
    test_link();
    test_vectors(argv[1]);
    test_firmware();
    test_fuzz(frames, seed);
    printf("firmware-proto tests: %d checks, %d failures\n", fp_test_checks, fp_test_failures);
    return fp_test_failures == 0 ? 0 : 1;
}
