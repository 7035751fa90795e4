"""Decimation (`gmwidgets.decimate`, pure numpy), property-tested with hypothesis: in one pass and streaming, the
display is bounded, keeps the ends and each bucket's extremes, and equals the batch computation."""
import math
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from gmwidgets.decimate import Growable, StreamDecimator, minmax_decimate, minmax_indices
from gmwidgets import livechart


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=400), st.integers(1, 50))
@settings(max_examples=200, deadline=None)
def test_decimate_keeps_each_bucket_min_max_and_ends(ys, n_buckets):
    y = np.array(ys)
    x = np.arange(len(y)) * 10
    xd, yd = minmax_decimate(x, y, n_buckets)
    assert len(xd) <= 2 * n_buckets + 2
    assert list(xd) == sorted(set(xd)), 'points stay in order, no duplicates'
    assert xd[0] == x[0] and xd[-1] == x[-1], 'first and last point kept'
    width = max(1, math.ceil(len(y) / n_buckets)) if len(y) > 2 * n_buckets + 2 else 1
    kept = set(xd.tolist())
    for s in range(0, len(y), width):  # every bucket's min and max values are on display
        b = y[s:s + width]
        assert any(v == b.min() for xx, v in zip(xd, yd) if x[s] <= xx < x[s] + 10 * width)
        assert any(v == b.max() for xx, v in zip(xd, yd) if x[s] <= xx < x[s] + 10 * width)
    assert all(y[k // 10] == v for k, v in zip(xd, yd)) and kept <= set(x.tolist())


def test_decimate_rejects_bad_input():
    with pytest.raises(ValueError, match='n_buckets=0'): minmax_decimate([1, 2], [1, 2], 0)
    with pytest.raises(ValueError, match='equal lengths'): minmax_decimate([1, 2], [1], 3)


@given(st.integers(1, 3000), st.integers(1, 97), st.sampled_from([8, 16, 64]))
@settings(max_examples=60, deadline=None)
def test_stream_matches_batch_decimation(n, chunk, max_points):
    y = np.random.default_rng(n).normal(size=n).cumsum()
    d = StreamDecimator(max_points)
    for end in range(chunk, n + chunk, chunk): d.update(y[:min(end, n)])
    shown = d.display(y)
    assert len(shown) <= max_points
    assert shown[0] == 0 and shown[-1] == n - 1
    lo, hi = minmax_indices(y[:d.done], d.w)  # the final part equals the batch min/max at the current width
    assert set(d.final().tolist()) == (set([0] + lo.tolist() + hi.tolist()) if d.done else set())
    assert not set(d.final().tolist()) & set(d.tail(y).tolist()), 'a point is final or provisional, not both' 
    if d.done < n:  # the open bucket's extremes are on display too
        assert d.done + np.argmin(y[d.done:]) in shown and d.done + np.argmax(y[d.done:]) in shown


values = st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, 1.0]), min_size=1, max_size=600)  # plateaus too


@given(values, st.lists(st.integers(1, 60), min_size=1, max_size=40), st.sampled_from([8, 9, 16, 50]))
@settings(max_examples=150, deadline=None)
def test_stream_display_is_bounded_and_keeps_ends_and_extremes(ys, chunks, max_points):
    "Any values (ties and plateaus included), fed in any chunks: the display holds the ends and the global extremes."
    y, d, end = np.array(ys), StreamDecimator(max_points), 0
    for c in chunks + [len(ys)]:
        end = min(end + c, len(y))
        d.update(y[:end])
    shown = d.display(y)
    assert len(shown) <= max_points
    assert list(shown) == sorted(set(shown.tolist())) and 0 <= shown[0] and shown[-1] == len(y) - 1
    assert shown[0] == 0
    assert y[shown].min() == y.min() and y[shown].max() == y.max()
    assert d.w & (d.w - 1) == 0, 'the bucket width is a power of two'


@given(st.lists(st.floats(-1e3, 1e3), min_size=0, max_size=300), st.integers(1, 40))
@settings(max_examples=100, deadline=None)
def test_minmax_indices_are_the_bucket_extremes(ys, width):
    y = np.array(ys, dtype=np.float64)
    lo, hi = minmax_indices(y, width)
    assert len(lo) == len(hi) == len(y) // width
    for b, (i, j) in enumerate(zip(lo, hi)):
        bucket = y[b * width:(b + 1) * width]
        assert b * width <= i < (b + 1) * width and y[i] == bucket.min()
        assert b * width <= j < (b + 1) * width and y[j] == bucket.max()


@given(st.lists(st.lists(st.integers(-50, 50), max_size=30), max_size=30))
@settings(max_examples=100, deadline=None)
def test_growable_holds_what_was_added(parts):
    g, want = Growable(np.int64, cap=1), []
    for p in parts:
        if len(p) == 1: g.append(p[0])
        else: g.extend(p)
        want += p
    assert g.values.tolist() == want and len(g) == len(want) and len(g.buf) >= len(g)


def test_stream_decimator_rejects_a_tiny_display():
    with pytest.raises(ValueError, match='max_points=7'): StreamDecimator(7)


def test_livechart_reexports_the_decimation():
    assert livechart.StreamDecimator is StreamDecimator and livechart.minmax_decimate is minmax_decimate
