#include "CV4L2.h"
#include <errno.h>
#include <sys/ioctl.h>

const unsigned long roomd_VIDIOC_QUERYCAP = VIDIOC_QUERYCAP;
const unsigned long roomd_VIDIOC_ENUM_FMT = VIDIOC_ENUM_FMT;
const unsigned long roomd_VIDIOC_ENUM_FRAMESIZES = VIDIOC_ENUM_FRAMESIZES;
const unsigned long roomd_VIDIOC_ENUM_FRAMEINTERVALS = VIDIOC_ENUM_FRAMEINTERVALS;
const unsigned long roomd_VIDIOC_G_FMT = VIDIOC_G_FMT;
const unsigned long roomd_VIDIOC_S_FMT = VIDIOC_S_FMT;
const unsigned long roomd_VIDIOC_S_PARM = VIDIOC_S_PARM;
const unsigned long roomd_VIDIOC_G_PARM = VIDIOC_G_PARM;
const unsigned long roomd_VIDIOC_REQBUFS = VIDIOC_REQBUFS;
const unsigned long roomd_VIDIOC_QUERYBUF = VIDIOC_QUERYBUF;
const unsigned long roomd_VIDIOC_QBUF = VIDIOC_QBUF;
const unsigned long roomd_VIDIOC_DQBUF = VIDIOC_DQBUF;
const unsigned long roomd_VIDIOC_STREAMON = VIDIOC_STREAMON;
const unsigned long roomd_VIDIOC_STREAMOFF = VIDIOC_STREAMOFF;

const uint32_t roomd_V4L2_PIX_FMT_MJPEG = V4L2_PIX_FMT_MJPEG;
const uint32_t roomd_V4L2_PIX_FMT_YUYV = V4L2_PIX_FMT_YUYV;
const uint32_t roomd_V4L2_PIX_FMT_NV12 = V4L2_PIX_FMT_NV12;
const uint32_t roomd_V4L2_PIX_FMT_H264 = V4L2_PIX_FMT_H264;

int roomd_v4l2_ioctl(int fd, unsigned long request, void *arg) {
    int r;
    do {
        r = ioctl(fd, request, arg);
    } while (r == -1 && errno == EINTR);
    return r;
}
