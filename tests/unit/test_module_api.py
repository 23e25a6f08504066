"""The module API's pure parts, without SPDK: which I/O types a class hooks,
how a reload remaps factories, the examples' helpers."""

import functools

import pytest

from examples import latency_histogram, xor
from spdk_py import passthru
from spdk_py._runtime import reload
from spdk_py._runtime.io_counts import IoCounts
from spdk_py._runtime.vbdev import VbdevEngine
from spdk_py.bdev import IoType
from spdk_py.jsonrpc import RpcError
from spdk_py.vbdev import Vbdev


def hooks_of(cls):
    """(submit mask, complete mask) a class gives C, computed as bind_hooks does."""
    engine = object.__new__(VbdevEngine)
    engine.owner = object.__new__(cls)
    engine.counts = IoCounts(32)
    _, submit, _ = engine._hooks("submit_request", "submit")
    _, complete, _ = engine._hooks("complete_io", "complete")
    return submit, complete


def bits(*types):
    return sum(1 << t for t in types)


class WritesOnly(passthru.PassthruVbdev):
    def submit_write(self, io):
        return None


class ReadCompletions(passthru.PassthruVbdev):
    def complete_read(self, io, status):
        return status


class Everything(passthru.PassthruVbdev):
    def submit_request(self, io, io_type):
        return None


def test_the_port_hooks_every_type():
    assert hooks_of(passthru.PassthruVbdev) == (2 ** 32 - 1, 0)


def test_a_subclass_hooks_only_what_it_defines():
    assert hooks_of(WritesOnly) == (bits(IoType.WRITE), 0)
    assert hooks_of(ReadCompletions) == (0, bits(IoType.READ))
    assert hooks_of(Everything) == (2 ** 32 - 1, 0)
    assert hooks_of(Vbdev) == (0, 0)


def test_examples_hook_what_they_say():
    assert hooks_of(xor.XorVbdev) == (bits(IoType.WRITE), bits(IoType.READ))
    assert hooks_of(latency_histogram.LatencyHistogram) == (0, 0)


def test_reload_remaps_classes_and_partials_of_them():
    class New:
        pass
    new = type("module", (), {"XorVbdev": type("XorVbdev", (xor.XorVbdev,), {}),
                              "__name__": "spdk_py.examples.xor"})
    remapped = reload._remap_factory(functools.partial(xor.XorVbdev, key=b"k"),
                                     "spdk_py.examples.xor", new)
    assert remapped.func is new.XorVbdev and remapped.keywords == {"key": b"k"}
    assert reload._remap_factory(New, "spdk_py.examples.xor", new) is New
    gone = type("module", (), {"__name__": "spdk_py.examples.xor"})
    with pytest.raises(RpcError, match="no Vbdev class XorVbdev"):
        reload._remap_factory(xor.XorVbdev, "spdk_py.examples.xor", gone)


@pytest.mark.parametrize("text,ok", [("5a", True), ("a5c3", True), ("", False), ("a1b2c3", False),
                                     ("zz", False), ("00" * 128, False)])
def test_xor_keys(text, ok):
    if ok:
        assert xor.decode_key(text) == bytes.fromhex(text)
    else:
        with pytest.raises(RpcError):
            xor.decode_key(text)


def test_xor_transform_is_its_own_inverse_across_iov_splits():
    vb = object.__new__(xor.XorVbdev)
    vb.set_key(bytes.fromhex("0102030405060708"))
    data = bytes(range(256)) * 8
    out = bytearray(len(data))
    # Two pieces split off the key's period: the second starts at key byte 3.
    vb._xor(memoryview(out)[:771], data[:771], 0)
    vb._xor(memoryview(out)[771:], data[771:], 771)
    assert bytes(out) == bytes(b ^ vb.key[i % 8] for i, b in enumerate(data))
    back = bytearray(len(out))
    vb._xor(memoryview(back), bytes(out), 0)
    assert bytes(back) == data


def test_histogram_summary_percentiles():
    counts = [0] * 40
    counts[10], counts[12] = 98, 2          # below 1024 and 4096 ticks
    summary = latency_histogram.summarize(counts, ticks_per_us=1024)
    assert summary["ios"] == 100
    assert summary["buckets"] == {"<1us": 98, "<4us": 2}
    assert summary["p50_us"] == 1.0 and summary["p99_us"] == 4.0
