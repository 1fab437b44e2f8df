/* make_psyt_seeds.c - writes a few valid .psyt images into a directory, as
 * the seed corpus of fuzz_psyt: ./make_psyt_seeds DIR */
#include <psyne/psyne.h>

#include <stdio.h>
#include <stdlib.h>

static int write_seed(const char *dir, const char *name, uint32_t rows, uint32_t cols, psyne_ternary_scale_mode mode)
{
    int8_t *wq = malloc((size_t)rows * cols);
    float *scales = malloc(rows * sizeof(float));
    for (size_t i = 0; i < (size_t)rows * cols; i++) wq[i] = (int8_t)((int)(i * 7 % 3) - 1);
    for (uint32_t r = 0; r < rows; r++) scales[r] = 0.25f * (float)(r + 1);
    psyne_ternary_matrix *m = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    psyne_status s = psyne_ternary_pack(wq, rows, cols, mode, scales, mode == PSYNE_TERNARY_SCALE_ROW ? rows : 1, &m);
    if (s == PSYNE_OK) s = psyne_ternary_save(m, path);
    psyne_ternary_free(m);
    free(wq);
    free(scales);
    if (s != PSYNE_OK) fprintf(stderr, "%s: %s\n", path, psyne_last_error());
    return s == PSYNE_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    int failed = 0;
    failed |= write_seed(argv[1], "1x1_tensor.psyt", 1, 1, PSYNE_TERNARY_SCALE_TENSOR);
    failed |= write_seed(argv[1], "3x300_row.psyt", 3, 300, PSYNE_TERNARY_SCALE_ROW);
    failed |= write_seed(argv[1], "2x256_tensor.psyt", 2, 256, PSYNE_TERNARY_SCALE_TENSOR);
    return failed;
}
