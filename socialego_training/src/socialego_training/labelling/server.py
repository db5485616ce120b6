"""The labelling page's HTTP server: standard library ``http.server``, one thread per request.

Routes (JSON unless said otherwise):
    GET  /                        the page (static/index.html); /static/<file> its JS and CSS
    GET  /api/state               label table, nesting, progress, next open track, broken files
    GET  /api/track?name=N        one track: frames, keypoints, boxes, labels, frame folder check
    GET  /api/frame?name=N&frame=F   one video frame (JPEG/PNG bytes)
    POST /api/answer              {"name", "action", "intent"?, "attitude"?, "unsure"?}
    POST /api/skip                {"name"}
    POST /api/undo                {}
A bad request or a bad track gets a JSON ``{"error": ...}`` naming the file, and the same line in
the terminal; the server itself keeps running.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np
from socialego_core.labels import TASKS, implied_parents
from socialego_core.layouts import BODY, BODY_EDGES, FACE, FEET, LEFT_HAND, RIGHT_HAND

from ..data import DatasetError, parse_track, relative_to_root
from ..frame_files import FrameFiles
from .store import BROKEN, LabelStore

STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
IMAGE_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}
HAND_CHAINS = ((0, 1, 2, 3, 4), (0, 5, 6, 7, 8), (0, 9, 10, 11, 12), (0, 13, 14, 15, 16))
HAND_CHAINS += ((0, 17, 18, 19, 20),)  # wrist to each finger tip, in a 21-point hand
FOOT_EDGES = ((15, 17), (15, 18), (15, 19), (16, 20), (16, 21), (16, 22))  # ankle to foot points


class BadRequest(ValueError):
    """A request the page should not have sent (unknown track, missing field)."""


def skeleton() -> dict[str, Any]:
    """What the page draws: body edges (socialego_core.layouts), feet, face points, hands."""
    edges = [list(e) for e in BODY_EDGES] + [list(e) for e in FOOT_EDGES]
    for hand in (LEFT_HAND, RIGHT_HAND):
        for chain in HAND_CHAINS:
            edges += [[hand.start + a, hand.start + b] for a, b in zip(chain, chain[1:])]
    return {
        "edges": edges,
        "body": [BODY.start, FEET.stop],  # body and feet: drawn whenever scored
        "face": [FACE.start, FACE.stop],
        "hands": [LEFT_HAND.start, RIGHT_HAND.stop],
    }


class LabelApp:
    """The page's answers to requests, over one LabelStore; no HTTP here."""

    def __init__(
        self,
        store: LabelStore,
        videos_dir: Path | None = None,
        fps: Any = None,
        log: Callable[[str], None] | None = None,
    ):
        self.store = store
        self.videos_dir = Path(videos_dir) if videos_dir else store.root / "videos"
        ok = isinstance(fps, int | float) and not isinstance(fps, bool) and 0 < fps < 1000
        self.fps = float(fps) if ok else 10.0  # dataset.json fps; 10 (synthetic sets) if none
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._said: set[str] = set()
        self._said_lock = threading.Lock()
        for entry in store.entries.values():
            if entry.state == BROKEN:
                self.warn(f"broken track file {entry.path}: {entry.error}")

    def warn(self, line: str) -> None:
        """Say a problem in the terminal, once per distinct line."""
        with self._said_lock:
            if line in self._said:
                return
            self._said.add(line)
        self._log(f"[socialego-label] {line}")

    # -- GET ---------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        store, table = self.store, self.store.table
        nesting = None
        if implied_parents(table, 0) is not None:
            nesting = [list(implied_parents(table, a)) for a in range(table.num_classes("action"))]
        broken = [  # paths relative to the dataset root on the page; in full in the terminal
            {"name": e.name, "path": relative_to_root(e.path, store.root), "error": e.error}
            for e in store.entries.values()
            if e.state == BROKEN
        ]
        return {
            "dataset": store.dataset,
            "root": store.root.resolve().name,
            "split": store.split,
            "labels": {task: list(table.labels(task)) for task in TASKS},
            "nesting": nesting,
            "progress": store.progress(),
            "next_open": store.next_open(),
            "tracks": list(store.entries),
            "broken": broken,
            "can_undo": store.can_undo,
            "fps": self.fps,
            "skeleton": skeleton(),
        }

    def track(self, name: str) -> dict[str, Any]:
        entry = self._entry(name)
        if entry.state == BROKEN:
            message = f"broken track file {entry.path}: {entry.error}"
            self.warn(message)
            return {"name": name, "path": str(entry.path), "state": BROKEN, "error": message}
        try:
            data = self.store.track_data(name)
            track = parse_track(data, entry.path, self.store.dataset)
        except (DatasetError, ValueError) as exc:  # changed on disk since the scan
            self.store.rescan()
            message = f"broken track file {entry.path}: {getattr(exc, 'reason', exc)}"
            self.warn(message)
            return {"name": name, "path": str(entry.path), "state": BROKEN, "error": message}
        ids = sorted(track.frames)
        frames = {
            str(fid): {
                "kp": np.round(kp, 1).tolist(),
                "box": track.boxes[fid].tolist() if fid in track.boxes else None,
            }
            for fid, kp in track.frames.items()
        }
        frame_ids = list(range(ids[0], ids[-1] + 1))
        frames_message = self._frames_problem(track.video_name, frame_ids)
        return {
            "name": name,
            "path": str(entry.path),
            "state": entry.state,
            "labels": list(entry.labels) if entry.labels else None,
            "label_overrides": data.get("label_overrides", []),
            "video_name": track.video_name,
            "person_id": track.person_id,
            "frame_size": list(track.frame_size),
            "frame_ids": frame_ids,
            "frames": frames,
            "frames_message": frames_message,
        }

    def _frames_problem(self, video_name: str, frame_ids: list[int]) -> str | None:
        reader = FrameFiles(self.videos_dir, video_name)
        if not reader.available:
            message = f"no video frames for '{video_name}': looked for {reader.where}"
        elif reader.folder is not None:
            missing = [f for f in frame_ids if reader.frame_path(f) is None]
            if not missing:
                return None
            message = (
                f"{len(missing)} of {len(frame_ids)} frames missing in {reader.folder} "
                f"(first: {missing[0]:06d}.jpg)"
            )
        else:
            return None
        self.warn(message)
        return message

    def frame(self, name: str, frame_id: int) -> tuple[bytes, str]:
        entry = self._entry(name)
        video = Path(entry.video_name or "")
        if not video.name or video.is_absolute() or ".." in video.parts:
            raise BadRequest(f"{entry.path}: video_name {entry.video_name!r} is no folder name")
        files = FrameFiles(self.videos_dir, entry.video_name)
        path = files.frame_path(frame_id)
        if path is not None:
            return path.read_bytes(), IMAGE_TYPES[path.suffix]
        if files.video is not None:  # a video file: decode the frame with OpenCV
            # imported here: the modalities package brings torch, which frame folders never need
            from ..modalities.video import FrameReader, import_cv2

            cv2 = import_cv2()
            reader = FrameReader(self.videos_dir, entry.video_name)
            image = reader.read([frame_id]).get(frame_id)
            if image is not None:
                ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                if ok:
                    return buffer.tobytes(), "image/jpeg"
        raise FileNotFoundError(f"frame {frame_id} of '{entry.video_name}' not found")

    # -- POST --------------------------------------------------------------------------------
    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._name(body)
        entry = self.store.answer(
            name,
            action=_int(body, "action"),
            intent=_int(body, "intent", optional=True),
            attitude=_int(body, "attitude", optional=True),
            unsure=bool(body.get("unsure", False)),
        )
        table = self.store.table
        text = ", ".join(table.labels(t)[v] for t, v in zip(TASKS, entry.labels or (), strict=True))
        self._log(f"[socialego-label] {entry.path.name}: {entry.state} ({text})")
        return self._after(name)

    def skip(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self._name(body)
        entry = self.store.skip(name)
        self._log(f"[socialego-label] {entry.path.name}: skipped")
        return self._after(name)

    def undo(self, body: dict[str, Any]) -> dict[str, Any]:
        name = self.store.undo()
        if name is not None:
            self._log(f"[socialego-label] {name}.json: last answer taken back")
        return {"name": name, "state": self.state()}

    def _after(self, name: str) -> dict[str, Any]:
        return {"name": name, "next": self.store.next_open(after=name), "state": self.state()}

    def _entry(self, name: str):
        try:
            return self.store.entry(name)
        except KeyError as exc:
            raise BadRequest(str(exc.args[0])) from None

    def _name(self, body: dict[str, Any]) -> str:
        name = body.get("name")
        if not isinstance(name, str):
            raise BadRequest("request has no track 'name'")
        self._entry(name)
        return name


def _int(body: dict[str, Any], key: str, optional: bool = False) -> int | None:
    value = body.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{key}' must be an integer, got {value!r}")
    return value


class _Handler(BaseHTTPRequestHandler):
    app: LabelApp  # set on the subclass made by make_server
    server_version = "socialego-label"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
        pass  # one line per request would drown the answers and problems said in the terminal

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if url.path in ("/", "/index.html"):
            return self._static("index.html")
        if url.path.startswith("/static/"):
            return self._static(url.path.removeprefix("/static/"))
        routes = {
            "/api/state": lambda: self.app.state(),
            "/api/track": lambda: self.app.track(query.get("name", "")),
        }
        if url.path in routes:
            return self._json_call(routes[url.path])
        if url.path == "/api/frame":
            try:
                frame_id = int(query.get("frame", ""))
                data, kind = self.app.frame(query.get("name", ""), frame_id)
            except Exception as exc:  # noqa: BLE001 (any failure is one missing frame)
                return self._send_json({"error": str(exc)}, HTTPStatus.NOT_FOUND)
            return self._send(data, kind)
        self._send_json({"error": f"no such page: {url.path}"}, HTTPStatus.NOT_FOUND)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        routes = {"/api/answer": self.app.answer, "/api/skip": self.app.skip}
        routes["/api/undo"] = self.app.undo
        path = urlparse(self.path).path
        if path not in routes:
            return self._send_json({"error": f"no such action: {path}"}, HTTPStatus.NOT_FOUND)
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(body, dict):
                raise BadRequest("request body is not a JSON object")
        except (ValueError, json.JSONDecodeError) as exc:
            return self._send_json({"error": f"bad request: {exc}"}, HTTPStatus.BAD_REQUEST)
        self._json_call(lambda: routes[path](body))

    def _json_call(self, call: Callable[[], Any]) -> None:
        try:
            result = call()
        except BadRequest as exc:
            return self._send_json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        except (DatasetError, ValueError, OSError) as exc:
            self.app.warn(str(exc))
            return self._send_json({"error": str(exc)}, HTTPStatus.UNPROCESSABLE_ENTITY)
        except Exception as exc:  # noqa: BLE001 (the server outlives any one bad request)
            message = f"internal error: {type(exc).__name__}: {exc}"
            self.app.warn(message)
            return self._send_json({"error": message}, HTTPStatus.INTERNAL_SERVER_ERROR)
        self._send_json(result)

    def _static(self, name: str) -> None:
        folder = resources.files("socialego_training.labelling") / "static"
        suffix = Path(name).suffix
        target = folder / name
        if "/" in name or suffix not in STATIC_TYPES or not target.is_file():
            return self._send_json({"error": f"no such file: {name}"}, HTTPStatus.NOT_FOUND)
        self._send(target.read_bytes(), STATIC_TYPES[suffix])

    def _send_json(self, data: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(json.dumps(data).encode(), "application/json", status)

    def _send(self, data: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the page went away mid-answer; nothing to do


def make_server(app: LabelApp, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """An HTTP server for ``app`` bound to host:port (port 0: any free port)."""
    handler = type("LabelHandler", (_Handler,), {"app": app})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
