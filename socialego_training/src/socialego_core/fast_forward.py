"""Online forward pass of the student that embeds each distinct frame once.

Consecutive online windows share all but their newest frame, and in the student a frame's GAT
embedding and its Bi-LSTM input projection depend on that frame alone: the frame-attention
weight a_t only scales the projection (W_ih (a_t g_t) = a_t (W_ih g_t)). So the projection
``[frame-attention logit, W_ih forward, W_ih backward]`` of each distinct normalised frame is
cached by the frame's bytes, and a tick computes it only for new frames; the Bi-LSTM
recurrence, the pooling and the heads run per window as in ``SocialEgoMobile.forward`` (with
the mean-pose head, when the model has one, on the window's frames).

Same weights, same math; the float summation order differs and tanh is evaluated as
2 sigmoid(2x) - 1 (one sigmoid over all four gates): tests hold the probabilities within 1e-5
of ``StudentPredictor.predict`` (the reference path). Models it does not cover
(``supports_cached_forward`` false) keep using ``StudentPredictor.predict``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from socialego_core.calibration import Calibration
from socialego_core.labels import TASKS
from socialego_core.probabilities import class_probabilities


def supports_cached_forward(model: nn.Module) -> bool:
    """The cached path covers the student with one bidirectional LSTM layer, in eval mode."""
    lstm = getattr(model, "lstm", None)
    return (
        hasattr(model, "frame_embeddings")
        and hasattr(model, "temporal_head")
        and isinstance(lstm, nn.LSTM)
        and lstm.num_layers == 1
        and lstm.bidirectional
        and lstm.batch_first
        and lstm.bias
        and lstm.proj_size == 0
        and not model.training
    )


class CachedStudentForward:
    """(B, T, J, C) float32 windows -> class probabilities, reusing frame projections;
    calibrated with ``calibration`` (the artifact's) through ``probabilities.class_probabilities``,
    the function ``StudentPredictor.predict`` uses.

    ``max_cached_frames`` bounds memory (1024 frames: 4 MB): when full, the cache keeps only
    the frames of the current batch (the ones later windows share; any other is recomputed
    once if it comes back), and grows when one batch needs more.
    """

    def __init__(
        self,
        model: nn.Module,
        max_cached_frames: int = 1024,
        *,
        calibration: Calibration,
    ) -> None:
        if not supports_cached_forward(model):
            raise ValueError(
                "cached forward needs a SocialEgoMobile in eval mode with one bidirectional "
                "LSTM layer"
            )
        self.model = model
        # the artifact's calibration (StudentPredictor.calibration; Calibration.identity() for
        # plain softmax), applied as StudentPredictor.predict applies it
        self.calibration = calibration
        lstm = model.lstm
        hidden = lstm.hidden_size
        self.hidden = hidden
        p = next(model.parameters())
        self.device, self.dtype = p.device, p.dtype
        with torch.no_grad():
            # tanh(x) = 2 sigmoid(2x) - 1: doubling the cell-gate rows (exact in floats) lets
            # one sigmoid cover all four gates (torch's tanh is the slow op on this CPU)
            gate_scale = torch.ones(4 * hidden, dtype=self.dtype, device=self.device)
            gate_scale[2 * hidden : 3 * hidden] = 2.0
            w_ih = [lstm.weight_ih_l0 * gate_scale[:, None]]
            w_ih.append(lstm.weight_ih_l0_reverse * gate_scale[:, None])
            attention = model.frame_attention
            # columns: [frame-attention logit | forward gates | backward gates]
            # (F, D) as nn.Linear stores it: F.linear on it beats addmm on the transpose here
            self.projection = torch.cat([attention.weight, *w_ih], dim=0).contiguous()
            self.projection_bias = torch.cat(
                [attention.bias, torch.zeros(8 * hidden, dtype=self.dtype, device=self.device)]
            )
            self.gate_bias = torch.stack(
                [
                    (lstm.bias_ih_l0 + lstm.bias_hh_l0) * gate_scale,
                    (lstm.bias_ih_l0_reverse + lstm.bias_hh_l0_reverse) * gate_scale,
                ]
            )  # (2, 4H)
            self.w_hh = torch.stack(
                [
                    (lstm.weight_hh_l0 * gate_scale[:, None]).t(),
                    (lstm.weight_hh_l0_reverse * gate_scale[:, None]).t(),
                ]
            ).contiguous()  # (2, H, 4H)
        self.feature_dim = self.projection.shape[0]
        self.max_cached_frames = max(int(max_cached_frames), 16)
        self._rows: dict[bytes, int] = {}
        # per cached frame: frame-attention logit, forward gates, backward gates (separate
        # stores, so that each is gathered straight into the recurrence's input)
        self._stores = self._new_stores(0)
        self.frames_computed = 0  # frames embedded so far (for tests and benchmarks)

    def _new_stores(self, capacity: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        kwargs = {"dtype": self.dtype, "device": self.device}
        gates = 4 * self.hidden
        return (
            torch.empty(capacity, **kwargs),
            torch.empty(capacity, gates, **kwargs),
            torch.empty(capacity, gates, **kwargs),
        )

    def clear(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)

    # -- frame projections --------------------------------------------------------------------
    def _project(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(frames).to(self.device)
        g = self.model.frame_embeddings(x)
        self.frames_computed += len(frames)
        return nn.functional.linear(g, self.projection, self.projection_bias)

    def _frame_rows(self, windows: np.ndarray) -> torch.Tensor:
        """(B, T, J, C) -> (T * B,) store rows of the frames, time-major (the recurrence's
        order); frames not cached yet are projected in one batch."""
        batch, steps = windows.shape[:2]
        frames = np.ascontiguousarray(windows.swapaxes(0, 1)).reshape(
            batch * steps, *windows.shape[2:]
        )
        keys = frames.reshape(batch * steps, -1).view(np.dtype((np.void, frames[0].nbytes)))
        keys = keys.ravel().tolist()
        rows = self._rows
        index = np.array([rows.get(k, -1) for k in keys], dtype=np.int64)
        absent = np.flatnonzero(index < 0).tolist()
        if absent:
            missing: dict[bytes, int] = {}  # new frame -> its first position
            for pos in absent:
                missing.setdefault(keys[pos], pos)
            if len(rows) + len(missing) > self._stores[0].shape[0]:
                index = self._make_room(keys, index, len(missing))
            fresh = self._project(frames[list(missing.values())])
            rows = self._rows  # _make_room may have replaced it
            start, stop = len(rows), len(rows) + len(missing)
            gates = 4 * self.hidden
            logit, forward, backward = self._stores
            logit[start:stop] = fresh[:, 0]
            forward[start:stop] = fresh[:, 1 : 1 + gates]
            backward[start:stop] = fresh[:, 1 + gates :]
            for offset, key in enumerate(missing):
                rows[key] = start + offset
            index[absent] = [rows[keys[pos]] for pos in absent]
        return torch.from_numpy(index).to(self.device)

    def _make_room(self, keys: list[bytes], index: np.ndarray, needed: int) -> np.ndarray:
        """Keep only this batch's cached frames; grow the stores if even that is too small."""
        keep = {k: int(r) for k, r in zip(keys, index.tolist()) if r >= 0}
        capacity = max(self.max_cached_frames, 2 * (len(keep) + needed))
        stores = self._new_stores(capacity)
        if keep:
            old_rows = torch.as_tensor(list(keep.values()), device=self.device)
            for new, old in zip(stores, self._stores):
                new[: len(keep)] = old[old_rows]
        self._stores = stores
        self._rows = {k: r for r, k in enumerate(keep)}
        return np.array([self._rows.get(k, -1) for k in keys], dtype=np.int64)

    # -- forward ------------------------------------------------------------------------------
    def _bilstm(self, rows: torch.Tensor, steps: int, batch: int) -> torch.Tensor:
        """Store rows (T * B,), time-major -> (B, T, 2H) Bi-LSTM output (nn.LSTM's layout)."""
        h_dim = self.hidden
        logit, forward, backward = self._stores
        attention = torch.softmax(logit.index_select(0, rows).view(steps, batch), dim=0)
        # (2, T, B, 4H): the forward direction's inputs in time order, the backward one's in
        # reverse, so step s of both directions is one batched matmul on seq[:, s]
        seq = torch.empty(2, steps, batch, 4 * h_dim, dtype=self.dtype, device=self.device)
        reverse = rows.view(steps, batch).flip(0).reshape(-1)
        torch.index_select(forward, 0, rows, out=seq[0].view(steps * batch, 4 * h_dim))
        torch.index_select(backward, 0, reverse, out=seq[1].view(steps * batch, 4 * h_dim))
        seq[0].mul_(attention[:, :, None]).add_(self.gate_bias[0])
        seq[1].mul_(attention.flip(0)[:, :, None]).add_(self.gate_bias[1])
        # the cell state is kept doubled (c2 = 2c) so that tanh(c) = 2 sigmoid(c2) - 1 is one
        # sigmoid; the cell gate's tanh then enters c2 as 2 (2 sigmoid - 1) = 4 sigmoid - 2
        hs = []
        h = c2 = None
        w_hh = self.w_hh
        for step_in in seq.unbind(1):  # (2, B, 4H) per step
            if h is None:  # h = c = 0 before the first step: no recurrent term
                z = torch.sigmoid(step_in)
            else:
                z = torch.baddbmm(step_in, h, w_hh).sigmoid_()
            gate_in, gate_forget, gate_cell, gate_out = z.split(h_dim, dim=2)
            # input gate * (4 sigmoid - 2) of the cell gate, as -2 i + 4 i sigmoid
            c2_in = torch.addcmul(gate_in.mul(-2.0), gate_in, gate_cell, value=4.0)
            c2 = c2_in if c2 is None else torch.addcmul(c2_in, gate_forget, c2)
            h = torch.addcmul(gate_out.neg(), torch.sigmoid(c2), gate_out, value=2.0)
            hs.append(h)
        out = torch.stack(hs)  # (T, 2, B, H)
        both = torch.cat((out[:, 0], out[:, 1].flip(0)), dim=2)  # (T, B, 2H)
        return both.transpose(0, 1)

    def predict(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, C) float32 finite windows (B >= 1) -> {"intent": (B, 3), ...}."""
        x = np.ascontiguousarray(windows, dtype=np.float32)
        with torch.inference_mode():
            rows = self._frame_rows(x)
            z = self.model.temporal_head(self._bilstm(rows, x.shape[1], x.shape[0]))
            logits = self.model.classifier(z)
            head = getattr(self.model, "mean_pose_head", None)
            if head is not None and head.active:
                logits = head.fuse(logits, head.window_logits(torch.from_numpy(x).to(self.device)))
            return class_probabilities(dict(zip(TASKS, logits)), self.calibration)
