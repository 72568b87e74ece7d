"""Latency histograms as rollup rows store them, and percentiles of many rows at once.

A histogram is `{metric: {bin: count}}` (rollups.latency_bin: bins of 10 ms, 100 ms or
1 s, under 300 per metric). Rollup rows store it **packed** (`pack`, `unpack`): one
byte naming the record format, then one record per bin, (metric code, bin, count)
little-endian, sorted, 5 bytes each while bins and counts fit in 16 bits. An hour of a
million calls a quarter, about 215 bins, is about 1 kB, read as it is (deflating it saved
bytes on the wire, but inflating 2,000 rows cost more than that saved). A query merges
the rows it reads with numpy (`latency_percentiles`): one `frombuffer` over all of them,
one `bincount` into a dense metric x bucket x bin grid, and each bucket's nearest-rank
percentile from the grid's cumulative sums. The
interpreted work is per row, never per bin: when the rows were JSON, an hour at a
million calls had most of its bins filled, and parsing and merging them bin by bin in
Python grew with the number of calls (docs/after-the-call.md, "Measured").

The answer is exactly what merging the dicts one by one and walking the bins in order
gives (`analytics/tests/test_histograms.py` checks it against that reference on random
data): the rank is the same float expression, `max(1, ceil(p / 100 * total))`, counts
are summed exactly (float64 holds every integer below 2**53), and the first bin whose
running count reaches the rank is taken, whatever the counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .models import LATENCY_BIN_MS, LATENCY_METRICS

PERCENTS = (50, 95)
# One bin of one metric: LATENCY_METRICS index, bin (rollups.latency_bin, as an int), count.
# A row's records take the narrowest format that holds all of its bins and counts: 16-bit
# (latencies under 327 s, under 65,536 turns in a bin: an hour of the benchmark's million
# calls), 32-bit, or 64-bit (a latency of months, billions of turns), so nothing is ever
# refused or clipped. The packed bytes' first byte names the format.
_FORMATS = {
    1: np.dtype([("metric", "u1"), ("bin", "<i2"), ("count", "<u2")]),
    2: np.dtype([("metric", "u1"), ("bin", "<i4"), ("count", "<i4")]),
    3: np.dtype([("metric", "u1"), ("bin", "<i8"), ("count", "<i8")]),
}
_CODES = {metric: code for code, metric in enumerate(LATENCY_METRICS)}

# {metric: {"p50": ms or None, "p95": ms or None, "count": turns}}
Figures = dict[str, dict[str, Any]]


def pack(histograms: dict[str, dict[str, int]]) -> bytes:
    """`{metric: {bin: count}}` as stored in a rollup row (b"" when empty)."""
    entries = sorted(
        (_CODES[metric], int(key), count) for metric, bins in histograms.items() for key, count in bins.items()
    )
    if not entries:
        return b""
    keys = [key for _, key, _ in entries]
    counts = [count for _, _, count in entries]
    tag = next((tag for tag, dtype in _FORMATS.items() if _fits(dtype, keys, counts)), max(_FORMATS))
    return bytes([tag]) + np.array(entries, dtype=_FORMATS[tag]).tobytes()


def _fits(dtype: np.dtype, keys: list[int], counts: list[int]) -> bool:
    bins, tallies = np.iinfo(dtype["bin"]), np.iinfo(dtype["count"])
    return bins.min <= min(keys) and max(keys) <= bins.max and tallies.min <= min(counts) and max(counts) <= tallies.max


def _records(data: bytes | memoryview) -> np.ndarray:
    return np.frombuffer(memoryview(data)[1:], _FORMATS[data[0]])


def unpack(data: bytes | memoryview) -> dict[str, dict[str, int]]:
    """The `{metric: {bin: count}}` a rollup row stores packed."""
    histograms: dict[str, dict[str, int]] = {}
    for code, key, count in _records(data).tolist() if data else []:
        histograms.setdefault(LATENCY_METRICS[code], {})[str(key)] = count
    return histograms


def latency_percentiles(
    rows: Iterable[tuple[int | None, bytes | memoryview]], groups: int
) -> tuple[list[Figures], Figures]:
    """p50, p95 and count per metric of each group 0..groups-1 and of every row together.

    `rows`: (group, packed histograms) pairs; a row whose group is None counts only in the
    whole. Returns ([figures of group 0, 1, ...], figures of the whole)."""
    # Per format: each row's records and its group; the group of rows outside every group
    # is `groups`.
    blobs: dict[int, list[memoryview]] = {tag: [] for tag in _FORMATS}
    targets: dict[int, list[int]] = {tag: [] for tag in _FORMATS}
    for group, data in rows:
        if data:
            blobs[data[0]].append(memoryview(data)[1:])
            targets[data[0]].append(groups if group is None else group)
    # One grid for every metric: row metric * height + group (the rows outside the groups
    # last), a column per distinct bin in increasing order.
    height = groups + 1
    slots, keys, counts = [], [], []
    for tag, dtype in _FORMATS.items():
        if blobs[tag]:
            records = np.frombuffer(b"".join(blobs[tag]), dtype)
            lengths = np.fromiter(map(len, blobs[tag]), dtype=np.intp, count=len(blobs[tag])) // dtype.itemsize
            group_of = np.repeat(np.asarray(targets[tag], dtype=np.intp), lengths)
            slots.append(records["metric"].astype(np.intp) * height + group_of)
            keys.append(records["bin"].astype(np.int64))  # 64-bit: bins are subtracted below
            counts.append(records["count"])
    if not keys:
        return [_empty() for _ in range(groups)], _empty()
    bins, column = _columns(np.concatenate(keys))
    width = len(bins)
    weights = np.concatenate(counts).astype(np.float64)
    size = len(LATENCY_METRICS) * height * width
    grid = np.bincount(np.concatenate(slots) * width + column, weights=weights, minlength=size)
    grid = grid.reshape(len(LATENCY_METRICS), height, width)
    # Per metric: the groups, the rows outside them, then the whole; running counts per bin.
    running = np.cumsum(np.concatenate([grid, grid.sum(axis=1, keepdims=True)], axis=1), axis=2)
    totals = running[:, :, -1]
    values = bins.astype(np.float64) * LATENCY_BIN_MS
    figures: dict[str, list] = {"count": totals.astype(np.int64).tolist()}
    for percent in PERCENTS:
        rank = np.maximum(1, np.ceil(percent / 100 * totals))
        reached = running >= rank[:, :, None]
        first = reached.argmax(axis=2)
        found = np.take_along_axis(reached, first[:, :, None], axis=2)[:, :, 0] & (totals != 0)
        # NaN: no turns, or no bin reaches the rank.
        figures[f"p{percent}"] = np.where(found, values[first], np.nan).tolist()

    def of(code: int, row: int) -> dict[str, Any]:
        p50, p95 = figures["p50"][code][row], figures["p95"][code][row]
        return {
            "p50": None if math.isnan(p50) else p50,
            "p95": None if math.isnan(p95) else p95,
            "count": figures["count"][code][row],
        }

    per_group = [{metric: of(code, group) for code, metric in enumerate(LATENCY_METRICS)} for group in range(groups)]
    return per_group, {metric: of(code, height) for code, metric in enumerate(LATENCY_METRICS)}


def _empty() -> Figures:
    return {metric: {"p50": None, "p95": None, "count": 0} for metric in LATENCY_METRICS}


def _columns(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(keys, return_inverse=True) (the distinct keys in increasing order, and the
    index of each key among them), without sorting when the keys span a small range, as
    bins do (0 to a few thousand): a sort was a third of a query's merge."""
    low, high = int(keys.min()), int(keys.max())
    if high - low > 1 << 20:
        return np.unique(keys, return_inverse=True)
    offsets = keys - low
    present = np.zeros(high - low + 1, dtype=bool)
    present[offsets] = True
    return np.flatnonzero(present) + low, (np.cumsum(present) - 1)[offsets]


__all__ = ["PERCENTS", "latency_percentiles", "pack", "unpack"]
