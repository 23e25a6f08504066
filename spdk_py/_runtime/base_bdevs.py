"""C's side of a disk over bases (spdk_py.base_bdevs): which bases a
disk's routed I/O may go to, and what C counted of them. Each call takes
the disk's engine, or None before the disk's C struct exists (its bases are
opened first) and after it is gone: then there is nothing to tell C."""

from __future__ import annotations

from typing import Any, Optional

from spdk_py._runtime.binding import binding


def max_bases() -> int:
    """How many bases a disk may have (a route's mask has a bit for each)."""
    return binding.require()[1].SPDK_PY_MAX_BASES


def _node(engine: Optional[Any]) -> Any:
    return None if engine is None else engine.node


def bases_changed(engine: Optional[Any]) -> None:
    """Each channel asks for its table of base channels again before it routes."""
    node = _node(engine)
    if node is not None:
        binding.lib.spdk_py_disk_bases_changed(node)


def slot_reused(engine: Optional[Any], slot: int) -> None:
    """A base in a slot another had: a late failure of the old one is ignored."""
    node = _node(engine)
    if node is not None:
        binding.lib.spdk_py_disk_base_slot(node, slot)


def fail_base(engine: Optional[Any], slot: int) -> None:
    """No reactor routes to slot from now on."""
    node = _node(engine)
    if node is not None:
        binding.lib.spdk_py_disk_fail_base(node, slot)


def routed_ios(engine: Optional[Any], slot: int) -> int:
    """Children C sent to slot."""
    node = _node(engine)
    return 0 if node is None else binding.lib.spdk_py_disk_base_ios(node, slot)


def forwarding_writes(engine: Optional[Any]) -> int:
    """Routed writes in flight, on every thread."""
    node = _node(engine)
    return 0 if node is None else binding.lib.spdk_py_disk_forwarding_writes(node)
