"""JSON persistence of the emulator state: atomic save (temp file + rename) and load."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def save_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new file, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_json(path: Path) -> Any | None:
    """The JSON content of ``path``, or None if the file does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    log.info("Loading emulator state from %s", path)
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
