/* spdk/env.h */
uint64_t spdk_get_ticks(void);
uint64_t spdk_get_ticks_hz(void);
uint32_t spdk_env_get_first_core(void);
uint32_t spdk_env_get_next_core(uint32_t prev_core);
void *spdk_dma_zmalloc(size_t size, size_t align, uint64_t *phys_addr);
void spdk_dma_free(void *buf);
