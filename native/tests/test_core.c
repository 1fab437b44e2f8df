/* test_core.c - status codes, errors, version, CPU detection, ISA selection, system libraries. */
#include "psyne/psyne.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_version(void)
{
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", PSYNE_VERSION_MAJOR, PSYNE_VERSION_MINOR, PSYNE_VERSION_PATCH);
    CHECK(strcmp(expected, psyne_version_string()) == 0);
    CHECK_EQ_U64((PSYNE_VERSION_MAJOR << 16) | (PSYNE_VERSION_MINOR << 8) | PSYNE_VERSION_PATCH, psyne_version());
}

static void test_status_names(void)
{
    CHECK(strcmp(psyne_status_name(PSYNE_OK), "PSYNE_OK") == 0);
    CHECK(strcmp(psyne_status_name(PSYNE_E_FORMAT), "PSYNE_E_FORMAT") == 0);
    CHECK(strcmp(psyne_status_name((psyne_status)999), "PSYNE_E_UNKNOWN") == 0);
}

static void test_last_error_is_thread_local_message(void)
{
    psyne_isa isa;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_isa_parse("sse9", &isa));
    CHECK(strstr(psyne_last_error(), "sse9") != NULL);
    CHECK(strstr(psyne_last_error(), "scalar, avx2, avx512") != NULL);
    /* A successful call clears it. */
    CHECK_STATUS(PSYNE_OK, psyne_isa_parse("AVX2", &isa));
    CHECK_EQ_U64(PSYNE_ISA_AVX2, isa);
    CHECK(psyne_last_error()[0] == '\0');
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_isa_parse(NULL, &isa));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_cpu_info_get(NULL));
}

static void test_cpu_and_isa(void)
{
    psyne_cpu_info info;
    CHECK_STATUS(PSYNE_OK, psyne_cpu_info_get(&info));
    CHECK(info.logical_cpus >= 1);
    CHECK(info.cache_line_bytes >= 16);
    CHECK(info.selected_isa <= info.detected_isa);
    CHECK_EQ_U64(info.selected_isa, psyne_isa_selected());

    const char *env = getenv("PSYNE_ISA");
    if (env && *env) {
        psyne_isa forced;
        CHECK_STATUS(PSYNE_OK, psyne_isa_parse(env, &forced));
        CHECK_EQ_U64(forced, info.selected_isa);
    } else {
        CHECK_EQ_U64(info.detected_isa, info.selected_isa);
    }

    /* Every level up to the detected one can be selected; above it fails and changes nothing. */
    for (int isa = PSYNE_ISA_SCALAR; isa <= PSYNE_ISA_AVX512; isa++) {
        if (isa <= info.detected_isa) {
            CHECK_STATUS(PSYNE_OK, psyne_isa_select((psyne_isa)isa));
            CHECK_EQ_U64(isa, psyne_isa_selected());
        } else {
            psyne_isa before = psyne_isa_selected();
            CHECK_STATUS(PSYNE_E_UNSUPPORTED, psyne_isa_select((psyne_isa)isa));
            CHECK(strstr(psyne_last_error(), "lacks") != NULL);
            CHECK_EQ_U64(before, psyne_isa_selected());
        }
    }
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_isa_select((psyne_isa)7));
    CHECK_STATUS(PSYNE_OK, psyne_isa_select((psyne_isa)info.selected_isa));

    if (info.detected_isa >= PSYNE_ISA_AVX2) CHECK((info.features & PSYNE_CPU_AVX2) != 0);
    if (info.detected_isa >= PSYNE_ISA_AVX512) CHECK((info.features & PSYNE_CPU_AVX512BW) != 0);
    CHECK(strcmp(psyne_isa_name(PSYNE_ISA_AVX512), "avx512") == 0);
    CHECK(strcmp(psyne_isa_name((psyne_isa)42), "unknown") == 0);
}

static void test_syslibs(void)
{
    for (int lib = 0; lib < PSYNE_SYSLIB_COUNT; lib++) {
        psyne_syslib_info a, b;
        CHECK_STATUS(PSYNE_OK, psyne_syslib_probe((psyne_syslib)lib, &a));
        CHECK(a.name[0] != '\0');
        CHECK(a.detail[0] != '\0');
        CHECK(a.available == 0 || a.available == 1);
        /* The answer is cached: a second probe says the same. */
        CHECK_STATUS(PSYNE_OK, psyne_syslib_probe((psyne_syslib)lib, &b));
        CHECK(memcmp(&a, &b, sizeof a) == 0);
    }
    psyne_syslib_info info;
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_syslib_probe(PSYNE_SYSLIB_COUNT, &info));
    CHECK_STATUS(PSYNE_E_INVALID_ARGUMENT, psyne_syslib_probe(PSYNE_SYSLIB_LIBZMQ, NULL));
}

int main(void)
{
    TEST_INIT();
    test_version();
    test_status_names();
    test_last_error_is_thread_local_message();
    test_cpu_and_isa();
    test_syslibs();
    TEST_DONE();
}
