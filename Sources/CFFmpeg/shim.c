#include "CFFmpeg.h"

int roomd_averror(int posix_errno) { return AVERROR(posix_errno); }
int roomd_averror_eof(void) { return AVERROR_EOF; }

void roomd_av_strerror(int code, char *buf, size_t len) {
    if (av_strerror(code, buf, len) < 0 && len > 0) buf[0] = 0;
}
