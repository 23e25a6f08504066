"""moto's S3 server on loopback, for the S3 disks' tests and bench/bench_s3.py."""

import contextlib
import pathlib
import socket
import subprocess
import sys
import time
from typing import Any, Iterator


def client(endpoint: str) -> Any:
    import boto3
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@contextlib.contextmanager
def moto_server(workdir: pathlib.Path, bucket: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """moto's S3 server on 127.0.0.1 with the bucket made: (endpoint, its
    process); killed at the end. Its log is workdir/moto.log."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(workdir / "moto.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto did not start:\n"
                                       + (workdir / "moto.log").read_text()) from None
                time.sleep(0.1)
        endpoint = "http://127.0.0.1:%d" % port
        client(endpoint).create_bucket(Bucket=bucket)
        yield endpoint, server
    finally:
        server.kill()
        server.wait()
        log.close()
