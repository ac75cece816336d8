/* Unit tests of plant.c: physics invariants the emulated robot relies on. */
#include "plant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        checks++;                                                     \
        if (!(cond)) {                                                \
            failures++;                                               \
            fprintf(stderr, "%s:%d: FAILED %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                             \
            fputc('\n', stderr);                                      \
        }                                                             \
    } while (0)

static const double pi = 3.14159265358979323846;

/* An ideal plant: no friction, ideal motor, no latency, no noise. */
static plant_params ideal(plant_kind kind) {
    plant_params p;
    plant_default_params(kind, &p);
    p.damping[0] = p.damping[1] = 0.0;
    p.coulomb[0] = p.coulomb[1] = 0.0;
    p.latency_ticks = 0;
    p.position_noise = 0.0;
    p.current_noise = 0.0;
    p.supply_voltage = 1e4;
    return p;
}

static void test_pendulum_energy_conserved_without_friction(void) {
    plant_params p = ideal(PLANT_PENDULUM);
    plant_state s;
    CHECK(plant_init(&s, &p, 1) == PLANT_OK, "init");
    double q0[1] = {2.0}, v0[1] = {0.0};
    plant_reset(&s, q0, v0);
    double e0 = plant_energy(&s), worst = 0.0;
    for (int k = 0; k < 2000; k++) { /* 10 s at 200 Hz */
        plant_step(&s, 0.005);
        double drift = fabs(plant_energy(&s) - e0);
        if (drift > worst) worst = drift;
    }
    /* Energy scale: m g l/2 = 5 J. Symplectic Euler keeps the error bounded and small. */
    CHECK(worst < 0.01, "pendulum energy drift %g J", worst);
}

static void test_cartpole_energy_conserved_without_friction(void) {
    plant_params p = ideal(PLANT_CARTPOLE);
    p.track_limit = 1e3;
    plant_state s;
    CHECK(plant_init(&s, &p, 1) == PLANT_OK, "init");
    double q0[2] = {0.0, 1.0}, v0[2] = {0.3, 0.0};
    plant_reset(&s, q0, v0);
    double e0 = plant_energy(&s), worst = 0.0;
    for (int k = 0; k < 2000; k++) {
        plant_step(&s, 0.005);
        double drift = fabs(plant_energy(&s) - e0);
        if (drift > worst) worst = drift;
    }
    CHECK(worst < 0.002, "cart-pole energy drift %g J (scale 0.5 J)", worst);
}

static void test_friction_stops_the_pendulum(void) {
    plant_params p = ideal(PLANT_PENDULUM);
    p.coulomb[0] = 0.1;
    p.damping[0] = 0.05;
    plant_state s;
    plant_init(&s, &p, 1);
    double q0[1] = {pi - 0.5}, v0[1] = {0.0};
    plant_reset(&s, q0, v0);
    for (int k = 0; k < 4000; k++) plant_step(&s, 0.005); /* 20 s */
    double v = plant_true_velocity(&s, 0);
    CHECK(v == 0.0, "velocity %g should stick at exactly zero", v);
    /* Coulomb friction holds it anywhere within the band |m g l/2 sin(th)| <= c. */
    double offset = fabs(sin(plant_true_position(&s, 0)));
    CHECK(offset * 5.0 <= 0.1 + 1e-9, "rests outside the stiction band: sin offset %g", offset);
    double e = plant_energy(&s);
    for (int k = 0; k < 200; k++) plant_step(&s, 0.005);
    CHECK(plant_energy(&s) == e, "energy changed at rest");
}

static void test_friction_stops_the_cart(void) {
    plant_params p = ideal(PLANT_CARTPOLE);
    p.coulomb[0] = 0.3;
    p.damping[1] = 0.01;
    plant_state s;
    plant_init(&s, &p, 1);
    double q0[2] = {0.0, pi}, v0[2] = {1.0, 0.0};
    plant_reset(&s, q0, v0);
    for (int k = 0; k < 4000; k++) plant_step(&s, 0.005);
    CHECK(plant_true_velocity(&s, 0) == 0.0, "cart velocity %g", plant_true_velocity(&s, 0));
}

static void test_torque_saturation_and_back_emf(void) {
    plant_params p;
    plant_default_params(PLANT_PENDULUM, &p);
    p.latency_ticks = 0;
    plant_state s;
    plant_init(&s, &p, 1);
    plant_set_command(&s, 0, 50.0);
    plant_step(&s, 0.0005);
    CHECK(fabs(plant_applied_effort(&s, 0) - p.max_effort) < 1e-12, "clamped effort %g",
          plant_applied_effort(&s, 0));
    plant_set_command(&s, 0, -50.0);
    plant_step(&s, 0.0005);
    CHECK(fabs(plant_applied_effort(&s, 0) + p.max_effort) < 1e-12, "clamped effort %g",
          plant_applied_effort(&s, 0));
    /* At 16 rad/s, 0.5 V*s/rad back-EMF leaves (12 - 8) V / 2 ohm = 2 A -> 1 N*m. */
    double q0[1] = {0.0}, v0[1] = {16.0};
    p.max_substep = 1e-6;
    plant_init(&s, &p, 1);
    plant_reset(&s, q0, v0);
    plant_set_command(&s, 0, 2.0);
    plant_step(&s, 1e-6);
    CHECK(fabs(plant_applied_effort(&s, 0) - 1.0) < 1e-9, "back-EMF limited effort %g",
          plant_applied_effort(&s, 0));
    /* Braking against the motion gets the full demanded current. */
    plant_set_command(&s, 0, -2.0);
    plant_step(&s, 1e-6);
    CHECK(fabs(plant_applied_effort(&s, 0) + 2.0) < 1e-9, "braking effort %g",
          plant_applied_effort(&s, 0));
}

static void test_encoder_quantisation(void) {
    plant_params p = ideal(PLANT_PENDULUM);
    p.encoder_counts_per_unit[0] = 4096.0;
    plant_state s;
    plant_init(&s, &p, 1);
    double step = 2.0 * pi / 4096.0;
    double q[1] = {10.4 * step};
    plant_reset(&s, q, NULL);
    CHECK(plant_encoder_counts(&s, 0) == 10, "counts %d", plant_encoder_counts(&s, 0));
    q[0] = -10.6 * step;
    plant_reset(&s, q, NULL);
    CHECK(plant_encoder_counts(&s, 0) == -11, "counts %d", plant_encoder_counts(&s, 0));
    q[0] = 3.0 * 2.0 * pi; /* continuous, multi-turn */
    plant_reset(&s, q, NULL);
    CHECK(plant_encoder_counts(&s, 0) == 3 * 4096, "counts %d", plant_encoder_counts(&s, 0));
    /* Cart encoder counts per metre. */
    plant_params c = ideal(PLANT_CARTPOLE);
    plant_init(&s, &c, 1);
    double qc[2] = {0.123456, 0.0};
    plant_reset(&s, qc, NULL);
    CHECK(plant_encoder_counts(&s, 0) == 2469, "cart counts %d", plant_encoder_counts(&s, 0));
    CHECK(plant_joint_is_prismatic(&s, 0) && !plant_joint_is_prismatic(&s, 1), "joint kinds");
}

static void test_noise_is_seeded_and_bounded(void) {
    plant_params p;
    plant_default_params(PLANT_PENDULUM, &p);
    p.position_noise = 0.01;
    plant_state a, b, c;
    plant_init(&a, &p, 7);
    plant_init(&b, &p, 7);
    plant_init(&c, &p, 8);
    int same = 1, differs = 0;
    double sum = 0.0, sum_sq = 0.0;
    int n = 2000;
    for (int k = 0; k < n; k++) {
        plant_step(&a, 0.005);
        plant_step(&b, 0.005);
        plant_step(&c, 0.005);
        same &= plant_encoder_counts(&a, 0) == plant_encoder_counts(&b, 0);
        differs |= plant_encoder_counts(&a, 0) != plant_encoder_counts(&c, 0);
        double err = plant_encoder_counts(&a, 0) * 2.0 * pi / 4096.0 - plant_true_position(&a, 0);
        sum += err;
        sum_sq += err * err;
    }
    double std = sqrt(sum_sq / n - (sum / n) * (sum / n));
    CHECK(same, "same seed, different readings");
    CHECK(differs, "different seeds, same readings");
    CHECK(std > 0.008 && std < 0.012, "position noise std %g, want 0.01", std);
}

static void test_latency_delays_the_command(void) {
    plant_params p = ideal(PLANT_PENDULUM);
    p.latency_ticks = 2;
    plant_state s;
    plant_init(&s, &p, 1);
    plant_set_command(&s, 0, 1.0);
    plant_step(&s, 0.005);
    CHECK(plant_applied_effort(&s, 0) == 0.0, "tick 0 effort %g", plant_applied_effort(&s, 0));
    plant_step(&s, 0.005);
    CHECK(plant_applied_effort(&s, 0) == 0.0, "tick 1 effort %g", plant_applied_effort(&s, 0));
    plant_step(&s, 0.005);
    CHECK(plant_applied_effort(&s, 0) == 1.0, "tick 2 effort %g", plant_applied_effort(&s, 0));
}

static void test_params_by_name(void) {
    plant_params p;
    plant_default_params(PLANT_PENDULUM, &p);
    CHECK(plant_set_param(&p, "coulomb", 0.25) == PLANT_OK, "set coulomb");
    CHECK(p.coulomb[0] == 0.25, "coulomb %g", p.coulomb[0]);
    CHECK(plant_set_param(&p, "latency_ticks", 3) == PLANT_OK && p.latency_ticks == 3, "latency");
    CHECK(plant_set_param(&p, "latency_ticks", 2.5) == PLANT_ERR_RANGE, "fractional ticks");
    CHECK(plant_set_param(&p, "latency_ticks", 99) == PLANT_ERR_RANGE, "too many ticks");
    CHECK(plant_set_param(&p, "mass", -1) == PLANT_ERR_RANGE, "negative mass");
    CHECK(plant_set_param(&p, "mass", NAN) == PLANT_ERR_RANGE, "NaN mass");
    CHECK(plant_set_param(&p, "nope", 1) == PLANT_ERR_UNKNOWN_PARAM, "unknown");
    double v = 0;
    CHECK(plant_get_param(&p, "coulomb", &v) == PLANT_OK && v == 0.25, "get %g", v);
    int count = 0;
    while (plant_param_name(count) != NULL) {
        CHECK(plant_param_doc(count) != NULL, "doc of %s", plant_param_name(count));
        count++;
    }
    CHECK(count >= 20, "param count %d", count);
    plant_state s;
    p.kind = (plant_kind)7;
    CHECK(plant_init(&s, &p, 1) == PLANT_ERR_KIND, "bad kind");
    plant_default_params(PLANT_CARTPOLE, &p);
    CHECK(plant_init(&s, &p, 1) == PLANT_OK && plant_joint_count(&s) == 2, "cart-pole joints");
    CHECK(fabs(plant_true_position(&s, 1) - pi) < 1e-15, "starts hanging");
}

int main(void) {
    test_pendulum_energy_conserved_without_friction();
    test_cartpole_energy_conserved_without_friction();
    test_friction_stops_the_pendulum();
    test_friction_stops_the_cart();
    test_torque_saturation_and_back_emf();
    test_encoder_quantisation();
    test_noise_is_seeded_and_bounded();
    test_latency_delays_the_command();
    test_params_by_name();
    printf("plant tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
