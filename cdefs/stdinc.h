/* spdk/stdinc.h: the system types SPDK's headers use. */
struct iovec {
	void *iov_base;
	size_t iov_len;
};
