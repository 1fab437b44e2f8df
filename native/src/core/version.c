/*
 * version.c - the library's version, from the one definition in psyne.h.
 */
#include "core/internal.h"

#define PSYNE_STR2(x) #x
#define PSYNE_STR(x) PSYNE_STR2(x)

uint32_t psyne_version(void)
{
    return ((uint32_t)PSYNE_VERSION_MAJOR << 16) | ((uint32_t)PSYNE_VERSION_MINOR << 8) |
           (uint32_t)PSYNE_VERSION_PATCH;
}

const char *psyne_version_string(void)
{
    /* The enum values cannot be stringified by the preprocessor, so this is
     * checked against them by test_core. */
    return "0.1.0";
}
