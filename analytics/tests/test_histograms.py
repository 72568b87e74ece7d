"""The numpy merge of packed latency histograms answers what merging the dicts one by one
and walking the bins in order answers (the code it replaced), on random data."""

import math
import random

import pytest

from analytics.histograms import latency_percentiles, pack, unpack
from analytics.models import LATENCY_METRICS
from analytics.rollups import latency_bin


def _reference_percentile(histogram: dict[str, int], p: float) -> float | None:
    """Nearest rank, the straightforward way: sort the bins, count up to the rank."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, math.ceil(p / 100 * total))
    seen = 0
    for key in sorted(histogram, key=int):
        seen += histogram[key]
        if seen >= rank:
            return float(int(key) * 10)
    return None


def _merged(rows, groups):
    """latency_percentiles of `rows` given as dicts, packed as rollup rows store them."""
    return latency_percentiles([(group, pack(histograms)) for group, histograms in rows], groups)


def _reference(rows, groups):
    merged: list[dict] = [{} for _ in range(groups)]
    whole: dict = {}
    for group, histograms in rows:
        for target in [whole] if group is None else [whole, merged[group]]:
            for metric, bins in histograms.items():
                current = target.setdefault(metric, {})
                for key, count in bins.items():
                    current[key] = current.get(key, 0) + count

    def figures(histograms):
        return {
            metric: {
                "p50": _reference_percentile(histograms.get(metric, {}), 50),
                "p95": _reference_percentile(histograms.get(metric, {}), 95),
                "count": sum(histograms.get(metric, {}).values()),
            }
            for metric in LATENCY_METRICS
        }

    return [figures(m) for m in merged], figures(whole)


def _random_histogram(rng: random.Random, *, turns: int, big: bool) -> dict:
    histograms: dict = {}
    for metric in rng.sample(LATENCY_METRICS, rng.randint(0, len(LATENCY_METRICS))):
        bins: dict = {}
        for _ in range(rng.randint(1, turns)):
            # Mostly realistic latencies, some seconds-long outliers (1 s bins above 10 s).
            value = rng.choice([rng.uniform(0, 2500), rng.uniform(0, 12_000), rng.uniform(0, 120_000)])
            key = latency_bin(value)
            bins[key] = bins.get(key, 0) + (rng.randint(1, 10**9) if big else 1)
        histograms[metric] = bins
    return histograms


@pytest.mark.parametrize("seed", range(60))
def test_the_merge_answers_what_merging_dict_by_dict_answers(seed):
    rng = random.Random(seed)
    groups = rng.randint(1, 40)
    big_counts = seed % 5 == 0
    rows = [
        # None: a row outside every group (it counts in the whole only).
        (
            rng.choice([*range(groups), None]),
            _random_histogram(rng, turns=rng.choice([1, 3, 80]), big=big_counts),
        )
        for _ in range(rng.randint(0, 120))
    ]
    assert _merged(rows, groups) == _reference(rows, groups)


def test_ranks_on_a_bin_edge_and_odd_counts_match():
    """Totals where p / 100 * total is an integer (20 -> rank 19) or just above one, a bin
    written with a leading zero, a negative latency's bin, a latency of hours, and zero and
    negative counts (never written by the hook, but the merge must still answer the same)."""
    cases = [
        [(0, {"e2e": {"100": 19, "200": 1}})],
        [(0, {"e2e": {"100": 18, "200": 2}}), (0, {"e2e": {"300": 1}})],
        [(0, {"e2e": {"100": 1, "0100": 1, "50": 1}})],
        [(0, {"e2e": {"100": 0}}), (1, {"e2e": {"100": 3, "5": -1}, "llm_ttft": {"7": 0}})],
        [(1, {"tts_ttfb": {"12000": 2**40, "3": 2**40 + 1}})],
        [(None, {"end_of_turn": {"-2": 1, "0": 1}}), (0, {"end_of_turn": {"4": 1}})],
        [(0, {"e2e": {"2000000": 1, "-2": 1, "5": 2}})],  # bins too far apart for a lookup table
        [(0, {"e2e": {"170000000000": 1, "5": 2}}), (0, {"e2e": {"7": 2**33}}), (1, {"e2e": {"7": 1}})],  # 64-bit
    ]
    for rows in cases:
        assert _merged(rows, 2) == _reference(rows, 2), rows


def test_nothing_to_merge_gives_empty_figures():
    series, whole = latency_percentiles([], 3)
    assert series == [{m: {"p50": None, "p95": None, "count": 0} for m in LATENCY_METRICS}] * 3
    assert whole == {m: {"p50": None, "p95": None, "count": 0} for m in LATENCY_METRICS}


def test_packing_keeps_every_bin_and_count():
    for histograms in (
        {"e2e": {"0": 1, "99": 7, "100": 3, "36000": 1}, "tts_ttfb": {"-2": 4}},
        {"e2e": {"99": 2**40, "170000000000": 1}, "end_of_turn": {"3": 1}},  # beyond 32 bits
    ):
        packed = pack(histograms)
        assert unpack(packed) == histograms
        assert unpack(memoryview(packed)) == histograms  # what the database driver hands back
    assert pack({}) == b"" and unpack(b"") == {}
