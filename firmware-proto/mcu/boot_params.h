/* Boot parameters of the Cortex-M image: which plant, its noise seed and plant parameters,
 * handed from the host to the firmware before it starts. Under QEMU the runner
 * (qemu_runner.c) writes the block into SRAM with `-device loader,file=...,addr=...`; a real
 * board has no block (bad magic) and runs the compiled-in defaults.
 *
 * Byte layout at MCU_BOOT_PARAMS_ADDR, little-endian, read and written byte by byte (no
 * struct punning, so host and target agree whatever their ABI):
 *   0 magic u32 "MCUB"   4 version u32 (1)   8 task u32 (plant_kind: pendulum, cartpole, chain)   12 count u32
 *   16 seed u64          24 + 16 i: parameter i: index u32 (plant_param_name order),
 *                        reserved u32 (0), value f64 (IEEE 754 bits)
 *   24 + 16 count: CRC-32C u32 of every byte before it. */
#ifndef MCU_BOOT_PARAMS_H
#define MCU_BOOT_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "plant.h"

#define MCU_BOOT_PARAMS_ADDR 0x2001FC00u /* the last 1 KB of SRAM, outside .data/.bss */
#define MCU_BOOT_PARAMS_SIZE 1024u
#define MCU_BOOT_MAGIC 0x4255434Du /* "MCUB" little-endian */
#define MCU_BOOT_VERSION 1u
#define MCU_BOOT_MAX_PARAMS 32u
#define MCU_BOOT_BYTES(count) (24u + 16u * (count) + 4u)

typedef struct {
    uint32_t task; /* plant_kind */
    uint64_t seed;
    uint32_t count;
    uint32_t index[MCU_BOOT_MAX_PARAMS];
    double value[MCU_BOOT_MAX_PARAMS];
} mcu_boot_config;

/* Return codes of the functions below. */
#define MCU_BOOT_OK 0
#define MCU_BOOT_ERR_MAGIC (-1)   /* no block (a real board, or a bare QEMU run) */
#define MCU_BOOT_ERR_FORMAT (-2)  /* wrong version, count over the maximum, buffer too small */
#define MCU_BOOT_ERR_CRC (-3)     /* damaged block */

/* Writes the block for `c` into `out`; returns its length, or 0 if `cap` is too small or
 * c->count exceeds MCU_BOOT_MAX_PARAMS. */
size_t mcu_boot_encode(const mcu_boot_config *c, uint8_t *out, size_t cap);
/* Reads a block; MCU_BOOT_OK or an MCU_BOOT_ERR_* code (then *c is unspecified). */
int mcu_boot_decode(const uint8_t *in, size_t len, mcu_boot_config *c);
/* The task's default parameters with c's parameters applied by name (plant_set_param), then
 * checked as a whole. PLANT_OK, or the plant_set_param / plant_validate_params error; on a
 * parameter error *bad_index is the failing entry of c (else -1). */
int mcu_boot_apply(const mcu_boot_config *c, plant_params *p, int *bad_index);

#endif
