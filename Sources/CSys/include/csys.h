#ifndef PIPSQUEAK_CSYS_H
#define PIPSQUEAK_CSYS_H
#include <sys/types.h>

/// C helpers for calls Swift cannot import directly (variadic prctl, posix_spawn's GNU extensions, raw
/// syscalls).
int pipsqueak_set_child_subreaper(void);

/// Starts `path` with `argv` and `envp` (NULL-terminated) by posix_spawn: `in_fd`, `out_fd` and `err_fd`
/// become its descriptors 0, 1 and 2 (-1: /dev/null), every other descriptor is closed in the child, and
/// `cwd` (or NULL) is its working directory. Returns 0 and sets `*pid`, or an errno value.
int pipsqueak_spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
                    const char *cwd, pid_t *pid);

/// Waits until child `pid` exits or `timeout_ms` passes (-1: no limit), without reaping it. Returns 1 when
/// it has exited, 0 on timeout, -1 with errno set on error (ECHILD: not a child, or already reaped).
int pipsqueak_wait_exit(pid_t pid, int timeout_ms);

/// A child of this process that has exited and is not yet reaped (it stays unreaped), or 0 when there is
/// none, or -1 with errno set (ECHILD: no children at all).
pid_t pipsqueak_peek_zombie(void);

/// pipe2(fds, O_CLOEXEC).
int pipsqueak_pipe_cloexec(int fds[2]);
/// Names the calling thread (`comm`, at most 15 bytes; longer is cut). 0, or -1 with errno.
int pipsqueak_name_thread(const char *name);
/// The calling thread's id (gettid).
int pipsqueak_thread_id(void);

#endif
