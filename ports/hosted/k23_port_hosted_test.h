/*
 * Test hooks of the hosted port, for its own tests only: not installed,
 * and hidden from libk23mem.so (programs linked with the static library
 * can call them).
 */
#ifndef K23_PORT_HOSTED_TEST_H
#define K23_PORT_HOSTED_TEST_H

#include <stddef.h>

/** The protection-key system calls, each as the kernel answers: the
 *  result, or -1 with errno set. */
typedef struct k23_port_hosted_pkey_sys {
    int (*alloc)(void);                /**< pkey_alloc(0, 0) */
    int (*free)(int key);              /**< pkey_free(key) */
    int (*mprotect)(void *addr, size_t size, int prot, int key);
                                       /**< pkey_mprotect() */
} k23_port_hosted_pkey_sys_t;

/**
 * Make the port's protection-key hooks use @p sys instead of the kernel
 * (NULL: the kernel again) and forget the probe, so that the next
 * k23_port_caps() or key hook probes @p sys. @p sys must stay valid while
 * in use. Not for use while other threads use the key hooks.
 */
__attribute__((visibility("hidden"))) void
k23_port_hosted_pkey_inject_(const k23_port_hosted_pkey_sys_t *sys);

#endif /* K23_PORT_HOSTED_TEST_H */
