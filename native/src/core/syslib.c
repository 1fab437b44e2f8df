/*
 * syslib.c - optional system libraries, loaded at run time.
 *
 * Psyne never links against libfabric, libibverbs, UCX, ngtcp2, the CUDA
 * driver, the Vulkan loader or libzmq: a machine without them must still load
 * libpsyne. Each is opened on first use and the handle kept for the life of
 * the process; psyne_syslib_probe reports what happened and, when a library is
 * missing, which package provides it.
 */
#include "core/internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#  include <windows.h>
#else
#  include <dlfcn.h>
#endif

typedef struct syslib_spec {
    const char *name;
    const char *sonames[4]; /* tried in order; NULL-terminated */
    const char *install;    /* how to get it */
} syslib_spec;

#if defined(_WIN32)
static const syslib_spec specs[PSYNE_SYSLIB_COUNT] = {
    {"libfabric", {"libfabric.dll", NULL}, "install libfabric for Windows"},
    {"libibverbs", {NULL}, "RDMA verbs are not available on Windows"},
    {"UCX", {NULL}, "UCX is not available on Windows"},
    {"ngtcp2", {"ngtcp2.dll", NULL}, "install ngtcp2 (vcpkg install ngtcp2)"},
    {"CUDA driver", {"nvcuda.dll", NULL}, "install the NVIDIA display driver"},
    {"Vulkan loader", {"vulkan-1.dll", NULL}, "install a GPU driver or the Vulkan runtime"},
    {"libzmq", {"libzmq.dll", "libzmq-v143-mt-4_3_5.dll", NULL}, "install libzmq (vcpkg install zeromq)"},
};
#elif defined(__APPLE__)
static const syslib_spec specs[PSYNE_SYSLIB_COUNT] = {
    {"libfabric", {"libfabric.1.dylib", NULL}, "brew install libfabric"},
    {"libibverbs", {NULL}, "RDMA verbs are not available on macOS"},
    {"UCX", {"libucp.0.dylib", NULL}, "brew install ucx"},
    {"ngtcp2", {"libngtcp2.dylib", NULL}, "brew install libngtcp2"},
    {"CUDA driver", {NULL}, "CUDA is not available on macOS"},
    {"Vulkan loader", {"libvulkan.1.dylib", "libMoltenVK.dylib", NULL}, "brew install molten-vk vulkan-loader"},
    {"libzmq", {"libzmq.5.dylib", NULL}, "brew install zeromq"},
};
#else
static const syslib_spec specs[PSYNE_SYSLIB_COUNT] = {
    {"libfabric", {"libfabric.so.1", NULL}, "apt-get install libfabric1"},
    {"libibverbs", {"libibverbs.so.1", NULL}, "apt-get install libibverbs1 (plus an RDMA NIC driver)"},
    {"UCX", {"libucp.so.0", NULL}, "apt-get install libucx0"},
    {"ngtcp2", {"libngtcp2.so.9", "libngtcp2.so.16", "libngtcp2.so", NULL}, "apt-get install libngtcp2-9"},
    {"CUDA driver", {"libcuda.so.1", NULL}, "install the NVIDIA driver (it provides libcuda.so.1); needs an NVIDIA GPU"},
    {"Vulkan loader", {"libvulkan.so.1", NULL}, "apt-get install libvulkan1 (and mesa-vulkan-drivers for a CPU device)"},
    {"libzmq", {"libzmq.so.5", NULL}, "apt-get install libzmq5"},
};
#endif

typedef struct syslib_state {
    atomic_int probed; /* 0 = not yet, 1 = in progress, 2 = done */
    void *handle;
    psyne_syslib_info info;
} syslib_state;

static syslib_state states[PSYNE_SYSLIB_COUNT];

static void *open_library(const char *soname, char *why, size_t why_size)
{
#if defined(_WIN32)
    HMODULE h = LoadLibraryA(soname);
    if (!h) snprintf(why, why_size, "LoadLibrary failed with error %lu", (unsigned long)GetLastError());
    return (void *)h;
#else
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, why_size, "%s", e ? e : "dlopen failed");
    }
    return h;
#endif
}

static void *find_symbol(void *handle, const char *symbol)
{
#if defined(_WIN32)
    return (void *)GetProcAddress((HMODULE)handle, symbol);
#else
    return dlsym(handle, symbol);
#endif
}

/* The CUDA driver library can be installed on a machine with no usable GPU;
 * cuInit tells the difference, so availability means "a device can be used". */
static int check_cuda(void *handle, char *detail, size_t size)
{
    typedef int (*cu_init_fn)(unsigned int);
    typedef int (*cu_count_fn)(int *);
    cu_init_fn cu_init;
    cu_count_fn cu_count;
    void *sym_init = find_symbol(handle, "cuInit");
    void *sym_count = find_symbol(handle, "cuDeviceGetCount");
    memcpy(&cu_init, &sym_init, sizeof cu_init);
    memcpy(&cu_count, &sym_count, sizeof cu_count);
    if (!cu_init || !cu_count) {
        snprintf(detail, size, "libcuda.so.1 loaded but lacks cuInit/cuDeviceGetCount");
        return 0;
    }
    int rc = cu_init(0);
    if (rc != 0) {
        snprintf(detail, size, "driver present but cuInit failed with CUresult %d (no usable NVIDIA GPU)", rc);
        return 0;
    }
    int count = 0;
    rc = cu_count(&count);
    if (rc != 0 || count <= 0) {
        snprintf(detail, size, "driver present but no CUDA device (cuDeviceGetCount: %d, CUresult %d)", count, rc);
        return 0;
    }
    snprintf(detail, size, "%d CUDA device(s)", count);
    return 1;
}

static void probe(psyne_syslib library, syslib_state *st)
{
    const syslib_spec *spec = &specs[library];
    psyne_syslib_info *info = &st->info;
    snprintf(info->name, sizeof info->name, "%s", spec->name);
    if (!spec->sonames[0]) {
        snprintf(info->detail, sizeof info->detail, "%s", spec->install);
        return;
    }
    snprintf(info->soname, sizeof info->soname, "%s", spec->sonames[0]);
    char why[160] = "";
    for (int i = 0; i < 4 && spec->sonames[i]; i++) {
        void *h = open_library(spec->sonames[i], why, sizeof why);
        if (!h) continue;
        st->handle = h;
        snprintf(info->soname, sizeof info->soname, "%s", spec->sonames[i]);
        if (library == PSYNE_SYSLIB_CUDA_DRIVER) {
            info->available = check_cuda(h, info->detail, sizeof info->detail);
        } else {
            info->available = 1;
            snprintf(info->detail, sizeof info->detail, "loaded %s", spec->sonames[i]);
        }
        return;
    }
    /* "cannot open shared object file" says only what "not found" says; any other
     * loader error (wrong architecture, missing dependency) is worth showing. */
    if (strstr(why, "No such file") || strstr(why, "cannot open shared object"))
        snprintf(info->detail, sizeof info->detail, "%s not found: %s", spec->sonames[0], spec->install);
    else
        snprintf(info->detail, sizeof info->detail, "%s failed to load (%.120s): %s", spec->sonames[0], why, spec->install);
}

psyne_status psyne_syslib_probe(psyne_syslib library, psyne_syslib_info *out)
{
    psyne__clear_error();
    if (!out) return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_syslib_probe: out must not be NULL");
    if ((int)library < 0 || library >= PSYNE_SYSLIB_COUNT)
        return psyne__fail(PSYNE_E_INVALID_ARGUMENT, "psyne_syslib_probe: %d is not a psyne_syslib value", (int)library);
    syslib_state *st = &states[library];
    int expected = 0;
    if (atomic_compare_exchange_strong(&st->probed, &expected, 1)) {
        probe(library, st);
        atomic_store_explicit(&st->probed, 2, memory_order_release);
    } else {
        /* Another thread is inside dlopen; wait for its answer. */
        while (atomic_load_explicit(&st->probed, memory_order_acquire) != 2) {
        }
    }
    *out = st->info;
    return PSYNE_OK;
}
