/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/**
 * @file thread_safety.h
 * Lock contracts the compiler checks: clang's thread-safety attributes
 * (`-Wthread-safety`) behind macros that expand to nothing on every other
 * compiler.
 *
 * The port's lock type (k23_port_lock_t, port.h) is a capability; the
 * lock hooks acquire and release it; the fields a lock guards say so with
 * K23_GUARDED_BY, and functions that expect the caller to hold a lock say
 * so with K23_REQUIRES. The suite compiles the library and the hosted
 * port once with clang and `-Wthread-safety -Werror` (ctest
 * `thread_safety_clang`). The analysis is
 * per function and knows nothing of lock-free paths: code that reads a
 * guarded field on purpose without its lock (a racy hint, an
 * initialisation before the object is shared) marks the function with
 * K23_NO_THREAD_SAFETY_ANALYSIS and says why in a comment.
 */
#ifndef K23MEM_THREAD_SAFETY_H
#define K23MEM_THREAD_SAFETY_H

#if defined(__clang__) && defined(__has_attribute)
#if __has_attribute(capability)
/** One thread-safety attribute, or nothing where clang's analysis is not. */
#define K23_TSA_(x) __attribute__((x))
#endif
#endif
#ifndef K23_TSA_
/** Not clang (or too old for the analysis): no attribute. */
#define K23_TSA_(x)
#endif

/** The type is a lock ("capability" named @p name in diagnostics). */
#define K23_CAPABILITY(name) K23_TSA_(capability(name))
/* On a struct member, guarded_by names a sibling member, and only C++
 * binds that name to the object accessed: in C (clang 19 and later parse
 * it) the analysis reports every access, the lock held or not (LLVM issue
 * 161854). So the field annotations are checked in C++ and are
 * documentation in C, where the contract is checked through the
 * functions instead: a helper that touches guarded fields is declared
 * K23_REQUIRES(obj->lock), and every caller must be seen to hold it. */
#if defined(__cplusplus)
/** A thread-safety attribute on a struct member: C++ only (see above). */
#define K23_TSA_FIELD_(x) K23_TSA_(x)
#else
/** C: no attribute on struct members (see above). */
#define K23_TSA_FIELD_(x)
#endif
/** The field may only be read or written with @p lock held. */
#define K23_GUARDED_BY(lock) K23_TSA_FIELD_(guarded_by(lock))
/** What the pointer field points to may only be used with @p lock held. */
#define K23_PT_GUARDED_BY(lock) K23_TSA_FIELD_(pt_guarded_by(lock))
/** The caller must hold the listed locks. */
#define K23_REQUIRES(...) K23_TSA_(requires_capability(__VA_ARGS__))
/** The caller must not hold the listed locks (the function takes them). */
#define K23_EXCLUDES(...) K23_TSA_(locks_excluded(__VA_ARGS__))
/** The function acquires the listed locks (the argument when empty). */
#define K23_ACQUIRE(...) K23_TSA_(acquire_capability(__VA_ARGS__))
/** The function releases the listed locks (the argument when empty). */
#define K23_RELEASE(...) K23_TSA_(release_capability(__VA_ARGS__))
/** The function panics unless the caller holds the listed locks. */
#define K23_ASSERT_CAPABILITY(...) K23_TSA_(assert_capability(__VA_ARGS__))
/** The function returns the lock named by the expression. */
#define K23_RETURN_CAPABILITY(x) K23_TSA_(lock_returned(x))
/** The analysis skips this function (say why next to it). */
#define K23_NO_THREAD_SAFETY_ANALYSIS K23_TSA_(no_thread_safety_analysis)

#endif /* K23MEM_THREAD_SAFETY_H */
