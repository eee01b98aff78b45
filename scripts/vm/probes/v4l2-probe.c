// v4l2-probe: streams a V4L2 capture device the way roomd's capture thread does (mmap buffers,
// poll + VIDIOC_DQBUF) and reports exactly what the driver does, including under vivid's fault
// injection. Built and run by scripts/vm/selftest; handy for exploring a driver by hand too.
//
//   v4l2-probe DEV WIDTH HEIGHT FPS FRAMES [--at N ACTION]... [--streamon-error] [--drop PCT]
//
// ACTION is the v4l2-ctl style name of a button control (disconnect,
// inject_fatal_streaming_error, inject_v4l2_buf_flag_error, ...) pressed after frame N.
// One line per event: "frame seq=.. ts=.. ...", "poll ...", "error <call> errno=<NAME> ...",
// then "summary ...". Exit 0 unless the device could not be set up at all.
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NBUF 4
static const char *ename(int e) {
  switch (e) {
  case ENODEV: return "ENODEV";
  case EIO: return "EIO";
  case EPIPE: return "EPIPE";
  case EINVAL: return "EINVAL";
  case EBUSY: return "EBUSY";
  case EAGAIN: return "EAGAIN";
  case ENOENT: return "ENOENT";
  case ENXIO: return "ENXIO";
  case EPERM: return "EPERM";
  case ENOMEM: return "ENOMEM";
  default: return "E?";
  }
}
static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}
static int xioctl(int fd, unsigned long req, void *arg) {
  int r;
  do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR);
  return r;
}
static void norm(char *s) {  // "Inject Fatal Streaming Error" -> "inject_fatal_streaming_error"
  for (char *p = s; *p; p++) *p = (*p == ' ' || *p == '-' || *p == '(' || *p == ')') ? '_' : (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p;
}
static unsigned find_ctrl(int fd, const char *name) {
  struct v4l2_query_ext_ctrl q = {.id = V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND};
  while (xioctl(fd, VIDIOC_QUERY_EXT_CTRL, &q) == 0) {
    char n[64];
    snprintf(n, sizeof n, "%s", q.name);
    norm(n);
    if (strcmp(n, name) == 0) return q.id;
    q.id |= V4L2_CTRL_FLAG_NEXT_CTRL | V4L2_CTRL_FLAG_NEXT_COMPOUND;
  }
  return 0;
}
static int set_ctrl(int fd, const char *name, int value) {
  unsigned id = find_ctrl(fd, name);
  if (!id) { printf("error no-control %s\n", name); return -1; }
  struct v4l2_control c = {.id = id, .value = value};
  int r = xioctl(fd, VIDIOC_S_CTRL, &c);
  printf("ctrl %s=%d (id 0x%08x) -> %s\n", name, value, id, r ? ename(errno) : "ok");
  return r;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: v4l2-probe DEV W H FPS FRAMES [--at N ACTION]... [--streamon-error] [--drop PCT]\n"); return 2; }
  const char *dev = argv[1];
  unsigned w = atoi(argv[2]), h = atoi(argv[3]), fps = atoi(argv[4]), frames = atoi(argv[5]);
  int at[8], nat = 0, streamon_err = 0, drop = -1;
  const char *act[8];
  for (int i = 6; i < argc; i++) {
    if (!strcmp(argv[i], "--at") && i + 2 < argc && nat < 8) { at[nat] = atoi(argv[i + 1]); act[nat++] = argv[i + 2]; i += 2; }
    else if (!strcmp(argv[i], "--streamon-error")) streamon_err = 1;
    else if (!strcmp(argv[i], "--drop") && i + 1 < argc) drop = atoi(argv[++i]);
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  int fd = open(dev, O_RDWR | O_NONBLOCK);
  if (fd < 0) { printf("error open errno=%s\n", ename(errno)); return 1; }
  struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  f.fmt.pix.width = w; f.fmt.pix.height = h; f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV; f.fmt.pix.field = V4L2_FIELD_NONE;
  if (xioctl(fd, VIDIOC_S_FMT, &f)) { printf("error S_FMT errno=%s\n", ename(errno)); return 1; }
  struct v4l2_streamparm sp = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
  sp.parm.capture.timeperframe.numerator = 1; sp.parm.capture.timeperframe.denominator = fps;
  xioctl(fd, VIDIOC_S_PARM, &sp);
  printf("format %ux%u %.4s sizeimage=%u fps=%u/%u\n", f.fmt.pix.width, f.fmt.pix.height, (char *)&f.fmt.pix.pixelformat,
         f.fmt.pix.sizeimage, sp.parm.capture.timeperframe.denominator, sp.parm.capture.timeperframe.numerator);
  if (drop >= 0) set_ctrl(fd, "percentage_of_dropped_buffers", drop);
  struct v4l2_requestbuffers rb = {.count = NBUF, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
  if (xioctl(fd, VIDIOC_REQBUFS, &rb)) { printf("error REQBUFS errno=%s\n", ename(errno)); return 1; }
  void *mem[NBUF];
  size_t len[NBUF];
  for (unsigned i = 0; i < rb.count; i++) {
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP, .index = i};
    if (xioctl(fd, VIDIOC_QUERYBUF, &b)) { printf("error QUERYBUF errno=%s\n", ename(errno)); return 1; }
    len[i] = b.length;
    mem[i] = mmap(NULL, b.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, b.m.offset);
    if (xioctl(fd, VIDIOC_QBUF, &b)) { printf("error QBUF errno=%s\n", ename(errno)); return 1; }
  }
  int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  if (streamon_err) {
    set_ctrl(fd, "inject_vidioc_streamon_error", 1);
    int r = xioctl(fd, VIDIOC_STREAMON, &type);
    printf("streamon (injected error) -> %s\n", r ? ename(errno) : "ok");
  }
  if (xioctl(fd, VIDIOC_STREAMON, &type)) { printf("error STREAMON errno=%s\n", ename(errno)); return 1; }
  double t0 = mono(), first_ts = -1, last_ts = 0;
  unsigned got = 0, gaps = 0, missing = 0, errflag = 0;
  long first_seq = -1, last_seq = -1;
  int dead = 0;
  while (got < frames && !dead) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLPRI};
    int pr = poll(&p, 1, 3000);
    if (pr == 0) { printf("poll timeout (3 s) after %u frames\n", got); break; }
    if (pr < 0) { printf("error poll errno=%s\n", ename(errno)); break; }
    if (p.revents & ~POLLIN)
      printf("poll revents=0x%x%s%s%s%s at %.3fs\n", p.revents, p.revents & POLLIN ? " IN" : "", p.revents & POLLERR ? " ERR" : "",
             p.revents & POLLHUP ? " HUP" : "", p.revents & POLLPRI ? " PRI" : "", mono() - t0);
    struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_MMAP};
    if (xioctl(fd, VIDIOC_DQBUF, &b)) {
      int e = errno;
      printf("error DQBUF errno=%s after %u frames (poll revents=0x%x)\n", ename(e), got, p.revents);
      if (e == EAGAIN) { usleep(10000); continue; }
      dead = 1;
      break;
    }
    double ts = b.timestamp.tv_sec + b.timestamp.tv_usec / 1e6;
    if (first_seq < 0) { first_seq = b.sequence; first_ts = ts; }
    else if (b.sequence != (unsigned)(last_seq + 1)) {
      gaps++; missing += b.sequence - last_seq - 1;
      printf("gap seq %ld -> %u (%u missing), ts delta %.1f ms\n", last_seq, b.sequence, (unsigned)(b.sequence - last_seq - 1), (ts - last_ts) * 1e3);
    }
    if (b.flags & V4L2_BUF_FLAG_ERROR) { errflag++; printf("frame seq=%u has V4L2_BUF_FLAG_ERROR bytesused=%u\n", b.sequence, b.bytesused); }
    last_seq = b.sequence; last_ts = ts;
    got++;
    if (got <= 2 || got == frames)
      printf("frame n=%u seq=%u ts=%.6f bytesused=%u flags=0x%x%s now=%.6f\n", got, b.sequence, ts, b.bytesused, b.flags,
             (b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) == V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC ? " (monotonic)" : "", mono());
    unsigned seq = b.sequence;
    if (xioctl(fd, VIDIOC_QBUF, &b)) { printf("error QBUF errno=%s after %u frames\n", ename(errno), got); dead = 1; }
    for (int i = 0; i < nat; i++)
      if (at[i] == (int)got) {
        printf("action %s after frame %u (seq %u)\n", act[i], got, seq);
        set_ctrl(fd, act[i], 1);
      }
  }
  double el = mono() - t0;
  printf("summary frames=%u seq=%ld..%ld gaps=%u missing=%u error_flags=%u elapsed=%.2fs fps=%.2f ts_span=%.2fs\n", got, first_seq,
         last_seq, gaps, missing, errflag, el, got > 1 ? (got - 1) / (last_ts - first_ts) : 0.0, last_ts - first_ts);
  if (dead) {
    // What a recorder sees afterwards: further ioctls on the old fd, the node, a reopen.
    struct v4l2_capability cap;
    int r = xioctl(fd, VIDIOC_QUERYCAP, &cap);
    printf("after: QUERYCAP on old fd -> %s\n", r ? ename(errno) : "ok");
    r = xioctl(fd, VIDIOC_STREAMOFF, &type);
    printf("after: STREAMOFF on old fd -> %s\n", r ? ename(errno) : "ok");
    r = xioctl(fd, VIDIOC_STREAMON, &type);
    printf("after: STREAMON on old fd -> %s\n", r ? ename(errno) : "ok");
    struct stat st;
    printf("after: stat %s -> %s\n", dev, stat(dev, &st) ? ename(errno) : "exists");
    int fd2 = open(dev, O_RDWR | O_NONBLOCK);
    printf("after: reopen %s -> %s\n", dev, fd2 < 0 ? ename(errno) : "ok");
    if (fd2 >= 0) close(fd2);
    // An mmap holds a reference to the open file: close() alone does not release the device.
    close(fd);
    fd = open(dev, O_RDWR | O_NONBLOCK);
    printf("after: close old fd (buffers still mapped), reopen -> %s\n", fd < 0 ? ename(errno) : "ok");
    if (fd >= 0) {
      r = xioctl(fd, VIDIOC_S_FMT, &f);
      printf("after: S_FMT on new fd -> %s\n", r ? ename(errno) : "ok");
      close(fd);
    }
    for (unsigned i = 0; i < rb.count; i++) munmap(mem[i], len[i]);
    fd = open(dev, O_RDWR | O_NONBLOCK);
    printf("after: munmap too, reopen -> %s\n", fd < 0 ? ename(errno) : "ok");
    if (fd >= 0) {
      r = xioctl(fd, VIDIOC_S_FMT, &f);
      printf("after: S_FMT on new fd -> %s\n", r ? ename(errno) : "ok");
    }
    if (fd >= 0) close(fd);
    return 0;
  }
  for (unsigned i = 0; i < rb.count; i++) munmap(mem[i], len[i]);
  if (fd >= 0) close(fd);
  return 0;
}
