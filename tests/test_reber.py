"""Tests of the embedded Reber grammar task (Exp. 1, paper-spec §5.1, readings 1 and 21)."""

import itertools
from collections import Counter, defaultdict

import numpy as np
import pytest

from lstm1997.batch import Batch
from lstm1997.tasks.reber import (REBER_GRAMMAR, SYMBOLS, all_correct, count_errors, embedded_reber_string,
                                  encode, is_embedded_reber, is_reber, legal_successors, make_datasets,
                                  reber_string)

# The grammar as written in paper-spec §5.1, parsed here independently of the module's table.
_SPEC_GRAMMAR = """n1 -T-> n2 | n1 -P-> n3 ;  n2 -S-> n2 | n2 -X-> n4 ;  n3 -T-> n3 | n3 -V-> n5 ;
                   n4 -X-> n3 | n4 -S-> end ;  n5 -P-> n4 | n5 -V-> end"""


def _spec_edges():
    edges = defaultdict(list)
    for part in _SPEC_GRAMMAR.replace(";", "|").split("|"):
        src, sym, dst = part.replace("->", " ").replace("-", " ").split()
        edges[src].append((sym, dst))
    return edges


def _all_embedded(max_len):
    """Every embedded Reber string of length <= max_len, by exhaustive walks of the spec's graph."""
    edges, inner = _spec_edges(), []
    stack = [("n1", "B")]
    while stack:
        node, s = stack.pop()
        if node == "end":
            inner.append(s + "E")
            continue
        if len(s) + 1 + 4 < max_len:          # room for at least this edge's symbol, E and B c .. c E
            stack.extend((dst, s + sym) for sym, dst in edges[node])
    return [f"B{c}{r}{c}E" for c in "TP" for r in inner if len(r) + 4 <= max_len]


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(12345)
    return [embedded_reber_string(rng) for _ in range(5000)]


def test_module_table_matches_spec():
    assert SYMBOLS == "BTPSXVE"
    assert {k: sorted(v) for k, v in REBER_GRAMMAR.items()} == {k: sorted(v) for k, v in _spec_edges().items()}


def test_acceptor_examples():
    for s in ["BTSSXXTVVE", "BPVVE", "BTXXVPSE", "BPVPXVPXVPXVVE", "BTXSE"]:
        assert is_reber(s)
    assert is_embedded_reber("BTBTXSETE") and is_embedded_reber("BPBPVVEPE")
    for s in ["", "BTBTXSEPE", "BPBTXSETE", "BTBTXSET", "TBTXSETE", "BTBTXSETEE", "BTSSXXTVVE", "BTBTXXETE",
              "BTBPVPETE", "BTBTXVETE", "BTBTSXSET"]:
        assert not is_embedded_reber(s), s
    assert not is_embedded_reber(None)


def test_acceptor_complete_for_short_strings():
    """Every string B..E over the alphabet with <= 8 symbols: accepted iff an exhaustive walk makes it."""
    walks = {s[2:-2] for s in _all_embedded(12)}
    accepted = set()
    for n in range(0, 7):
        for mid in itertools.product(SYMBOLS, repeat=n):
            s = "B" + "".join(mid) + "E"
            if is_reber(s):
                accepted.add(s)
    assert accepted == {w for w in walks if len(w) <= 8}
    assert min(map(len, accepted)) == 5


def test_generated_strings_are_accepted_and_lengths(samples):
    assert all(is_embedded_reber(s) for s in samples)
    L = np.array([len(s) for s in samples])
    assert L.min() == 9 and np.any(L == 9)
    assert abs(L.mean() - 12.0) < 0.5
    inner = np.array([len(s) - 4 for s in samples])
    assert inner.min() == 5 and abs(inner.mean() - 8.0) < 0.5
    rng = np.random.default_rng(7)
    R = [reber_string(rng) for _ in range(3000)]
    assert all(is_reber(r) for r in R) and min(map(len, R)) == 5


def test_embedded_symbols_identical_and_balanced(samples):
    assert all(s[1] == s[-2] and s[1] in "TP" for s in samples)
    assert all(s[2] == "B" and s[-3] == "E" for s in samples)
    frac_t = np.mean([s[1] == "T" for s in samples])
    assert abs(frac_t - 0.5) < 0.03


def test_branch_probabilities(samples):
    """At every choice node (two legal successors) both branches are taken with p ~ 0.5."""
    counts = defaultdict(Counter)                       # (inner state via prefix class) -> next symbols
    for s in samples:
        legal = legal_successors(s)
        for t in range(len(s) - 1):
            pair = "".join(SYMBOLS[i] for i in np.flatnonzero(legal[t]))
            if len(pair) == 2:
                counts[pair][s[t + 1]] += 1
    assert set(counts) == {"TP", "SX", "TV", "PV"}    # n1 and c; n2 and n4; n3; n5
    for pair, c in counts.items():
        n = sum(c.values())
        assert set(c) == set(pair) and n > 1000
        assert abs(c[pair[0]] / n - 0.5) < 0.03, (pair, c)
    # the inner n1 (first symbol after the inner B) separately
    first = np.mean([s[3] == "T" for s in samples])
    assert abs(first - 0.5) < 0.03


def test_legal_successors_brute_force(samples):
    """A symbol is legal after a prefix iff some embedded string (all those of length <= 28) extends it."""
    bound = 28
    everything = _all_embedded(bound)
    assert all(is_embedded_reber(s) for s in everything)
    assert len(everything) == len(set(everything)) == 2 * 11361   # inner Reber strings of length <= 24
    nxt = defaultdict(set)
    for s in everything:
        for t in range(1, len(s)):
            nxt[s[:t]].add(s[t])
    # any viable prefix of length m <= 20 plus its next symbol completes within <= 7 more symbols
    checked = 0
    for s in [w for w in everything if len(w) <= 20] + [w for w in samples if len(w) <= 20]:
        legal = legal_successors(s)
        assert legal.shape == (len(s) - 1, 7) and legal.dtype == bool
        for t in range(len(s) - 1):
            assert {SYMBOLS[i] for i in np.flatnonzero(legal[t])} == nxt[s[:t + 1]], (s, t)
            checked += 1
        assert legal[-1].sum() == 1 and legal[-1, SYMBOLS.index("E")]
        assert legal[-2].sum() == 1 and legal[-2, SYMBOLS.index(s[1])]   # the 2nd symbol's twin
    assert checked > 50_000
    # prefixes work too; illegal input is rejected
    assert legal_successors("B").shape == (0, 7)
    np.testing.assert_array_equal(legal_successors("BT"), legal_successors("BTBTXSETE")[:1])
    for bad in ["", "T", "BTBTXSEPE", "BTBTXSETEE", "BTBA"]:
        with pytest.raises(ValueError):
            legal_successors(bad)


def test_make_datasets():
    train, test = make_datasets(np.random.default_rng(3))
    assert len(train) == 256 and len(test) == 256
    assert all(map(is_embedded_reber, train + test))
    assert not set(test) & set(train)
    assert 60 <= len(set(train)) <= 150
    distinct = [len(set(make_datasets(np.random.default_rng(k))[0])) for k in range(10)]
    assert all(60 <= d <= 150 for d in distinct)
    small_tr, small_te = make_datasets(np.random.default_rng(0), n_train=10, n_test=20)
    assert len(small_tr) == 10 and len(small_te) == 20
    with pytest.raises(ValueError):
        make_datasets(np.random.default_rng(0), n_train=0)
    with pytest.raises(TypeError):
        make_datasets(0)


def test_encode():
    train, _ = make_datasets(np.random.default_rng(11), n_train=64, n_test=1)
    batch, legal = encode(train)
    assert isinstance(batch, Batch) and batch.symbols is not None
    assert len(batch) == 64 and batch.n_in == 7 and batch.n_out == 7
    np.testing.assert_array_equal(batch.lengths, [len(s) - 1 for s in train])
    assert legal.shape == (batch.n_steps, 7) and legal.dtype == bool
    assert not np.isnan(batch.targets).any()
    for i, s in enumerate(train):
        x, d = batch[i]
        np.testing.assert_array_equal(x.argmax(1), [SYMBOLS.index(c) for c in s[:-1]])   # no step for final E
        assert np.all(x.sum(1) == 1.0) and np.all(d.sum(1) == 1.0) and set(np.unique(d)) == {0.0, 1.0}
        np.testing.assert_array_equal(d.argmax(1), [SYMBOLS.index(c) for c in s[1:]])
        lg = legal[batch.offsets[i]:batch.offsets[i + 1]]
        np.testing.assert_array_equal(lg, legal_successors(s))
        assert np.all((lg.sum(1) >= 1) & (lg.sum(1) <= 2))
        assert np.all(lg[np.arange(len(s) - 1), d.argmax(1)])        # the actual next symbol is legal
    multi, legal2 = encode(train, onehot=False)                      # reading 1(b): multi-hot targets
    np.testing.assert_array_equal(multi.targets, legal.astype(float))
    np.testing.assert_array_equal(legal2, legal)
    np.testing.assert_array_equal(multi.symbols, batch.symbols)
    with pytest.raises(ValueError):
        encode(["BTBTXSETE", "BTBTXSEPE"])
    with pytest.raises(ValueError):
        encode([])


def test_success_criterion():
    strings = ["BTBTXSETE", "BPBPVVEPE", "BTBTSSXXTVVETE"]
    batch, legal = encode(strings)
    y = legal.astype(float)
    assert all_correct(y, legal) and count_errors(y, legal, batch.offsets) == 0
    # scaled / shifted outputs keep the ordering
    assert all_correct(0.3 * y + 0.1, legal)
    # one step where an illegal symbol wins
    t = batch.offsets[1] + 2                                   # 3rd step of string 1
    bad = y.copy()
    bad[t, np.flatnonzero(~legal[t])[0]] = 2.0
    assert not all_correct(bad, legal) and count_errors(bad, legal, batch.offsets) == 1
    # an illegal symbol beats only one of two legal ones: still wrong (top-2 must be exactly L)
    t2 = int(np.flatnonzero(legal.sum(1) == 2)[0])
    bad2 = y.copy()
    bad2[t2, np.flatnonzero(legal[t2])[0]] = 0.2
    bad2[t2, np.flatnonzero(~legal[t2])[0]] = 0.5
    assert not all_correct(bad2, legal)
    # a tie between a legal and an illegal output counts as wrong
    tie = y.copy()
    tie[t, np.flatnonzero(~legal[t])[0]] = 1.0
    assert not all_correct(tie, legal) and count_errors(tie, legal, batch.offsets) == 1
    # NaN is wrong; errors in two steps of one string count once; errors in two strings count twice
    nan = y.copy()
    nan[0, 0] = np.nan
    assert not all_correct(nan, legal)
    two = bad.copy()
    two[t + 1, np.flatnonzero(~legal[t + 1])[0]] = 3.0
    assert count_errors(two, legal, batch.offsets) == 1
    two[0, np.flatnonzero(~legal[0])[0]] = 3.0
    assert count_errors(two, legal, batch.offsets) == 2
    # with reading 1(a), ideal outputs are the successor probabilities: 0.5/0.5 at a choice passes
    probs = legal / legal.sum(1, keepdims=True)
    assert all_correct(probs, legal)
    with pytest.raises(ValueError):
        all_correct(y[:, :6], legal)


def test_reproducible():
    a = make_datasets(np.random.default_rng(42))
    b = make_datasets(np.random.default_rng(42))
    c = make_datasets(np.random.default_rng(43))
    assert a == b
    assert a[0] != c[0] and a[1] != c[1]
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    assert [embedded_reber_string(r1) for _ in range(50)] == [embedded_reber_string(r2) for _ in range(50)]
    with pytest.raises(TypeError):
        reber_string(np.random.RandomState(0))
