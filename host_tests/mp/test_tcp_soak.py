"""Impairment soak, short version (the long one: tools/robust/soak.py --seconds N).

1 MB each way between two stacks under loss 5%, reordering 5%, duplication 1%,
corruption 1%, for 20 seeds: every byte exactly once and in order, clean close,
both pools full again afterwards."""
import soak  # tools/robust/soak.py


def test_soak_20_seeds_1mb_each_way():
    for seed in range(1, 21):
        r = soak.soak_one(seed, 1000000)
        assert r["retransmits"] > 0  # the impairments really bit
