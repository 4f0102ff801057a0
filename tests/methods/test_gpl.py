"""GPL's guard against a cross-encoder whose pseudo-labels carry no signal."""

from __future__ import annotations


def test_gpl_flags_a_cross_encoder_whose_margins_carry_no_signal():
    from densefit.methods.gpl import weak_teacher

    assert weak_teacher([0.01, -0.02, 0.015, 0.005])  # the self-trained teacher measured on man pages
    assert weak_teacher([2.0, -1.5, -1.0, 1.9])  # half the pairs reversed
    assert not weak_teacher([3.1, 2.4, 0.8, 4.0, -0.2])
