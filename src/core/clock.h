/* Monotonic and wall clocks. */
#ifndef MP_CORE_CLOCK_H
#define MP_CORE_CLOCK_H

#include <stdint.h>

/* Seconds from an arbitrary origin, monotonic; for measuring durations. */
double mp_clock_now(void);
/* Milliseconds since the Unix epoch. */
int64_t mp_clock_wall_ms(void);

#endif
