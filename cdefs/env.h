/* spdk/env.h */
uint64_t spdk_get_ticks_hz(void);
