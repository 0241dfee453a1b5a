"""IDX reading/writing and Fashion-MNIST loading (real files: skipped when not installed)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from onceforall.data.dataset import DatasetStats
from onceforall.data.fashion_mnist import (
    CLASS_NAMES,
    DEFAULT_ROOT,
    FASHION_MNIST_STATS,
    load_fashion_mnist,
    read_idx,
    write_idx,
)
from onceforall.errors import DataError, OnceForAllError

REAL_FILES = [
    DEFAULT_ROOT / "train-images-idx3-ubyte.gz",
    DEFAULT_ROOT / "t10k-labels-idx1-ubyte.gz",
]
needs_real = pytest.mark.skipif(
    not all(path.is_file() for path in REAL_FILES),
    reason=f"Fashion-MNIST not in {DEFAULT_ROOT} (sudo apt-get install dataset-fashion-mnist)",
)


@pytest.mark.parametrize("name", ["array.idx.gz", "array.idx"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path: Path, name: str, dtype: type) -> None:
    array: np.ndarray = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_header_is_big_endian_mnist_layout(tmp_path: Path) -> None:
    write_idx(tmp_path / "labels", np.array([1, 2, 3], dtype=np.uint8))
    assert (tmp_path / "labels").read_bytes() == bytes.fromhex("00000801 00000003 010203")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "bad magic"),
        (b"\x01\x02\x08\x01\x00\x00\x00\x01\x05", "bad magic"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "bad magic"),  # 0x07 is no IDX type
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "header needs 16 bytes"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02", "truncated or corrupt"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "truncated or corrupt"),  # trailing bytes
    ],
)
def test_corrupt_idx_is_a_data_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(DataError, match=message) as raised:
        read_idx(path)
    assert str(path) in str(raised.value)


def test_truncated_gzip_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "images.gz"
    write_idx(path, np.zeros((50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match="cannot read IDX file"):
        read_idx(path)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read IDX file"):
        read_idx(tmp_path / "absent.gz")


def test_missing_directory_says_where_and_how_to_install(tmp_path: Path) -> None:
    root = tmp_path / "nowhere"
    with pytest.raises(OnceForAllError) as raised:
        load_fashion_mnist(root, "test")
    message = str(raised.value)
    assert isinstance(raised.value, DataError)
    assert "\n" not in message
    assert str(root) in message and "t10k-images-idx3-ubyte.gz" in message
    assert "sudo apt-get install dataset-fashion-mnist" in message and "root=" in message


def _write_fake(root: Path, split: str, images: np.ndarray, labels: np.ndarray) -> None:
    prefix = "train" if split == "train" else "t10k"
    write_idx(root / f"{prefix}-images-idx3-ubyte.gz", images)
    write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", labels)


def test_load_from_given_root(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = np.arange(12, dtype=np.uint8) % 10
    _write_fake(tmp_path, "test", images, labels)
    data = load_fashion_mnist(tmp_path, "test")
    assert data.name == "fashion-mnist-test"
    assert data.images.shape == (12, 1, 28, 28) and data.images.dtype == torch.uint8
    assert torch.equal(data.images[:, 0], torch.from_numpy(images))
    assert data.labels.dtype == torch.int64 and data.labels.tolist() == labels.tolist()
    assert data.class_names == CLASS_NAMES and data.stats == FASHION_MNIST_STATS


def test_mismatched_files_are_data_errors(tmp_path: Path) -> None:
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    _write_fake(tmp_path, "train", images, np.zeros(3, dtype=np.uint8))
    with pytest.raises(DataError, match=r"4 images but .* 3 labels"):
        load_fashion_mnist(tmp_path)
    _write_fake(tmp_path, "train", images, np.full(4, 10, dtype=np.uint8))
    with pytest.raises(DataError, match="10 classes"):
        load_fashion_mnist(tmp_path)
    _write_fake(tmp_path, "train", images.astype(np.float32), np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError, match="expected uint8"):
        load_fashion_mnist(tmp_path)


def test_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown Fashion-MNIST split"):
        load_fashion_mnist(tmp_path, "validation")  # type: ignore[arg-type]


@needs_real
@pytest.mark.parametrize(("split", "size"), [("train", 60000), ("test", 10000)])
def test_real_fashion_mnist(split: str, size: int) -> None:
    data = load_fashion_mnist(split=split)  # type: ignore[arg-type]
    assert data.images.shape == (size, 1, 28, 28) and data.images.dtype == torch.uint8
    assert data.labels.shape == (size,) and data.labels.dtype == torch.int64
    assert data.num_classes == 10 and data.image_size == (28, 28)
    # Fashion-MNIST is balanced: 6000 / 1000 images per class.
    assert torch.bincount(data.labels).tolist() == [size // 10] * 10
    if split == "train":
        computed = DatasetStats.from_images(data.images)
        np.testing.assert_allclose(computed.mean, FASHION_MNIST_STATS.mean, rtol=1e-9)
        np.testing.assert_allclose(computed.std, FASHION_MNIST_STATS.std, rtol=1e-9)
