#include "CFFmpeg.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>

int roomd_averror(int posix_errno) { return AVERROR(posix_errno); }
int roomd_averror_eof(void) { return AVERROR_EOF; }

void roomd_av_strerror(int code, char *buf, size_t len) {
    if (av_strerror(code, buf, len) < 0 && len > 0) buf[0] = 0;
}

static _Atomic(roomd_av_log_sink) forward_sink;

static void forward_log(void *context, int level, const char *format, va_list arguments) {
    if (level > av_log_get_level()) return;
    roomd_av_log_sink sink = atomic_load(&forward_sink);
    if (!sink) return;
    // One line per thread, assembled from the pieces FFmpeg logs it in.
    static _Thread_local char line[1024];
    static _Thread_local size_t used;
    static _Thread_local int print_prefix = 1;
    char piece[1024];
    av_log_format_line2(context, level, format, arguments, piece, sizeof piece, &print_prefix);
    size_t n = strlen(piece);
    if (n > sizeof line - 1 - used) n = sizeof line - 1 - used;
    memcpy(line + used, piece, n);
    used += n;
    line[used] = 0;
    if (used == 0 || (line[used - 1] != '\n' && used < sizeof line - 1)) return;
    while (used > 0 && (line[used - 1] == '\n' || line[used - 1] == '\r')) line[--used] = 0;
    if (used > 0) sink(level, line);
    used = 0;
    line[0] = 0;
}

void roomd_av_log_forward(roomd_av_log_sink sink) {
    atomic_store(&forward_sink, sink);
    av_log_set_callback(sink ? forward_log : av_log_default_callback);
}
