/* spdk/json.h */
struct spdk_json_write_ctx;

int spdk_json_write_val_raw(struct spdk_json_write_ctx *w, const void *data, size_t len);
int spdk_json_write_name(struct spdk_json_write_ctx *w, const char *name);
