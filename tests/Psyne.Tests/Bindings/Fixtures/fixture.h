/*
 * fixture.h - every C construct Psyne.Bindgen maps, for BindgenTests.
 * fixture.expected.cs is the generator's output for this header; see BindgenTests
 * for the command that regenerates it.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fixture_include.h"

/* ---- constants ---------------------------------------------------------- */

enum {
    FX_VERSION_MAJOR = 1,
    FX_VERSION_MINOR = 2,
    FX_MAX_ITEMS = 1 << 4 /* shifted */
};

/* Largest payload, as a static const. */
static const uint32_t FX_MAX_PAYLOAD = 64u * 1024u;
static const int64_t FX_BIG = -(1ll << 40);

/* ---- enums -------------------------------------------------------------- */

/* Implicit, explicit, negative, shifted and derived values. */
typedef enum fx_mode {
    FX_MODE_NONE,                                   /* implicit: 0 */
    FX_MODE_FIRST,                                  /* implicit: 1 */
    FX_MODE_TEN = 10,
    FX_MODE_ELEVEN,
    FX_MODE_NEGATIVE = -3,
    FX_MODE_AFTER_NEGATIVE,
    FX_MODE_SHIFTED = 1 << 5,
    FX_MODE_COMBINED = FX_MODE_TEN | FX_MODE_SHIFTED,
    FX_MODE_PAREN = (2 + 3) * 4
} fx_mode;

/* A plain tagged enum that needs uint. */
enum fx_flags {
    FX_FLAG_NONE = 0,
    FX_FLAG_LOW = 1u << 0,
    FX_FLAG_HIGH = 1u << 31
};

/* ---- types -------------------------------------------------------------- */

/* Log callback: level is an fx_mode, message is NUL-terminated. */
typedef void (*fx_log_fn)(void *user, int32_t level, const char *message);

/* An opaque handle: only ever used through pointers. */
typedef struct fx_handle fx_handle;

typedef struct fx_item {
    uint16_t id;
    uint16_t flags;
} fx_item;

/* One value, seen four ways. */
typedef union fx_value {
    int64_t i;
    double d;
    uint8_t bytes[8];
    void *ptr;
} fx_value;

typedef struct fx_record {
    int8_t i8;
    uint8_t u8;
    int16_t i16;
    uint16_t u16;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    size_t size;
    uintptr_t uptr;
    ptrdiff_t diff;
    intptr_t iptr;
    float f32;
    double f64;
    bool flag;
    char letter;
    char name[16];           /* NUL-terminated */
    uint32_t counters[4];
    fx_item items[3];        /* array of structs */
    fx_mode modes[2];        /* array of enums */
    void *slots[2];          /* array of pointers */
    fx_point origin;         /* nested struct, from the included header */
    fx_value value;          /* union by value */
    union {
        int32_t as_int;
        float as_float;
    } either;                /* a named field of an unnamed union */
    const char *label;       /* points to const */
    const int32_t limit;     /* const field */
    struct fx_record *next;
    fx_handle *handle;
    fx_log_fn log;           /* function pointer through a typedef */
    int32_t (*compare)(const void *a, const void *b); /* inline function pointer */
} fx_record;

/* ---- functions ---------------------------------------------------------- */

/* Version of the fixture library: no GC transition. */
FX_API FX_HOT uint32_t fx_version(void);

/* Name of a mode, static storage. */
FX_API const char *fx_mode_name(fx_mode mode);

FX_API int32_t fx_open(const char *path, uint32_t flags, fx_handle **out);

FX_API void fx_close(fx_handle *handle);

/* Function pointer typedef and an inline one as parameters. */
FX_API void fx_set_logger(fx_handle *handle, fx_log_fn log, void *user);
FX_API void fx_for_each(fx_handle *handle, bool (*visit)(const fx_record *record, void *user), void *user);

FX_API int32_t fx_record_get(const fx_handle *handle, fx_record *out);

FX_API fx_point fx_point_add(fx_point a, fx_point b);

FX_API enum fx_flags fx_flags_get(const fx_handle *handle);

FX_API size_t fx_copy(void *dst, const void *src, size_t length, ptrdiff_t *moved);

/* C# keywords as parameter names. */
FX_API bool fx_keywords(int32_t object, uint8_t string, const char *params);

FX_API void fx_reset(void);

#endif /* FIXTURE_H */
