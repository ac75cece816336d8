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
 */
#include "plant.h"

#include <math.h>
#include <string.h>

#define PLANT_PI 3.14159265358979323846

/* ---- Reference parameters ---------------------------------------------------------- */

void plant_default_params(plant_kind kind, plant_params *params) {
    memset(params, 0, sizeof *params);
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

typedef struct param_entry {
    const char *name;
    size_t offset;
    enum param_type type;
    double min_value;
    double max_value;
    const char *doc;
} param_entry;

#define PD(field) offsetof(plant_params, field)

static const param_entry param_table[] = {
    {"gravity", PD(gravity), P_DOUBLE, 0.0, 100.0, "gravity, m/s^2"},
    {"mass", PD(mass), P_DOUBLE, 1e-6, 1e3, "rod/pole mass, kg"},
    {"length", PD(length), P_DOUBLE, 1e-6, 100.0, "rod/pole full length, m"},
    {"rotor_inertia", PD(rotor_inertia), P_DOUBLE, 0.0, 1e3, "extra pivot inertia (pendulum), kg*m^2"},
    {"cart_mass", PD(cart_mass), P_DOUBLE, 0.0, 1e3, "cart mass (cart-pole), kg"},
    {"damping", PD(damping[0]), P_DOUBLE, 0.0, 1e3, "viscous friction of joint 0, N*m*s/rad or N*s/m"},
    {"damping1", PD(damping[1]), P_DOUBLE, 0.0, 1e3, "viscous friction of joint 1 (pole), N*m*s/rad"},
    {"coulomb", PD(coulomb[0]), P_DOUBLE, 0.0, 1e3, "Coulomb friction of joint 0, N*m or N"},
    {"coulomb1", PD(coulomb[1]), P_DOUBLE, 0.0, 1e3, "Coulomb friction of joint 1 (pole), N*m"},
    {"actuator_gain", PD(actuator_gain), P_DOUBLE, 0.0, 100.0, "delivered / commanded effort"},
    {"torque_constant", PD(torque_constant), P_DOUBLE, 1e-6, 1e3, "motor constant, N*m/A (= V*s/rad) or N/A"},
    {"resistance", PD(resistance), P_DOUBLE, 1e-6, 1e3, "winding resistance, ohm"},
    {"supply_voltage", PD(supply_voltage), P_DOUBLE, 1e-6, 1e4, "driver supply voltage, V"},
    {"max_effort", PD(max_effort), P_DOUBLE, 0.0, 1e4, "command saturation, N*m or N"},
    {"latency_ticks", PD(latency_ticks), P_INT, 0.0, (double)PLANT_MAX_LATENCY_TICKS,
     "actuation latency, plant_step calls"},
    {"encoder_cpr", PD(encoder_counts_per_unit[0]), P_DOUBLE, 1.0, 1e9,
     "joint 0 encoder counts per revolution (or per metre for the cart)"},
    {"encoder_cpr1", PD(encoder_counts_per_unit[1]), P_DOUBLE, 1.0, 1e9,
     "joint 1 encoder counts per revolution"},
    {"position_noise", PD(position_noise), P_DOUBLE, 0.0, 10.0, "position sensor noise std, rad or m"},
    {"current_noise", PD(current_noise), P_DOUBLE, 0.0, 100.0, "current sensor noise std, A"},
    {"track_limit", PD(track_limit), P_DOUBLE, 0.0, 1e3, "cart track half-length (cart-pole), m"},
    {"max_substep", PD(max_substep), P_DOUBLE, 1e-6, 0.1, "largest integration substep, s"},
};

#define PARAM_COUNT ((int)(sizeof param_table / sizeof param_table[0]))

static const param_entry *find_param(const char *name) {
    if (name == NULL) return NULL;
    for (int i = 0; i < PARAM_COUNT; i++) {
        if (strcmp(param_table[i].name, name) == 0) return &param_table[i];
    }
    return NULL;
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

int plant_validate_params(const plant_params *params) {
    if (params->kind != PLANT_PENDULUM && params->kind != PLANT_CARTPOLE) return PLANT_ERR_KIND;
    for (int i = 0; i < PARAM_COUNT; i++) {
        if (!value_in_range(&param_table[i], read_entry(params, &param_table[i]))) {
            return PLANT_ERR_RANGE;
        }
    }
    if (params->kind == PLANT_CARTPOLE && params->track_limit <= 0.0) return PLANT_ERR_RANGE;
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
    return plant->params.kind == PLANT_CARTPOLE && joint == 0;
}

static int32_t quantise(double counts) {
    double r = nearbyint(counts);
    if (r > 2147483647.0) return INT32_MAX;
    if (r < -2147483648.0) return INT32_MIN;
    return (int32_t)r;
}

static void latch_sensors(plant_state *plant) {
    const plant_params *p = &plant->params;
    for (int j = 0; j < plant->joint_count; j++) {
        double measured = plant->position[j];
        if (p->position_noise > 0.0) measured += p->position_noise * next_normal(plant);
        double per_unit = p->encoder_counts_per_unit[j];
        if (!plant_joint_is_prismatic(plant, j)) per_unit /= 2.0 * PLANT_PI;
        plant->encoder_counts[j] = quantise(measured * per_unit);
        double current = plant->true_current[j];
        if (j == 0 && p->current_noise > 0.0) current += p->current_noise * next_normal(plant);
        plant->measured_current[j] = (j == 0) ? current : 0.0;
    }
}

/* ---- Lifecycle ----------------------------------------------------------------------- */

int plant_init(plant_state *plant, const plant_params *params, uint64_t seed) {
    memset(plant, 0, sizeof *plant);
    int status = plant_validate_params(params);
    if (status != PLANT_OK) return status;
    plant->params = *params;
    plant->joint_count = (params->kind == PLANT_CARTPOLE) ? 2 : 1;
    plant->rng = seed;
    double hanging[PLANT_MAX_JOINTS] = {0.0, 0.0};
    hanging[plant->joint_count - 1] = PLANT_PI;
    plant_reset(plant, hanging, NULL);
    return PLANT_OK;
}

void plant_reset(plant_state *plant, const double *positions, const double *velocities) {
    for (int j = 0; j < PLANT_MAX_JOINTS; j++) {
        int valid = j < plant->joint_count;
        plant->position[j] = (valid && positions) ? positions[j] : 0.0;
        plant->velocity[j] = (valid && velocities) ? velocities[j] : 0.0;
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
    if (joint != 0 || !isfinite(effort)) return; /* only joint 0 is actuated */
    plant->pending_command[0] = effort;
}

/* ---- Physics ------------------------------------------------------------------------- */

static double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

static double sign(double x) { return (x > 0.0) - (x < 0.0); }

/* The driver and motor: command -> current -> delivered effort at joint speed `speed`. */
static double motor_effort(plant_state *plant, double command, double speed) {
    const plant_params *p = &plant->params;
    double wanted = clamp(command, -p->max_effort, p->max_effort) / p->torque_constant;
    double back_emf = p->torque_constant * speed;
    double lowest = (-p->supply_voltage - back_emf) / p->resistance;
    double highest = (p->supply_voltage - back_emf) / p->resistance;
    double current = clamp(wanted, lowest, highest);
    plant->true_current[0] = current;
    return p->actuator_gain * p->torque_constant * current;
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

void plant_step(plant_state *plant, double dt_seconds) {
    if (!(dt_seconds > 0.0) || !isfinite(dt_seconds)) return;
    const plant_params *p = &plant->params;
    int slots = p->latency_ticks + 1;
    plant->command_line[plant->command_head][0] = plant->pending_command[0];
    int applied_slot = (plant->command_head + 1) % slots;
    double command = plant->command_line[applied_slot][0];
    plant->command_head = applied_slot;

    int substeps = (int)ceil(dt_seconds / p->max_substep - 1e-9);
    if (substeps < 1) substeps = 1;
    double h = dt_seconds / substeps;
    for (int i = 0; i < substeps; i++) {
        if (p->kind == PLANT_CARTPOLE) {
            substep_cartpole(plant, command, h);
        } else {
            substep_pendulum(plant, command, h);
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
    return valid_joint(plant, joint) ? plant->params.encoder_counts_per_unit[joint] : 0.0;
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
