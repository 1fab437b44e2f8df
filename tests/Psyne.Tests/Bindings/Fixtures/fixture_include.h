/*
 * fixture_include.h - included by fixture.h; its declarations are bound too
 * (it sits beside the input header), and it defines the annotation macros.
 */
#ifndef FIXTURE_INCLUDE_H
#define FIXTURE_INCLUDE_H

#include <stdint.h>

#define FX_API __attribute__((visibility("default")))

/* FX_HOT: tiny and never blocks; the generator emits [SuppressGCTransition]. */
#if defined(__clang__)
#  define FX_HOT __attribute__((annotate("psyne_hot")))
#else
#  define FX_HOT
#endif

/* A point, declared in the included header. */
typedef struct fx_point {
    int32_t x;
    int32_t y;
} fx_point;

#endif /* FIXTURE_INCLUDE_H */
