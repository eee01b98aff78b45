// V4L2 as Swift sees it: ioctl request codes and fourccs are macros built from
// _IOWR and v4l2_fourcc, so they are exported as `extern const` values here.
#ifndef ROOMD_CV4L2_H
#define ROOMD_CV4L2_H

#include <stdint.h>
#include <linux/videodev2.h>

extern const unsigned long roomd_VIDIOC_QUERYCAP;
extern const unsigned long roomd_VIDIOC_ENUM_FMT;
extern const unsigned long roomd_VIDIOC_ENUM_FRAMESIZES;
extern const unsigned long roomd_VIDIOC_ENUM_FRAMEINTERVALS;
extern const unsigned long roomd_VIDIOC_G_FMT;
extern const unsigned long roomd_VIDIOC_S_FMT;
extern const unsigned long roomd_VIDIOC_S_PARM;
extern const unsigned long roomd_VIDIOC_G_PARM;
extern const unsigned long roomd_VIDIOC_REQBUFS;
extern const unsigned long roomd_VIDIOC_QUERYBUF;
extern const unsigned long roomd_VIDIOC_QBUF;
extern const unsigned long roomd_VIDIOC_DQBUF;
extern const unsigned long roomd_VIDIOC_STREAMON;
extern const unsigned long roomd_VIDIOC_STREAMOFF;

extern const uint32_t roomd_V4L2_PIX_FMT_MJPEG;
extern const uint32_t roomd_V4L2_PIX_FMT_YUYV;
extern const uint32_t roomd_V4L2_PIX_FMT_NV12;
extern const uint32_t roomd_V4L2_PIX_FMT_H264;

/// ioctl(2) retried while it fails with EINTR. Returns the ioctl result; on
/// failure -1 with errno set.
int roomd_v4l2_ioctl(int fd, unsigned long request, void *arg);

#endif
