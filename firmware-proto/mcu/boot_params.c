/* See boot_params.h. Built into the Cortex-M image and into the host-side QEMU runner. */
#include "boot_params.h"

#include <string.h>

#include "fp_crc32c.h"

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

size_t mcu_boot_encode(const mcu_boot_config *c, uint8_t *out, size_t cap) {
    if (c->count > MCU_BOOT_MAX_PARAMS || cap < MCU_BOOT_BYTES(c->count)) return 0;
    put32(out, MCU_BOOT_MAGIC);
    put32(out + 4, MCU_BOOT_VERSION);
    put32(out + 8, c->task);
    put32(out + 12, c->count);
    put64(out + 16, c->seed);
    for (uint32_t i = 0; i < c->count; i++) {
        uint8_t *e = out + 24 + 16 * i;
        uint64_t bits;
        memcpy(&bits, &c->value[i], sizeof bits);
        put32(e, c->index[i]);
        put32(e + 4, 0);
        put64(e + 8, bits);
    }
    size_t body = 24u + 16u * c->count;
    put32(out + body, fp_crc32c(out, body));
    return body + 4u;
}

int mcu_boot_decode(const uint8_t *in, size_t len, mcu_boot_config *c) {
    if (len < 24u || get32(in) != MCU_BOOT_MAGIC) return MCU_BOOT_ERR_MAGIC;
    uint32_t count = get32(in + 12);
    if (get32(in + 4) != MCU_BOOT_VERSION || count > MCU_BOOT_MAX_PARAMS || len < MCU_BOOT_BYTES(count))
        return MCU_BOOT_ERR_FORMAT;
    size_t body = 24u + 16u * count;
    if (get32(in + body) != fp_crc32c(in, body)) return MCU_BOOT_ERR_CRC;
    c->task = get32(in + 8);
    c->count = count;
    c->seed = get64(in + 16);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = in + 24 + 16 * i;
        uint64_t bits = get64(e + 8);
        c->index[i] = get32(e);
        memcpy(&c->value[i], &bits, sizeof bits);
    }
    return MCU_BOOT_OK;
}

int mcu_boot_apply(const mcu_boot_config *c, plant_params *p, int *bad_index) {
    *bad_index = -1;
    if (c->task != PLANT_PENDULUM && c->task != PLANT_CARTPOLE && c->task != PLANT_CHAIN) return PLANT_ERR_KIND;
    plant_default_params((plant_kind)c->task, p);
    for (uint32_t i = 0; i < c->count && i < MCU_BOOT_MAX_PARAMS; i++) {
        const char *name = plant_param_name((int)c->index[i]);
        int rc = name == NULL ? PLANT_ERR_UNKNOWN_PARAM : plant_set_param(p, name, c->value[i]);
        if (rc != PLANT_OK) {
            *bad_index = (int)i;
            return rc;
        }
    }
    return plant_validate_params(p);
}
