#include "fp_crc32c.h"

/* table[i] = CRC-32C register after shifting nibble i through the reflected polynomial. */
static const uint32_t fp_crc32c_nibble[16] = {
    0x00000000u, 0x105EC76Fu, 0x20BD8EDEu, 0x30E349B1u, 0x417B1DBCu, 0x5125DAD3u,
    0x61C69362u, 0x7198540Du, 0x82F63B78u, 0x92A8FC17u, 0xA24BB5A6u, 0xB21572C9u,
    0xC38D26C4u, 0xD3D3E1ABu, 0xE330A81Au, 0xF36E6F75u,
};

uint32_t fp_crc32c_update(uint32_t state, const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; i++) {
        state ^= data[i];
        state = (state >> 4) ^ fp_crc32c_nibble[state & 0x0Fu];
        state = (state >> 4) ^ fp_crc32c_nibble[state & 0x0Fu];
    }
    return state;
}

uint32_t fp_crc32c(const uint8_t *data, size_t len) {
    return fp_crc32c_end(fp_crc32c_update(fp_crc32c_begin(), data, len));
}
