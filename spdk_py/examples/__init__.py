"""Modules written on spdk_py's public API, shipped with it: plugins to load
(``SPDK_PY_PLUGINS=spdk_py.examples.mirror``), disks to create
(``"plugin": "spdk_py.examples.ramdisk:RamDisk"``) and programs to run
(``spdk-py run --main spdk_py.examples.hello_bdev:main``). ::

    error_injector, readonly_guard, latency_histogram, xor,  vbdevs over one base
    kv_policy
    ramdisk, filedisk, s3disk, aio_s3disk                    Python disks
    hello_bdev, hello_gather, io_generator                   programs (Python drives SPDK)
    mirror                                                   a RAID1 disk over several bases

In a checkout, ``examples.<name>`` names the same modules.
"""
