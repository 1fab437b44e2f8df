/*
 * status.c - status names and the thread-local last-error message.
 */
#include "core/internal.h"

#include <stdio.h>

#if defined(_MSC_VER)
#  define PSYNE_THREAD_LOCAL __declspec(thread)
#else
#  define PSYNE_THREAD_LOCAL _Thread_local
#endif

/* Long enough for a message that names a path or URI and says what to do. */
static PSYNE_THREAD_LOCAL char last_error[512];
/* Set instead of last_error by psyne__fail_static: a message that needs no
 * formatting costs one store, which matters on polling paths (an empty ring). */
static PSYNE_THREAD_LOCAL const char *last_static;

psyne_status psyne__fail(psyne_status status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(last_error, sizeof last_error, format, args);
    va_end(args);
    last_static = NULL;
    return status;
}

psyne_status psyne__fail_static(psyne_status status, const char *message)
{
    last_static = message;
    return status;
}

void psyne__clear_error(void)
{
    last_error[0] = '\0';
    last_static = NULL;
}

const char *psyne_last_error(void)
{
    return last_static ? last_static : last_error;
}

const char *psyne_status_name(psyne_status status)
{
    switch (status) {
    case PSYNE_OK: return "PSYNE_OK";
    case PSYNE_E_INVALID_ARGUMENT: return "PSYNE_E_INVALID_ARGUMENT";
    case PSYNE_E_OUT_OF_MEMORY: return "PSYNE_E_OUT_OF_MEMORY";
    case PSYNE_E_UNSUPPORTED: return "PSYNE_E_UNSUPPORTED";
    case PSYNE_E_UNAVAILABLE: return "PSYNE_E_UNAVAILABLE";
    case PSYNE_E_NOT_FOUND: return "PSYNE_E_NOT_FOUND";
    case PSYNE_E_FORMAT: return "PSYNE_E_FORMAT";
    case PSYNE_E_IO: return "PSYNE_E_IO";
    case PSYNE_E_TIMEOUT: return "PSYNE_E_TIMEOUT";
    case PSYNE_E_CLOSED: return "PSYNE_E_CLOSED";
    case PSYNE_E_FULL: return "PSYNE_E_FULL";
    case PSYNE_E_INTERNAL: return "PSYNE_E_INTERNAL";
    }
    return "PSYNE_E_UNKNOWN";
}
