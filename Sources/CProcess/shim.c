#include "CProcess.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

pid_t roomd_fork(void) {
    return fork();
}

int roomd_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int roomd_socketpair_seqpacket(int fds[2]) {
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds);
}

int roomd_pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int roomd_pidfd_send_signal(int pidfd, int signal) {
#ifdef SYS_pidfd_send_signal
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

ssize_t roomd_send_with_fds(int socket, const void *buffer, size_t length, const int *fds, int count) {
    if (count < 0 || count > 4) {
        errno = EINVAL;
        return -1;
    }
    struct iovec iov = {.iov_base = (void *)buffer, .iov_len = length};
    union {
        char bytes[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1};
    if (count > 0) {
        message.msg_control = control.bytes;
        message.msg_controllen = CMSG_SPACE((size_t)count * sizeof(int));
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN((size_t)count * sizeof(int));
        memcpy(CMSG_DATA(header), fds, (size_t)count * sizeof(int));
    }
    ssize_t sent;
    do {
        sent = sendmsg(socket, &message, MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
    return sent;
}

ssize_t roomd_recv_with_fds(int socket, void *buffer, size_t length, int *fds, int capacity, int *count) {
    struct iovec iov = {.iov_base = buffer, .iov_len = length};
    union {
        char bytes[CMSG_SPACE(16 * sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                             .msg_controllen = sizeof control.bytes};
    *count = 0;
    ssize_t received;
    do {
        received = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    } while (received < 0 && errno == EINTR);
    if (received < 0) return received;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int n = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int passed[16];
        memcpy(passed, CMSG_DATA(header), (size_t)n * sizeof(int));
        for (int i = 0; i < n; i++) {
            if (*count < capacity) {
                fds[(*count)++] = passed[i];
            } else {
                close(passed[i]);
            }
        }
    }
    if (message.msg_flags & MSG_TRUNC) {
        errno = EMSGSIZE;
        for (int i = 0; i < *count; i++) close(fds[i]);
        *count = 0;
        return -1;
    }
    return received;
}

int roomd_signalfd_sigchld(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int roomd_drain_signalfd(int fd) {
    struct signalfd_siginfo info[8];
    int signals = 0;
    for (;;) {
        ssize_t n = read(fd, info, sizeof info);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return signals;
        signals += (int)(n / (ssize_t)sizeof info[0]);
    }
}

void roomd_reset_signals(void) {
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        signal(s, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

void roomd_set_argument(char **argv, int index, const char *text) {
    char *slot = argv[index];
    if (!slot) return;
    size_t room = strlen(slot);
    size_t n = strlen(text);
    if (n > room) n = room;
    memcpy(slot, text, n);
    memset(slot + n, 0, room - n);
}
