/* robot-mcu-qemu: runs the STM32F405 image (firmware.elf) under qemu-system-arm -M
 * netduinoplus2 and follows robot-emulator's start-up contract, so a host that can start the
 * emulator can start the firmware on the emulated microcontroller instead:
 *
 *   robot-mcu-qemu [--task pendulum|cartpole|chain] [--param NAME=VALUE]... [--seed N] [--rate 1000]
 *                  [--duration S] [--link PATH] [--image ELF] [--diag FILE] [--icount]
 *                  [--realtime PRIO]
 *
 * The first stdout line is exactly "robot-emulator: pty <path>\n" (flushed): the pty of the
 * MCU's USART1, printed once the link works: after the firmware's "mcu: boot" line on the
 * diagnostics UART, the runner opens the pty itself and sends HELLO until CAPABILITIES come
 * back (QEMU notices a newly opened pty only on a 1 s poll, and a USART that is still off
 * drops bytes), then discards what is queued. It keeps that pty open, as robot-emulator does,
 * so a host may close and reopen the port. Nothing else goes to stdout. The MCU's diagnostics UART (USART2: boot line,
 * then one timing line a second) goes to stderr, or to --diag FILE. --task, --param and
 * --seed reach the firmware as a boot-parameter block (boot_params.h) that QEMU's generic
 * loader writes into SRAM; they are checked here first with the plant's own code, so a bad
 * name or value exits with code 2 and one line, as robot-emulator does.
 *
 * QEMU runs under SCHED_FIFO at --realtime PRIO (default 70, as robot-emulator; 0: normal
 * priority) with its memory locked (-overcommit mem-lock=on), so host load does not starve
 * the emulated microcontroller; where that is not permitted, one line and normal priority.
 *
 * Runs until SIGINT, SIGTERM or SIGHUP, --duration seconds, its parent's exit (getppid
 * polled every 50 ms), or QEMU's exit; stops QEMU with SIGTERM. Exit code 0, 2 for a bad
 * option, 1 if QEMU cannot start, prints no pty within 10 s, or dies by itself.
 *
 * Timing: by default QEMU's virtual clock is the host clock, so the firmware's time (TIM2)
 * follows real time, as a host's watchdog and 200 Hz loop expect; its cycle counts then
 * measure the host, not the MCU. --icount runs QEMU with -icount shift=0 (each instruction
 * advances virtual time by exactly 1 ns; idle time in WFI follows real time, with some lag
 * on a loaded host), which makes the firmware's SysTick cycle counts exact instruction
 * counts (README.md, "Cortex-M4F port"). The emulator's link fault options (--drop, --stall-at, ...) are not
 * modelled here: use robot-emulator for those. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <termios.h>

#include "boot_params.h"
#include "fp_link.h"
#include "fp_protocol.h"
#include "plant.h"

#define RUNNER "robot-mcu-qemu"

static volatile sig_atomic_t runner_stop = 0;
static void runner_on_signal(int sig) {
    (void)sig;
    runner_stop = 1;
}

static double runner_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    mcu_boot_config boot;
    double duration;
    const char *link, *image, *diag, *qemu;
    int icount;
    int realtime_priority;
} runner_options;

static void runner_usage(FILE *f) {
    fprintf(f,
            "usage: " RUNNER " [options]\n"
            "Runs the reference firmware on an emulated STM32F405 (qemu-system-arm -M netduinoplus2),\n"
            "the plant on the MCU behind its HAL. The first stdout line is \"robot-emulator: pty <path>\".\n\n"
            "  --task pendulum|cartpole|chain  the plant (default pendulum; chain: a robot file's joints)\n"
            "  --rate 1000                accepted for robot-emulator's arguments: the MCU ticks at 1 kHz\n"
            "  --param NAME=VALUE         set a plant parameter (repeatable, at most %u; names below)\n"
            "  --seed N                   seed of the plant's sensor noise (default 1)\n"
            "  --duration S               exit after S seconds (default: until SIGINT/SIGTERM)\n"
            "  --link PATH                also create a symlink PATH to the pty\n"
            "  --image ELF                the firmware image (default: firmware.elf beside this program)\n"
            "  --diag FILE                the MCU's diagnostics UART to FILE (default: stderr)\n"
            "  --qemu PATH                qemu-system-arm to run (default: from PATH)\n"
            "  --realtime PRIO            run QEMU under SCHED_FIFO at PRIO, memory locked (1-99; default 70;\n"
            "                             0: normal priority)\n"
            "  --icount                   run QEMU with -icount shift=0: the diagnostics' cycle counts become\n"
            "                             exact instruction counts (virtual time may lag real time)\n"
            "  --help                     this text\n"
            "Plant parameters:\n",
            MCU_BOOT_MAX_PARAMS);
    for (int i = 0; plant_param_name(i) != NULL; i++)
        fprintf(f, "  %-18s %s\n", plant_param_name(i), plant_param_doc(i));
}

static int runner_parse(int argc, char **argv, runner_options *o) {
    memset(o, 0, sizeof *o);
    o->boot.task = PLANT_PENDULUM;
    o->boot.seed = 1;
    o->qemu = "qemu-system-arm";
    o->icount = 0;
    o->realtime_priority = 70;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            runner_usage(stdout);
            exit(0);
        }
        if (strcmp(a, "--icount") == 0) {
            o->icount = 1;
            continue;
        }
        int known = strcmp(a, "--task") == 0 || strcmp(a, "--param") == 0 || strcmp(a, "--seed") == 0 ||
                    strcmp(a, "--duration") == 0 || strcmp(a, "--link") == 0 || strcmp(a, "--image") == 0 ||
                    strcmp(a, "--diag") == 0 || strcmp(a, "--qemu") == 0 || strcmp(a, "--realtime") == 0 ||
                    strcmp(a, "--rate") == 0;
        if (!known) {
            fprintf(stderr, RUNNER ": unknown option %s (link faults are robot-emulator's; see --help)\n", a);
            return -1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, RUNNER ": %s needs a value (see --help)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        char *end = NULL;
        errno = 0;
        if (strcmp(a, "--task") == 0) {
            if (strcmp(v, "pendulum") == 0) {
                o->boot.task = PLANT_PENDULUM;
            } else if (strcmp(v, "cartpole") == 0) {
                o->boot.task = PLANT_CARTPOLE;
            } else if (strcmp(v, "chain") == 0) {
                o->boot.task = PLANT_CHAIN;
            } else {
                fprintf(stderr, RUNNER ": --task %s: expected pendulum, cartpole or chain\n", v);
                return -1;
            }
        } else if (strcmp(a, "--rate") == 0) {
            if (strcmp(v, "1000") != 0) {
                fprintf(stderr, RUNNER ": --rate %s: the MCU image ticks at 1000 Hz only\n", v);
                return -1;
            }
        } else if (strcmp(a, "--param") == 0) {
            const char *eq = strchr(v, '=');
            int index = -1;
            for (int k = 0; eq != NULL && plant_param_name(k) != NULL; k++) {
                const char *name = plant_param_name(k);
                if (strlen(name) == (size_t)(eq - v) && strncmp(name, v, (size_t)(eq - v)) == 0) index = k;
            }
            double x = eq ? strtod(eq + 1, &end) : 0;
            if (eq == NULL || index < 0 || errno != 0 || end == eq + 1 || *end != 0 ||
                o->boot.count == MCU_BOOT_MAX_PARAMS) {
                fprintf(stderr, RUNNER ": --param %s: expected NAME=VALUE with a plant parameter name (see --help), at most %u\n",
                        v, MCU_BOOT_MAX_PARAMS);
                return -1;
            }
            o->boot.index[o->boot.count] = (uint32_t)index;
            o->boot.value[o->boot.count++] = x;
        } else if (strcmp(a, "--seed") == 0) {
            unsigned long long s = strtoull(v, &end, 10);
            if (errno != 0 || end == v || *end != 0) {
                fprintf(stderr, RUNNER ": --seed %s: expected a non-negative integer\n", v);
                return -1;
            }
            o->boot.seed = s;
        } else if (strcmp(a, "--duration") == 0) {
            o->duration = strtod(v, &end);
            if (errno != 0 || end == v || *end != 0 || !(o->duration >= 0 && o->duration <= 1e9)) {
                fprintf(stderr, RUNNER ": --duration %s: expected seconds in [0, 1e9]\n", v);
                return -1;
            }
        } else if (strcmp(a, "--realtime") == 0) {
            long prio = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != 0 || prio < 0 || prio > 99) {
                fprintf(stderr, RUNNER ": --realtime %s: expected a SCHED_FIFO priority 1-99, or 0 for normal priority\n", v);
                return -1;
            }
            o->realtime_priority = (int)prio;
        } else if (strcmp(a, "--link") == 0) {
            o->link = v;
        } else if (strcmp(a, "--image") == 0) {
            o->image = v;
        } else if (strcmp(a, "--diag") == 0) {
            o->diag = v;
        } else {
            o->qemu = v;
        }
    }
    /* The plant's own checks, exactly as the firmware will apply them. */
    plant_params p;
    int bad = -1;
    int rc = mcu_boot_apply(&o->boot, &p, &bad);
    if (rc != PLANT_OK) {
        if (bad >= 0)
            fprintf(stderr, RUNNER ": --param %s=%g: value out of range (see --help for names and ranges)\n",
                    plant_param_name((int)o->boot.index[bad]), o->boot.value[bad]);
        else
            fprintf(stderr, RUNNER ": the plant parameters are inconsistent (plant_validate_params failed)\n");
        return -1;
    }
    return 0;
}

/* Opens the pty raw and sends HELLO (every 100 ms) until a CAPABILITIES reply arrives or
 * `timeout_s` passes; then flushes both directions. The open descriptor, or -1. */
static int runner_link_check(const char *path, double timeout_s) {
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return -1;
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    fp_message hello;
    memset(&hello, 0, sizeof hello);
    hello.type = FP_MSG_HELLO;
    hello.seq = 0xFFF0;
    uint8_t wire[FP_MAX_WIRE + 1];
    wire[0] = 0; /* a delimiter first: resynchronise the receiver */
    size_t n = fp_message_encode(&hello, wire + 1, sizeof wire - 1) + 1;
    fp_receiver rx;
    fp_receiver_init(&rx);
    double end = runner_now() + timeout_s;
    while (runner_now() < end && !runner_stop) {
        if (write(fd, wire, n) != (ssize_t)n) { /* QEMU not reading yet: retry */
        }
        double next = runner_now() + 0.1;
        while (runner_now() < next) {
            struct pollfd p = {fd, POLLIN, 0};
            (void)poll(&p, 1, 10);
            uint8_t buf[128];
            ssize_t r;
            while ((r = read(fd, buf, sizeof buf)) > 0) {
                for (ssize_t i = 0; i < r; i++) {
                    fp_frame f;
                    fp_message m;
                    if (fp_receiver_feed(&rx, buf[i], &f) == FP_RX_FRAME && fp_message_parse(&f, &m) == FP_PARSE_OK &&
                        m.type == FP_MSG_CAPABILITIES && m.echo_seq == hello.seq) {
                        struct timespec settle = {0, 20000000}; /* replies to retries still in flight */
                        nanosleep(&settle, NULL);
                        tcflush(fd, TCIOFLUSH);
                        return fd;
                    }
                }
            }
        }
    }
    close(fd);
    return -1;
}

/* firmware.elf beside this executable (/proc/self/exe). */
static const char *runner_default_image(void) {
    static char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
    if (n <= 0) return "firmware.elf";
    path[n] = 0;
    char *slash = strrchr(path, '/');
    strcpy(slash ? slash + 1 : path, "firmware.elf");
    return path;
}

int main(int argc, char **argv) {
    static runner_options opt;
    if (runner_parse(argc, argv, &opt) != 0) return 2;
    const char *image = opt.image ? opt.image : runner_default_image();
    if (access(image, R_OK) != 0) {
        fprintf(stderr, RUNNER ": %s: firmware image not readable (%s); build it with `make -C firmware-proto/mcu image`\n",
                image, strerror(errno));
        return 2;
    }

    /* The boot-parameter block, in a temporary file for QEMU's generic loader. */
    uint8_t block[MCU_BOOT_BYTES(MCU_BOOT_MAX_PARAMS)];
    size_t block_len = mcu_boot_encode(&opt.boot, block, sizeof block);
    char block_path[] = "/tmp/robot-mcu-qemu-XXXXXX";
    int bfd = mkstemp(block_path);
    if (bfd < 0 || block_len == 0 || write(bfd, block, block_len) != (ssize_t)block_len) {
        fprintf(stderr, RUNNER ": cannot write the boot-parameter file %s: %s\n", block_path, strerror(errno));
        return 1;
    }
    close(bfd);
    char loader[256];
    snprintf(loader, sizeof loader, "loader,file=%s,addr=0x%08X,force-raw=on", block_path, MCU_BOOT_PARAMS_ADDR);
    FILE *diag = stderr;
    if (opt.diag != NULL && (diag = fopen(opt.diag, "w")) == NULL) {
        fprintf(stderr, RUNNER ": --diag %s: cannot write: %s\n", opt.diag, strerror(errno));
        unlink(block_path);
        return 2;
    }

    const char *qargv[24];
    int n = 0;
    qargv[n++] = opt.qemu;
    qargv[n++] = "-M";
    qargv[n++] = "netduinoplus2";
    qargv[n++] = "-kernel";
    qargv[n++] = image;
    qargv[n++] = "-display";
    qargv[n++] = "none";
    qargv[n++] = "-monitor";
    qargv[n++] = "none";
    qargv[n++] = "-serial";
    qargv[n++] = "pty";
    qargv[n++] = "-serial";
    qargv[n++] = "stdio"; /* the diagnostics UART: read here, to stderr or --diag */
    qargv[n++] = "-device";
    qargv[n++] = loader;
    /* A 16 MB translation cache (the image is 28 KB; QEMU's default is 1 GB, all of which
     * mem-lock would pin). */
    qargv[n++] = "-accel";
    qargv[n++] = "tcg,tb-size=16";
    if (opt.icount) {
        qargv[n++] = "-icount";
        qargv[n++] = "shift=0";
    }
    /* Under SCHED_FIFO (inherited by every QEMU thread through exec), and memory locked. */
    int realtime = 0;
    if (opt.realtime_priority > 0) {
        struct sched_param sp = {.sched_priority = opt.realtime_priority};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0) {
            realtime = 1;
            /* QEMU refuses to start if it cannot lock its ~250 MB: only where permitted. */
            struct rlimit lim;
            if (geteuid() == 0 || (getrlimit(RLIMIT_MEMLOCK, &lim) == 0 &&
                                   (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= (512ul << 20)))) {
                qargv[n++] = "-overcommit";
                qargv[n++] = "mem-lock=on";
            } else {
                fprintf(stderr, RUNNER ": memory locking not permitted (RLIMIT_MEMLOCK): QEMU's pages may be swapped\n");
            }
            sp.sched_priority = 0;
            sched_setscheduler(0, SCHED_OTHER, &sp); /* the runner itself: normal priority */
        } else {
            fprintf(stderr,
                    RUNNER ": SCHED_FIFO %d not permitted (%s): QEMU runs at normal priority, so host load can "
                    "delay the emulated MCU (or pass --realtime 0 to silence this)\n",
                    opt.realtime_priority, strerror(errno));
        }
    }
    qargv[n] = NULL;

    /* QEMU: stdin /dev/null; stdout (where it reports the pty, and its stdio serial: the
     * diagnostics) and stderr into a pipe that we read for the pty line and pass on to our
     * stderr. */
    int err[2];
    if (pipe(err) != 0) return 1;
    pid_t runner_pid = getpid();
    pid_t qemu = fork();
    if (qemu < 0) return 1;
    if (qemu == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(err[1], 1);
        dup2(err[1], 2);
        close(err[0]);
        close(err[1]);
        setpgid(0, 0); /* a Ctrl-C at the terminal reaches us, and we stop QEMU in order */
        /* If this runner is killed outright (SIGKILL), QEMU must not outlive it. */
        (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != runner_pid) _exit(1);
        if (realtime) {
            struct sched_param sp = {.sched_priority = opt.realtime_priority};
            (void)sched_setscheduler(0, SCHED_FIFO, &sp); /* permitted: checked above */
        }
        execvp(opt.qemu, (char *const *)qargv);
        fprintf(stderr, RUNNER ": cannot run %s: %s (install qemu-system-arm)\n", opt.qemu, strerror(errno));
        _exit(127);
    }
    close(err[1]);
    fcntl(err[0], F_SETFL, O_NONBLOCK);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = runner_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    pid_t parent = getppid();

    const char *marker = "char device redirected to ";
    char text[4096];
    size_t len = 0;
    int have_pty = 0, booted = 0, exit_code = 0, qemu_gone = 0, link_fd = -1;
    char pty_path[256] = "";
    const double start = runner_now();
    while (!runner_stop) {
        struct pollfd p = {err[0], POLLIN, 0};
        (void)poll(&p, 1, 50);
        ssize_t r;
        while ((r = read(err[0], text + len, sizeof text - 1 - len)) > 0) len += (size_t)r;
        text[len] = 0;
        /* Pass QEMU's complete stderr lines on; the pty line becomes our first stdout line. */
        char *nl;
        while ((nl = strchr(text, '\n')) != NULL) {
            *nl = 0;
            char *m = strstr(text, marker);
            if (pty_path[0] == 0 && m != NULL && strstr(m, "(label serial0)") != NULL) {
                char *path = m + strlen(marker);
                char *sp = strchr(path, ' ');
                if (sp) *sp = 0;
                snprintf(pty_path, sizeof pty_path, "%s", path);
            } else if (strncmp(text, "mcu: ", 5) == 0) {
                booted |= strncmp(text, "mcu: boot", 9) == 0;
                fprintf(diag, "%s\n", text);
                fflush(diag);
            } else {
                fprintf(stderr, "%s\n", text);
            }
            if (!have_pty && booted && pty_path[0] != 0) {
                link_fd = runner_link_check(pty_path, 10.0);
                if (link_fd < 0) {
                    fprintf(stderr, RUNNER ": %s: no CAPABILITIES reply to HELLO within 10 s; the firmware booted but its link does not work\n",
                            pty_path);
                    exit_code = 1;
                    runner_stop = 1;
                    break;
                }
                if (opt.link != NULL) {
                    unlink(opt.link);
                    if (symlink(pty_path, opt.link) != 0) {
                        fprintf(stderr, RUNNER ": --link %s: symlink failed: %s\n", opt.link, strerror(errno));
                        exit_code = 1;
                        runner_stop = 1;
                    }
                }
                printf("robot-emulator: pty %s\n", pty_path);
                fflush(stdout);
                have_pty = 1;
            }
            size_t used = (size_t)(nl + 1 - text);
            memmove(text, nl + 1, len - used + 1);
            len -= used;
        }
        if (len == sizeof text - 1) len = 0; /* a line longer than the buffer: dropped */
        int status = 0;
        if (waitpid(qemu, &status, WNOHANG) == qemu) {
            qemu_gone = 1;
            fprintf(stderr, RUNNER ": qemu-system-arm exited (%s %d); see its messages above\n",
                    WIFEXITED(status) ? "code" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            exit_code = 1;
            break;
        }
        double t = runner_now() - start;
        if (!have_pty && t > 10.0) {
            fprintf(stderr, RUNNER ": %s within 10 s; check that qemu-system-arm is QEMU 7.2 or later and the image is firmware.elf\n",
                    pty_path[0] ? "the firmware did not boot (no \"mcu: boot\" line)" : "qemu-system-arm printed no pty");
            exit_code = 1;
            break;
        }
        if (opt.duration > 0 && t >= opt.duration) break;
        if (getppid() != parent) break;
    }
    if (!qemu_gone) {
        kill(qemu, SIGTERM);
        waitpid(qemu, NULL, 0);
    }
    unlink(block_path);
    if (link_fd >= 0) close(link_fd);
    if (opt.link != NULL && have_pty) unlink(opt.link);
    if (diag != stderr) fclose(diag);
    return exit_code;
}
