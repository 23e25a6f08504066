"""Inside the guest: ask the host's QEMU for QMP commands over the second
serial port, which spdk_py.tools.guest relays (device_del, device_add)."""

import json
import os
import termios
import tty

PORT = "/dev/ttyS1"


def qmp(execute, **arguments):
    """The QMP answer ({"return": ...} or {"error": ...}) of one command."""
    fd = os.open(PORT, os.O_RDWR | os.O_NOCTTY)
    try:
        tty.setraw(fd)
        termios.tcflush(fd, termios.TCIOFLUSH)
        os.write(fd, json.dumps({"execute": execute, "arguments": arguments}).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = os.read(fd, 4096)
            if not chunk:
                raise OSError("the host's relay closed %s" % PORT)
            answer += chunk
        return json.loads(answer)
    finally:
        os.close(fd)
