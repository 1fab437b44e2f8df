/* fixture_rejected.h - uses 'long', which has no fixed width; the generator must refuse it. */
#include <stdint.h>

int32_t fx_fine(int32_t value);

long fx_not_portable(long value);
