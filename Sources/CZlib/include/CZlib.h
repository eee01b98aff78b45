// zlib as Swift sees it: one-shot compression and CRC-32 for the PNG encoder.
#ifndef ROOMD_CZLIB_H
#define ROOMD_CZLIB_H

#include <stddef.h>
#include <stdint.h>

/// An upper bound on the compressed size of `length` bytes.
size_t roomd_zlib_compress_bound(size_t length);

/// zlib-format (RFC 1950) compression of `source` into `dest`; `*dest_length`
/// holds the buffer size on entry and the compressed size on return.
/// Returns zlib's status (0 is Z_OK).
int roomd_zlib_compress(uint8_t *dest, size_t *dest_length, const uint8_t *source, size_t length, int level);

/// CRC-32 (ISO 3309, as PNG uses it) of `data`, continuing from `crc`
/// (start with 0).
uint32_t roomd_crc32(uint32_t crc, const uint8_t *data, size_t length);

#endif
