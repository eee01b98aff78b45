// FFmpeg (libavformat, libavcodec, libavutil, libswscale) as Swift sees it.
// AVERROR() and friends are macros; they are exported as functions here.
#ifndef ROOMD_CFFMPEG_H
#define ROOMD_CFFMPEG_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/avutil.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

int roomd_averror(int posix_errno);
int roomd_averror_eof(void);

/// av_err2str is a macro over a compound literal; this fills `buf`.
void roomd_av_strerror(int code, char *buf, size_t len);

/// Receives FFmpeg's log lines: whole lines (FFmpeg may emit one in pieces),
/// with the "[codec @ 0x…]" prefix, without the newline.
typedef void (*roomd_av_log_sink)(int level, const char *line);

/// Sends FFmpeg's log lines at or above av_log_get_level() to `sink` instead
/// of stderr; NULL puts FFmpeg's default (stderr) back. The log callback is
/// a C variadic function, which Swift cannot implement.
void roomd_av_log_forward(roomd_av_log_sink sink);

#endif
