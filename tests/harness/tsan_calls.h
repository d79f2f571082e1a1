/*
 * tsan_calls.h - every call `clang -fsanitize=thread` puts into a student's
 * file, defined once for the lab's two runtimes that stand in for
 * ThreadSanitizer's own: the race amplifier (amplify.c), which pauses
 * before stores, and the killer (die_at.c), which ends a process before
 * one. A missing entry point would be a link error, never a silent gap;
 * 128-bit atomics are left out on purpose (a link error names them).
 *
 * Include it once, in a file that first defines these hooks (pc is where
 * in the student's code the access is):
 *   static void on_load(const void *a, int size, uintptr_t pc);
 *   static void on_store(const void *a, int size, uintptr_t pc);
 *   static void on_update(const void *a, int size, uintptr_t pc);   atomic read-modify-write
 *   static void on_range(const void *a, unsigned long size, int store, uintptr_t pc);
 *   static void on_copy(const void *dest, size_t size, uintptr_t pc); memcpy, memmove, memset
 * and __tsan_init. Every atomic operation is then done for real, always
 * sequentially consistent: at least as strong as any order asked for.
 */
#ifndef TSAN_CALLS_H
#define TSAN_CALLS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TSAN_HERE ((uintptr_t)__builtin_return_address(0))

void __tsan_func_entry(void *caller) { (void)caller; }
void __tsan_func_exit(void) {}
void __tsan_ignore_thread_begin(void) {}
void __tsan_ignore_thread_end(void) {}

#define TSAN_PLAIN_ACCESS(size)                                                          \
    void __tsan_read##size(void *a) { on_load(a, size, TSAN_HERE); }                     \
    void __tsan_write##size(void *a) { on_store(a, size, TSAN_HERE); }                   \
    void __tsan_unaligned_read##size(void *a) { on_load(a, size, TSAN_HERE); }           \
    void __tsan_unaligned_write##size(void *a) { on_store(a, size, TSAN_HERE); }         \
    void __tsan_volatile_read##size(void *a) { on_load(a, size, TSAN_HERE); }            \
    void __tsan_volatile_write##size(void *a) { on_store(a, size, TSAN_HERE); }          \
    void __tsan_unaligned_volatile_read##size(void *a) { on_load(a, size, TSAN_HERE); }  \
    void __tsan_unaligned_volatile_write##size(void *a) { on_store(a, size, TSAN_HERE); }
TSAN_PLAIN_ACCESS(1)
TSAN_PLAIN_ACCESS(2)
TSAN_PLAIN_ACCESS(4)
TSAN_PLAIN_ACCESS(8)
TSAN_PLAIN_ACCESS(16)

void __tsan_read_range(void *a, unsigned long size) { on_range(a, size, 0, TSAN_HERE); }
void __tsan_write_range(void *a, unsigned long size) { on_range(a, size, 1, TSAN_HERE); }
void __tsan_vptr_read(void **p) { (void)p; }
void __tsan_vptr_update(void **p, void *v) { (void)p; (void)v; }

/* Newer compilers call these for struct copies and memset. */
void *__tsan_memcpy(void *d, const void *s, size_t n)
{ on_copy(d, n, TSAN_HERE); return memcpy(d, s, n); }
void *__tsan_memmove(void *d, const void *s, size_t n)
{ on_copy(d, n, TSAN_HERE); return memmove(d, s, n); }
void *__tsan_memset(void *d, int c, size_t n)
{ on_copy(d, n, TSAN_HERE); return memset(d, c, n); }

#define TSAN_SC __ATOMIC_SEQ_CST
#define TSAN_UPDATE(bits, T, op, builtin)                                               \
    T __tsan_atomic##bits##_##op(volatile T *a, T v, int mo)                            \
    { (void)mo; on_update((void *)a, bits / 8, TSAN_HERE); return builtin(a, v, TSAN_SC); }
#define TSAN_ATOMICS(bits, T)                                                           \
    T __tsan_atomic##bits##_load(const volatile T *a, int mo)                           \
    { (void)mo; on_load((void *)a, bits / 8, TSAN_HERE); return __atomic_load_n(a, TSAN_SC); } \
    void __tsan_atomic##bits##_store(volatile T *a, T v, int mo)                        \
    { (void)mo; on_store((void *)a, bits / 8, TSAN_HERE); __atomic_store_n(a, v, TSAN_SC); } \
    TSAN_UPDATE(bits, T, exchange, __atomic_exchange_n)                                 \
    TSAN_UPDATE(bits, T, fetch_add, __atomic_fetch_add)                                 \
    TSAN_UPDATE(bits, T, fetch_sub, __atomic_fetch_sub)                                 \
    TSAN_UPDATE(bits, T, fetch_and, __atomic_fetch_and)                                 \
    TSAN_UPDATE(bits, T, fetch_or, __atomic_fetch_or)                                   \
    TSAN_UPDATE(bits, T, fetch_xor, __atomic_fetch_xor)                                 \
    TSAN_UPDATE(bits, T, fetch_nand, __atomic_fetch_nand)                               \
    int __tsan_atomic##bits##_compare_exchange_strong(volatile T *a, T *c, T v,         \
                                                      int mo, int fail_mo)              \
    { (void)mo; (void)fail_mo; on_update((void *)a, bits / 8, TSAN_HERE);               \
      return __atomic_compare_exchange_n(a, c, v, 0, TSAN_SC, TSAN_SC); }               \
    int __tsan_atomic##bits##_compare_exchange_weak(volatile T *a, T *c, T v,           \
                                                    int mo, int fail_mo)                \
    { (void)mo; (void)fail_mo; on_update((void *)a, bits / 8, TSAN_HERE);               \
      return __atomic_compare_exchange_n(a, c, v, 1, TSAN_SC, TSAN_SC); }               \
    T __tsan_atomic##bits##_compare_exchange_val(volatile T *a, T c, T v,               \
                                                 int mo, int fail_mo)                   \
    { (void)mo; (void)fail_mo; on_update((void *)a, bits / 8, TSAN_HERE);               \
      __atomic_compare_exchange_n(a, &c, v, 0, TSAN_SC, TSAN_SC); return c; }
TSAN_ATOMICS(8, int8_t)
TSAN_ATOMICS(16, int16_t)
TSAN_ATOMICS(32, int32_t)
TSAN_ATOMICS(64, int64_t)

void __tsan_atomic_thread_fence(int mo) { (void)mo; __atomic_thread_fence(TSAN_SC); }
void __tsan_atomic_signal_fence(int mo) { (void)mo; __atomic_signal_fence(TSAN_SC); }

#endif
