/*
 * internal.h - helpers shared by libpsyne's translation units. Not installed.
 */
#ifndef PSYNE_INTERNAL_H
#define PSYNE_INTERNAL_H

#include "psyne/psyne.h"

#include <stdarg.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#  define PSYNE_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#  define PSYNE_LIKELY(x) __builtin_expect(!!(x), 1)
#  define PSYNE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#  define PSYNE_PRINTF(fmt_index, first_arg)
#  define PSYNE_LIKELY(x) (x)
#  define PSYNE_UNLIKELY(x) (x)
#endif

#if defined(__x86_64__) || defined(_M_X64)
#  define PSYNE_X86_64 1
#else
#  define PSYNE_X86_64 0
#endif

/* Records a thread-local error message and returns status, so a failing path
 * reads: return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "length %zu ...", n); */
psyne_status psyne__fail(psyne_status status, const char *format, ...) PSYNE_PRINTF(2, 3);

/* As psyne__fail for a message with static storage: no formatting, no copy. */
psyne_status psyne__fail_static(psyne_status status, const char *message);

/* Clears the thread-local message; every public entry point that can fail calls it first. */
void psyne__clear_error(void);

/* Runs CPU detection once (thread-safe) and returns the psyne_cpu_feature bits. */
uint64_t psyne__cpu_features(void);

/* The ISA kernels should use now (detected, possibly lowered by PSYNE_ISA or psyne_isa_select). */
psyne_isa psyne__isa(void);

/* Returns 1 when the CPU supports every feature the ISA needs. */
int psyne__isa_supported(psyne_isa isa);

#endif /* PSYNE_INTERNAL_H */
