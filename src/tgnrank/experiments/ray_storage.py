"""``--storage DIR``: the folder every trial reads its dataset from and writes its checkpoints to, local
or on a file system that every Ray node mounts at the same path.

The driver copies the dataset's ``ml_`` files into ``DIR/data`` (skipping files already there with the
same size and modification time) and hands the trials absolute paths only, so nothing depends on the
driver's working directory existing on a worker.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from tgnrank.data import SYNTHETIC_NAME
from tgnrank.data.events import atomic_write, dataset_exists, dataset_paths, feature_schema_path
from tgnrank.errors import ConfigError, MissingInputError

logger = logging.getLogger(__name__)

STAGED_DATA = "data"


def storage_root(storage: str | os.PathLike) -> Path:
    """``--storage`` as an absolute path (refused when it names an existing file)."""
    root = Path(storage).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"storage must be a folder, got the file {str(root)!r}", parameters=("storage",))
    return root


def dataset_files(name: str, data_dir: str | os.PathLike) -> list[Path]:
    """The files of dataset ``name`` in ``data_dir`` that exist (the ``ml_`` files and the feature sidecar)."""
    candidates = [*dataset_paths(name, data_dir).values(), feature_schema_path(name, data_dir)]
    return [path for path in candidates if path.is_file()]


def stage_dataset(name: str, data_dir: str | os.PathLike, storage: Path) -> Path:
    """Copy dataset ``name`` from ``data_dir`` into ``storage/data``; return that folder (absolute).

    A file already staged with the same size and modification time is kept; the copies are atomic, so
    an interrupted staging never leaves a half-written file that a later run would trust. Raises
    MissingInputError (a FileNotFoundError) naming ``data_dir`` and ``storage`` when ``name`` is not there.
    """
    source_dir = Path(data_dir).expanduser().resolve()
    target_dir = storage / STAGED_DATA
    if source_dir == target_dir:
        return target_dir
    if not dataset_exists(name, source_dir) and name != SYNTHETIC_NAME:  # the synthetic one is generated there
        # Paths quoted, so that the command line spells the settings as flags but not a folder named like one.
        raise MissingInputError(f"dataset {name!r} not found in {str(source_dir)!r} (data_dir), so it cannot be "
                                f"copied to storage {str(storage)!r}", parameters=("data_dir", "storage"))
    for source in dataset_files(name, source_dir):
        target = target_dir / source.name
        if _same_file(source, target):
            continue
        logger.info("Copying %s to %s", source, target)
        with source.open("rb") as handle:
            atomic_write(target, lambda out: shutil.copyfileobj(handle, out))
        stat = source.stat()
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return target_dir


def _same_file(source: Path, target: Path) -> bool:
    if not target.is_file():
        return False
    a, b = source.stat(), target.stat()
    return a.st_size == b.st_size and a.st_mtime_ns == b.st_mtime_ns
