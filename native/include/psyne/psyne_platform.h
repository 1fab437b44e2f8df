/*
 * psyne_platform.h - export and annotation macros used by psyne.h.
 */
#ifndef PSYNE_PLATFORM_H
#define PSYNE_PLATFORM_H

#if defined(_WIN32)
#  if defined(PSYNE_BUILDING_LIBRARY)
#    define PSYNE_API __declspec(dllexport)
#  else
#    define PSYNE_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define PSYNE_API __attribute__((visibility("default")))
#else
#  define PSYNE_API
#endif

/* PSYNE_HOT marks a function that is tiny and never blocks, never calls back
 * into managed code and never takes a lock. The bindings generator sees the
 * annotation in clang's AST and emits [SuppressGCTransition] for it. */
#if defined(__clang__)
#  define PSYNE_HOT __attribute__((annotate("psyne_hot")))
#else
#  define PSYNE_HOT
#endif

#endif /* PSYNE_PLATFORM_H */
