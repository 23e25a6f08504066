"""A RAM disk with no unmap hook (as the S3 disk, or any disk that cannot
give blocks back): for what an unmap sent to it anyway does."""

from examples.ramdisk import RamDisk


class NoUnmapDisk(RamDisk):
    unmap = None  # not defined for this disk
