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

/* ---- The chain --------------------------------------------------------------------- */

/* A chain with every effect off: no friction, no motor limits (24 kV), no latency, no noise,
 * no backlash, no ripple, no rotor inertia. Joints keep their defaults otherwise. */
static plant_params ideal_chain(int joints) {
    plant_params p;
    plant_default_params(PLANT_CHAIN, &p);
    p.chain_joints = joints;
    p.latency_ticks = 0;
    p.position_noise = 0.0;
    p.current_noise = 0.0;
    for (int i = 0; i < PLANT_MAX_JOINTS; i++) {
        p.chain[i].viscous = 0.0;
        p.chain[i].coulomb = 0.0;
        p.chain[i].rotor_inertia = 0.0;
        p.chain[i].supply_voltage = 1e4;
        p.chain[i].actuated = 0;
        p.chain[i].offset = 0.0;
        p.chain[i].inertia = 1.0 / 12.0;
    }
    return p;
}

/* Runs `seconds` with no command and returns the worst |E - E0|. */
static double chain_energy_drift(plant_params *p, const double *q0, const double *v0, double seconds) {
    plant_state s;
    int rc = plant_init(&s, p, 1);
    CHECK(rc == PLANT_OK, "init %d", rc);
    plant_reset(&s, q0, v0);
    double e0 = plant_energy(&s), worst = 0.0;
    int ticks = (int)(seconds / 0.001 + 0.5);
    for (int k = 0; k < ticks; k++) {
        plant_step(&s, 0.001);
        double drift = fabs(plant_energy(&s) - e0);
        if (drift > worst) worst = drift;
    }
    return worst;
}

static void test_chain_energy_conserved(void) {
    /* Double pendulum, hanging at q = 0, released from (1.2, -0.7) with speed: chaotic. */
    plant_params p = ideal_chain(2);
    p.chain[0].offset = -pi / 2.0;
    double q2[2] = {1.2, -0.7}, v2[2] = {0.5, -1.0};
    double drift = chain_energy_drift(&p, q2, v2, 10.0);
    /* Energy scale ~ m g l = 10 J; RK4 at 0.5 ms: local error ~h^5. */
    CHECK(drift < 1e-6, "double pendulum energy drift %g J in 10 s", drift);
    printf("chain: double pendulum energy drift %.2e J over 10 s\n", drift);

    /* Cart-pole as a chain: a slider carrying a point cart, then a pole upright at q = 0. */
    plant_params c = ideal_chain(2);
    c.chain[0].type = 1;
    c.chain[0].length = 0.0;
    c.chain[0].com = 0.0;
    c.chain[0].mass = 1.0;
    c.chain[0].inertia = 0.0;
    c.chain[1].offset = pi / 2.0;
    c.chain[1].mass = 0.1;
    c.chain[1].inertia = 0.1 / 12.0;
    double qc[2] = {0.0, 1.0}, vc[2] = {0.3, 0.0};
    drift = chain_energy_drift(&c, qc, vc, 10.0);
    CHECK(drift < 1e-7, "cart-pole chain energy drift %g J in 10 s (scale 0.5 J)", drift);
    printf("chain: cart-pole energy drift %.2e J over 10 s\n", drift);

    /* The widths: one joint, and eight alternating revolute/prismatic with a rigid rotor. */
    plant_params one = ideal_chain(1);
    double q1[1] = {2.5}, v1[1] = {0.0};
    drift = chain_energy_drift(&one, q1, v1, 5.0);
    CHECK(drift < 1e-7, "one-joint energy drift %g J", drift);
    plant_params eight = ideal_chain(8);
    double q8[8], v8[8];
    for (int i = 0; i < 8; i++) {
        eight.chain[i].type = i % 3 == 1;
        eight.chain[i].length = 0.3 + 0.05 * i;
        eight.chain[i].com = 0.1 + 0.02 * i;
        eight.chain[i].mass = 0.5 + 0.1 * i;
        eight.chain[i].offset = 0.2 * i - 0.5;
        q8[i] = eight.chain[i].type ? 0.1 : 0.3 * (i + 1) - 1.0;
        v8[i] = 0.2 * (i % 2 ? 1 : -1);
    }
    eight.chain[3].actuated = 1;
    eight.chain[3].rotor_inertia = 0.05;
    drift = chain_energy_drift(&eight, q8, v8, 2.0);
    double scale = 0.0;
    {
        plant_state s;
        plant_init(&s, &eight, 1);
        plant_reset(&s, q8, v8);
        scale = fabs(plant_energy(&s)) + 1.0;
    }
    CHECK(drift < 1e-6 * scale, "eight-joint energy drift %g J (scale %g J)", drift, scale);
    printf("chain: eight-joint energy drift %.2e J over 2 s (scale %.1f J)\n", drift, scale);
}

/* A command sequence that saturates the motor at times and reverses. */
static double test_command(int k, double peak) { return 1.6 * peak * sin(0.004 * k * 2.0 * pi); }

static void test_chain_matches_pendulum(void) {
    plant_params pend;
    plant_default_params(PLANT_PENDULUM, &pend);
    pend.latency_ticks = 2;
    pend.position_noise = pend.current_noise = 0.0;
    pend.max_substep = 1e-6; /* semi-implicit Euler converged */
    plant_params ch;
    plant_default_params(PLANT_CHAIN, &ch);
    ch.chain_joints = 1;
    ch.latency_ticks = 2;
    ch.position_noise = ch.current_noise = 0.0;
    plant_chain_joint *j = &ch.chain[0];
    j->type = 0;
    j->offset = pi / 2.0; /* upright at 0, as the pendulum */
    j->length = pend.length;
    j->com = pend.length / 2.0;
    j->mass = pend.mass;
    j->inertia = pend.mass * pend.length * pend.length / 12.0;
    j->rotor_inertia = pend.rotor_inertia;
    j->viscous = pend.damping[0];
    j->coulomb = pend.coulomb[0];
    j->actuated = 1;
    j->max_effort = pend.max_effort;
    j->torque_constant = pend.torque_constant;
    j->resistance = pend.resistance;
    j->supply_voltage = pend.supply_voltage;
    ch.gravity = pend.gravity;
    plant_state a, b;
    CHECK(plant_init(&a, &pend, 1) == PLANT_OK && plant_init(&b, &ch, 1) == PLANT_OK, "init");
    double q0[1] = {pi - 0.4}, v0[1] = {0.0};
    plant_reset(&a, q0, v0);
    plant_reset(&b, q0, v0);
    double worst = 0.0, worst_effort = 0.0, fastest = 0.0;
    for (int k = 0; k < 5000; k++) { /* 5 s at 1 kHz: pumped over the top, into back-EMF */
        /* 20 % over the limit (clamped), along the first plant's swing: both get the same. */
        double u = (plant_true_velocity(&a, 0) >= 0.0 ? 1.2 : -1.2) * pend.max_effort;
        plant_set_command(&a, 0, u);
        plant_set_command(&b, 0, u);
        plant_step(&a, 0.001);
        plant_step(&b, 0.001);
        double d = fabs(plant_true_position(&a, 0) - plant_true_position(&b, 0));
        if (d > worst) worst = d;
        double de = fabs(plant_applied_effort(&a, 0) - plant_applied_effort(&b, 0));
        if (de > worst_effort) worst_effort = de;
        if (fabs(plant_true_velocity(&a, 0)) > fastest) fastest = fabs(plant_true_velocity(&a, 0));
    }
    printf("chain vs pendulum plant: 5 s, top speed %.1f rad/s, worst angle gap %.2e rad, effort gap %.2e N*m\n",
           fastest, worst, worst_effort);
    CHECK(fastest > 8.0, "the test should reach back-EMF speeds, got %g rad/s", fastest);
    /* Measured 2e-5 rad: the chain's Coulomb step is first order in its 0.5 ms substep (the
     * pendulum runs at 1 us, converged); 10x margin. */
    CHECK(worst < 2e-4, "chain vs pendulum angle gap %g rad", worst);
    CHECK(worst_effort < 0.01, "chain vs pendulum effort gap %g N*m", worst_effort);
}

static void test_chain_matches_cartpole(void) {
    plant_params cp;
    plant_default_params(PLANT_CARTPOLE, &cp);
    cp.latency_ticks = 0;
    cp.position_noise = cp.current_noise = 0.0;
    cp.coulomb[0] = cp.coulomb[1] = 0.0; /* the cart-pole plant's Coulomb uses total mass, not M^-1 */
    cp.track_limit = 1e3;
    cp.max_substep = 1e-6;
    plant_params ch = ideal_chain(2);
    ch.gravity = cp.gravity;
    plant_chain_joint *cart = &ch.chain[0], *pole = &ch.chain[1];
    cart->type = 1;
    cart->length = cart->com = cart->inertia = 0.0;
    cart->mass = cp.cart_mass;
    cart->viscous = cp.damping[0];
    cart->actuated = 1;
    cart->max_effort = cp.max_effort;
    cart->torque_constant = cp.torque_constant;
    cart->resistance = cp.resistance;
    cart->supply_voltage = cp.supply_voltage;
    cart->counts_per_rev = 20000.0;
    pole->offset = pi / 2.0;
    pole->length = cp.length;
    pole->com = cp.length / 2.0;
    pole->mass = cp.mass;
    pole->inertia = cp.mass * cp.length * cp.length / 12.0;
    pole->viscous = cp.damping[1];
    plant_state a, b;
    CHECK(plant_init(&a, &cp, 1) == PLANT_OK && plant_init(&b, &ch, 1) == PLANT_OK, "init");
    /* Gymnasium's pole angle leans toward +x; the chain's turns counter-clockwise: q1 = -theta. */
    double qa[2] = {0.0, 0.3}, va[2] = {0.0, 0.0}, qb[2] = {0.0, -0.3}, vb[2] = {0.0, 0.0};
    plant_reset(&a, qa, va);
    plant_reset(&b, qb, vb);
    double worst_x = 0.0, worst_th = 0.0;
    for (int k = 0; k < 2000; k++) {
        double u = test_command(k, cp.max_effort);
        plant_set_command(&a, 0, u);
        plant_set_command(&b, 0, u);
        plant_step(&a, 0.001);
        plant_step(&b, 0.001);
        double dx = fabs(plant_true_position(&a, 0) - plant_true_position(&b, 0));
        double dt = fabs(plant_true_position(&a, 1) + plant_true_position(&b, 1));
        if (dx > worst_x) worst_x = dx;
        if (dt > worst_th) worst_th = dt;
    }
    printf("chain vs cart-pole plant: 2 s, worst cart gap %.2e m, pole gap %.2e rad\n", worst_x, worst_th);
    /* Measured ~4e-6: the cart-pole plant's semi-implicit Euler at 1 us against RK4 at 0.5 ms. */
    CHECK(worst_x < 5e-5 && worst_th < 5e-5, "cart gap %g m, pole gap %g rad", worst_x, worst_th);
    CHECK(plant_joint_is_prismatic(&b, 0) && !plant_joint_is_prismatic(&b, 1), "joint kinds");
}

/* One actuated joint in a horizontal plane (no gravity): a 1 kg*m^2 disc behind a motor. */
static plant_params disc(double backlash) {
    plant_params p = ideal_chain(1);
    p.gravity = 0.0;
    p.chain[0].mass = 0.0;
    p.chain[0].inertia = 0.1;
    p.chain[0].actuated = 1;
    p.chain[0].rotor_inertia = 0.002;
    p.chain[0].backlash = backlash;
    return p;
}

static void test_chain_backlash(void) {
    plant_state s, r;
    plant_params with = disc(0.1), rigid = disc(0.0);
    CHECK(plant_init(&s, &with, 1) == PLANT_OK && plant_init(&r, &rigid, 1) == PLANT_OK, "init");
    /* 0.1 N*m on the 0.002 kg*m^2 rotor crosses the 0.05 rad half-play in ~45 ms. */
    int first_move = -1, rigid_moved = 0;
    double widest = 0.0;
    for (int k = 0; k < 400; k++) {
        double u = k < 200 ? 0.1 : -0.1;
        plant_set_command(&s, 0, u);
        plant_set_command(&r, 0, u);
        plant_step(&s, 0.001);
        plant_step(&r, 0.001);
        if (first_move < 0 && plant_true_velocity(&s, 0) != 0.0) first_move = k;
        if (k == 5) rigid_moved = plant_true_velocity(&r, 0) > 0.0;
        double gap = fabs(plant_rotor_position(&s, 0) - plant_true_position(&s, 0));
        if (gap > widest) widest = gap;
        CHECK(plant_rotor_position(&r, 0) == plant_true_position(&r, 0), "rigid rotor left its link at tick %d", k);
    }
    printf("chain backlash 0.1 rad: link first moves at tick %d, widest rotor-link gap %.4f rad\n", first_move,
           widest);
    CHECK(first_move >= 35 && first_move <= 60, "link moved at tick %d, expected ~45 (the play)", first_move);
    CHECK(rigid_moved, "without backlash the link moves at once");
    CHECK(widest > 0.05 && widest < 0.06, "gap %g: the half play 0.05 plus a little spring", widest);
    /* The reversal crosses the whole play: the rotor ends on the other side of the link. */
    double gap_end = plant_rotor_position(&s, 0) - plant_true_position(&s, 0);
    CHECK(gap_end < -0.049, "after the reversal the rotor should lead by -0.05 rad, is at %g", gap_end);
    CHECK(plant_true_position(&s, 0) != plant_true_position(&r, 0), "backlash did not change the motion");

    /* Where the encoder sits: on the link it reads the link, on the rotor it reads the rotor
     * (a servo's motor encoder does not see its own gearbox play). */
    plant_params on_rotor = disc(0.1);
    on_rotor.chain[0].encoder_on_rotor = 1;
    plant_state e;
    plant_init(&e, &on_rotor, 1);
    plant_init(&s, &with, 1);
    for (int k = 0; k < 30; k++) { /* inside the play: the rotor turns, the link not yet */
        plant_set_command(&e, 0, 0.1);
        plant_set_command(&s, 0, 0.1);
        plant_step(&e, 0.001);
        plant_step(&s, 0.001);
    }
    int32_t rotor_counts = (int32_t)nearbyint(plant_rotor_position(&e, 0) * 4096.0 / (2.0 * pi));
    CHECK(plant_encoder_counts(&e, 0) == rotor_counts && rotor_counts > 10, "rotor encoder %d, rotor at %d counts",
          plant_encoder_counts(&e, 0), rotor_counts);
    CHECK(plant_encoder_counts(&s, 0) == 0, "link encoder %d while the link rests", plant_encoder_counts(&s, 0));

    /* Undamped contact, no friction: the energy (with the spring's) is conserved. */
    plant_params bouncy = disc(0.05);
    bouncy.chain[0].backlash_damping = 0.0;
    plant_init(&s, &bouncy, 1);
    double q0[1] = {0.0}, v0[1] = {1.0};
    plant_reset(&s, q0, v0);
    s.rotor_velocity[0] = -1.0; /* the rotor runs the other way: they collide again and again */
    double e0 = plant_energy(&s), worst = 0.0;
    for (int k = 0; k < 2000; k++) {
        plant_step(&s, 0.001);
        double d = fabs(plant_energy(&s) - e0);
        if (d > worst) worst = d;
    }
    /* RK4 across the contact's kinks is only second order there: a few 1e-3 of E. */
    CHECK(worst < 1e-2 * e0, "backlash energy drift %g of %g J", worst, e0);
    printf("chain backlash, undamped contact: energy drift %.2e of %.3f J over 2 s\n", worst, e0);
    /* The default contact damping dissipates the relative motion's energy; momentum (and the
     * energy of the common motion, p^2 / 2 J) stays. */
    double momentum = 0.1 * 1.0 + 0.002 * -1.0, common = momentum * momentum / (2.0 * 0.102);
    plant_params damped = disc(0.05);
    plant_init(&s, &damped, 1);
    plant_reset(&s, q0, v0);
    s.rotor_velocity[0] = -1.0;
    for (int k = 0; k < 2000; k++) plant_step(&s, 0.001);
    double relative = e0 - common, left = plant_energy(&s) - common;
    CHECK(left < 0.5 * relative && left > -1e-6, "damped contact kept %g of the %g J relative energy", left,
          relative);
}

static void test_chain_friction_ripple(void) {
    /* A free-spinning passive disc, Coulomb 0, ripple 0.05 N*m every 0.5 rad: friction acts
     * only where sin(2 pi q / 0.5) > 0, so the speed drops in those bands and nowhere else. */
    plant_params p = disc(0.0);
    p.chain[0].actuated = 0;
    p.chain[0].friction_ripple = 0.05;
    p.chain[0].ripple_period = 0.5;
    plant_state s;
    CHECK(plant_init(&s, &p, 1) == PLANT_OK, "init");
    double q0[1] = {0.0}, v0[1] = {3.0};
    plant_reset(&s, q0, v0);
    int free_steps = 0, free_changed = 0, rough_steps = 0, rough_slowed = 0;
    for (int k = 0; k < 1000; k++) {
        double qa = plant_true_position(&s, 0), va = plant_true_velocity(&s, 0);
        plant_step(&s, 0.0005);
        double qb = plant_true_position(&s, 0), vb = plant_true_velocity(&s, 0);
        double sa = sin(2.0 * pi * qa / 0.5), sb = sin(2.0 * pi * qb / 0.5);
        if (sa < -0.1 && sb < -0.1) {
            free_steps++;
            free_changed += vb != va;
        } else if (sa > 0.1 && sb > 0.1) {
            rough_steps++;
            rough_slowed += vb < va;
        }
    }
    CHECK(free_steps > 100 && free_changed == 0, "%d of %d steps in the smooth bands changed speed", free_changed,
          free_steps);
    CHECK(rough_steps > 100 && rough_slowed == rough_steps, "%d of %d steps in the rough bands slowed", rough_slowed,
          rough_steps);
    double mean_loss = (3.0 - plant_true_velocity(&s, 0));
    CHECK(mean_loss > 0.0, "no speed lost");

    /* Ripple 0: the same as plain Coulomb, bit for bit, wherever the ripple period is. */
    plant_params a = disc(0.0), b = disc(0.0);
    a.chain[0].coulomb = b.chain[0].coulomb = 0.02;
    b.chain[0].ripple_period = 0.123;
    plant_state sa, sb;
    plant_init(&sa, &a, 1);
    plant_init(&sb, &b, 1);
    plant_reset(&sa, q0, v0);
    plant_reset(&sb, q0, v0);
    int same = 1;
    for (int k = 0; k < 500; k++) {
        plant_set_command(&sa, 0, 0.01 * (k % 7));
        plant_set_command(&sb, 0, 0.01 * (k % 7));
        plant_step(&sa, 0.001);
        plant_step(&sb, 0.001);
        same &= plant_true_position(&sa, 0) == plant_true_position(&sb, 0);
    }
    CHECK(same, "ripple 0 changed the motion");
    /* Coulomb alone stops the disc and holds it. */
    plant_init(&sa, &a, 1);
    plant_reset(&sa, q0, v0);
    for (int k = 0; k < 20000; k++) plant_step(&sa, 0.001);
    CHECK(plant_true_velocity(&sa, 0) == 0.0, "Coulomb left it at %g rad/s", plant_true_velocity(&sa, 0));
}

static void test_chain_motor_latency_sensors(void) {
    plant_params p;
    plant_default_params(PLANT_CHAIN, &p); /* the acrobot: elbow actuated, 1 N*m */
    p.latency_ticks = 3;
    plant_state s;
    CHECK(plant_init(&s, &p, 5) == PLANT_OK, "init");
    CHECK(plant_joint_count(&s) == 2, "joints %d", plant_joint_count(&s));
    CHECK(!plant_joint_is_actuated(&s, 0) && plant_joint_is_actuated(&s, 1), "acrobot: elbow only");
    CHECK(plant_max_effort(&s, 0) == 0.0 && plant_max_effort(&s, 1) == 1.0, "max efforts");
    CHECK(plant_encoder_resolution(&s, 0) == 4096.0, "cpr");
    plant_set_command(&s, 0, 5.0); /* passive: ignored */
    plant_set_command(&s, 1, 50.0);
    for (int k = 0; k < 3; k++) {
        plant_step(&s, 0.001);
        CHECK(plant_applied_effort(&s, 1) == 0.0, "tick %d effort %g before the latency", k,
              plant_applied_effort(&s, 1));
    }
    plant_step(&s, 0.001);
    CHECK(fabs(plant_applied_effort(&s, 1) - 1.0) < 1e-9, "clamped effort %g", plant_applied_effort(&s, 1));
    CHECK(plant_applied_effort(&s, 0) == 0.0, "passive joint got effort");
    CHECK(plant_motor_current(&s, 0) == 0.0, "passive joint has current");
    CHECK(fabs(plant_motor_current(&s, 1) - 2.0) < 0.1, "current %g A, expected 1 N*m / 0.5 = 2 A",
          plant_motor_current(&s, 1));
    /* Back-EMF: at 44 rad/s, (24 V - 0.5 * 44) / 2 ohm = 1 A -> 0.5 N*m. */
    p.latency_ticks = 0;
    p.gravity = 0.0;
    p.chain[1].max_effort = 2.0;
    plant_init(&s, &p, 5);
    double q[2] = {0.0, 0.0}, v[2] = {0.0, 44.0};
    plant_reset(&s, q, v);
    plant_set_command(&s, 1, 2.0);
    plant_step(&s, 1e-7);
    CHECK(fabs(plant_applied_effort(&s, 1) - 0.5) < 1e-3, "back-EMF limited effort %g", plant_applied_effort(&s, 1));
    /* Encoders: revolute per revolution, prismatic per metre; noise seeded. */
    plant_params c = ideal_chain(2);
    c.chain[0].type = 1;
    c.chain[0].counts_per_rev = 20000.0;
    plant_init(&s, &c, 1);
    double qc[2] = {0.123456, 2.0 * pi};
    plant_reset(&s, qc, NULL);
    CHECK(plant_encoder_counts(&s, 0) == 2469, "prismatic counts %d", plant_encoder_counts(&s, 0));
    CHECK(plant_encoder_counts(&s, 1) == 4096, "revolute counts %d", plant_encoder_counts(&s, 1));
}

static void test_chain_end_stops(void) {
    /* A cart-pole as a chain on a 0.5 m half-track: pushed into the stop, the cart stays there. */
    plant_params c = ideal_chain(2);
    c.chain[0].type = 1;
    c.chain[0].length = c.chain[0].com = c.chain[0].inertia = 0.0;
    c.chain[0].actuated = 1;
    c.chain[0].max_effort = 10.0;
    c.chain[0].stop = 0.5;
    c.chain[1].offset = -pi / 2.0; /* the pole hangs */
    c.chain[1].mass = 0.1;
    plant_state s;
    CHECK(plant_init(&s, &c, 1) == PLANT_OK, "init");
    double furthest = 0.0;
    for (int k = 0; k < 3000; k++) {
        plant_set_command(&s, 0, 5.0);
        plant_step(&s, 0.001);
        if (plant_true_position(&s, 0) > furthest) furthest = plant_true_position(&s, 0);
    }
    CHECK(furthest == 0.5, "cart went to %g m past its 0.5 m stop", furthest);
    CHECK(plant_true_position(&s, 0) == 0.5 && plant_true_velocity(&s, 0) == 0.0, "cart at %g m, %g m/s",
          plant_true_position(&s, 0), plant_true_velocity(&s, 0));
    CHECK(plant_true_velocity(&s, 1) != 0.0 || plant_true_position(&s, 1) != 0.0, "the pole swung on the impact");
    /* Pulled back it leaves the stop. */
    for (int k = 0; k < 100; k++) {
        plant_set_command(&s, 0, -5.0);
        plant_step(&s, 0.001);
    }
    CHECK(plant_true_position(&s, 0) < 0.5, "cart stuck in the stop at %g", plant_true_position(&s, 0));
    c.chain[0].start = 0.6;
    CHECK(plant_init(&s, &c, 1) == PLANT_ERR_RANGE, "start beyond the stop");
}

static void test_chain_params(void) {
    plant_params p;
    plant_default_params(PLANT_CHAIN, &p);
    CHECK(plant_set_param(&p, "joints", 3) == PLANT_OK && p.chain_joints == 3, "joints");
    CHECK(plant_set_param(&p, "joints", 9) == PLANT_ERR_RANGE, "9 joints");
    CHECK(plant_set_param(&p, "joints", 0) == PLANT_ERR_RANGE, "0 joints");
    CHECK(plant_set_param(&p, "j2.mass", 0.25) == PLANT_OK && p.chain[2].mass == 0.25, "j2.mass");
    CHECK(plant_set_param(&p, "j7.type", 1) == PLANT_OK && p.chain[7].type == 1, "j7.type");
    CHECK(plant_set_param(&p, "j1.type", 2) == PLANT_ERR_RANGE, "type 2");
    CHECK(plant_set_param(&p, "j1.backlash", 0.01) == PLANT_OK, "backlash");
    CHECK(plant_set_param(&p, "j0.friction_ripple", 0.1) == PLANT_OK, "ripple");
    CHECK(plant_set_param(&p, "j8.mass", 1) == PLANT_ERR_UNKNOWN_PARAM, "j8");
    CHECK(plant_set_param(&p, "cart_mass", 1) == PLANT_ERR_KIND, "cart_mass on a chain");
    CHECK(plant_set_param(&p, "gravity", 3.7) == PLANT_OK, "gravity on a chain");
    double v = 0;
    CHECK(plant_get_param(&p, "j2.mass", &v) == PLANT_OK && v == 0.25, "get j2.mass %g", v);
    plant_state s;
    CHECK(plant_init(&s, &p, 1) == PLANT_OK && plant_joint_count(&s) == 3, "3-joint init");
    CHECK(s.chain_substep < p.max_substep, "backlash spring shortens the substep: %g", s.chain_substep);
    plant_params pend;
    plant_default_params(PLANT_PENDULUM, &pend);
    CHECK(plant_set_param(&pend, "j0.mass", 1) == PLANT_ERR_KIND, "j0.mass on the pendulum");
    /* Not physical: backlash on a passive joint; a joint that moves nothing. */
    plant_params bad;
    plant_default_params(PLANT_CHAIN, &bad);
    bad.chain[0].backlash = 0.01;
    CHECK(plant_init(&s, &bad, 1) == PLANT_ERR_RANGE, "backlash on a passive joint");
    plant_default_params(PLANT_CHAIN, &bad);
    bad.chain[1].mass = bad.chain[1].inertia = 0.0;
    bad.chain[1].rotor_inertia = 0.0;
    CHECK(plant_init(&s, &bad, 1) == PLANT_ERR_RANGE, "a joint that moves no mass");
    plant_default_params(PLANT_CHAIN, &bad);
    bad.chain[1].mass = bad.chain[1].inertia = 0.0; /* its rigid rotor still gives it inertia */
    CHECK(plant_init(&s, &bad, 1) == PLANT_OK, "a rotor-only joint");
    /* Every name listed has a doc, every chain name is settable on a chain. */
    int chain_names = 0;
    for (int i = 0; plant_param_name(i) != NULL; i++) {
        const char *name = plant_param_name(i);
        if (name[0] == 'j' && name[1] >= '0' && name[1] <= '7' && name[2] == '.') {
            chain_names++;
            double old = 0;
            plant_params q;
            plant_default_params(PLANT_CHAIN, &q);
            CHECK(plant_get_param(&q, name, &old) == PLANT_OK && plant_set_param(&q, name, old) == PLANT_OK,
                  "%s round trip", name);
        }
    }
    CHECK(chain_names == 8 * 24, "chain names %d", chain_names);
    /* Starts at j<i>.start. */
    plant_default_params(PLANT_CHAIN, &p);
    p.chain[0].start = 0.3;
    plant_init(&s, &p, 1);
    CHECK(plant_true_position(&s, 0) == 0.3 && plant_true_position(&s, 1) == 0.0, "start positions");
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
    test_chain_energy_conserved();
    test_chain_matches_pendulum();
    test_chain_matches_cartpole();
    test_chain_backlash();
    test_chain_friction_ripple();
    test_chain_motor_latency_sensors();
    test_chain_end_stops();
    test_chain_params();
    printf("plant tests: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
