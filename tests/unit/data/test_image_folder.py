"""ImageFolder-style reading with Pillow: indexing, lazy decoding, errors, batches, loaders."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from onceforall.data.dataset import DatasetStats
from onceforall.data.folder import (
    ImageFolder,
    folder_eval_batch,
    folder_train_batch,
    open_image_folder,
)
from onceforall.data.holdout import split_holdout
from onceforall.data.loader import LoaderConfig, eval_loader, train_loader
from onceforall.data.transforms import AugmentConfig
from onceforall.errors import DataError

STATS = DatasetStats(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
COLORS = {"bird": (200, 30, 30), "cat": (30, 200, 30), "dog": (30, 30, 200)}


def _save(
    path: Path, color: tuple[int, int, int], size: tuple[int, int], mode: str = "RGB"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).convert(mode).save(path)


@pytest.fixture
def folder_root(tmp_path: Path) -> Path:
    """3 classes x 4 images of one solid color per class, in several sizes, modes and formats."""
    root = tmp_path / "images"
    for name in ["dog", "bird", "cat"]:  # created unsorted on purpose
        color = COLORS[name]
        _save(root / name / "a.png", color, (40, 30))
        _save(root / name / "b.PNG", color, (33, 57), "L" if name == "bird" else "RGBA")
        _save(root / name / "nested" / "c.jpg", color, (200, 120))
        _save(root / name / "d.bmp", color, (16, 16), "P")
        (root / name / "notes.txt").write_text("not an image")
        _save(root / name / ".hidden.png", color, (8, 8))
    return root


def test_index(folder_root: Path) -> None:
    folder = open_image_folder(folder_root, stats=STATS)
    assert folder.name == "images" and folder.class_names == ("bird", "cat", "dog")
    assert len(folder) == 12 and folder.num_classes == 3
    assert folder.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert [str(folder.path(i).relative_to(folder_root)) for i in range(4)] == [
        "bird/a.png",
        "bird/b.PNG",
        "bird/d.bmp",
        "bird/nested/c.jpg",
    ]
    assert folder.files.dtype.kind == "S"  # names only: nothing is decoded up front


def test_eval_batch_is_the_normalized_color(folder_root: Path) -> None:
    folder = open_image_folder(folder_root, stats=STATS)
    out = folder_eval_batch(folder, np.arange(12), 24, AugmentConfig())
    assert out.shape == (12, 3, 24, 24) and out.dtype == torch.float32
    expected = torch.tensor([COLORS[folder.class_names[k]] for k in folder.labels.tolist()])
    expected = (expected / 255 - 0.5) / 0.25
    gray = 0.299 * 200 + 0.587 * 30 + 0.114 * 30  # the "L" bird image is gray
    expected[1] = (round(gray) / 255 - 0.5) / 0.25
    # JPEG is lossy: allow a few levels of 255 on the (normalized) color.
    torch.testing.assert_close(out.mean(dim=(2, 3)), expected, atol=4 / 255 / 0.25, rtol=0)


def test_train_batch_shape_and_determinism(folder_root: Path) -> None:
    folder = open_image_folder(folder_root, stats=STATS)
    config, indices = AugmentConfig(), np.array([11, 0, 5, 3, 3])

    def batch(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        return folder_train_batch(folder, indices, 20, config, generator)

    out = batch(0)
    assert out.shape == (5, 3, 20, 20) and out.dtype == torch.float32
    assert torch.equal(out, batch(0))
    noise = np.random.default_rng(0).integers(0, 256, (100, 125, 3), dtype=np.uint8)
    (folder_root.parent / "noise" / "only").mkdir(parents=True)
    Image.fromarray(noise).save(folder_root.parent / "noise" / "only" / "noise.png")
    single = open_image_folder(folder_root.parent / "noise", stats=STATS)
    crops = folder_train_batch(single, np.zeros(4, np.int64), 20, config, torch.Generator())
    assert not torch.equal(crops[0], crops[1])  # different random crops of the same image


def test_large_jpeg_uses_draft_and_keeps_content(tmp_path: Path) -> None:
    _save(tmp_path / "big" / "x" / "photo.jpg", (10, 120, 240), (1600, 1200))
    folder = open_image_folder(tmp_path / "big", stats=STATS)
    out = folder_eval_batch(folder, np.array([0]), 32, AugmentConfig())
    expected = (torch.tensor([10, 120, 240]) / 255 - 0.5) / 0.25
    torch.testing.assert_close(out[0].mean(dim=(1, 2)), expected, atol=4 / 255 / 0.25, rtol=0)


def test_unreadable_images_name_the_file(folder_root: Path) -> None:
    bad = folder_root / "cat" / "broken.png"
    bad.write_bytes(b"this is not a png")
    truncated = folder_root / "dog" / "truncated.png"
    data = (folder_root / "dog" / "a.png").read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    folder = open_image_folder(folder_root, stats=STATS)
    for path in (bad, truncated):
        index = np.array([[str(folder.path(i)) for i in range(len(folder))].index(str(path))])
        with pytest.raises(DataError, match=re.escape(f"cannot read image {path}")):
            folder_eval_batch(folder, index, 16, AugmentConfig())
        with pytest.raises(DataError, match=re.escape(str(path))):
            folder_train_batch(folder, index, 16, AugmentConfig(), torch.Generator())


def test_missing_and_empty_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        open_image_folder(tmp_path / "absent")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "x.txt").write_text("")
    with pytest.raises(DataError, match="no class sub-folders"):
        open_image_folder(tmp_path / "flat")
    _save(tmp_path / "partial" / "full" / "a.png", (1, 2, 3), (4, 4))
    (tmp_path / "partial" / "empty").mkdir()
    with pytest.raises(DataError, match=r"without images .*: empty"):
        open_image_folder(tmp_path / "partial")


def test_holdout_split_of_a_folder(folder_root: Path) -> None:
    folder = open_image_folder(folder_root, stats=STATS)
    train, held = split_holdout(folder, 3, seed=0)
    assert isinstance(train, ImageFolder) and (len(train), len(held)) == (9, 3)
    assert sorted(held.labels.tolist()) == [0, 1, 2]
    assert not set(train.files.tolist()) & set(held.files.tolist())


def test_loaders_over_a_folder_do_not_depend_on_workers(folder_root: Path) -> None:
    folder = open_image_folder(folder_root, stats=STATS)
    batches = []
    for workers in (0, 2):
        config = LoaderConfig(batch_size=4, resolutions=(16, 24), seed=1, num_workers=workers)
        batches.append(list(train_loader(folder, config, epoch=0)))
    assert len(batches[0]) == 3
    for a, b in zip(*batches, strict=True):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    evaluated = list(eval_loader(folder, 16, 5))
    assert [len(batch.labels) for batch in evaluated] == [5, 5, 2]
    assert torch.cat([batch.labels for batch in evaluated]).tolist() == folder.labels.tolist()
