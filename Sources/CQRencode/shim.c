#include "CQRencode.h"

const int roomd_qr_level_low = QR_ECLEVEL_L;
const int roomd_qr_level_medium = QR_ECLEVEL_M;
const int roomd_qr_level_quartile = QR_ECLEVEL_Q;
const int roomd_qr_level_high = QR_ECLEVEL_H;

QRcode *roomd_qr_encode_bytes(const unsigned char *data, int length, int level) {
    // Version 0 lets the library pick the smallest symbol that holds the data.
    return QRcode_encodeData(length, data, 0, (QRecLevel)level);
}

void roomd_qr_free(QRcode *code) {
    QRcode_free(code);
}

int roomd_qr_width(const QRcode *code) {
    return code->width;
}

int roomd_qr_is_dark(const QRcode *code, int x, int y) {
    return code->data[y * code->width + x] & 1;
}
