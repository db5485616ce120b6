"""The labels of one dataset split on disk: read, answer, skip, undo, resume (no web code here).

Every answer rewrites its track JSON at once, atomically (a temporary file in the same folder,
then ``os.replace``), with provenance fields beside the three label fields:

- ``label_status``: ``"labelled"``, ``"unsure"`` (labelled, but the labeller was not sure) or
  ``"skipped"`` (labels stay ``null``, so the loaders leave the track out);
- ``labelled_at``: UTC time of the answer (ISO 8601);
- ``label_tool``: ``"socialego-label"``;
- ``label_overrides``: the tasks (``"intent"``, ``"attitude"``) the labeller set by hand instead
  of taking what the action implies in the label table's nesting.

A track is *open* while its labels are ``null`` and it has no ``label_status``; the next start
resumes at the first open track in file-name order. A file that cannot be read or parsed is
*broken*: it is listed with the reason, never written, and the rest of the split still works.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from socialego_core.labels import TASKS, LabelTable, get_label_table, implied_parents
from tqdm import tqdm

from ..data import DATASETS, LABEL_KEYS, DatasetError, parse_track, split_dir

STATUSES: tuple[str, ...] = ("labelled", "unsure", "skipped")
PROVENANCE_KEYS: tuple[str, ...] = ("label_status", "labelled_at", "label_tool", "label_overrides")
TOOL_NAME = "socialego-label"
OPEN, BROKEN = "open", "broken"  # the two states of a track that has no answer
_TASK_KEY = dict(zip(TASKS, LABEL_KEYS, strict=True))  # intent -> intention_class, ...


@dataclass
class TrackEntry:
    """What the store knows of one track file."""

    name: str  # file name without .json: the track's id on the page
    path: Path
    state: str  # open, labelled, unsure, skipped or broken
    labels: tuple[int, int, int] | None = None  # (intent, attitude, action) when answered
    video_name: str | None = None
    error: str | None = None  # why a broken file is broken


def write_json_atomic(path: Path, data: Any) -> None:
    """Replace ``path`` with ``data`` as JSON so that a reader (or a crash) never sees half a
    file: write a temporary file in the same folder, flush it to disk, then ``os.replace``."""
    path = Path(path)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(data, separators=(",", ":")))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_dataset_info(root: Path) -> dict[str, Any]:
    """``<root>/dataset.json`` ({} when absent); DatasetError naming it when it is unreadable."""
    path = Path(root) / "dataset.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(path, f"cannot read the dataset description ({exc})") from None
    if not isinstance(info, dict):
        raise DatasetError(path, "the dataset description is not a JSON object")
    return info


def dataset_label_set(info: dict[str, Any], where: Path) -> str:
    """The label set that dataset.json names in its ``dataset`` field (default jpl_social)."""
    name = info.get("dataset", "jpl_social")
    if name not in DATASETS:
        raise DatasetError(where, f"'dataset' is no known label set ({name!r}; known {DATASETS})")
    return name


class LabelStore:
    """The tracks of ``<root>/<split>`` and their answers; safe to call from several threads."""

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        dataset: str | None = None,
        progress: bool = False,
    ):
        self.root = Path(root)
        self.folder = split_dir(self.root, split)  # DatasetError for a missing root or split
        self.split = split
        self.info = read_dataset_info(self.root)
        self.dataset = dataset or dataset_label_set(self.info, self.root / "dataset.json")
        self.table: LabelTable = get_label_table(self.dataset)
        self._lock = threading.RLock()
        self._undo: list[tuple[str, dict[str, Any]]] = []
        self.entries: dict[str, TrackEntry] = {}
        self.rescan(progress)

    # -- reading -----------------------------------------------------------------------------
    def rescan(self, progress: bool = False) -> None:
        """Read every track file of the split again (file-name order)."""
        with self._lock:
            files = sorted(self.folder.glob("*.json"))
            if not files:
                raise DatasetError(self.folder, "no *.json track files in this split folder")
            bar = tqdm(files, desc=f"reading {self.split}", unit="track", disable=not progress)
            self.entries = {f.stem: self._read_entry(f) for f in bar}

    def _read_entry(self, path: Path) -> TrackEntry:
        try:
            return self._entry_of(path, self._load_raw(path))
        except (DatasetError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, DatasetError) else str(exc)
            return TrackEntry(path.stem, path, BROKEN, error=reason)

    def _entry_of(self, path: Path, data: dict[str, Any]) -> TrackEntry:
        """The entry of decoded track JSON; ValueError when the loaders would refuse it."""
        track = parse_track(data, path, self.dataset)
        status = data.get("label_status")
        if not track.labelled:
            state = "skipped" if status == "skipped" else OPEN
            return TrackEntry(path.stem, path, state, video_name=track.video_name)
        state = "unsure" if status == "unsure" else "labelled"
        return TrackEntry(path.stem, path, state, track.labels, track.video_name)

    @staticmethod
    def _load_raw(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DatasetError(path, f"invalid JSON ({exc})") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(path, f"cannot read ({exc})") from None
        if not isinstance(data, dict):
            raise DatasetError(path, f"top level is a {type(data).__name__}, not an object")
        return data

    def entry(self, name: str) -> TrackEntry:
        with self._lock:
            if name not in self.entries:
                raise KeyError(f"no track {name!r} in {self.folder}")
            return self.entries[name]

    def track_data(self, name: str) -> dict[str, Any]:
        """The decoded JSON of a track (DatasetError naming the file when it is broken)."""
        entry = self.entry(name)
        if entry.state == BROKEN:
            raise DatasetError(entry.path, entry.error or "broken")
        return self._load_raw(entry.path)

    def next_open(self, after: str | None = None) -> str | None:
        """The first open track after ``after`` (wrapping round), or from the start."""
        with self._lock:
            names = list(self.entries)
            start = names.index(after) + 1 if after in self.entries else 0
            for name in names[start:] + names[:start]:
                if self.entries[name].state == OPEN:
                    return name
            return None

    def neighbour(self, name: str, step: int) -> str:
        """The track ``step`` places before/after ``name`` in file order (clamped)."""
        with self._lock:
            names = list(self.entries)
            index = names.index(name) if name in self.entries else 0
            return names[max(0, min(len(names) - 1, index + step))]

    def progress(self) -> dict[str, Any]:
        """Counts per state and, over labelled and unsure tracks, per class of each task."""
        with self._lock:
            entries = list(self.entries.values())
        states = {s: 0 for s in (OPEN, *STATUSES, BROKEN)}
        for entry in entries:
            states[entry.state] += 1
        per_class = {task: dict.fromkeys(self.table.labels(task), 0) for task in TASKS}
        for entry in entries:
            if entry.labels is not None:
                for task, value in zip(TASKS, entry.labels, strict=True):
                    per_class[task][self.table.labels(task)[value]] += 1
        return {
            "total": len(entries) - states[BROKEN],  # the tracks that can be answered
            "answered": states["labelled"] + states["unsure"] + states["skipped"],
            "states": states,
            "per_class": per_class,
        }

    # -- writing -----------------------------------------------------------------------------
    def answer(
        self,
        name: str,
        action: int,
        intent: int | None = None,
        attitude: int | None = None,
        unsure: bool = False,
    ) -> TrackEntry:
        """Label a track: the action, and intent/attitude as given or as the action implies."""
        table = self.table
        implied = implied_parents(table, int(action))
        overrides = [t for t, v in (("intent", intent), ("attitude", attitude)) if v is not None]
        if implied is None and len(overrides) < 2:
            raise ValueError(
                f"the {table.dataset} label table does not nest actions under intent and "
                "attitude: give both intent and attitude with the action"
            )
        chosen = {
            "intent": intent if intent is not None else implied[0],  # type: ignore[index]
            "attitude": attitude if attitude is not None else implied[1],  # type: ignore[index]
            "action": int(action),
        }
        for task, value in chosen.items():
            if not 0 <= int(value) < table.num_classes(task):
                raise ValueError(f"{task} {value} outside 0..{table.num_classes(task) - 1}")
        update = {_TASK_KEY[t]: int(v) for t, v in chosen.items()}
        update["label_status"] = "unsure" if unsure else "labelled"
        update["label_overrides"] = overrides
        return self._write(name, update)

    def skip(self, name: str) -> TrackEntry:
        """Skip a track: its labels become (or stay) null, so loaders leave it out."""
        update: dict[str, Any] = dict.fromkeys(LABEL_KEYS)
        update["label_status"] = "skipped"
        update["label_overrides"] = []
        return self._write(name, update)

    def undo(self) -> str | None:
        """Take back the last answer of this session (restores the fields it changed); returns
        the track's name, or None when there is nothing to undo."""
        with self._lock:
            if not self._undo:
                return None
            name, before = self._undo.pop()
            entry = self.entry(name)
            data = self._load_raw(entry.path)
            for key in (*LABEL_KEYS, *PROVENANCE_KEYS):
                data.pop(key, None)
                if key in before:
                    data[key] = before[key]
            restored = self._entry_of(entry.path, data)
            write_json_atomic(entry.path, data)
            self.entries[name] = restored
            return name

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def _write(self, name: str, update: dict[str, Any]) -> TrackEntry:
        with self._lock:
            entry = self.entry(name)
            if entry.state == BROKEN:
                raise DatasetError(entry.path, f"broken track file, not written ({entry.error})")
            data = self._load_raw(entry.path)  # fresh from disk: keep whatever else changed
            before = {k: data[k] for k in (*LABEL_KEYS, *PROVENANCE_KEYS) if k in data}
            data.update(update)
            data["labelled_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            data["label_tool"] = TOOL_NAME
            written = self._entry_of(entry.path, data)  # never write what loaders would refuse
            write_json_atomic(entry.path, data)
            self._undo.append((name, before))
            self.entries[name] = written
            return written
