"""Serve a bdev as an NVMe-oF/TCP namespace on a running SPDK target.

    nqn = nvmf.export(target, "PyPT0", port)     # transport, subsystem, namespace, listener

The same steps as SPDK's docs, through the target's JSON-RPC: a TCP transport
(once per target), a subsystem open to any host, the bdev as its namespace,
a listener on 127.0.0.1 unless another address is given.
"""

import socket

NQN_PREFIX = "nqn.2016-06.io.spdk:"


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def export(target, bdev, port, nqn=None, host="127.0.0.1", serial="SPDK00000000000001",
           **subsystem):
    """subsystem: more nvmf_create_subsystem params (max_namespaces, ...)."""
    nqn = nqn or NQN_PREFIX + bdev.lower()
    if not target.rpc("nvmf_get_transports"):
        target.rpc("nvmf_create_transport", trtype="TCP")
    target.rpc("nvmf_create_subsystem", nqn=nqn, allow_any_host=True, serial_number=serial,
               **subsystem)
    target.rpc("nvmf_subsystem_add_ns", nqn=nqn, namespace={"bdev_name": bdev})
    target.rpc("nvmf_subsystem_add_listener", nqn=nqn,
               listen_address={"trtype": "tcp", "adrfam": "ipv4", "traddr": host,
                               "trsvcid": str(port)})
    return nqn


def initiator_config(port, nqn, name="Remote", host="127.0.0.1"):
    """A bdev subsystem config that attaches the exported namespace (bdevperf, spdk_dd)."""
    return {"subsystems": [{"subsystem": "bdev", "config": [
        {"method": "bdev_nvme_attach_controller",
         "params": {"name": name, "trtype": "tcp", "adrfam": "ipv4", "traddr": host,
                    "trsvcid": str(port), "subnqn": nqn}}]}]}


def perf_transport_id(port, nqn, host="127.0.0.1"):
    """The -r argument of SPDK's NVMe perf example for the exported namespace."""
    return "trtype:TCP adrfam:IPv4 traddr:%s trsvcid:%d subnqn:%s" % (host, port, nqn)
