/*
 * plant.c - the emulated robot's physics. See plant.h for the contract and units.
 *
 * Pendulum: a uniform rod (mass m, length l) pivoted at one end on a motor shaft with extra
 * rotor inertia J:  (m l^2/3 + J) th'' = m g (l/2) sin th + tau_motor - b th' - c sgn th'.
 * With J = b = c = 0, gain 1 and an ideal driver this is Gymnasium's Pendulum-v1 physics.
 *
 * Cart-pole: the Barto/Gymnasium equations for a uniform pole of half-length h = l/2 on a
 * cart, with the cart force F = F_motor - b0 x' - c0 sgn x' and a pole joint torque
 * -b1 th' - c1 sgn th'. End stops at +-track_limit are inelastic.
 *
 * Motor: a current-controlled driver. The command (effort) is clamped to +-max_effort and
 * asks for i = effort / k; the driver can only reach currents with |i R + k w| <= V, so at
 * speed w back-EMF shrinks the reachable current (and the effort). Delivered effort is
 * actuator_gain * k * i.
 *
 * Chain: M(q) q'' + h(q, q') = tau - friction, with h (gravity, centrifugal, Coriolis) from
 * a recursive Newton-Euler pass at q'' = 0 and the columns of M from passes at q'' = e_k,
 * solved by Cholesky; rigid rotors add their reflected inertia to M's diagonal, a rotor behind
 * backlash is its own body coupled by a dead-band spring-damper. RK4 with the delayed command
 * held; the motor is evaluated at every stage (back-EMF). Coulomb friction (with the ripple)
 * after each substep: a joint's speed moves toward zero by c(q) (M^-1)_jj h and sticks there.
 */
#include "plant.h"

#include <math.h>
#include <string.h>

#define PLANT_PI 3.14159265358979323846

/* ---- Reference parameters ---------------------------------------------------------- */

/* Every chain slot starts as a passive uniform 1 m, 1 kg rod with a little friction, and the
 * motor it would have if made actuated: 0.5 N*m/A, 2 ohm, 24 V (full 1 N*m up to 40 rad/s). */
static void chain_default_joint(plant_chain_joint *j) {
    j->type = 0;
    j->offset = 0.0;
    j->length = 1.0;
    j->com = 0.5;
    j->mass = 1.0;
    j->inertia = 1.0 / 12.0;
    j->viscous = 0.01;
    j->coulomb = 0.01;
    j->friction_ripple = 0.0;
    j->ripple_period = PLANT_PI / 12.0;
    j->actuated = 0;
    j->max_effort = 1.0;
    j->gain = 1.0;
    j->torque_constant = 0.5;
    j->resistance = 2.0;
    j->supply_voltage = 24.0;
    j->rotor_inertia = 0.002;
    j->backlash = 0.0;
    /* With the default rotor: 1000 rad/s contact resonance, damping ratio 0.5. */
    j->backlash_stiffness = 2000.0;
    j->backlash_damping = 2.0;
    j->counts_per_rev = 4096.0;
    j->start = 0.0;
}

void plant_default_params(plant_kind kind, plant_params *params) {
    memset(params, 0, sizeof *params);
    params->chain_joints = 2;
    for (int i = 0; i < PLANT_MAX_JOINTS; i++) chain_default_joint(&params->chain[i]);
    params->kind = kind;
    params->gravity = 10.0;
    params->actuator_gain = 1.0;
    /* One 200 Hz control period when plant_step runs at the emulator's 1 kHz internal tick. */
    params->latency_ticks = 5;
    params->position_noise = 0.0005;
    params->current_noise = 0.01;
    params->max_substep = 0.0005;
    if (kind == PLANT_CARTPOLE) {
        /* Gymnasium CartPole's masses, pole and gravity; a 2.4 m track; a belt drive. */
        params->gravity = 9.8;
        params->mass = 0.1;
        params->length = 1.0;
        params->cart_mass = 1.0;
        params->damping[0] = 0.5;
        params->coulomb[0] = 0.3;
        params->damping[1] = 0.002;
        params->coulomb[1] = 0.001;
        params->torque_constant = 5.0; /* N/A through the pulley; back-EMF V/(m/s) */
        params->resistance = 2.0;
        params->supply_voltage = 24.0;
        params->max_effort = 10.0;
        params->encoder_counts_per_unit[0] = 20000.0; /* counts per metre */
        params->encoder_counts_per_unit[1] = 4096.0;  /* counts per revolution */
        params->track_limit = 1.2;
    } else if (kind == PLANT_CHAIN) {
        /* robots/acrobot.json's mechanism (Gymnasium Acrobot-v1: 1 m, 1 kg links, COM at
         * 0.5 m, inertia 1 kg*m^2, hanging at q = 0) with a real 1 N*m motor on the elbow. */
        params->gravity = 9.8;
        params->chain[0].offset = -PLANT_PI / 2.0;
        params->chain[0].inertia = 1.0;
        params->chain[1].inertia = 1.0;
        params->chain[1].actuated = 1;
    } else {
        /* Gymnasium Pendulum's rod (m = 1, l = 1, g = 10, torque limit 2) on a real motor. */
        params->mass = 1.0;
        params->length = 1.0;
        params->rotor_inertia = 0.02;
        params->damping[0] = 0.05;
        params->coulomb[0] = 0.1;
        params->torque_constant = 0.5; /* N*m/A; back-EMF V/(rad/s) */
        params->resistance = 2.0;
        params->supply_voltage = 12.0; /* full torque available up to 8 rad/s */
        params->max_effort = 2.0;
        params->encoder_counts_per_unit[0] = 4096.0;
        params->encoder_counts_per_unit[1] = 4096.0; /* unused: one joint */
        params->track_limit = 0.0;
    }
}

/* ---- Parameters by name ------------------------------------------------------------- */

enum param_type { P_DOUBLE, P_INT };

/* Which kinds of plant use a parameter. */
#define K_PEND 1u
#define K_CART 2u
#define K_CHAIN 4u
#define K_OLD (K_PEND | K_CART)
#define K_ALL (K_PEND | K_CART | K_CHAIN)

typedef struct param_entry {
    const char *name;
    size_t offset;
    enum param_type type;
    double min_value;
    double max_value;
    const char *doc;
    unsigned kinds;
    int joint; /* chain joint of a "j<i>." entry; -1 for the others */
} param_entry;

#define PD(field) offsetof(plant_params, field)
#define JD(i, field) \
    (offsetof(plant_params, chain) + (size_t)(i) * sizeof(plant_chain_joint) + offsetof(plant_chain_joint, field))
#define JE(i, field, type, lo, hi, doc) {"j" #i "." #field, JD(i, field), type, lo, hi, doc, K_CHAIN, i}
#define JOINT_ENTRIES(i)                                                                                         \
    JE(i, type, P_INT, 0.0, 1.0, "chain joint: 0 revolute, 1 prismatic"),                                      \
    JE(i, offset, P_DOUBLE, -100.0, 100.0, "axis angle offset, rad"),                                           \
    JE(i, length, P_DOUBLE, 0.0, 100.0, "link length to the next joint, m"),                                    \
    JE(i, com, P_DOUBLE, 0.0, 100.0, "centre of mass along the link, m"),                                       \
    JE(i, mass, P_DOUBLE, 0.0, 1e3, "link mass, kg"),                                                           \
    JE(i, inertia, P_DOUBLE, 0.0, 1e3, "link inertia about its centre of mass, kg*m^2"),                        \
    JE(i, viscous, P_DOUBLE, 0.0, 1e3, "viscous friction, N*m*s/rad or N*s/m"),                                 \
    JE(i, coulomb, P_DOUBLE, 0.0, 1e3, "Coulomb friction, N*m or N"),                                           \
    JE(i, friction_ripple, P_DOUBLE, 0.0, 1e3, "Coulomb ripple amplitude with position, N*m or N (0: none)"),   \
    JE(i, ripple_period, P_DOUBLE, 1e-6, 1e3, "ripple period in joint position, rad or m"),                     \
    JE(i, actuated, P_INT, 0.0, 1.0, "1: a motor drives the joint, 0: passive"),                                \
    JE(i, max_effort, P_DOUBLE, 0.0, 1e4, "command saturation, N*m or N"),                                      \
    JE(i, gain, P_DOUBLE, 0.0, 100.0, "delivered / commanded effort (times actuator_gain)"),                    \
    JE(i, torque_constant, P_DOUBLE, 1e-6, 1e3, "motor constant, N*m/A (= V*s/rad) or N/A"),                    \
    JE(i, resistance, P_DOUBLE, 1e-6, 1e3, "winding resistance, ohm"),                                          \
    JE(i, supply_voltage, P_DOUBLE, 1e-6, 1e4, "driver supply voltage, V"),                                     \
    JE(i, rotor_inertia, P_DOUBLE, 0.0, 1e3, "rotor inertia reflected to the joint, kg*m^2 or kg"),             \
    JE(i, backlash, P_DOUBLE, 0.0, 1.0, "play between rotor and link, rad or m (0: rigid)"),                    \
    JE(i, backlash_stiffness, P_DOUBLE, 1.0, 1e9, "contact stiffness past the play, N*m/rad or N/m"),           \
    JE(i, backlash_damping, P_DOUBLE, 0.0, 1e6, "contact damping, N*m*s/rad or N*s/m"),                         \
    JE(i, counts_per_rev, P_DOUBLE, 1.0, 1e9, "encoder counts per revolution (per metre if prismatic)"),        \
    JE(i, start, P_DOUBLE, -1e3, 1e3, "position at start, rad or m"),                                          \
    JE(i, stop, P_DOUBLE, 0.0, 1e3, "hard end stops at +-stop, rad or m (0: none)"),                          \
    JE(i, encoder_on_rotor, P_INT, 0.0, 1.0, "1: the encoder reads the rotor, before the backlash; 0: the link")

static const param_entry param_table[] = {
    {"gravity", PD(gravity), P_DOUBLE, 0.0, 100.0, "gravity, m/s^2", K_ALL, -1},
    {"mass", PD(mass), P_DOUBLE, 1e-6, 1e3, "rod/pole mass, kg", K_OLD, -1},
    {"length", PD(length), P_DOUBLE, 1e-6, 100.0, "rod/pole full length, m", K_OLD, -1},
    {"rotor_inertia", PD(rotor_inertia), P_DOUBLE, 0.0, 1e3, "extra pivot inertia (pendulum), kg*m^2", K_OLD, -1},
    {"cart_mass", PD(cart_mass), P_DOUBLE, 0.0, 1e3, "cart mass (cart-pole), kg", K_OLD, -1},
    {"damping", PD(damping[0]), P_DOUBLE, 0.0, 1e3, "viscous friction of joint 0, N*m*s/rad or N*s/m", K_OLD, -1},
    {"damping1", PD(damping[1]), P_DOUBLE, 0.0, 1e3, "viscous friction of joint 1 (pole), N*m*s/rad", K_OLD, -1},
    {"coulomb", PD(coulomb[0]), P_DOUBLE, 0.0, 1e3, "Coulomb friction of joint 0, N*m or N", K_OLD, -1},
    {"coulomb1", PD(coulomb[1]), P_DOUBLE, 0.0, 1e3, "Coulomb friction of joint 1 (pole), N*m", K_OLD, -1},
    {"actuator_gain", PD(actuator_gain), P_DOUBLE, 0.0, 100.0, "delivered / commanded effort (the chain: times each j<i>.gain)", K_ALL, -1},
    {"torque_constant", PD(torque_constant), P_DOUBLE, 1e-6, 1e3, "motor constant, N*m/A (= V*s/rad) or N/A", K_OLD, -1},
    {"resistance", PD(resistance), P_DOUBLE, 1e-6, 1e3, "winding resistance, ohm", K_OLD, -1},
    {"supply_voltage", PD(supply_voltage), P_DOUBLE, 1e-6, 1e4, "driver supply voltage, V", K_OLD, -1},
    {"max_effort", PD(max_effort), P_DOUBLE, 0.0, 1e4, "command saturation, N*m or N", K_OLD, -1},
    {"latency_ticks", PD(latency_ticks), P_INT, 0.0, (double)PLANT_MAX_LATENCY_TICKS,
     "actuation latency, plant_step calls", K_ALL, -1},
    {"encoder_cpr", PD(encoder_counts_per_unit[0]), P_DOUBLE, 1.0, 1e9,
     "joint 0 encoder counts per revolution (or per metre for the cart)", K_OLD, -1},
    {"encoder_cpr1", PD(encoder_counts_per_unit[1]), P_DOUBLE, 1.0, 1e9,
     "joint 1 encoder counts per revolution", K_OLD, -1},
    {"position_noise", PD(position_noise), P_DOUBLE, 0.0, 10.0, "position sensor noise std, rad or m", K_ALL, -1},
    {"current_noise", PD(current_noise), P_DOUBLE, 0.0, 100.0, "current sensor noise std, A", K_ALL, -1},
    {"track_limit", PD(track_limit), P_DOUBLE, 0.0, 1e3, "cart track half-length (cart-pole), m", K_OLD, -1},
    {"max_substep", PD(max_substep), P_DOUBLE, 1e-6, 0.1, "largest integration substep, s", K_ALL, -1},
    {"joints", PD(chain_joints), P_INT, 1.0, (double)PLANT_MAX_JOINTS, "chain: number of joints", K_CHAIN, -1},
    JOINT_ENTRIES(0), JOINT_ENTRIES(1), JOINT_ENTRIES(2), JOINT_ENTRIES(3),
    JOINT_ENTRIES(4), JOINT_ENTRIES(5), JOINT_ENTRIES(6), JOINT_ENTRIES(7),
};

#define PARAM_COUNT ((int)(sizeof param_table / sizeof param_table[0]))

static const param_entry *find_param(const char *name) {
    if (name == NULL) return NULL;
    for (int i = 0; i < PARAM_COUNT; i++) {
        if (strcmp(param_table[i].name, name) == 0) return &param_table[i];
    }
    return NULL;
}

static unsigned kind_bit(plant_kind kind) {
    switch (kind) {
    case PLANT_PENDULUM: return K_PEND;
    case PLANT_CARTPOLE: return K_CART;
    case PLANT_CHAIN: return K_CHAIN;
    }
    return 0;
}

static int value_in_range(const param_entry *entry, double value) {
    if (!isfinite(value)) return 0;
    if (value < entry->min_value || value > entry->max_value) return 0;
    if (entry->type == P_INT && value != floor(value)) return 0;
    return 1;
}

int plant_set_param(plant_params *params, const char *name, double value) {
    const param_entry *entry = find_param(name);
    if (entry == NULL) return PLANT_ERR_UNKNOWN_PARAM;
    if (!(entry->kinds & kind_bit(params->kind))) return PLANT_ERR_KIND;
    if (!value_in_range(entry, value)) return PLANT_ERR_RANGE;
    char *base = (char *)params + entry->offset;
    if (entry->type == P_INT) {
        int v = (int)value;
        memcpy(base, &v, sizeof v);
    } else {
        memcpy(base, &value, sizeof value);
    }
    return PLANT_OK;
}

static double read_entry(const plant_params *params, const param_entry *entry) {
    const char *base = (const char *)params + entry->offset;
    if (entry->type == P_INT) {
        int v;
        memcpy(&v, base, sizeof v);
        return (double)v;
    }
    double d;
    memcpy(&d, base, sizeof d);
    return d;
}

int plant_get_param(const plant_params *params, const char *name, double *value) {
    const param_entry *entry = find_param(name);
    if (entry == NULL) return PLANT_ERR_UNKNOWN_PARAM;
    *value = read_entry(params, entry);
    return PLANT_OK;
}

const char *plant_param_name(int index) {
    return (index >= 0 && index < PARAM_COUNT) ? param_table[index].name : NULL;
}

const char *plant_param_doc(int index) {
    return (index >= 0 && index < PARAM_COUNT) ? param_table[index].doc : NULL;
}

/* Every chain joint must move some mass or inertia, or M is singular: a later link with mass,
 * or (revolute) with inertia, or its own rigid rotor. Backlash needs a motor and a rotor. */
static int chain_is_physical(const plant_params *params) {
    int n = params->chain_joints;
    for (int i = 0; i < n; i++) {
        const plant_chain_joint *ji = &params->chain[i];
        int moved = ji->actuated && ji->backlash == 0.0 && ji->rotor_inertia > 0.0;
        for (int k = i; k < n && !moved; k++) {
            if (params->chain[k].mass > 0.0 || (ji->type == 0 && params->chain[k].inertia > 0.0)) moved = 1;
        }
        if (!moved) return 0;
        if (ji->backlash > 0.0 && (!ji->actuated || !(ji->rotor_inertia > 0.0))) return 0;
        if (ji->stop > 0.0 && fabs(ji->start) > ji->stop) return 0;
    }
    return 1;
}

int plant_validate_params(const plant_params *params) {
    unsigned bit = kind_bit(params->kind);
    if (bit == 0) return PLANT_ERR_KIND;
    int joints = params->chain_joints;
    if (params->kind == PLANT_CHAIN && (joints < 1 || joints > PLANT_MAX_JOINTS)) return PLANT_ERR_RANGE;
    for (int i = 0; i < PARAM_COUNT; i++) {
        const param_entry *entry = &param_table[i];
        if (!(entry->kinds & bit) || entry->joint >= joints) continue;
        if (!value_in_range(entry, read_entry(params, entry))) return PLANT_ERR_RANGE;
    }
    if (params->kind == PLANT_CARTPOLE && params->track_limit <= 0.0) return PLANT_ERR_RANGE;
    if (params->kind == PLANT_CHAIN && !chain_is_physical(params)) return PLANT_ERR_RANGE;
    return PLANT_OK;
}

/* ---- Noise: splitmix64 and Box-Muller ----------------------------------------------- */

static uint64_t next_u64(plant_state *plant) {
    uint64_t z = (plant->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]. */
static double next_unit(plant_state *plant) {
    return ((double)(next_u64(plant) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

static double next_normal(plant_state *plant) {
    if (plant->has_spare_normal) {
        plant->has_spare_normal = 0;
        return plant->spare_normal;
    }
    double r = sqrt(-2.0 * log(next_unit(plant)));
    double phi = 2.0 * PLANT_PI * next_unit(plant);
    plant->spare_normal = r * sin(phi);
    plant->has_spare_normal = 1;
    return r * cos(phi);
}

/* ---- Sensors ------------------------------------------------------------------------- */

int plant_joint_is_prismatic(const plant_state *plant, int joint) {
    if (plant->params.kind == PLANT_CHAIN) {
        return joint >= 0 && joint < plant->joint_count && plant->params.chain[joint].type == 1;
    }
    return plant->params.kind == PLANT_CARTPOLE && joint == 0;
}

int plant_joint_is_actuated(const plant_state *plant, int joint) {
    if (joint < 0 || joint >= plant->joint_count) return 0;
    if (plant->params.kind == PLANT_CHAIN) return plant->params.chain[joint].actuated != 0;
    return joint == 0;
}

static double resolution(const plant_state *plant, int joint) {
    if (plant->params.kind == PLANT_CHAIN) return plant->params.chain[joint].counts_per_rev;
    return plant->params.encoder_counts_per_unit[joint];
}

static int32_t quantise(double counts) {
    double r = nearbyint(counts);
    if (r > 2147483647.0) return INT32_MAX;
    if (r < -2147483648.0) return INT32_MIN;
    return (int32_t)r;
}

/* Draw order (position noise of each joint, then current noise of an actuated one) is part of
 * the seeded behaviour the pendulum and cart-pole had; the chain follows the same pattern. */
static void latch_sensors(plant_state *plant) {
    const plant_params *p = &plant->params;
    for (int j = 0; j < plant->joint_count; j++) {
        int on_rotor = p->kind == PLANT_CHAIN && p->chain[j].encoder_on_rotor;
        double measured = on_rotor ? plant->rotor_position[j] : plant->position[j];
        if (p->position_noise > 0.0) measured += p->position_noise * next_normal(plant);
        double per_unit = resolution(plant, j);
        if (!plant_joint_is_prismatic(plant, j)) per_unit /= 2.0 * PLANT_PI;
        plant->encoder_counts[j] = quantise(measured * per_unit);
        int actuated = plant_joint_is_actuated(plant, j);
        double current = plant->true_current[j];
        if (actuated && p->current_noise > 0.0) current += p->current_noise * next_normal(plant);
        plant->measured_current[j] = actuated ? current : 0.0;
    }
}

static double chain_substep_limit(const plant_state *plant, const double *q);

/* ---- Lifecycle ----------------------------------------------------------------------- */

int plant_init(plant_state *plant, const plant_params *params, uint64_t seed) {
    memset(plant, 0, sizeof *plant);
    int status = plant_validate_params(params);
    if (status != PLANT_OK) return status;
    plant->params = *params;
    plant->rng = seed;
    double start[PLANT_MAX_JOINTS] = {0.0};
    if (params->kind == PLANT_CHAIN) {
        plant->joint_count = params->chain_joints;
        for (int j = 0; j < plant->joint_count; j++) start[j] = params->chain[j].start;
        plant->chain_substep = chain_substep_limit(plant, start);
    } else {
        plant->joint_count = (params->kind == PLANT_CARTPOLE) ? 2 : 1;
        start[plant->joint_count - 1] = PLANT_PI; /* hanging */
    }
    plant_reset(plant, start, NULL);
    return PLANT_OK;
}

void plant_reset(plant_state *plant, const double *positions, const double *velocities) {
    for (int j = 0; j < PLANT_MAX_JOINTS; j++) {
        int valid = j < plant->joint_count;
        plant->position[j] = (valid && positions) ? positions[j] : 0.0;
        plant->velocity[j] = (valid && velocities) ? velocities[j] : 0.0;
        plant->rotor_position[j] = plant->position[j]; /* centred in the play */
        plant->rotor_velocity[j] = plant->velocity[j];
        plant->pending_command[j] = 0.0;
        plant->applied_effort[j] = 0.0;
        plant->true_current[j] = 0.0;
    }
    memset(plant->command_line, 0, sizeof plant->command_line);
    plant->command_head = 0;
    plant->time = 0.0;
    latch_sensors(plant);
}

void plant_set_command(plant_state *plant, int joint, double effort) {
    if (!plant_joint_is_actuated(plant, joint) || !isfinite(effort)) return;
    plant->pending_command[joint] = effort;
}

/* ---- Physics ------------------------------------------------------------------------- */

static double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

static double sign(double x) { return (x > 0.0) - (x < 0.0); }

/* The driver and motor: command -> current -> delivered effort at joint speed `speed`. */
static double drive(double k, double resistance, double supply, double max_effort, double gain, double command,
                    double speed, double *current_out) {
    double wanted = clamp(command, -max_effort, max_effort) / k;
    double back_emf = k * speed;
    double lowest = (-supply - back_emf) / resistance;
    double highest = (supply - back_emf) / resistance;
    double current = clamp(wanted, lowest, highest);
    *current_out = current;
    return gain * k * current;
}

static double motor_effort(plant_state *plant, double command, double speed) {
    const plant_params *p = &plant->params;
    return drive(p->torque_constant, p->resistance, p->supply_voltage, p->max_effort, p->actuator_gain, command, speed,
                 &plant->true_current[0]);
}

/*
 * Coulomb friction applied implicitly over one substep: a velocity that friction alone
 * would bring through zero within the substep sticks at zero, so joints stop and stay.
 * `free_velocity` already includes every other force; `friction_step` = c * h / inertia.
 */
static double apply_coulomb(double free_velocity, double friction_step) {
    if (fabs(free_velocity) <= friction_step) return 0.0;
    return free_velocity - friction_step * sign(free_velocity);
}

static void substep_pendulum(plant_state *plant, double command, double h) {
    const plant_params *p = &plant->params;
    double inertia = p->mass * p->length * p->length / 3.0 + p->rotor_inertia;
    double theta = plant->position[0];
    double omega = plant->velocity[0];
    double effort = motor_effort(plant, command, omega);
    plant->applied_effort[0] = effort;
    double torque = p->mass * p->gravity * 0.5 * p->length * sin(theta) + effort - p->damping[0] * omega;
    double free_omega = omega + h * torque / inertia;
    omega = apply_coulomb(free_omega, h * p->coulomb[0] / inertia);
    plant->velocity[0] = omega;
    plant->position[0] = theta + h * omega;
}

static void substep_cartpole(plant_state *plant, double command, double h) {
    const plant_params *p = &plant->params;
    double total = p->cart_mass + p->mass;
    double half = 0.5 * p->length;
    double x_dot = plant->velocity[0];
    double theta = plant->position[1];
    double theta_dot = plant->velocity[1];
    double s = sin(theta);
    double c = cos(theta);

    double effort = motor_effort(plant, command, x_dot);
    plant->applied_effort[0] = effort;
    double force = effort - p->damping[0] * x_dot;
    double pole_torque = -p->damping[1] * theta_dot;

    double temp = (force + p->mass * half * theta_dot * theta_dot * s) / total;
    double theta_acc = (p->gravity * s - c * temp + pole_torque / (p->mass * half)) /
                       (half * (4.0 / 3.0 - p->mass * c * c / total));
    double x_acc = temp - p->mass * half * theta_acc * c / total;

    /* Coulomb friction, implicitly, with each joint's own effective inertia. */
    double cart_free = x_dot + h * x_acc;
    double pole_free = theta_dot + h * theta_acc;
    double cart_inertia = total;
    double pole_inertia = p->mass * half * half * 4.0 / 3.0;
    x_dot = apply_coulomb(cart_free, h * p->coulomb[0] / cart_inertia);
    theta_dot = apply_coulomb(pole_free, h * p->coulomb[1] / pole_inertia);

    double x = plant->position[0] + h * x_dot;
    if (x > p->track_limit) {
        x = p->track_limit;
        if (x_dot > 0.0) x_dot = 0.0;
    } else if (x < -p->track_limit) {
        x = -p->track_limit;
        if (x_dot < 0.0) x_dot = 0.0;
    }
    plant->position[0] = x;
    plant->velocity[0] = x_dot;
    plant->velocity[1] = theta_dot;
    plant->position[1] = theta + h * theta_dot;
}

/* ---- The chain ----------------------------------------------------------------------- */

/* Kinematics of one link: joint origin o, axis e = (cos phi, sin phi), its normal
 * n = z x e, angular speed w and acceleration al; velocity and acceleration of o. */
typedef struct chain_link {
    double ox, oy, ex, ey, nx, ny, w, al, vox, voy, aox, aoy;
    double ux, uy; /* slide direction of a prismatic joint */
} chain_link;

/*
 * Recursive Newton-Euler: the joint efforts that give accelerations `qdd` at (q, qd) under
 * gravity `g` (along -y). Gravity enters as an upward acceleration of the base. With
 * qd = 0, g = 0, qdd = e_k it is column k of M; with qdd = 0 it is the bias h(q, qd).
 * `links` (may be NULL) receives the forward pass.
 */
static void chain_rnea(const plant_params *p, const double *q, const double *qd, const double *qdd, double g,
                       double *tau, chain_link *links) {
    int n = p->chain_joints;
    chain_link local[PLANT_MAX_JOINTS];
    chain_link *L = links ? links : local;
    /* End of the parent link: position, velocity, acceleration; parent's angle and rates. */
    double px = 0.0, py = 0.0, pvx = 0.0, pvy = 0.0, pax = 0.0, pay = g;
    double phi = 0.0, w = 0.0, al = 0.0;
    for (int i = 0; i < n; i++) {
        const plant_chain_joint *j = &p->chain[i];
        chain_link *k = &L[i];
        k->ox = px;
        k->oy = py;
        k->vox = pvx;
        k->voy = pvy;
        k->aox = pax;
        k->aoy = pay;
        if (j->type == 1) {
            double d = phi + j->offset;
            double ux = cos(d), uy = sin(d), nx = -uy, ny = ux;
            k->ux = ux;
            k->uy = uy;
            /* o = E + q u; u turns with the parent at w. */
            k->ox += q[i] * ux;
            k->oy += q[i] * uy;
            k->vox += qd[i] * ux + q[i] * w * nx;
            k->voy += qd[i] * uy + q[i] * w * ny;
            k->aox += qdd[i] * ux + 2.0 * qd[i] * w * nx + q[i] * al * nx - q[i] * w * w * ux;
            k->aoy += qdd[i] * uy + 2.0 * qd[i] * w * ny + q[i] * al * ny - q[i] * w * w * uy;
            phi = d;
        } else {
            phi += j->offset + q[i];
            w += qd[i];
            al += qdd[i];
        }
        k->ex = cos(phi);
        k->ey = sin(phi);
        k->nx = -k->ey;
        k->ny = k->ex;
        k->w = w;
        k->al = al;
        /* The end of this link, for the next. */
        double cx = al * k->nx - w * w * k->ex, cy = al * k->ny - w * w * k->ey; /* d2/dt2 of e */
        px = k->ox + j->length * k->ex;
        py = k->oy + j->length * k->ey;
        pvx = k->vox + j->length * w * k->nx;
        pvy = k->voy + j->length * w * k->ny;
        pax = k->aox + j->length * cx;
        pay = k->aoy + j->length * cy;
    }
    /* Backward: force F and moment N (about o_i) that link i's parent exerts on links i.. */
    double fx = 0.0, fy = 0.0, mz = 0.0, cox = 0.0, coy = 0.0; /* child's F, N, origin */
    for (int i = n - 1; i >= 0; i--) {
        const plant_chain_joint *j = &p->chain[i];
        const chain_link *k = &L[i];
        double acx = k->aox + j->com * (k->al * k->nx - k->w * k->w * k->ex);
        double acy = k->aoy + j->com * (k->al * k->ny - k->w * k->w * k->ey);
        double mx = j->mass * acx, my = j->mass * acy;
        double rcx = j->com * k->ex, rcy = j->com * k->ey; /* COM - o */
        double rox = cox - k->ox, roy = coy - k->oy;       /* child's origin - o */
        double child = i == n - 1 ? 0.0 : 1.0;
        double nz = j->inertia * k->al + (rcx * my - rcy * mx) + child * (rox * fy - roy * fx + mz);
        fx = mx + child * fx;
        fy = my + child * fy;
        mz = nz;
        cox = k->ox;
        coy = k->oy;
        if (j->type == 1) {
            tau[i] = fx * k->ux + fy * k->uy;
        } else {
            tau[i] = mz;
        }
    }
}

static int chain_rigid_rotor(const plant_chain_joint *j) { return j->actuated && j->backlash == 0.0; }

/* M(q) (row stride PLANT_MAX_JOINTS), rigid rotors on the diagonal. */
static void chain_mass_matrix(const plant_params *p, const double *q, double *m) {
    int n = p->chain_joints;
    double zero[PLANT_MAX_JOINTS] = {0.0}, unit[PLANT_MAX_JOINTS] = {0.0}, col[PLANT_MAX_JOINTS];
    for (int k = 0; k < n; k++) {
        unit[k] = 1.0;
        chain_rnea(p, q, zero, unit, 0.0, col, NULL);
        unit[k] = 0.0;
        for (int r = 0; r < n; r++) m[r * PLANT_MAX_JOINTS + k] = col[r];
    }
    for (int i = 0; i < n; i++) {
        if (chain_rigid_rotor(&p->chain[i])) m[i * PLANT_MAX_JOINTS + i] += p->chain[i].rotor_inertia;
    }
}

/* In-place Cholesky of the symmetric positive-definite M (lower triangle used). */
static void cholesky(double *m, int n) {
    for (int c = 0; c < n; c++) {
        double d = m[c * PLANT_MAX_JOINTS + c];
        for (int k = 0; k < c; k++) d -= m[c * PLANT_MAX_JOINTS + k] * m[c * PLANT_MAX_JOINTS + k];
        double l = d > 1e-300 ? sqrt(d) : 1e-150;
        m[c * PLANT_MAX_JOINTS + c] = l;
        for (int r = c + 1; r < n; r++) {
            double v = m[r * PLANT_MAX_JOINTS + c];
            for (int k = 0; k < c; k++) v -= m[r * PLANT_MAX_JOINTS + k] * m[c * PLANT_MAX_JOINTS + k];
            m[r * PLANT_MAX_JOINTS + c] = v / l;
        }
    }
}

/* Solves L L^T x = b in place (b becomes x). */
static void cholesky_solve(const double *l, int n, double *b) {
    for (int r = 0; r < n; r++) {
        double v = b[r];
        for (int k = 0; k < r; k++) v -= l[r * PLANT_MAX_JOINTS + k] * b[k];
        b[r] = v / l[r * PLANT_MAX_JOINTS + r];
    }
    for (int r = n - 1; r >= 0; r--) {
        double v = b[r];
        for (int k = r + 1; k < n; k++) v -= l[k * PLANT_MAX_JOINTS + r] * b[k];
        b[r] = v / l[r * PLANT_MAX_JOINTS + r];
    }
}

/* Diagonal of M(q)^-1: each joint's effective inverse inertia. */
static void chain_inverse_inertia(const plant_params *p, const double *q, double *out) {
    int n = p->chain_joints;
    double m[PLANT_MAX_JOINTS * PLANT_MAX_JOINTS];
    chain_mass_matrix(p, q, m);
    cholesky(m, n);
    for (int k = 0; k < n; k++) {
        double e[PLANT_MAX_JOINTS] = {0.0};
        e[k] = 1.0;
        cholesky_solve(m, n, e);
        out[k] = e[k];
    }
}

/* Effort the backlash contact passes from rotor to link (0 inside the play; never pulls). */
static double backlash_effort(const plant_chain_joint *j, double rotor, double link, double rotor_v, double link_v) {
    double delta = rotor - link, half = 0.5 * j->backlash;
    double penetration = delta > half ? delta - half : (delta < -half ? delta + half : 0.0);
    if (penetration == 0.0) return 0.0;
    double effort = j->backlash_stiffness * penetration + j->backlash_damping * (rotor_v - link_v);
    return (effort > 0.0) == (penetration > 0.0) ? effort : 0.0;
}

/* The substep the chain needs: max_substep, or half a period-radian of the stiffest backlash
 * contact (rotor against the link's effective inertia at q), so RK4 stays accurate. */
static double chain_substep_limit(const plant_state *plant, const double *q) {
    const plant_params *p = &plant->params;
    double h = p->max_substep;
    double inv[PLANT_MAX_JOINTS];
    chain_inverse_inertia(p, q, inv);
    for (int i = 0; i < p->chain_joints; i++) {
        const plant_chain_joint *j = &p->chain[i];
        if (j->backlash <= 0.0) continue;
        double inverse = 1.0 / j->rotor_inertia + inv[i];
        double rate = sqrt(j->backlash_stiffness * inverse) + j->backlash_damping * inverse;
        if (0.5 / rate < h) h = 0.5 / rate;
    }
    return h;
}

/* Accelerations of links (a) and rotors (ar) at one RK4 stage, the command held. */
static void chain_accelerations(plant_state *plant, const double *command, const double *q, const double *v,
                                const double *qr, const double *vr, double *a, double *ar, int record) {
    const plant_params *p = &plant->params;
    int n = p->chain_joints;
    double zero[PLANT_MAX_JOINTS] = {0.0}, bias[PLANT_MAX_JOINTS], rhs[PLANT_MAX_JOINTS];
    double m[PLANT_MAX_JOINTS * PLANT_MAX_JOINTS];
    chain_rnea(p, q, v, zero, p->gravity, bias, NULL);
    for (int i = 0; i < n; i++) {
        const plant_chain_joint *j = &p->chain[i];
        rhs[i] = -j->viscous * v[i] - bias[i];
        ar[i] = 0.0;
        if (!j->actuated) continue;
        int rigid = j->backlash == 0.0;
        double current;
        double effort = drive(j->torque_constant, j->resistance, j->supply_voltage, j->max_effort,
                              j->gain * p->actuator_gain, command[i], rigid ? v[i] : vr[i], &current);
        if (record) {
            plant->applied_effort[i] = effort;
            plant->true_current[i] = current;
        }
        if (rigid) {
            rhs[i] += effort;
        } else {
            double contact = backlash_effort(j, qr[i], q[i], vr[i], v[i]);
            rhs[i] += contact;
            ar[i] = (effort - contact) / j->rotor_inertia;
        }
    }
    chain_mass_matrix(p, q, m);
    cholesky(m, n);
    cholesky_solve(m, n, rhs);
    for (int i = 0; i < n; i++) {
        a[i] = rhs[i];
        if (chain_rigid_rotor(&p->chain[i]) || !p->chain[i].actuated) ar[i] = a[i];
    }
}

/* Coulomb level of joint j at position x, with the ripple. */
static double chain_coulomb(const plant_chain_joint *j, double x) {
    if (j->friction_ripple == 0.0) return j->coulomb;
    double c = j->coulomb + j->friction_ripple * sin(2.0 * PLANT_PI * x / j->ripple_period);
    return c > 0.0 ? c : 0.0;
}

static void substep_chain(plant_state *plant, const double *command, double h) {
    const plant_params *p = &plant->params;
    int n = p->chain_joints;
    double *q = plant->position, *v = plant->velocity, *qr = plant->rotor_position, *vr = plant->rotor_velocity;
    double a1[PLANT_MAX_JOINTS], r1[PLANT_MAX_JOINTS], a2[PLANT_MAX_JOINTS], r2[PLANT_MAX_JOINTS];
    double a3[PLANT_MAX_JOINTS], r3[PLANT_MAX_JOINTS], a4[PLANT_MAX_JOINTS], r4[PLANT_MAX_JOINTS];
    double sq[PLANT_MAX_JOINTS] = {0.0}, sv[PLANT_MAX_JOINTS] = {0.0};
    double sqr[PLANT_MAX_JOINTS] = {0.0}, svr[PLANT_MAX_JOINTS] = {0.0};
    double v2[PLANT_MAX_JOINTS] = {0.0}, v3[PLANT_MAX_JOINTS] = {0.0};
    double vr2[PLANT_MAX_JOINTS] = {0.0}, vr3[PLANT_MAX_JOINTS] = {0.0};
    chain_accelerations(plant, command, q, v, qr, vr, a1, r1, 1);
    for (int i = 0; i < n; i++) {
        sq[i] = q[i] + 0.5 * h * v[i];
        sv[i] = v2[i] = v[i] + 0.5 * h * a1[i];
        sqr[i] = qr[i] + 0.5 * h * vr[i];
        svr[i] = vr2[i] = vr[i] + 0.5 * h * r1[i];
    }
    chain_accelerations(plant, command, sq, sv, sqr, svr, a2, r2, 0);
    for (int i = 0; i < n; i++) {
        sq[i] = q[i] + 0.5 * h * v2[i];
        sv[i] = v3[i] = v[i] + 0.5 * h * a2[i];
        sqr[i] = qr[i] + 0.5 * h * vr2[i];
        svr[i] = vr3[i] = vr[i] + 0.5 * h * r2[i];
    }
    chain_accelerations(plant, command, sq, sv, sqr, svr, a3, r3, 0);
    for (int i = 0; i < n; i++) {
        sq[i] = q[i] + h * v3[i];
        sv[i] = v[i] + h * a3[i];
        sqr[i] = qr[i] + h * vr3[i];
        svr[i] = vr[i] + h * r3[i];
    }
    chain_accelerations(plant, command, sq, sv, sqr, svr, a4, r4, 0);
    for (int i = 0; i < n; i++) {
        q[i] += h / 6.0 * (v[i] + 2.0 * v2[i] + 2.0 * v3[i] + sv[i]);
        v[i] += h / 6.0 * (a1[i] + 2.0 * a2[i] + 2.0 * a3[i] + a4[i]);
        qr[i] += h / 6.0 * (vr[i] + 2.0 * vr2[i] + 2.0 * vr3[i] + svr[i]);
        vr[i] += h / 6.0 * (r1[i] + 2.0 * r2[i] + 2.0 * r3[i] + r4[i]);
    }
    /* Coulomb friction, implicitly over the substep, on the link side. */
    int any = 0;
    double level[PLANT_MAX_JOINTS];
    for (int i = 0; i < n; i++) {
        level[i] = chain_coulomb(&p->chain[i], q[i]);
        any |= level[i] > 0.0;
    }
    if (any) {
        double inv[PLANT_MAX_JOINTS];
        chain_inverse_inertia(p, q, inv);
        for (int i = 0; i < n; i++) {
            if (level[i] > 0.0) v[i] = apply_coulomb(v[i], level[i] * inv[i] * h);
        }
    }
    for (int i = 0; i < n; i++) { /* end stops: inelastic, the joint alone (as the cart's track) */
        double limit = p->chain[i].stop;
        if (limit > 0.0 && (q[i] > limit || q[i] < -limit)) {
            q[i] = q[i] > 0.0 ? limit : -limit;
            if (v[i] * q[i] > 0.0) v[i] = 0.0;
        }
    }
    for (int i = 0; i < n; i++) {
        if (p->chain[i].backlash == 0.0) { /* rigid: the rotor is the link */
            qr[i] = q[i];
            vr[i] = v[i];
        }
    }
}

static double chain_energy(const plant_state *plant) {
    const plant_params *p = &plant->params;
    double zero[PLANT_MAX_JOINTS] = {0.0}, tau[PLANT_MAX_JOINTS];
    chain_link L[PLANT_MAX_JOINTS];
    chain_rnea(p, plant->position, plant->velocity, zero, 0.0, tau, L);
    double e = 0.0;
    for (int i = 0; i < p->chain_joints; i++) {
        const plant_chain_joint *j = &p->chain[i];
        const chain_link *k = &L[i];
        double vx = k->vox + j->com * k->w * k->nx, vy = k->voy + j->com * k->w * k->ny;
        e += 0.5 * j->mass * (vx * vx + vy * vy) + 0.5 * j->inertia * k->w * k->w;
        e += j->mass * p->gravity * (k->oy + j->com * k->ey);
        if (!j->actuated) continue;
        double vr = plant->rotor_velocity[i];
        e += 0.5 * j->rotor_inertia * vr * vr;
        if (j->backlash > 0.0) {
            double delta = plant->rotor_position[i] - plant->position[i], half = 0.5 * j->backlash;
            double pen = delta > half ? delta - half : (delta < -half ? delta + half : 0.0);
            e += 0.5 * j->backlash_stiffness * pen * pen;
        }
    }
    return e;
}

void plant_step(plant_state *plant, double dt_seconds) {
    if (!(dt_seconds > 0.0) || !isfinite(dt_seconds)) return;
    const plant_params *p = &plant->params;
    int slots = p->latency_ticks + 1;
    int applied_slot = (plant->command_head + 1) % slots;
    double command[PLANT_MAX_JOINTS];
    for (int j = 0; j < plant->joint_count; j++) {
        plant->command_line[plant->command_head][j] = plant->pending_command[j];
        command[j] = plant->command_line[applied_slot][j];
    }
    plant->command_head = applied_slot;

    double largest = p->kind == PLANT_CHAIN ? plant->chain_substep : p->max_substep;
    int substeps = (int)ceil(dt_seconds / largest - 1e-9);
    if (substeps < 1) substeps = 1;
    double h = dt_seconds / substeps;
    for (int i = 0; i < substeps; i++) {
        if (p->kind == PLANT_CHAIN) {
            substep_chain(plant, command, h);
        } else if (p->kind == PLANT_CARTPOLE) {
            substep_cartpole(plant, command[0], h);
        } else {
            substep_pendulum(plant, command[0], h);
        }
    }
    plant->time += dt_seconds;
    latch_sensors(plant);
}

/* ---- Accessors ----------------------------------------------------------------------- */

static int valid_joint(const plant_state *plant, int joint) {
    return joint >= 0 && joint < plant->joint_count;
}

int plant_joint_count(const plant_state *plant) { return plant->joint_count; }

int32_t plant_encoder_counts(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? plant->encoder_counts[joint] : 0;
}

double plant_encoder_resolution(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? resolution(plant, joint) : 0.0;
}

double plant_max_effort(const plant_state *plant, int joint) {
    if (!plant_joint_is_actuated(plant, joint)) return 0.0;
    return plant->params.kind == PLANT_CHAIN ? plant->params.chain[joint].max_effort : plant->params.max_effort;
}

double plant_rotor_position(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? plant->rotor_position[joint] : 0.0;
}

double plant_motor_current(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? plant->measured_current[joint] : 0.0;
}

double plant_true_position(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? plant->position[joint] : 0.0;
}

double plant_true_velocity(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? plant->velocity[joint] : 0.0;
}

double plant_applied_effort(const plant_state *plant, int joint) {
    return valid_joint(plant, joint) ? plant->applied_effort[joint] : 0.0;
}

double plant_energy(const plant_state *plant) {
    const plant_params *p = &plant->params;
    if (p->kind == PLANT_CHAIN) return chain_energy(plant);
    if (p->kind == PLANT_CARTPOLE) {
        double half = 0.5 * p->length;
        double x_dot = plant->velocity[0];
        double theta = plant->position[1];
        double theta_dot = plant->velocity[1];
        double kinetic = 0.5 * (p->cart_mass + p->mass) * x_dot * x_dot +
                         p->mass * half * x_dot * theta_dot * cos(theta) +
                         0.5 * (4.0 / 3.0) * p->mass * half * half * theta_dot * theta_dot;
        return kinetic + p->mass * p->gravity * half * cos(theta);
    }
    double inertia = p->mass * p->length * p->length / 3.0 + p->rotor_inertia;
    double omega = plant->velocity[0];
    return 0.5 * inertia * omega * omega + p->mass * p->gravity * 0.5 * p->length * cos(plant->position[0]);
}
