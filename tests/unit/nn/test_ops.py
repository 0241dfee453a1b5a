from __future__ import annotations

import pytest
import torch

from onceforall.nn.ops import center_crop_kernel, slice_channels, transform_kernel


def test_slice_channels_is_a_view() -> None:
    weight = torch.randn(8, 6, 3, 3)
    sliced = slice_channels(weight, 4, 2)
    assert sliced.shape == (4, 2, 3, 3)
    assert sliced.data_ptr() == weight.data_ptr()
    assert slice_channels(weight, 8, 6) is weight


def test_center_crop() -> None:
    weight = torch.arange(49.0).reshape(1, 1, 7, 7)
    assert center_crop_kernel(weight, 3).flatten().tolist() == [16, 17, 18, 23, 24, 25, 30, 31, 32]
    with pytest.raises(ValueError, match="cannot crop"):
        center_crop_kernel(weight, 4)


def test_identity_matrices_equal_plain_crop() -> None:
    weight = torch.randn(5, 1, 7, 7)
    eye = {"7to5": torch.eye(25), "5to3": torch.eye(9)}
    for k in (3, 5, 7):
        assert torch.equal(
            transform_kernel(weight, k, (3, 5, 7), eye), center_crop_kernel(weight, k)
        )
        assert torch.equal(
            transform_kernel(weight, k, (3, 5, 7), None), center_crop_kernel(weight, k)
        )


def test_matrices_mix_taps_per_step() -> None:
    weight = torch.randn(4, 1, 7, 7)
    m75, m53 = torch.randn(25, 25), torch.randn(9, 9)
    five = (center_crop_kernel(weight, 5).reshape(4, 25) @ m75.t()).reshape(4, 1, 5, 5)
    three = (center_crop_kernel(five, 3).reshape(4, 9) @ m53.t()).reshape(4, 1, 3, 3)
    out = transform_kernel(weight, 3, (3, 5, 7), {"7to5": m75, "5to3": m53})
    torch.testing.assert_close(out, three)
    with pytest.raises(ValueError, match="not reachable"):
        transform_kernel(weight, 4, (3, 5, 7), None)
