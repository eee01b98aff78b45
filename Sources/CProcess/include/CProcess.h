// Process plumbing Swift cannot reach on its own: fork (unavailable in Swift's
// Glibc module), pidfds (raw system calls), SCM_RIGHTS (CMSG_* macros),
// signalfd and atomic close-on-exec pipes. Only libc; roomd links it too.
#ifndef ROOMD_CPROCESS_H
#define ROOMD_CPROCESS_H

#include <stddef.h>
#include <sys/types.h>

/// fork(2). The caller must be single-threaded (the capture fork server is).
pid_t roomd_fork(void);

/// pipe2(fds, O_CLOEXEC): no child spawned meanwhile by another thread inherits the ends.
int roomd_pipe_cloexec(int fds[2]);

/// socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC): message boundaries kept.
int roomd_socketpair_seqpacket(int fds[2]);

/// pidfd_open(2) (close-on-exec): a handle on a process that can never name
/// another one, even after the pid is reused. -1 with errno if unavailable.
int roomd_pidfd_open(pid_t pid);

/// pidfd_send_signal(2).
int roomd_pidfd_send_signal(int pidfd, int signal);

/// One message with up to 4 descriptors attached (SCM_RIGHTS). MSG_NOSIGNAL.
ssize_t roomd_send_with_fds(int socket, const void *buffer, size_t length, const int *fds, int count);

/// One message and the descriptors attached to it (made close-on-exec; at
/// most `capacity`, any beyond are closed). `*count` receives how many.
ssize_t roomd_recv_with_fds(int socket, void *buffer, size_t length, int *fds, int capacity, int *count);

/// Blocks SIGCHLD in the calling thread and returns a signalfd for it.
int roomd_signalfd_sigchld(void);

/// Reads whatever the signalfd holds (non-blocking); returns how many signals.
int roomd_drain_signalfd(int fd);

/// In a freshly forked child: every signal unblocked and back to its default action.
void roomd_reset_signals(void);

/// Overwrites the process's command-line argument `index` in place (what ps
/// and /proc/PID/cmdline show), padding with NULs; never grows it.
void roomd_set_argument(char **argv, int index, const char *text);

#endif
