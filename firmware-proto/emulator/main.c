/* robot-emulator: the reference firmware core (firmware/) running on the host against the
 * plant physics (plant/) as its HAL, talking PROTOCOL.md over a pseudo-terminal in real time.
 *
 *   robot-emulator [--task pendulum|cartpole|chain] [--param NAME=VALUE]... [--seed N] ...
 *
 * The first line on stdout is exactly "robot-emulator: pty <path>\n" (flushed); everything
 * else goes to stderr. Runs until SIGINT/SIGTERM, until its parent process exits, or until
 * --duration seconds have passed. See firmware-proto/README.md for every option.
 *
 * Floating point: the plant and the fault injection use double; the firmware core does not
 * (torques cross the HAL as integer mN·m, currents as integer mA). */
#define _GNU_SOURCE /* ppoll, clock_gettime */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fp_firmware.h"
#include "link_faults.h"
#include "plant.h"
#include "pty.h"

/* Enough for every parameter of an 8-joint chain (24 per joint) and the globals. */
#define EMU_MAX_PARAMS 256

typedef struct {
    plant_kind task;
    const char *param_name[EMU_MAX_PARAMS];
    double param_value[EMU_MAX_PARAMS];
    int param_count;
    uint64_t seed;
    unsigned rate_hz;
    emu_link_faults to_mcu, to_host;
    double stall_at, stall_for; /* seconds; stall_at < 0: never */
    double latency_from;        /* seconds: --latency-ms applies from then on (0: from the start) */
    double fault_at, fault_for; /* seconds; fault_at < 0: never; fault_for <= 0: forever */
    double duration;            /* seconds; <= 0: until a signal */
    const char *link_path;      /* optional symlink to the pty */
    int stats;                  /* print statistics on exit */
    int realtime_priority;      /* SCHED_FIFO priority; 0: normal priority */
} emu_options;

/* Everything the HAL callbacks need. */
typedef struct {
    plant_state plant;
    emu_pty pty;
    emu_link to_mcu, to_host;
    uint64_t sim_us;    /* simulated time, advanced by exactly one period per tick */
    uint64_t now_us;    /* real time since start (monotonic) */
    bool motors_enabled;
    int32_t torque_mnm[FP_MAX_MOTORS];
    const emu_options *opt;
    uint64_t late_ticks_dropped;
} emu;

static volatile sig_atomic_t emu_stop = 0;
static void emu_on_signal(int sig) {
    (void)sig;
    emu_stop = 1;
}

static uint64_t emu_monotonic_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool emu_in_window(double t, double at, double length) {
    return at >= 0 && t >= at && (length <= 0 || t < at + length);
}

static bool emu_stalled(const emu *e) {
    return emu_in_window((double)e->now_us * 1e-6, e->opt->stall_at, e->opt->stall_for);
}

/* ---- the HAL over the plant and the pty --------------------------------------------- */

static size_t hal_uart_read(void *ctx, uint8_t *buf, size_t cap) {
    emu *e = ctx;
    return emu_link_pop(&e->to_mcu, buf, cap, e->now_us);
}

static bool hal_uart_write(void *ctx, const uint8_t *buf, size_t len) {
    emu *e = ctx;
    if (EMU_LINK_CAPACITY - e->to_host.count < len) return false;
    emu_link_push(&e->to_host, buf, len, e->now_us);
    return true;
}

static uint32_t hal_clock_us(void *ctx) { return (uint32_t)((emu *)ctx)->sim_us; }

static int32_t hal_encoder(void *ctx, uint8_t motor) {
    return plant_encoder_counts(&((emu *)ctx)->plant, motor);
}

static int32_t hal_current(void *ctx, uint8_t motor) {
    double ma = plant_motor_current(&((emu *)ctx)->plant, motor) * 1000.0;
    if (ma > 2147483647.0) return INT32_MAX;
    if (ma < -2147483648.0) return INT32_MIN;
    return (int32_t)lround(ma);
}

static void hal_set_torque(void *ctx, uint8_t motor, int32_t torque_mnm) {
    emu *e = ctx;
    e->torque_mnm[motor] = torque_mnm;
    plant_set_command(&e->plant, motor, e->motors_enabled ? torque_mnm / 1000.0 : 0.0);
}

static void hal_enable(void *ctx, bool enable) {
    emu *e = ctx;
    e->motors_enabled = enable;
    if (!enable)
        for (int i = 0; i < plant_joint_count(&e->plant); i++) plant_set_command(&e->plant, i, 0.0);
}

static bool hal_motor_fault(void *ctx) {
    emu *e = ctx;
    return emu_in_window((double)e->sim_us * 1e-6, e->opt->fault_at, e->opt->fault_for);
}

/* ---- options ------------------------------------------------------------------------- */

static void emu_usage(FILE *f) {
    fprintf(f,
            "usage: robot-emulator [options]\n"
            "Runs the reference firmware on the host against a simulated robot, over a pseudo-terminal.\n"
            "The first stdout line is \"robot-emulator: pty <path>\"; open that path as the serial port.\n"
            "Example: robot-emulator --task pendulum --param coulomb=0.2 --seed 3 --drop 0.001\n"
            "         robot-emulator --task chain --param joints=2 --param j1.actuated=1 --param j1.backlash=0.01\n\n"
            "  --task pendulum|cartpole|chain   the plant (default pendulum); chain: a planar serial chain\n"
            "                             of 1-8 joints set by the j<i>. parameters (default: an acrobot)\n"
            "  --param NAME=VALUE         set a plant parameter (repeatable; names below)\n"
            "  --seed N                   seed of the sensor noise and of the link faults (default 1)\n"
            "  --rate HZ                  plant and firmware tick rate (default 1000)\n"
            "  --drop P                   drop each byte with probability P, both directions\n"
            "  --drop-to-mcu P, --drop-to-host P          the same, one direction\n"
            "  --corrupt P                flip one bit of each byte with probability P, both directions\n"
            "  --corrupt-to-mcu P, --corrupt-to-host P    the same, one direction\n"
            "  --latency-ms MS            delay every byte by MS milliseconds, each direction\n"
            "  --latency-from T           apply --latency-ms only from T s on (a robot that turns slow)\n"
            "  --stall-at T --stall-for D the link goes dead (bytes both ways lost) from T s for D s\n"
            "  --motor-fault-at T [--motor-fault-for D]   assert the driver fault input at T s (for D s;\n"
            "                             default: for ever)\n"
            "  --duration S               exit after S seconds (default: run until SIGINT/SIGTERM)\n"
            "  --link PATH                also create a symlink PATH to the pty\n"
            "  --stats                    print link and firmware counters to stderr on exit\n"
            "  --realtime PRIO            run under SCHED_FIFO at PRIO (1-99; default 70; 0: normal\n"
            "                             priority). It stands for a microcontroller, which no host\n"
            "                             load can starve; when not permitted it says so and goes on\n"
            "  --help                     this text\n"
            "Exits when its parent process exits. Plant parameters (j<i>. for chain joints i = 0..7):\n");
    for (int i = 0; plant_param_name(i) != NULL; i++) {
        const char *name = plant_param_name(i);
        if (name[0] == 'j' && name[1] >= '1' && name[1] <= '7' && name[2] == '.') continue; /* as j0. */
        if (name[0] == 'j' && name[1] == '0' && name[2] == '.')
            fprintf(f, "  j<i>.%-19s %s\n", name + 3, plant_param_doc(i));
        else
            fprintf(f, "  %-24s %s\n", name, plant_param_doc(i));
    }
}

static const char *emu_task_name(plant_kind kind) {
    return kind == PLANT_CHAIN ? "chain" : (kind == PLANT_CARTPOLE ? "cartpole" : "pendulum");
}

static int emu_number(const char *opt, const char *text, double lo, double hi, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != 0 || !(v >= lo && v <= hi)) {
        fprintf(stderr, "robot-emulator: %s %s: expected a number in [%g, %g]\n", opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int emu_parse(int argc, char **argv, emu_options *o) {
    memset(o, 0, sizeof *o);
    o->task = PLANT_PENDULUM;
    o->seed = 1;
    o->rate_hz = 1000;
    o->stall_at = o->fault_at = -1;
    o->realtime_priority = 70;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            emu_usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--stats") == 0) {
            o->stats = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "robot-emulator: %s needs a value (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        double x = 0;
        if (strcmp(a, "--task") == 0) {
            if (strcmp(v, "pendulum") == 0) {
                o->task = PLANT_PENDULUM;
            } else if (strcmp(v, "cartpole") == 0) {
                o->task = PLANT_CARTPOLE;
            } else if (strcmp(v, "chain") == 0) {
                o->task = PLANT_CHAIN;
            } else {
                fprintf(stderr, "robot-emulator: --task %s: expected pendulum, cartpole or chain\n", v);
                return -1;
            }
        } else if (strcmp(a, "--param") == 0) {
            const char *eq = strchr(v, '=');
            if (eq == NULL || eq == v || o->param_count == EMU_MAX_PARAMS) {
                fprintf(stderr, "robot-emulator: --param %s: expected NAME=VALUE (at most %d)\n", v, EMU_MAX_PARAMS);
                return -1;
            }
            static char names[EMU_MAX_PARAMS][64];
            size_t len = (size_t)(eq - v);
            if (len >= sizeof names[0]) len = sizeof names[0] - 1;
            memcpy(names[o->param_count], v, len);
            names[o->param_count][len] = 0;
            if (emu_number("--param", eq + 1, -1e300, 1e300, &x) != 0) return -1;
            o->param_name[o->param_count] = names[o->param_count];
            o->param_value[o->param_count++] = x;
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno != 0 || end == v || *end != 0) {
                fprintf(stderr, "robot-emulator: --seed %s: expected a non-negative integer\n", v);
                return -1;
            }
            o->seed = s;
        } else if (strcmp(a, "--rate") == 0) {
            if (emu_number(a, v, 100, 20000, &x) != 0) return -1;
            o->rate_hz = (unsigned)x;
        } else if (strcmp(a, "--drop") == 0 || strcmp(a, "--drop-to-mcu") == 0 || strcmp(a, "--drop-to-host") == 0) {
            if (emu_number(a, v, 0, 1, &x) != 0) return -1;
            if (strcmp(a, "--drop-to-host") != 0) o->to_mcu.drop_rate = x;
            if (strcmp(a, "--drop-to-mcu") != 0) o->to_host.drop_rate = x;
        } else if (strcmp(a, "--corrupt") == 0 || strcmp(a, "--corrupt-to-mcu") == 0 ||
                   strcmp(a, "--corrupt-to-host") == 0) {
            if (emu_number(a, v, 0, 1, &x) != 0) return -1;
            if (strcmp(a, "--corrupt-to-host") != 0) o->to_mcu.corrupt_rate = x;
            if (strcmp(a, "--corrupt-to-mcu") != 0) o->to_host.corrupt_rate = x;
        } else if (strcmp(a, "--latency-ms") == 0) {
            if (emu_number(a, v, 0, 10000, &x) != 0) return -1;
            o->to_mcu.latency_us = o->to_host.latency_us = (uint32_t)(x * 1000.0);
        } else if (strcmp(a, "--latency-from") == 0) {
            if (emu_number(a, v, 0, 1e9, &o->latency_from) != 0) return -1;
        } else if (strcmp(a, "--stall-at") == 0) {
            if (emu_number(a, v, 0, 1e9, &o->stall_at) != 0) return -1;
        } else if (strcmp(a, "--stall-for") == 0) {
            if (emu_number(a, v, 0, 1e9, &o->stall_for) != 0) return -1;
        } else if (strcmp(a, "--motor-fault-at") == 0) {
            if (emu_number(a, v, 0, 1e9, &o->fault_at) != 0) return -1;
        } else if (strcmp(a, "--motor-fault-for") == 0) {
            if (emu_number(a, v, 0, 1e9, &o->fault_for) != 0) return -1;
        } else if (strcmp(a, "--duration") == 0) {
            if (emu_number(a, v, 0, 1e9, &o->duration) != 0) return -1;
        } else if (strcmp(a, "--link") == 0) {
            o->link_path = v;
        } else if (strcmp(a, "--realtime") == 0) {
            if (emu_number(a, v, 0, 99, &x) != 0) return -1;
            o->realtime_priority = (int)x;
        } else {
            fprintf(stderr, "robot-emulator: unknown option %s (see --help)\n", a);
            return -1;
        }
    }
    if (o->stall_at >= 0 && o->stall_for <= 0) {
        fprintf(stderr, "robot-emulator: --stall-at needs --stall-for D with D > 0\n");
        return -1;
    }
    return 0;
}

/* ---- the real-time loop -------------------------------------------------------------- */

/* Runs the whole process under SCHED_FIFO at `priority` with its memory locked, as a
 * microcontroller is never preempted by the host's other work. The loop sleeps in ppoll
 * between 1 ms ticks, so it never holds a core. Not permitted (no CAP_SYS_NICE): one line on
 * stderr, and the emulator goes on at normal priority. */
static void emu_enter_realtime(int priority) {
    if (priority <= 0) return;
    struct sched_param sp;
    memset(&sp, 0, sizeof sp);
    sp.sched_priority = priority;
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        fprintf(stderr,
                "robot-emulator: SCHED_FIFO %d not permitted (%s): running at normal priority, so host "
                "load can delay the emulated microcontroller; run as root or grant CAP_SYS_NICE "
                "(or pass --realtime 0 to silence this)\n",
                priority, strerror(errno));
        return;
    }
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
        fprintf(stderr, "robot-emulator: mlockall failed (%s): page faults may delay ticks\n", strerror(errno));
}

/* Moves bytes between the pty and the two link queues. */
static void emu_pump(emu *e) {
    uint8_t buf[512];
    for (;;) {
        ssize_t n = read(e->pty.master, buf, sizeof buf);
        if (n <= 0) break; /* EAGAIN: nothing more; EIO: no host has the port open */
        if (!emu_stalled(e)) emu_link_push(&e->to_mcu, buf, (size_t)n, e->now_us);
    }
    for (;;) {
        size_t n = emu_link_pop(&e->to_host, buf, sizeof buf, e->now_us);
        if (n == 0) break;
        if (emu_stalled(e)) continue; /* a dead link loses what the MCU sends */
        ssize_t w = write(e->pty.master, buf, n);
        if (w < 0) w = 0;
        if ((size_t)w < n) {
            emu_link_unpop(&e->to_host, n - (size_t)w);
            break;
        }
    }
}

static void emu_print_stats(const emu *e, const fp_firmware *fw) {
    const fp_counters *c = &fw->counters;
    fprintf(stderr,
            "robot-emulator: ran %.3f s; to MCU %llu bytes (%llu dropped, %llu corrupted); to host %llu bytes "
            "(%llu dropped, %llu corrupted); frames ok %u, crc errors %u, cobs errors %u, oversize %u, "
            "bad messages %u, watchdog trips %u, sent %u, tx overruns %u, faults 0x%x, late ticks dropped %llu\n",
            (double)e->sim_us * 1e-6, (unsigned long long)e->to_mcu.bytes_in, (unsigned long long)e->to_mcu.dropped,
            (unsigned long long)e->to_mcu.corrupted, (unsigned long long)e->to_host.bytes_in,
            (unsigned long long)e->to_host.dropped, (unsigned long long)e->to_host.corrupted, c->rx_frames_ok,
            c->rx_crc_errors, c->rx_cobs_errors, c->rx_oversize, c->rx_bad_messages, c->watchdog_trips, c->tx_frames,
            c->tx_overruns, fw->faults, (unsigned long long)e->late_ticks_dropped);
}

int main(int argc, char **argv) {
    static emu_options opt;
    static emu e;           /* large (link queues): static, not on the stack */
    static fp_firmware fw;
    if (emu_parse(argc, argv, &opt) != 0) return 2;
    e.opt = &opt;
    emu_enter_realtime(opt.realtime_priority);

    plant_params params;
    plant_default_params(opt.task, &params);
    for (int i = 0; i < opt.param_count; i++) {
        int rc = plant_set_param(&params, opt.param_name[i], opt.param_value[i]);
        if (rc != PLANT_OK) {
            fprintf(stderr, "robot-emulator: --param %s=%g: %s%s (see --help for names and ranges)\n",
                    opt.param_name[i], opt.param_value[i],
                    rc == PLANT_ERR_UNKNOWN_PARAM ? "no such plant parameter"
                    : rc == PLANT_ERR_KIND        ? "not a parameter of --task "
                                                  : "value out of range",
                    rc == PLANT_ERR_KIND ? emu_task_name(opt.task) : "");
            return 2;
        }
    }
    if (plant_init(&e.plant, &params, opt.seed) != PLANT_OK) {
        if (opt.task == PLANT_CHAIN)
            fprintf(stderr, "robot-emulator: --task chain: the joints are not physical: every joint must move "
                            "some mass or inertia, j<i>.backlash needs j<i>.actuated=1 and j<i>.rotor_inertia > 0, and "
                            "j<i>.start must lie within +-j<i>.stop\n");
        else
            fprintf(stderr, "robot-emulator: the plant parameters are inconsistent (plant_validate_params failed)\n");
        return 2;
    }
    emu_link_init(&e.to_mcu, opt.to_mcu, opt.seed ^ 0x6D63755F6C696E6Bull);
    emu_link_init(&e.to_host, opt.to_host, opt.seed ^ 0x686F73745F6C6E6Bull);
    /* --latency-from: no delay until then (bytes queued before keep their release time). */
    if (opt.latency_from > 0) e.to_mcu.faults.latency_us = e.to_host.faults.latency_us = 0;

    fp_board board;
    memset(&board, 0, sizeof board);
    board.motor_count = (uint8_t)plant_joint_count(&e.plant);
    board.control_rate_hz = (uint16_t)opt.rate_hz;
    for (int i = 0; i < board.motor_count; i++) {
        board.counts_per_rev[i] = (uint32_t)lround(plant_encoder_resolution(&e.plant, i));
        /* Actuated joints get their motor's peak (the pendulum motor, the cart belt, a chain's
         * actuated joints); passive ones (a cart-pole's pole, an acrobot's shoulder) report
         * their encoder only: torque_max 0. */
        board.torque_max_mnm[i] = (int32_t)lround(plant_max_effort(&e.plant, i) * 1000.0);
    }
    fp_hal hal = {&e, hal_uart_read, hal_uart_write, hal_clock_us, hal_encoder, hal_current,
                  hal_set_torque, hal_enable, hal_motor_fault};

    if (emu_pty_open(&e.pty) != 0) return 1;
    if (opt.link_path != NULL) {
        unlink(opt.link_path);
        if (symlink(e.pty.path, opt.link_path) != 0) {
            fprintf(stderr, "robot-emulator: --link %s: symlink failed: %s\n", opt.link_path, strerror(errno));
            emu_pty_close(&e.pty);
            return 1;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = emu_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    /* Parent death is detected by polling getppid(), not PR_SET_PDEATHSIG: the latter fires
     * when the spawning *thread* exits, which a Swift test's thread pool does at any time. */
    pid_t parent = getppid();

    printf("robot-emulator: pty %s\n", e.pty.path);
    fflush(stdout);

    fp_firmware_init(&fw, &hal, &board);
    const uint64_t period_us = 1000000u / opt.rate_hz;
    const double dt = (double)period_us * 1e-6;
    const uint64_t start = emu_monotonic_us();
    uint64_t next_tick = 0; /* relative to start */
    unsigned parent_check = 0;

    while (!emu_stop) {
        e.now_us = emu_monotonic_us() - start;
        if (opt.duration > 0 && (double)e.now_us * 1e-6 >= opt.duration) break;
        if (++parent_check % 64 == 0 && getppid() != parent) break;
        if (opt.latency_from > 0 && e.to_mcu.faults.latency_us != opt.to_mcu.latency_us &&
            (double)e.now_us * 1e-6 >= opt.latency_from) {
            e.to_mcu.faults.latency_us = opt.to_mcu.latency_us;
            e.to_host.faults.latency_us = opt.to_host.latency_us;
        }

        emu_pump(&e);
        fp_firmware_poll(&fw);
        /* Catch up with real time, one period per tick; give up on a backlog over 100 ms. */
        if (e.now_us >= next_tick + 100000u) {
            uint64_t behind = (e.now_us - next_tick) / period_us;
            e.late_ticks_dropped += behind;
            next_tick += behind * period_us;
            e.sim_us += behind * period_us;
        }
        while (e.now_us >= next_tick) {
            fp_firmware_tick(&fw);
            plant_step(&e.plant, dt);
            e.sim_us += period_us;
            next_tick += period_us;
            fp_firmware_poll(&fw);
        }
        emu_pump(&e);

        /* Sleep until the next tick, the next delayed byte, or input from the host. */
        uint64_t wake = next_tick;
        uint64_t r1 = emu_link_next_release(&e.to_mcu), r2 = emu_link_next_release(&e.to_host);
        if (r1 < wake) wake = r1;
        if (r2 < wake) wake = r2;
        uint64_t now = emu_monotonic_us() - start;
        uint64_t wait = wake > now ? wake - now : 0;
        struct timespec ts = {(time_t)(wait / 1000000u), (long)(wait % 1000000u) * 1000};
        struct pollfd pfd = {e.pty.master, POLLIN, 0};
        int rc = ppoll(&pfd, 1, &ts, NULL);
        if (rc > 0 && (pfd.revents & (POLLHUP | POLLERR)) && !(pfd.revents & POLLIN)) {
            /* No host has the slave open (cannot happen while we hold it): avoid spinning. */
            struct timespec nap = {0, 1000000};
            nanosleep(&nap, NULL);
        }
    }

    if (opt.stats) emu_print_stats(&e, &fw);
    if (opt.link_path != NULL) unlink(opt.link_path);
    emu_pty_close(&e.pty);
    return 0;
}
