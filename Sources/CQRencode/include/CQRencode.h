// libqrencode as Swift sees it.
#ifndef ROOMD_CQRENCODE_H
#define ROOMD_CQRENCODE_H

#include <qrencode.h>

/// Error-correction levels as plain ints, so Swift need not name the C enum.
extern const int roomd_qr_level_low;
extern const int roomd_qr_level_medium;
extern const int roomd_qr_level_quartile;
extern const int roomd_qr_level_high;

/// Encodes `length` bytes in 8-bit mode at the smallest version that fits.
/// Returns NULL and sets errno on failure (ERANGE: the data does not fit in
/// any version; EINVAL, ENOMEM as libqrencode reports them). Free the result
/// with roomd_qr_free.
QRcode *roomd_qr_encode_bytes(const unsigned char *data, int length, int level);

void roomd_qr_free(QRcode *code);

/// Modules per side of the symbol.
int roomd_qr_width(const QRcode *code);

/// 1 when the module at (x, y) is dark: bit 0 of libqrencode's module byte.
int roomd_qr_is_dark(const QRcode *code, int x, int y);

#endif
