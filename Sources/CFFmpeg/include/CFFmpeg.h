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

#endif
