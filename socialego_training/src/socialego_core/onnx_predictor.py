"""The student run by ONNX Runtime: the predictor and the engine's cached forward, no torch.

``OnnxStudentPredictor`` reads a ``.onnx`` file written by ``socialego-train export --format
onnx`` (``socialego_core.onnx_format``): the artifact metadata from its metadata_props, the
whole graph for ``predict``. ``OnnxCachedForward`` runs the graph's two halves separately, as
``fast_forward.CachedStudentForward`` does in PyTorch: each distinct frame's projection (GAT,
frame-attention logit, LSTM input gates) is computed once and cached by the frame's bytes, and
the per-window half (Bi-LSTM recurrence, pooling, heads) runs over the gathered projections.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx.utils import Extractor

from socialego_core import onnx_format as fmt
from socialego_core.labels import TASKS
from socialego_core.predictor_base import ArtifactError, PredictorBase, WindowForward


def session_options(threads: int | None) -> ort.SessionOptions:
    """Sequential execution on ``threads`` intra-op threads (None: ONNX Runtime's default)."""
    options = ort.SessionOptions()
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        if int(threads) > 1:  # idle worker threads sleep instead of spinning on a shared CPU
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    return options


def execution_providers(device: str) -> tuple[list[str], str]:
    """ONNX Runtime providers for ``device`` ('cpu', 'cuda', 'cuda:N', 'auto') and the device
    that will run ('cuda' only where the CUDA provider is installed, else 'cpu')."""
    available = ort.get_available_providers()
    if (device == "auto" or device.startswith("cuda")) and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda"
    return ["CPUExecutionProvider"], "cpu"


class OnnxStudentPredictor(PredictorBase):
    """Loads a SocialEgo ``.onnx`` model; the same interface as ``artifact.StudentPredictor``."""

    runtime = "onnx"

    def __init__(self, path: str | os.PathLike, device: str = "cpu", threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"model file {path} does not exist")
        try:
            self.proto = onnx.load(str(path))
        except Exception as exc:  # protobuf raises several types for broken files
            raise ArtifactError(f"model file {path} could not be read as ONNX: {exc}") from exc
        props = {p.key: p.value for p in self.proto.metadata_props}
        try:
            metadata = fmt.read_metadata(props, str(path))
            self.quantize = fmt.read_quantize(props, str(path))
        except ValueError as exc:
            raise ArtifactError(str(exc)) from exc
        self._read_metadata(path, metadata)
        self.requested_device = device
        self.providers, self.device = execution_providers(device)
        self.threads = threads
        names = [o.name for o in self.proto.graph.output]
        if any(task not in names for task in TASKS):
            raise ArtifactError(f"{path}: the graph lacks the outputs {TASKS} (has {names})")
        # the whole graph's session, made on first use: the engine runs only the two halves
        # (OnnxCachedForward), and each session holds its own copy of the weights (~6 MB)
        self._session: ort.InferenceSession | None = None

    @property
    def session(self) -> ort.InferenceSession:
        """The whole graph's session (windows -> logits)."""
        if self._session is None:
            self._session = self._session_of(self.proto)
        return self._session

    def _session_of(self, proto: onnx.ModelProto) -> ort.InferenceSession:
        try:
            return ort.InferenceSession(
                proto.SerializeToString(), session_options(self.threads), providers=self.providers
            )
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
            raise ArtifactError(f"{self.path}: ONNX Runtime cannot run the model: {exc}") from exc

    def sub_session(self, inputs: list[str], outputs: list[str]) -> ort.InferenceSession:
        """A session of the part of the graph between the named tensors."""
        try:
            part = Extractor(self.proto).extract_model(inputs, outputs)
        except Exception as exc:
            raise ArtifactError(f"{self.path}: cannot cut {inputs} -> {outputs}: {exc}") from exc
        return self._session_of(part)

    def run(
        self, session: ort.InferenceSession, outputs: list[str], feeds: dict[str, np.ndarray]
    ) -> list[np.ndarray]:
        """``session.run``; ONNX Runtime's errors (which derive from Exception only) become a
        RuntimeError naming the model file, as the PyTorch path's errors are."""
        try:
            return session.run(outputs, feeds)
        except Exception as exc:
            raise RuntimeError(f"{self.path.name}: ONNX Runtime failed: {exc}") from exc

    def predict_logits(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, 3) float32 (a single (T, J, 3) window also works) -> raw logits."""
        x = self.check_input(batch)
        if x.shape[0] == 0:
            return {
                task: np.zeros((0, self.labels.num_classes(task)), dtype=np.float32)
                for task in TASKS
            }
        out = self.run(self.session, list(TASKS), {fmt.WINDOWS: x})
        return dict(zip(TASKS, out, strict=True))

    def predict(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, 3) float32 -> probabilities, calibrated as the artifact says."""
        logits = self.predict_logits(batch)
        return {task: self.calibration.apply(task, value) for task, value in logits.items()}

    def cached_forward(self) -> WindowForward | None:
        return OnnxCachedForward(self)


class OnnxCachedForward:
    """(B, T, J, C) checked float32 windows -> calibrated probabilities, reusing frame
    projections. ``max_cached_frames`` bounds memory (1024 frames of 1 + 8H floats: 4 MB);
    when full, only the current batch's frames are kept (the ones later windows share)."""

    def __init__(self, predictor: OnnxStudentPredictor, max_cached_frames: int = 1024) -> None:
        self.predictor = predictor
        self.calibration = predictor.calibration
        self.frame_session = predictor.sub_session([fmt.FRAMES], [fmt.FRAME_PROJECTION])
        self.window_session = predictor.sub_session([fmt.WINDOW_PROJECTION], list(TASKS))
        width = self.window_session.get_inputs()[0].shape[-1]
        if not isinstance(width, int):
            raise ArtifactError(f"{predictor.path}: {fmt.WINDOW_PROJECTION} has no fixed width")
        self.width = width
        self.max_cached_frames = max(int(max_cached_frames), 16)
        self._rows: dict[bytes, int] = {}
        self._store = np.empty((0, width), dtype=np.float32)
        self.frames_computed = 0  # frames projected so far (for tests and benchmarks)

    def clear(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)

    def _frame_rows(self, windows: np.ndarray) -> np.ndarray:
        """(B, T, J, C) -> (B * T,) store rows; frames not cached yet are projected at once."""
        frames = windows.reshape(-1, *windows.shape[2:])
        keys = frames.reshape(len(frames), -1).view(np.dtype((np.void, frames[0].nbytes)))
        keys = keys.ravel().tolist()
        index = np.array([self._rows.get(k, -1) for k in keys], dtype=np.int64)
        absent = np.flatnonzero(index < 0).tolist()
        if not absent:
            return index
        missing: dict[bytes, int] = {}  # new frame -> its first position
        for pos in absent:
            missing.setdefault(keys[pos], pos)
        if len(self._rows) + len(missing) > len(self._store):
            index = self._make_room(keys, index, len(missing))
        (fresh,) = self.predictor.run(
            self.frame_session,
            [fmt.FRAME_PROJECTION],
            {fmt.FRAMES: frames[list(missing.values())]},
        )
        self.frames_computed += len(missing)
        start = len(self._rows)
        self._store[start : start + len(missing)] = fresh
        for offset, key in enumerate(missing):
            self._rows[key] = start + offset
        index[absent] = [self._rows[keys[pos]] for pos in absent]
        return index

    def _make_room(self, keys: list[bytes], index: np.ndarray, needed: int) -> np.ndarray:
        keep = {k: int(r) for k, r in zip(keys, index.tolist()) if r >= 0}
        capacity = max(self.max_cached_frames, 2 * (len(keep) + needed))
        store = np.empty((capacity, self.width), dtype=np.float32)
        store[: len(keep)] = self._store[list(keep.values())]
        self._store = store
        self._rows = {k: r for r, k in enumerate(keep)}
        return np.array([self._rows.get(k, -1) for k in keys], dtype=np.int64)

    def predict(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, C) float32 finite windows (B >= 1) -> {"intent": (B, 3), ...}."""
        x = np.ascontiguousarray(windows, dtype=np.float32)
        rows = self._frame_rows(x)
        projections = self._store[rows].reshape(x.shape[0], x.shape[1], self.width)
        out = self.predictor.run(
            self.window_session, list(TASKS), {fmt.WINDOW_PROJECTION: projections}
        )
        return {task: self.calibration.apply(task, v) for task, v in zip(TASKS, out, strict=True)}
