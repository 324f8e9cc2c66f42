/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * Run a program (argv[1..]) as on a kernel whose membarrier() lacks the
 * rseq commands: Linux 4.18 to 5.9 have rseq but answer
 * MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ with EINVAL, and a
 * seccomp policy may refuse membarrier() altogether. A seccomp filter
 * makes every membarrier() call fail with EINVAL, then the program is
 * executed (the filter stays across execve). The hosted port's probe must
 * then leave the CPU-local fast path off, and the library must work on
 * its locks. Exits 77 (ctest: skipped) where no filter can be installed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SKIPPED 77

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARG...]\n", argv[0]);
        return 2;
    }
#if defined(THIS_AUDIT_ARCH) && defined(SYS_membarrier)
    /* a call of another architecture's ABI is let through: only this
     * one's membarrier number is known */
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
        BPF_STMT(BPF_RET | BPF_K,
                 SECCOMP_RET_ERRNO | (EINVAL & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = {
        .len = (unsigned short)(sizeof(prog) / sizeof(prog[0])),
        .filter = prog,
    };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
        fprintf(stderr, "no_membarrier: no seccomp filter here (%s)\n",
                strerror(errno));
        return SKIPPED;
    }
    if (syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0) != -1 ||
        errno != EINVAL) {
        fprintf(stderr, "no_membarrier: the filter did not take\n");
        return 1;
    }
    execv(argv[1], argv + 1);
    fprintf(stderr, "no_membarrier: cannot run %s: %s\n", argv[1],
            strerror(errno));
    return 1;
#else
    (void)argv;
    fprintf(stderr, "no_membarrier: no filter for this architecture\n");
    return SKIPPED;
#endif
}
