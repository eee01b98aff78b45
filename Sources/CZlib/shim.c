#include "CZlib.h"

#include <zlib.h>

size_t roomd_zlib_compress_bound(size_t length) {
    return (size_t)compressBound((uLong)length);
}

int roomd_zlib_compress(uint8_t *dest, size_t *dest_length, const uint8_t *source, size_t length, int level) {
    uLongf out = (uLongf)*dest_length;
    int status = compress2(dest, &out, source, (uLong)length, level);
    *dest_length = (size_t)out;
    return status;
}

uint32_t roomd_crc32(uint32_t crc, const uint8_t *data, size_t length) {
    // crc32_z takes a size_t length, so buffers over 4 GiB are not truncated.
    return (uint32_t)crc32_z((uLong)crc, data, length);
}
