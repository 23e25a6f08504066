/* spdk/event.h */
void spdk_app_stop(int rc);
