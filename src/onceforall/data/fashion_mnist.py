"""Fashion-MNIST from its IDX files, as an in-memory ``ImageDataset`` of uint8 images.

Fashion-MNIST (Xiao et al. 2017) is the small data set the library trains and tests end to end
without downloads: Debian ships it as the package ``dataset-fashion-mnist``. The files use the IDX
format of MNIST: a 4-byte magic (two zero bytes, a type code, the number of dimensions), one
big-endian uint32 per dimension, then the values in row-major big-endian order.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from onceforall.data.dataset import DatasetStats, ImageDataset
from onceforall.errors import DataError

DEFAULT_ROOT = Path("/usr/share/datasets/fashion-mnist")

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# Mean and std of the 60k training images in [0, 1]; both splits are normalized with these.
# Written out so that loading the test split does not need the training split (a test checks them).
FASHION_MNIST_STATS = DatasetStats(mean=(0.2860405969887955,), std=(0.35302424451492254,))

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_GZIP_MAGIC = b"\x1f\x8b"
# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file, gzip'd or not (told apart by content, not by name)."""
    try:
        raw = path.read_bytes()
        if raw[:2] == _GZIP_MAGIC:
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"cannot read IDX file {path}: {error}") from error
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated: the header needs {header} bytes, got {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{path} has {len(raw)} bytes, but its header (shape {shape}, {dtype.name}) needs "
            f"{expected}: the file is truncated or corrupt"
        )
    values = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzip'd when the name ends in ``.gz`` (for small fixtures)."""
    codes = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}
    native = np.asarray(array)
    code = codes.get(native.dtype.newbyteorder("="))
    if code is None or native.ndim > 255:
        raise DataError(f"IDX cannot store {native.dtype} arrays with {native.ndim} dimensions")
    header = bytes([0, 0, code, native.ndim]) + np.asarray(native.shape, dtype=">u4").tobytes()
    data = header + native.astype(_IDX_DTYPES[code]).tobytes()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def _find(root: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (root / name).is_file():
            return root / name
    return None


def load_fashion_mnist(
    root: Path | None = None, split: Literal["train", "test"] = "train"
) -> ImageDataset:
    """The Fashion-MNIST ``split`` (60000 or 10000 images, 1 x 28 x 28 uint8, 10 classes)."""
    if split not in _FILES:
        raise DataError(f"unknown Fashion-MNIST split {split!r}; use 'train' or 'test'")
    root = DEFAULT_ROOT if root is None else Path(root)
    stems = _FILES[split]
    images_path, labels_path = _find(root, stems[0]), _find(root, stems[1])
    if images_path is None or labels_path is None:
        raise DataError(
            f"Fashion-MNIST {split} files not found: looked for {stems[0]}.gz and {stems[1]}.gz "
            f"in {root}; install them with `sudo apt-get install dataset-fashion-mnist` or pass "
            "root= a folder that holds them"
        )
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(
            f"{images_path} / {labels_path} hold {images.dtype} {images.shape} / {labels.dtype} "
            f"{labels.shape}; expected uint8 images N x H x W and uint8 labels N"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels"
        )
    if len(labels) and labels.max() >= len(CLASS_NAMES):
        raise DataError(f"{labels_path} has label {labels.max()}; Fashion-MNIST has 10 classes")
    return ImageDataset(
        name=f"fashion-mnist-{split}",
        images=torch.from_numpy(images).unsqueeze(1),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=CLASS_NAMES,
        stats=FASHION_MNIST_STATS,
    )
