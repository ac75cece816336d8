/*
 * plant.h - the "real" plant physics of the emulated robot, in portable C11.
 *
 * This is the physics the reference firmware drives when it is built for the host (the
 * emulator): the firmware's HAL reads encoder counts and motor currents from here and sends
 * motor commands here. It is deliberately richer than the onboard simulator (Swift,
 * H2OTrainer/Sim): encoder quantisation, Coulomb plus viscous friction, a motor with back-EMF
 * behind a voltage-limited current driver and torque saturation, actuation latency in ticks,
 * sensor noise. The difference between the two is the dynamics gap H2O+ exists for.
 *
 * Rules: no heap, no globals, no I/O; the plant is a plain struct the caller holds by value
 * (on the stack, in a static, in a Swift struct). Every function is O(1) per call (plant_step
 * is O(substeps)) and never allocates. Not thread-safe: one plant per thread.
 *
 * Joints and units (angles are continuous, never wrapped; 0 = pole upright, as in
 * Gymnasium's Pendulum-v1; positive torque accelerates the angle positively):
 *   PLANT_PENDULUM  joint 0: pendulum angle, rad. Command: motor torque, N*m.
 *   PLANT_CARTPOLE  joint 0: cart position, m (actuated; command: belt force, N).
 *                   joint 1: pole angle, rad (passive; commands to it are ignored).
 *   PLANT_CHAIN     joints 0..joints-1 of a planar serial chain (revolute: rad, prismatic: m),
 *                   each actuated or passive (see "The chain" below).
 *
 * The chain (PLANT_CHAIN) uses the geometry of the onboard simulator's PlanarChain
 * (Sources/Tasks/Mechanism/PlanarChain.swift), written independently (recursive Newton-Euler
 * here, Kane's method there): link i's axis points at angle phi_i from world +x, gravity
 * points along -y; a revolute joint turns its link, phi_i = phi_{i-1} + offset + q_i, about
 * the end of the previous link; a prismatic joint slides its link by q_i along phi_{i-1} +
 * offset and the link keeps that direction (phi_i = phi_{i-1} + offset); phi_{-1} = 0, the
 * base is the origin. The link reaches `length` along its axis to the next joint, its centre
 * of mass sits `com` along the axis, with `mass` and `inertia` about the centre of mass.
 * On top of the rigid bodies, per joint: viscous and Coulomb friction (stick-slip), a
 * position-dependent Coulomb ripple (c(q) = max(0, coulomb + friction_ripple *
 * sin(2 pi q / ripple_period)): a gear mesh or a tight bearing spot), and on actuated joints
 * the motor (current driver with back-EMF, supply-voltage and effort limits, gain), its
 * reflected rotor inertia and backlash: a play of `backlash` (rad or m) between the rotor
 * and the link, closed by a stiff spring-damper. Commands pass the latency line; encoders
 * (on the link, or on the rotor behind the play) are quantised and noisy; optional
 * inelastic end stops. RK4 at substeps no longer than max_substep
 * (shorter when a backlash spring needs it), Coulomb friction implicitly after each substep.
 *
 * Typical use (the emulator):
 *   plant_params p; plant_default_params(PLANT_PENDULUM, &p);
 *   if (plant_set_param(&p, "coulomb", 0.1) != PLANT_OK) ...;
 *   plant_state s; plant_init(&s, &p, seed);
 *   each tick: plant_set_command(&s, 0, torque); plant_step(&s, 0.005);
 *              counts = plant_encoder_counts(&s, 0); amps = plant_motor_current(&s, 0);
 */
#ifndef PLANT_H
#define PLANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most joints any plant has: the chain's limit, equal to the firmware's FP_MAX_MOTORS. */
#define PLANT_MAX_JOINTS 8
/** Largest supported actuation latency, in plant_step calls. */
#define PLANT_MAX_LATENCY_TICKS 16

/** Return codes. */
#define PLANT_OK 0
/** plant_set_param: no parameter of that name. */
#define PLANT_ERR_UNKNOWN_PARAM (-1)
/** plant_set_param / plant_init: value out of its documented range (or not finite). */
#define PLANT_ERR_RANGE (-2)
/** plant_init: the kind is not a known plant_kind. plant_set_param: the parameter exists
 *  but this kind of plant has no use for it (e.g. "cart_mass" on a chain, "j0.mass" on the pendulum). */
#define PLANT_ERR_KIND (-3)

/** Which physical system. */
typedef enum plant_kind {
    /** A uniform rod on a motor shaft, torque-limited: the swing-up pendulum. */
    PLANT_PENDULUM = 0,
    /** A belt-driven cart on a finite track with a passive uniform pole. */
    PLANT_CARTPOLE = 1,
    /** A planar serial chain of 1..PLANT_MAX_JOINTS revolute/prismatic joints (default: an acrobot). */
    PLANT_CHAIN = 2
} plant_kind;

/**
 * One joint of the chain and the link it carries. Parameter names are "j<i>.<field>"
 * (i = 0..7), e.g. "j1.mass". Effort is N*m (revolute) or N (prismatic).
 */
typedef struct plant_chain_joint {
    /** 0 revolute, 1 prismatic. Name "j<i>.type". */
    int type;
    /** Axis angle offset, rad (see "The chain" above). Name "j<i>.offset". */
    double offset;
    /** Distance to the next joint along the link's axis, m. Name "j<i>.length". */
    double length;
    /** Centre of mass along the link's axis, m. Name "j<i>.com". */
    double com;
    /** Link mass, kg. Name "j<i>.mass". */
    double mass;
    /** Link moment of inertia about its centre of mass, kg*m^2. Name "j<i>.inertia". */
    double inertia;
    /** Viscous friction, effort per (rad/s or m/s). Name "j<i>.viscous". */
    double viscous;
    /** Coulomb friction, effort. Name "j<i>.coulomb". */
    double coulomb;
    /** Amplitude of the position-dependent Coulomb ripple, effort (0: none). Name "j<i>.friction_ripple". */
    double friction_ripple;
    /** Period of the ripple in joint position, rad or m. Name "j<i>.ripple_period". */
    double ripple_period;
    /** 1 if a motor drives the joint, 0 passive (commands ignored, no current). Name "j<i>.actuated". */
    int actuated;
    /** Commands are clamped to +-max_effort before the driver. Name "j<i>.max_effort". */
    double max_effort;
    /** Delivered / commanded effort (times the global actuator_gain). Name "j<i>.gain". */
    double gain;
    /** Motor constant, effort per amp = back-EMF volts per (rad/s or m/s). Name "j<i>.torque_constant". */
    double torque_constant;
    /** Winding resistance, ohm. Name "j<i>.resistance". */
    double resistance;
    /** Driver supply voltage, V. Name "j<i>.supply_voltage". */
    double supply_voltage;
    /** Rotor inertia reflected to the joint, kg*m^2 (or kg): added to the link when there is
     *  no backlash, its own body behind the play when there is. Name "j<i>.rotor_inertia". */
    double rotor_inertia;
    /** Total play between rotor and link, rad or m (0: rigid). Needs actuated and rotor_inertia > 0. Name "j<i>.backlash". */
    double backlash;
    /** Contact stiffness once the play is taken up, effort per rad or m. Name "j<i>.backlash_stiffness". */
    double backlash_stiffness;
    /** Contact damping, effort per (rad/s or m/s). Name "j<i>.backlash_damping". */
    double backlash_damping;
    /** Encoder counts per revolution (revolute) or per metre (prismatic). Name "j<i>.counts_per_rev". */
    double counts_per_rev;
    /** Position at plant_init, rad or m. Name "j<i>.start". */
    double start;
    /** 1: the encoder reads the rotor, before the backlash (a servo's motor encoder); 0: the link. Name "j<i>.encoder_on_rotor". */
    int encoder_on_rotor;
    /** Hard, inelastic end stops at +-stop (rad or m; 0: none), as the cart-pole's track. Name "j<i>.stop". */
    double stop;
} plant_chain_joint;

/**
 * Physical parameters. Fill with plant_default_params, change with plant_set_param (by name,
 * range-checked) or directly. Per-joint arrays are indexed by joint; unused entries are
 * ignored. "effort" means N*m for a revolute joint, N for the cart.
 */
typedef struct plant_params {
    plant_kind kind;
    /** Gravity, m/s^2. Name "gravity". */
    double gravity;
    /** Mass of the rod/pole, kg. Name "mass". */
    double mass;
    /** Full length of the rod/pole (uniform, pivoted at one end), m. Name "length". */
    double length;
    /** Extra inertia at the pivot (motor rotor, hub), kg*m^2. Pendulum only. Name "rotor_inertia". */
    double rotor_inertia;
    /** Cart mass, kg. Cart-pole only. Name "cart_mass". */
    double cart_mass;
    /** Viscous friction per joint, effort per (rad/s or m/s). Names "damping" (joint 0), "damping1". */
    double damping[PLANT_MAX_JOINTS];
    /** Coulomb friction per joint, effort. Names "coulomb" (joint 0), "coulomb1". */
    double coulomb[PLANT_MAX_JOINTS];
    /** Delivered effort / commanded effort of the actuator (1 = ideal). Name "actuator_gain". */
    double actuator_gain;
    /** Motor constant: effort per amp, equal to back-EMF volts per (rad/s or m/s). Name "torque_constant". */
    double torque_constant;
    /** Winding resistance, ohm. Name "resistance". */
    double resistance;
    /** Driver supply voltage, V: the current is limited to what it can push against back-EMF. Name "supply_voltage". */
    double supply_voltage;
    /** Commands are clamped to +-max_effort before the driver. Name "max_effort". */
    double max_effort;
    /**
     * Actuation latency: a command set before step k acts during step k + latency_ticks.
     * Default 5: one 200 Hz control period at the emulator's 1 kHz plant_step rate. Name "latency_ticks".
     */
    int latency_ticks;
    /** Encoder resolution per joint: counts per revolution (revolute) or per metre (cart). Names "encoder_cpr", "encoder_cpr1". */
    double encoder_counts_per_unit[PLANT_MAX_JOINTS];
    /** Std of Gaussian position noise before quantisation, rad or m. Name "position_noise". */
    double position_noise;
    /** Std of Gaussian noise on the measured motor current, A. Name "current_noise". */
    double current_noise;
    /** Cart track half-length, m: hard, inelastic end stops at +-track_limit. Name "track_limit". */
    double track_limit;
    /** Largest internal integration substep, s. Name "max_substep". */
    double max_substep;
    /** Chain only: number of joints, 1..PLANT_MAX_JOINTS. Name "joints". */
    int chain_joints;
    /** Chain only: the joints, base outwards (entries past chain_joints are ignored). */
    plant_chain_joint chain[PLANT_MAX_JOINTS];
} plant_params;

/** The plant: parameters, true state, latency line, sensors, noise generator. Hold it by value. */
typedef struct plant_state {
    plant_params params;
    int joint_count;
    /** True positions (rad or m) and velocities. */
    double position[PLANT_MAX_JOINTS];
    double velocity[PLANT_MAX_JOINTS];
    /** Latency line of commands; slot (head + i) % (latency_ticks + 1). */
    double command_line[PLANT_MAX_LATENCY_TICKS + 1][PLANT_MAX_JOINTS];
    int command_head;
    /** The command most recently given by plant_set_command (not yet in the line). */
    double pending_command[PLANT_MAX_JOINTS];
    /** Effort the actuator delivered in the last substep, and its true current, A. */
    double applied_effort[PLANT_MAX_JOINTS];
    double true_current[PLANT_MAX_JOINTS];
    /** Sensor readings latched at the end of the last step (or reset). */
    int32_t encoder_counts[PLANT_MAX_JOINTS];
    double measured_current[PLANT_MAX_JOINTS];
    /** Chain only: rotor position and speed behind the backlash (equal to the link's when rigid). */
    double rotor_position[PLANT_MAX_JOINTS];
    double rotor_velocity[PLANT_MAX_JOINTS];
    /** Chain only: the substep plant_init chose (max_substep, or shorter for a stiff backlash spring). */
    double chain_substep;
    /** Simulated time since reset, s. */
    double time;
    /** splitmix64 state and a cached second Box-Muller normal. */
    uint64_t rng;
    double spare_normal;
    int has_spare_normal;
} plant_state;

/** Fills `params` with the reference robot of `kind` (see plant.c for the figures; the
 *  chain's default is robots/acrobot.json's mechanism with a real motor on the elbow). */
void plant_default_params(plant_kind kind, plant_params *params);

/**
 * Sets one parameter by its name (listed on each field above), range-checked.
 * Returns PLANT_OK, PLANT_ERR_UNKNOWN_PARAM, PLANT_ERR_KIND (a name of another kind of
 * plant) or PLANT_ERR_RANGE (params unchanged on error).
 */
int plant_set_param(plant_params *params, const char *name, double value);

/** Reads one parameter by name into *value. Returns PLANT_OK or PLANT_ERR_UNKNOWN_PARAM. */
int plant_get_param(const plant_params *params, const char *name, double *value);

/** The name of parameter `index` (0-based), or NULL past the last: for --help listings. */
const char *plant_param_name(int index);
/** One-line description with units of parameter `index`, or NULL past the last. */
const char *plant_param_doc(int index);

/** Checks every parameter's range (and, for the chain, that every joint moves some mass and
 *  that backlash sits on an actuated joint with rotor inertia). Returns PLANT_OK,
 *  PLANT_ERR_KIND or PLANT_ERR_RANGE. */
int plant_validate_params(const plant_params *params);

/**
 * Initialises `plant` with a copy of `params` and a noise seed, at rest in the stable
 * equilibrium (pendulum hanging down, theta = pi; cart centred, pole hanging down; a chain
 * at its joints' `start` positions, at rest).
 * Returns PLANT_OK or the plant_validate_params error (plant then zeroed).
 */
int plant_init(plant_state *plant, const plant_params *params, uint64_t seed);

/**
 * Puts the plant in a state: positions and velocities of joint_count entries (either may be
 * NULL for zeros). Clears the latency line, the pending command and the time; latches
 * sensors. Does not reseed the noise.
 */
void plant_reset(plant_state *plant, const double *positions, const double *velocities);

/** Sets the command of `joint` (N*m or N) for the next plant_step. Ignored for passive joints
 *  (and non-finite efforts). */
void plant_set_command(plant_state *plant, int joint, double effort);

/**
 * Advances by dt_seconds (> 0): pushes the pending command into the latency line, integrates
 * the delayed command through the motor model with substeps no longer than max_substep
 * (semi-implicit Euler for the pendulum and cart-pole, RK4 for the chain; Coulomb friction
 * handled implicitly so joints stick), then latches the noisy, quantised sensors.
 */
void plant_step(plant_state *plant, double dt_seconds);

/** Number of joints of this plant (1 pendulum, 2 cart-pole, `joints` for the chain). */
int plant_joint_count(const plant_state *plant);
/** Latched encoder reading of `joint`: round((position + noise) * counts per unit [/ 2 pi]). */
int32_t plant_encoder_counts(const plant_state *plant, int joint);
/** Encoder resolution of `joint`: counts per revolution (revolute) or per metre (cart). */
double plant_encoder_resolution(const plant_state *plant, int joint);
/** 1 if `joint` is prismatic (metres), 0 if revolute (radians). */
int plant_joint_is_prismatic(const plant_state *plant, int joint);
/** 1 if `joint` has a motor (pendulum joint 0, the cart, the chain's actuated joints). */
int plant_joint_is_actuated(const plant_state *plant, int joint);
/** Peak effort of `joint`'s actuator (its max_effort), 0 for a passive joint. */
double plant_max_effort(const plant_state *plant, int joint);
/** Latched measured motor current of `joint`, A (0 for passive joints). */
double plant_motor_current(const plant_state *plant, int joint);
/** True position (rad or m) of `joint`, without noise or quantisation: for tests. */
double plant_true_position(const plant_state *plant, int joint);
/** True velocity of `joint`: for tests. */
double plant_true_velocity(const plant_state *plant, int joint);
/** Chain: true rotor position behind the backlash (the link's when rigid); others: the joint's. */
double plant_rotor_position(const plant_state *plant, int joint);
/** Effort the actuator delivered in the last substep of `joint` (after latency, driver, gain). */
double plant_applied_effort(const plant_state *plant, int joint);
/**
 * Total mechanical energy, J (kinetic + potential, zero potential at the pivot/track
 * height; the chain: potential zero at y = 0, plus rotor kinetic energy and the backlash
 * spring's energy): for tests of the integrator.
 */
double plant_energy(const plant_state *plant);

#ifdef __cplusplus
}
#endif

#endif /* PLANT_H */
