"""Online forward pass of the student that embeds each distinct frame once.

Consecutive online windows share all but their newest frame, and in the student a frame's GAT
embedding and its Bi-LSTM input projection depend on that frame alone: the frame-attention
weight a_t only scales the projection (W_ih (a_t g_t) = a_t (W_ih g_t)). So the projection
``[frame-attention logit, W_ih forward, W_ih backward]`` of each distinct normalised frame is
cached by the frame's bytes, and a tick computes it only for new frames; the Bi-LSTM
recurrence, the pooling and the heads run per window as in ``SocialEgoMobile.forward``.

Same weights, same math, only the float summation order differs: tests hold the
probabilities within 1e-5 of ``StudentPredictor.predict`` (the reference path).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

TASKS = ("intent", "attitude", "action")


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
    """(B, T, J, C) float32 windows -> class probabilities, reusing frame projections.

    ``max_cached_frames`` bounds memory: when full the cache keeps only the frames of the
    current batch (the next tick recomputes older ones once).
    """

    def __init__(self, model: nn.Module, max_cached_frames: int = 4096) -> None:
        if not supports_cached_forward(model):
            raise ValueError(
                "cached forward needs a SocialEgoMobile in eval mode with one bidirectional "
                "LSTM layer"
            )
        self.model = model
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
            self.projection = torch.cat([attention.weight, *w_ih], dim=0).t().contiguous()
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
        self.feature_dim = self.projection.shape[1]
        self.max_cached_frames = max(int(max_cached_frames), 16)
        self._rows: dict[bytes, int] = {}
        self._features = torch.empty(0, self.feature_dim, dtype=self.dtype, device=self.device)
        self.frames_computed = 0  # frames embedded so far (for tests and benchmarks)

    def clear(self) -> None:
        self._rows.clear()

    def __len__(self) -> int:
        return len(self._rows)

    # -- frame projections --------------------------------------------------------------------
    def _project(self, frames: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(frames).to(self.device)
        g = self.model.frame_embeddings(x)
        self.frames_computed += len(frames)
        return torch.addmm(self.projection_bias, g, self.projection)

    def _frame_features(self, windows: np.ndarray) -> torch.Tensor:
        """(B, T, J, C) -> (T, B, F) cached projections, time-major (the recurrence's order);
        new frames are computed in one batch."""
        batch, steps = windows.shape[:2]
        # time-major frame order, so that the gather below lays the features out as needed
        frames = np.ascontiguousarray(windows.swapaxes(0, 1)).reshape(
            batch * steps, *windows.shape[2:]
        )
        keys = frames.reshape(batch * steps, -1).view(np.dtype((np.void, frames[0].nbytes)))
        keys = keys.ravel().tolist()
        rows = self._rows
        index = [rows.get(k, -1) for k in keys]
        missing: dict[bytes, int] = {}
        for pos, (key, row) in enumerate(zip(keys, index)):
            if row < 0 and key not in missing:
                missing[key] = pos
        if missing:
            if len(rows) + len(missing) > self._features.shape[0]:
                index = self._make_room(keys, index, len(missing))
            fresh = self._project(frames[list(missing.values())])
            rows = self._rows  # _make_room may have replaced it
            start = len(rows)
            self._features[start : start + len(missing)] = fresh
            for offset, key in enumerate(missing):
                rows[key] = start + offset
            index = [rows[k] for k in keys]
        gathered = self._features[torch.from_numpy(np.array(index, dtype=np.int64))]
        return gathered.view(steps, batch, self.feature_dim)

    def _make_room(self, keys: list[bytes], index: list[int], needed: int) -> list[int]:
        """Keep only this batch's cached frames; grow the store if even that is too small."""
        keep = {k: r for k, r in zip(keys, index) if r >= 0}
        capacity = max(self.max_cached_frames, 2 * (len(keep) + needed))
        store = torch.empty(capacity, self.feature_dim, dtype=self.dtype, device=self.device)
        if keep:
            old_rows = torch.as_tensor(list(keep.values()), device=self.device)
            store[: len(keep)] = self._features[old_rows]
        self._features = store
        self._rows = {k: r for r, k in enumerate(keep)}
        return [self._rows.get(k, -1) for k in keys]

    # -- forward ------------------------------------------------------------------------------
    def _bilstm(self, features: torch.Tensor) -> torch.Tensor:
        """(T, B, F) projections -> (B, T, 2H) Bi-LSTM output (as nn.LSTM lays it out)."""
        steps, batch = features.shape[:2]
        h_dim = self.hidden
        attention = torch.softmax(features[:, :, 0], dim=0)[:, :, None]  # frame attention
        # (T, 2, B, 4H): step s holds the forward direction's frame s and the backward one's
        # frame T-1-s, so both directions advance in one batched matmul
        seq = torch.empty(steps, 2, batch, 4 * h_dim, dtype=self.dtype, device=self.device)
        forward_in = features[:, :, 1 : 1 + 4 * h_dim]
        backward_in = features[:, :, 1 + 4 * h_dim :].flip(0)
        torch.addcmul(self.gate_bias[0], forward_in, attention, out=seq[:, 0])
        torch.addcmul(self.gate_bias[1], backward_in, attention.flip(0), out=seq[:, 1])
        # the cell state is kept doubled (c2 = 2c) so that tanh(c) = 2 sigmoid(c2) - 1 is one
        # sigmoid; the cell gate's tanh then enters c2 as 2 (2 sigmoid - 1) = 4 sigmoid - 2
        hs = []
        h = c2 = None
        for s in range(steps):
            if h is None:  # h = c = 0 before the first step: no recurrent term
                z = torch.sigmoid(seq[s])
            else:
                z = torch.baddbmm(seq[s], h, self.w_hh).sigmoid_()
            cell = z[:, :, 2 * h_dim : 3 * h_dim].mul(4.0).sub_(2.0)
            if c2 is None:
                c2 = z[:, :, :h_dim] * cell
            else:
                c2 = torch.addcmul(z[:, :, h_dim : 2 * h_dim] * c2, z[:, :, :h_dim], cell)
            gate_out = z[:, :, 3 * h_dim :]
            h = torch.addcmul(gate_out.neg(), torch.sigmoid(c2), gate_out, value=2.0)
            hs.append(h)
        out = torch.stack(hs)  # (T, 2, B, H)
        both = torch.cat((out[:, 0], out[:, 1].flip(0)), dim=2)  # (T, B, 2H)
        return both.transpose(0, 1)

    def predict(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """(B, T, J, C) float32 finite windows (B >= 1) -> {"intent": (B, 3), ...}."""
        x = np.ascontiguousarray(windows, dtype=np.float32)
        with torch.inference_mode():
            features = self._frame_features(x)
            z = self.model.temporal_head(self._bilstm(features))
            logits = self.model.classifier(z)
            return {
                task: torch.softmax(value, dim=1).cpu().numpy()
                for task, value in zip(TASKS, logits)
            }
