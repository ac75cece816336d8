/* CRC-32C (Castagnoli), the frame check of PROTOCOL.md section 1.1.
 * Parameters: poly 0x1EDC6F41 (reflected 0x82F63B78), init 0xFFFFFFFF, reflected in and out,
 * final XOR 0xFFFFFFFF; check value of "123456789" is 0xE3069283.
 * Table-free nibble-wise form (a 16-entry table), small enough for any MCU. */
#ifndef FP_CRC32C_H
#define FP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of `len` bytes. Real-time safe: no allocation, no lock, bounded time. */
uint32_t fp_crc32c(const uint8_t *data, size_t len);

/* Incremental form: start with fp_crc32c_begin(), feed pieces, finish with fp_crc32c_end(). */
static inline uint32_t fp_crc32c_begin(void) { return 0xFFFFFFFFu; }
uint32_t fp_crc32c_update(uint32_t state, const uint8_t *data, size_t len);
static inline uint32_t fp_crc32c_end(uint32_t state) { return state ^ 0xFFFFFFFFu; }

#endif
