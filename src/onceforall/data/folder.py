"""ImageFolder-style data sets (``root/<class>/<image>``), decoded lazily with Pillow.

Large sets (ImageNet: 1.28M files) must not be loaded into memory, so an ``ImageFolder`` holds only
relative file names, in one numpy bytes array: one object instead of a million ``Path``s, which
keeps the index small and lets forked loader workers share it without copy-on-write page faults.

Images differ in size, so the crop happens while decoding, per image, with Pillow: one
``resize(box=...)`` call crops and resizes (antialiased) to the batch's resolution, and JPEGs are
decoded at a reduced scale (``draft``) when the crop is much larger than the output. The rest of
the pipeline (flip, normalization) runs on the batch. Training always uses random-resized-crop and
evaluation a center crop of ``eval_crop_fraction`` of the shorter side.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from onceforall.data.crops import center_box, sample_resized_crop_boxes
from onceforall.data.dataset import IMAGENET_STATS, DatasetStats
from onceforall.data.transforms import AugmentConfig, finish_batch
from onceforall.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm"}
)


@dataclass(frozen=True, eq=False)
class ImageFolder:
    """A lazily decoded labelled image set; ``files`` are paths relative to ``root`` (bytes)."""

    name: str
    root: Path
    files: np.ndarray  # numpy bytes array (dtype "S"), os.fsencode'd relative paths
    labels: torch.Tensor  # int64, one per file
    class_names: tuple[str, ...]
    stats: DatasetStats

    def __post_init__(self) -> None:
        files, labels = self.files, self.labels
        if files.ndim != 1 or labels.dtype != torch.int64 or labels.shape != files.shape:
            raise DataError(f"{self.name}: need one int64 label per file")
        if self.stats.channels != 3:
            raise DataError(f"{self.name}: images are decoded as RGB; stats need 3 channels")

    def __len__(self) -> int:
        return len(self.files)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def path(self, index: int) -> Path:
        return self.root / os.fsdecode(self.files[index])

    def subset(self, indices: np.ndarray) -> ImageFolder:
        """The files at ``indices`` (in that order), with this folder's name, classes and stats."""
        index = np.asarray(indices, dtype=np.int64)
        return ImageFolder(
            name=self.name,
            root=self.root,
            files=self.files[index],
            labels=self.labels[torch.from_numpy(index)],
            class_names=self.class_names,
            stats=self.stats,
        )


def _image_files(folder: Path, root: Path) -> list[str]:
    """Image files under ``folder`` (recursively, hidden entries skipped), relative to ``root``."""
    found = []
    for directory, subdirectories, names in os.walk(folder, followlinks=True):
        subdirectories[:] = [name for name in subdirectories if not name.startswith(".")]
        for name in names:
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


def open_image_folder(
    root: Path, *, stats: DatasetStats = IMAGENET_STATS, name: str | None = None
) -> ImageFolder:
    """Index ``root/<class>/**/<image>``; classes are the sorted sub-folder names.

    ``stats`` normalize the images (ImageNet's by default); every class needs at least one image.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    classes = sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    )
    if not classes:
        raise DataError(f"{root} has no class sub-folders; expected {root}/<class>/<image>")
    files: list[str] = []
    labels: list[int] = []
    empty = []
    for label, class_name in enumerate(classes):
        found = _image_files(root / class_name, root)
        files += found
        labels += [label] * len(found)
        if not found:
            empty.append(class_name)
    if empty:
        extensions = " ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(
            f"{root}: class folders without images ({extensions}): {', '.join(empty[:5])}"
            + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
        )
    return ImageFolder(
        name=name or root.name,
        root=root,
        files=np.array([os.fsencode(file) for file in files], dtype=bytes),
        labels=torch.tensor(labels, dtype=torch.int64),
        class_names=tuple(classes),
        stats=stats,
    )


def _open(path: Path) -> Image.Image:
    try:  # Pillow is an optional dependency (extra "images"), needed only to decode folders
        from PIL import Image
    except ImportError as error:
        raise DataError(
            "reading image folders needs Pillow: pip install 'onceforall[images]'"
        ) from error
    try:
        return Image.open(path)
    except Exception as error:  # Pillow raises many types for broken files: all mean "unreadable"
        raise DataError(f"cannot read image {path}: {error}") from error


def _crop_resize(
    image: Image.Image, box: tuple[int, ...], resolution: int, path: Path
) -> np.ndarray:
    """The ``box`` (top, left, height, width) resized to resolution^2, as H x W x 3 uint8."""
    from PIL import Image  # already imported by _open

    top, left, height, width = box
    full_width, full_height = image.size
    try:
        # Let JPEG decode at 1/2, 1/4 or 1/8 scale while the box keeps >= resolution pixels.
        image.draft(
            "RGB",
            (
                math.ceil(full_width * resolution / width),
                math.ceil(full_height * resolution / height),
            ),
        )
        sx, sy = image.size[0] / full_width, image.size[1] / full_height
        rgb = image if image.mode == "RGB" else image.convert("RGB")  # convert always copies
        crop = rgb.resize(
            (resolution, resolution),
            resample=Image.Resampling.BILINEAR,  # Pillow widens the filter when shrinking
            box=(left * sx, top * sy, (left + width) * sx, (top + height) * sy),
        )
        return np.asarray(crop)
    except Exception as error:  # see _open
        raise DataError(f"cannot read image {path}: {error}") from error


def _decode_batch(
    folder: ImageFolder,
    indices: np.ndarray,
    resolution: int,
    boxes_for: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """Decode ``indices`` cropped to ``boxes_for(sizes)`` (sizes: B x 2 of height, width) as a
    uint8 B x 3 x resolution x resolution batch. Headers are read first (cheap) so that all boxes
    of a batch come from one vectorized draw."""
    paths = [folder.path(int(i)) for i in indices]
    with ExitStack() as stack:
        images = [stack.enter_context(_open(path)) for path in paths]
        sizes = torch.tensor([(image.size[1], image.size[0]) for image in images]).reshape(-1, 2)
        boxes = boxes_for(sizes).tolist()
        crops = [
            _crop_resize(image, tuple(box), resolution, path)
            for image, box, path in zip(images, boxes, paths, strict=True)
        ]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2)


def folder_train_batch(
    folder: ImageFolder,
    indices: np.ndarray,
    resolution: int,
    config: AugmentConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """Random-resized-crop + flip + normalize: float32 B x 3 x resolution x resolution."""

    def random_boxes(sizes: torch.Tensor) -> torch.Tensor:
        return sample_resized_crop_boxes(
            sizes[:, 0], sizes[:, 1], config.scale, config.ratio, generator
        )

    batch = _decode_batch(folder, indices, resolution, random_boxes)
    return finish_batch(batch, folder.stats, generator if config.flip else None)


def folder_eval_batch(
    folder: ImageFolder, indices: np.ndarray, resolution: int, config: AugmentConfig
) -> torch.Tensor:
    """Center crop (``config.eval_crop_fraction`` of the shorter side) + resize + normalize."""

    def center_boxes(sizes: torch.Tensor) -> torch.Tensor:
        rows = [center_box(h, w, config.eval_crop_fraction) for h, w in sizes.tolist()]
        return torch.tensor(rows, dtype=torch.int64).reshape(-1, 4)

    return finish_batch(_decode_batch(folder, indices, resolution, center_boxes), folder.stats)
