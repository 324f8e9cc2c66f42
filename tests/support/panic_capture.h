/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Run a function that must panic in a child process and hand back what it
 * wrote to stderr, so a test can check that the panic names the object
 * (Criterion's .signal = SIGABRT checks only that the process died).
 * Hosted only: fork, pipe, waitpid.
 */
#ifndef K23_TEST_PANIC_CAPTURE_H
#define K23_TEST_PANIC_CAPTURE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs fn(arg) in a child. True when the child died of SIGABRT; its
 * stderr (NUL-terminated, truncated to cap - 1 bytes) is in out. */
static inline bool panic_capture(void (*fn)(void *), void *arg, char *out,
                                 size_t cap)
{
    int fds[2];
    if (cap == 0 || pipe(fds) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0); /* did not panic */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid)
        return false;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

#endif /* K23_TEST_PANIC_CAPTURE_H */
