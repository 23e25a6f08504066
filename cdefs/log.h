/* spdk/log.h */
enum spdk_log_level {
	SPDK_LOG_DISABLED,
	SPDK_LOG_ERROR,
	SPDK_LOG_WARN,
	SPDK_LOG_NOTICE,
	SPDK_LOG_INFO,
	SPDK_LOG_DEBUG,
	...
};
