"""Log lines from Python go to SPDK's own log, beside the C modules' lines
(to stderr outside a target). ::

    from spdk_py import log
    log.notice("disk %s: ready" % name)

An error line is for something that went wrong (an I/O failed, a hook
raised); a notice for what an operator wants to see (a base removed, a
resync done).
"""

from spdk_py._runtime.log import error, notice, warn

__all__ = ["error", "warn", "notice"]
