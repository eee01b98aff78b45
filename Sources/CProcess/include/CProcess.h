// Process plumbing Swift cannot reach on its own: fork (unavailable in Swift's
// Glibc module), pidfds (raw system calls), SCM_RIGHTS (CMSG_* macros),
// signalfd, atomic close-on-exec pipes, and the kernel's confinement of a
// process (Landlock, seccomp). Only libc and the kernel's UAPI; roomd links it too.
#ifndef ROOMD_CPROCESS_H
#define ROOMD_CPROCESS_H

#include <stddef.h>
#include <stdint.h>
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

/// statfs(2)'s f_type of the file system holding `path` (linux/magic.h), or -1 with errno.
long roomd_filesystem_type(const char *path);

/// The Landlock ABI version the running kernel offers (1, 2, …), or -1 with
/// errno: ENOSYS (a kernel built without Landlock) or EOPNOTSUPP (built with
/// it, but not enabled at boot: `lsm=` lacks landlock).
int roomd_landlock_abi(void);

/// landlock_create_ruleset(2): a ruleset that denies the given access rights
/// (filesystem, TCP, scopes) except where a rule allows them. Pass 0 for the
/// kinds the kernel's ABI does not know. A descriptor, or -1 with errno.
int roomd_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped);

/// landlock_add_rule(2), LANDLOCK_RULE_PATH_BENEATH: allows `access` on the
/// file or directory at `path` and (for a directory) everything beneath it.
/// The path is resolved now, following symbolic links. 0, or -1 with errno.
int roomd_landlock_allow_beneath(int ruleset, const char *path, uint64_t access);

/// Sets no_new_privs and enforces the ruleset on the calling thread and every
/// thread or process it creates from now on (not on threads already running).
/// 0, or -1 with errno.
int roomd_landlock_restrict_self(int ruleset);

/// Installs a seccomp filter on the calling thread and its future children.
/// Fail with EACCES: socket(2) and io_uring_setup(2) (no network, no local
/// sockets); truncate(2) by path; changes of mode, owner, times and extended
/// attributes (Landlock covers none of these); pidfd_open and
/// pidfd_send_signal; signals (kill, tkill, tgkill, rt_[tg]sigqueueinfo) to any
/// process but the caller's own; and any system call made through another
/// architecture's entry (x32, i386). Sets no_new_privs if not yet set.
/// 0, or -1 with errno (ENOSYS on an architecture this does not know).
int roomd_seccomp_confine(void);

/// Names the calling thread (prctl PR_SET_NAME; what /proc/PID/task/TID/comm
/// shows). Cut to 15 bytes by the kernel. 0, or -1 with errno.
int roomd_name_thread(const char *name);

/// Hands memory malloc keeps free back to the kernel (glibc's malloc_trim(0));
/// 1 if any was returned.
int roomd_malloc_trim(void);

/// Starts writing a file's dirty pages in [offset, offset + length) to disk
/// without waiting (sync_file_range SYNC_FILE_RANGE_WRITE): a long download's
/// final fsync then waits only for the last stretch. 0 or -1 (errno).
int roomd_start_writeback(int fd, long long offset, long long length);

#endif
