"""A Python program on an SPDK application's threads. ::

    spdk-py run --app spdk_tgt --main mymod:main -- <SPDK arguments>

runs mymod.main() on the app thread once the application is up (its
subsystems started, its --json config loaded), in spdk_tgt or any SPDK app.
An `async def main()` runs as a task (spdk_py.coroutine) and stops the
application when it returns, with its return value as the exit status (None:
0; an exception: 1, logged). A plain `def main()` is SPDK's start callback:
it sets things up and returns; the application runs on until stop(). ::

    from spdk_py import app
    app.stop(0)          # spdk_app_stop: the application exits with status 0
"""

from spdk_py._runtime.app import stop

__all__ = ["stop"]
