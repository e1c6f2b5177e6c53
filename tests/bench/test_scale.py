"""bench.scale's figures are the median of back-to-back pairs, as issue 16 measures them."""

from bench.scale import median_pair, spread


def test_the_median_pair_is_reported_with_its_own_details() -> None:
    measured = iter([(1.32, "first"), (1.58, "second"), (1.48, "third")])

    ratio, details, ratios = median_pair(lambda: next(measured), 3)

    assert (ratio, details) == (1.48, "third")
    assert ratios == [1.32, 1.48, 1.58]
    assert spread(ratios) == "; median of 3: 1.32-1.58"


def test_one_pair_is_its_own_median_and_has_no_spread() -> None:
    ratio, details, ratios = median_pair(lambda: (0.9, "only"), 1)

    assert (ratio, details) == (0.9, "only")
    assert spread(ratios) == ""
