#define _GNU_SOURCE
#include "csys.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

int pipsqueak_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

pid_t pipsqueak_peek_zombie(void) {
    siginfo_t info;
    info.si_pid = 0;
    for (;;) {
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0) return info.si_pid;
        if (errno != EINTR) return -1;
    }
}

int pipsqueak_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int pipsqueak_spawn(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd, int err_fd,
                    const char *cwd, pid_t *pid) {
    posix_spawn_file_actions_t fa;
    int r = posix_spawn_file_actions_init(&fa);
    if (r != 0) return r;
    int fds[3] = {in_fd, out_fd, err_fd};
    for (int i = 0; i < 3 && r == 0; i++) {
        if (fds[i] >= 0) r = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
        else r = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
    }
    // Nothing else of the parent's is inherited (Swift's and Foundation's descriptors need not be CLOEXEC).
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (r == 0 && cwd != NULL) r = posix_spawn_file_actions_addchdir_np(&fa, cwd);
    if (r == 0) r = posix_spawn(pid, path, &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    return r;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pipsqueak_wait_exit(pid_t pid, int timeout_ms) {
    long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    for (;;) {
        siginfo_t info;
        info.si_pid = 0;
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
            if (errno == EINTR) continue;
            if (pidfd >= 0) close(pidfd);
            return -1;
        }
        if (info.si_pid == pid) {
            if (pidfd >= 0) close(pidfd);
            return 1;
        }
        long long left = deadline < 0 ? 1000 : deadline - now_ms();
        if (left <= 0) {
            if (pidfd >= 0) close(pidfd);
            return 0;
        }
        if (pidfd >= 0) {
            // A pidfd becomes readable when the process exits: no polling interval, no missed exit.
            struct pollfd p = {pidfd, POLLIN, 0};
            poll(&p, 1, left > 1000 ? 1000 : (int)left);
        } else {
            usleep(left > 1 ? 1000 : (useconds_t)(left * 1000));  // kernels before 5.3
        }
    }
}

int pipsqueak_name_thread(const char *name) { return prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0); }

int pipsqueak_thread_id(void) { return (int)syscall(SYS_gettid); }
