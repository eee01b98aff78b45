#define _GNU_SOURCE
#include <malloc.h>
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

// MARK: Confinement: Landlock and seccomp
//
// The structures and numbers are the kernel's UAPI (linux/landlock.h,
// linux/seccomp.h), spelled out here so the code builds against older kernel
// headers than the kernels it meets. The system call numbers are the same on
// every architecture (the generic table).

#include <sys/vfs.h>

long roomd_filesystem_type(const char *path) {
    struct statfs info;
    return statfs(path, &info) == 0 ? (long)info.f_type : -1;
}

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#define ROOMD_SYS_landlock_create_ruleset 444
#define ROOMD_SYS_landlock_add_rule 445
#define ROOMD_SYS_landlock_restrict_self 446
#define ROOMD_LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define ROOMD_LANDLOCK_RULE_PATH_BENEATH 1

struct roomd_landlock_ruleset_attr {
    uint64_t handled_access_fs;   // ABI 1
    uint64_t handled_access_net;  // ABI 4
    uint64_t scoped;              // ABI 6
};

struct roomd_landlock_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

int roomd_landlock_abi(void) {
    return (int)syscall(ROOMD_SYS_landlock_create_ruleset, NULL, 0, ROOMD_LANDLOCK_CREATE_RULESET_VERSION);
}

int roomd_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped) {
    struct roomd_landlock_ruleset_attr attr = {
        .handled_access_fs = handled_fs, .handled_access_net = handled_net, .scoped = scoped,
    };
    // An older kernel takes a shorter structure: pass only what it knows
    // (it refuses a longer one whose extra fields are not zero anyway).
    size_t size = scoped ? sizeof attr
                : handled_net ? offsetof(struct roomd_landlock_ruleset_attr, scoped)
                : offsetof(struct roomd_landlock_ruleset_attr, handled_access_net);
    return (int)syscall(ROOMD_SYS_landlock_create_ruleset, &attr, size, 0);
}

int roomd_landlock_allow_beneath(int ruleset, const char *path, uint64_t access) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return -1;
    struct roomd_landlock_path_beneath_attr attr = { .allowed_access = access, .parent_fd = fd };
    int rc = (int)syscall(ROOMD_SYS_landlock_add_rule, ruleset, ROOMD_LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int roomd_landlock_restrict_self(int ruleset) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(ROOMD_SYS_landlock_restrict_self, ruleset, 0);
}

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466
#endif

int roomd_seccomp_confine(void) {
#if defined(__x86_64__)
#define ROOMD_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ROOMD_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif
#ifdef ROOMD_AUDIT_ARCH
    // Refused outright. What Landlock does not cover (on every ABI: metadata;
    // before ABI 3: truncate(2) by path) or cannot (sockets before ABI 4).
    static const long refused[] = {
        SYS_socket, SYS_io_uring_setup, SYS_truncate,
        SYS_fchmod, SYS_fchmodat, SYS_fchmodat2, SYS_fchown, SYS_fchownat, SYS_utimensat,
        SYS_setxattr, SYS_lsetxattr, SYS_fsetxattr, SYS_removexattr, SYS_lremovexattr, SYS_fremovexattr,
        SYS_setxattrat, SYS_removexattrat, SYS_pidfd_open, SYS_pidfd_send_signal,
#ifdef SYS_chmod
        SYS_chmod, SYS_chown, SYS_lchown, SYS_utime, SYS_utimes, SYS_futimesat,
#endif
    };
    // Signals only to the process itself (raise, abort, pthread_kill; the
    // first argument is the target's pid): not to roomd or other helpers.
    static const long own[] = { SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo };
    const size_t refusedCount = sizeof refused / sizeof refused[0], ownCount = sizeof own / sizeof own[0];
    const uint32_t deny = SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA);
    struct sock_filter filter[64];
    unsigned short n = 0;
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ROOMD_AUDIT_ARCH, 1, 0);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deny);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    // x32 system calls carry this bit and would bypass a check of the plain numbers.
    filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deny);
#endif
    // Layout after the checks: [ALLOW] [load arg0] [arg0 == pid?] [ALLOW] [DENY].
    // A refused number jumps to DENY, a signal to the pid check.
    const unsigned short checks = (unsigned short)(refusedCount + ownCount);
    for (size_t i = 0; i < refusedCount; i++) {
        unsigned short toDeny = (unsigned short)(checks - i - 1 + 4);
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)refused[i], (unsigned char)toDeny, 0);
    }
    for (size_t i = 0; i < ownCount; i++) {
        unsigned short toLoad = (unsigned short)(ownCount - i - 1 + 1);
        filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)own[i], (unsigned char)toLoad, 0);
    }
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    // The low 32 bits of the first argument (x86_64 and aarch64 are little-endian).
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    filter[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)getpid(), 0, 1);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    filter[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deny);
    struct sock_fprog program = { .len = n, .filter = filter };
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int roomd_name_thread(const char *name) {
    return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

int roomd_malloc_trim(void) {
    return malloc_trim(0);
}

int roomd_start_writeback(int fd, long long offset, long long length) {
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}
