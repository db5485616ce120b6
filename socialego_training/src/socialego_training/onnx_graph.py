"""The student's weights as an ONNX graph (``socialego_core.onnx_format`` names its tensors).

Built operator by operator from the trained ``SocialEgoMobile`` in eval mode (BatchNorm folded
into a scale and a shift, the Bi-LSTM unrolled over the window's T steps with both directions in
one batched MatMul per step), so the graph has the named split points the runtime's cached
forward needs and no exporter tracing. Same weights, same math as ``SocialEgoMobile.forward``:
tests hold its outputs within 1e-4 of PyTorch. A fitted mean-pose head adds its per-frame linear
logits as the frame projection's last K columns; the window part averages them over time and
fuses them with the chain classifier's (``socialego_core.mean_pose_head``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from socialego_core import onnx_format as fmt
from socialego_core.mean_pose_head import MeanPoseHead
from socialego_core.student import SocialEgoMobile
from torch import nn

INT64_MIN = -(2**63)
MS_DOMAIN = "com.microsoft"  # ONNX Runtime's contrib operators
# int8 products of the LSTM hidden state, which lies in (-1, 1): uint8 = round(h * 127.5) + 128
HIDDEN_SCALE = np.float32(1.0 / 127.5)
HIDDEN_ZERO = np.uint8(128)


class _GraphBuilder:
    """Nodes and initialisers with generated names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0
        self._weights: dict[tuple[int, str], list[str]] = {}  # product weights, stored once

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value: Any, stem: str = "c", dtype: Any = np.float32) -> str:
        name = self._name(stem)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, values: list[int], stem: str = "i") -> str:
        return self.const(np.asarray(values, dtype=np.int64), stem, np.int64)

    def op(self, op_type: str, inputs: list[str], output: str | None = None, **attrs) -> str:
        out = output or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def split(self, x: str, sizes: list[int], axis: int) -> list[str]:
        outs = [self._name("split") for _ in sizes]
        self.nodes.append(helper.make_node("Split", [x, self.ints(sizes)], outs, axis=axis))
        return outs

    def linear(self, x: str, layer: nn.Linear, output: str | None = None) -> str:
        """x @ W^T + b over the last axis."""
        w = layer.weight.detach().cpu().numpy().T
        y = self.op("MatMul", [x, self.const(w, "w")])
        if layer.bias is None:
            return y if output is None else self.op("Identity", [y], output)
        return self.op("Add", [y, self.const(layer.bias.detach().cpu().numpy(), "b")], output)

    def product(self, x: str, weights: np.ndarray, quantize: str) -> str:
        """x @ weights (weights (K, N), or (D, K, N) for D stacked products): an fp32 MatMul, or
        for ``quantize`` "int8" an int8 product for an ``x`` bounded by (-1, 1) (the LSTM's
        hidden state, o * tanh(c)): x quantised with a fixed scale (QuantizeLinear to uint8,
        1/127.5 a step, so every row is quantised alike whatever else is in the batch), the
        weights to int8 with one scale per output column (and stack), the product by ONNX
        Runtime's MatMulIntegerToFloat on the CPU's integer dot-product units. The same
        ``weights`` array is stored once however many products use it."""
        key = (id(weights), quantize)
        if key not in self._weights:
            if quantize == "none":
                self._weights[key] = [self.const(weights)]
            else:
                scale = np.abs(weights).max(axis=-2, keepdims=True) / 127.0  # (..., 1, N)
                scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
                quantised = np.clip(np.rint(weights / scale), -127, 127).astype(np.int8)
                self._weights[key] = [
                    self.const(HIDDEN_SCALE, "xs"),
                    self.const(HIDDEN_ZERO, "xz", np.uint8),
                    self.const(quantised, "wq", np.int8),
                    self.const(scale, "ws"),
                ]
        if quantize == "none":
            return self.op("MatMul", [x, *self._weights[key]])
        x_scale, x_zero, w, w_scale = self._weights[key]
        q = self.op("QuantizeLinear", [x, x_scale, x_zero])
        out = self._name("qmatmul")
        self.nodes.append(
            helper.make_node(
                "MatMulIntegerToFloat", [q, w, x_scale, w_scale, x_zero], [out], domain=MS_DOMAIN
            )
        )
        return out

    def batch_norm(self, x: str, bn: nn.BatchNorm1d) -> str:
        """Eval-mode BatchNorm1d on (B, C) as x * scale + shift."""
        var = bn.running_var.detach().cpu().double().numpy()
        mean = bn.running_mean.detach().cpu().double().numpy()
        gamma = bn.weight.detach().cpu().double().numpy() if bn.affine else np.ones_like(var)
        beta = bn.bias.detach().cpu().double().numpy() if bn.affine else np.zeros_like(var)
        scale = gamma / np.sqrt(var + bn.eps)
        shift = beta - mean * scale
        return self.op("Add", [self.op("Mul", [x, self.const(scale)]), self.const(shift)])


def _mean_pose_head(model: SocialEgoMobile) -> MeanPoseHead | None:
    head = model.mean_pose_head
    return head if head is not None and head.active else None


def _frame_part(g: _GraphBuilder, model: SocialEgoMobile, frames: str) -> str:
    """(N, J, C) frames -> (N, 1 + 8H [+ K]) frame projections (K: the mean-pose head's
    logits of the frame)."""
    joints = model.num_joints
    raw = frames
    mask = np.where(model.adjacency.cpu().numpy(), 0.0, -np.inf).astype(np.float32)
    h = frames
    if model.input_norm is not None:  # per (joint, channel) feature, as SocialEgoMobile
        flat = g.op("Reshape", [h, g.ints([-1, joints * model.in_channels])])
        h = g.batch_norm(flat, model.input_norm)
        h = g.op("Reshape", [h, g.ints([-1, joints, model.in_channels])])
    for k, conv in enumerate(model.gat.convs):
        if k:
            h = g.op("Relu", [h])
        h = g.linear(h, conv.lin)  # (N, J, F)
        att = torch.cat([conv.att_src.reshape(-1, 1), conv.att_dst.reshape(-1, 1)], dim=1)
        scores = g.op("MatMul", [h, g.const(att.detach().cpu().numpy())])  # (N, J, 2)
        src, dst = g.split(scores, [1, 1], axis=2)
        logits = g.op("Add", [g.op("Transpose", [src], perm=[0, 2, 1]), dst])  # [n, tgt, src]
        logits = g.op("LeakyRelu", [logits], alpha=float(conv.negative_slope))
        logits = g.op("Add", [logits, g.const(mask)])
        h = g.op("MatMul", [g.op("Softmax", [logits], axis=-1), h])
        h = g.op("Add", [h, g.const(conv.bias.detach().cpu().numpy())])
    h = g.op("Reshape", [h, g.ints([-1, joints * model.gat_hidden])])
    lstm = model.lstm
    weight = torch.cat([model.frame_attention.weight, lstm.weight_ih_l0, lstm.weight_ih_l0_reverse])
    bias = torch.cat(
        [model.frame_attention.bias, torch.zeros(8 * lstm.hidden_size, dtype=weight.dtype)]
    )
    projection = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        projection.weight.copy_(weight)
        projection.bias.copy_(bias)
    head = _mean_pose_head(model)
    if head is None:
        return g.linear(h, projection, fmt.FRAME_PROJECTION)
    flat = g.op("Reshape", [raw, g.ints([-1, joints * model.in_channels])])
    head_logits = g.op("MatMul", [flat, g.const(head.weight.detach().cpu().numpy().T)])
    head_logits = g.op("Add", [head_logits, g.const(head.bias.detach().cpu().numpy())])
    return g.op("Concat", [g.linear(h, projection), head_logits], fmt.FRAME_PROJECTION, axis=1)


def _temporal_part(
    g: _GraphBuilder, model: SocialEgoMobile, steps: int, x: str, quantize: str = "none"
) -> list[str]:
    """(B, T, 1 + 8H [+ K]) window projections -> intent, attitude, action logits and z."""
    lstm = model.lstm
    hd = lstm.hidden_size
    head = _mean_pose_head(model)
    x = g.op("Transpose", [x], perm=[1, 0, 2])  # (T, B, 1 + 8H [+ K])
    if head is None:
        logit, forward, backward = g.split(x, [1, 4 * hd, 4 * hd], axis=2)
    else:
        logit, forward, backward, head_logits = g.split(
            x, [1, 4 * hd, 4 * hd, sum(head.classes)], axis=2
        )
    attention = g.op("Softmax", [logit], axis=0)  # frame attention over time, (T, B, 1)
    biases = [
        (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().cpu().numpy(),
        (lstm.bias_ih_l0_reverse + lstm.bias_hh_l0_reverse).detach().cpu().numpy(),
    ]
    forward = g.op("Add", [g.op("Mul", [forward, attention]), g.const(biases[0])])
    backward = g.op("Add", [g.op("Mul", [backward, attention]), g.const(biases[1])])
    backward = g.op(
        "Slice", [backward, g.ints([-1]), g.ints([INT64_MIN]), g.ints([0]), g.ints([-1])]
    )  # time reversed
    axis0 = g.ints([0])
    both = g.op(
        "Concat",
        [g.op("Unsqueeze", [forward, axis0]), g.op("Unsqueeze", [backward, axis0])],
        axis=0,
    )  # (2, T, B, 4H): step s of both directions is both[:, s]
    recurrent_weights = np.stack(
        [lstm.weight_hh_l0.detach().cpu().numpy().T, lstm.weight_hh_l0_reverse.detach().numpy().T]
    )  # (2, H, 4H)
    h = c = None
    outputs = []
    for step in range(steps):
        gates = g.op("Gather", [both, g.const(step, dtype=np.int64)], axis=1)  # (2, B, 4H)
        if h is not None:  # the only products quantised: the frame projection, in int8 with
            # one scale over a batch of unbounded GAT features, agreed less with float32 and
            # saved little (docs/benchmarks.md)
            gates = g.op("Add", [g.product(h, recurrent_weights, quantize), gates])
        gate_i, gate_f, gate_g, gate_o = g.split(gates, [hd] * 4, axis=2)  # PyTorch's order
        new = g.op("Mul", [g.op("Sigmoid", [gate_i]), g.op("Tanh", [gate_g])])
        c = new if c is None else g.op("Add", [g.op("Mul", [g.op("Sigmoid", [gate_f]), c]), new])
        h = g.op("Mul", [g.op("Sigmoid", [gate_o]), g.op("Tanh", [c])])  # (2, B, H)
        outputs.append(g.op("Unsqueeze", [h, axis0]))
    hs = g.op("Concat", outputs, axis=0)  # (T, 2, B, H), backward half in reversed time
    h_fwd = g.op("Gather", [hs, g.const(0, dtype=np.int64)], axis=1)
    h_bwd = g.op("Gather", [hs, g.const(1, dtype=np.int64)], axis=1)
    h_bwd = g.op("Slice", [h_bwd, g.ints([-1]), g.ints([INT64_MIN]), g.ints([0]), g.ints([-1])])
    seq = g.op("Concat", [h_fwd, h_bwd], axis=2)  # (T, B, 2H), nn.LSTM's layout
    weights = g.op("Softmax", [g.linear(seq, model.time_attention)], axis=0)
    pooled = g.op("ReduceSum", [g.op("Mul", [seq, weights]), axis0], keepdims=0)  # (B, 2H)
    h = pooled
    for layer in model.fc:
        if isinstance(layer, nn.Linear):
            h = g.linear(h, layer)
        elif isinstance(layer, nn.ReLU):
            h = g.op("Relu", [h])
        elif isinstance(layer, nn.BatchNorm1d):
            h = g.batch_norm(h, layer)
        else:
            raise ValueError(f"ONNX export does not cover a {type(layer).__name__} in the MLP")
    z = g.op("Identity", [h], fmt.Z)
    chain = model.classifier
    names = [None, None, None] if head is not None else list(fmt.LOGITS)
    intent = g.linear(g.op("Relu", [z]), chain.intent_head[1], names[0])
    cat = g.op("Concat", [z, intent], axis=1)
    attitude_in = g.op("Relu", [g.batch_norm(cat, chain.attitude_head[0])])
    attitude = g.linear(attitude_in, chain.attitude_head[2], names[1])
    cat = g.op("Concat", [z, intent, attitude], axis=1)
    action_in = g.op("Relu", [g.batch_norm(cat, chain.action_head[0])])
    action = g.linear(action_in, chain.action_head[2], names[2])
    if head is None:
        return [intent, attitude, action, z]
    # the linear model on the mean pose = the mean over time of its per-frame logits
    mean = g.op("Mul", [g.op("ReduceSum", [head_logits, axis0], keepdims=0), g.const(1 / steps)])
    fused = []
    for task, logits, linear in zip(
        fmt.LOGITS,
        [intent, attitude, action],
        g.split(mean, list(head.classes), axis=1),
        strict=True,
    ):
        weighted = g.op("Mul", [g.op("LogSoftmax", [linear], axis=1), g.const(float(head.fusion))])
        fused.append(g.op("Add", [g.op("LogSoftmax", [logits], axis=1), weighted], task))
    return [*fused, z]


def student_onnx(
    model: SocialEgoMobile, metadata: Mapping[str, Any], quantize: str = "none"
) -> onnx.ModelProto:
    """The ONNX model of ``model`` (eval-mode weights) with ``metadata`` (the artifact's,
    including ``version``) in its metadata_props; checked with onnx.checker. ``quantize``
    "int8" runs the Bi-LSTM recurrence's products in int8 (faster for several people, outputs
    no longer within 1e-4 of PyTorch: docs/training.md#onnx)."""
    lstm = model.lstm
    if lstm.num_layers != 1 or not lstm.bidirectional or not lstm.bias or lstm.proj_size:
        raise ValueError("ONNX export covers the student with one bidirectional LSTM layer")
    spec = metadata["window_spec"]
    steps, joints, channels = int(spec["length"]), model.num_joints, model.in_channels
    g = _GraphBuilder()
    frames = g.op("Reshape", [fmt.WINDOWS, g.ints([-1, joints, channels])], fmt.FRAMES)
    if quantize not in fmt.QUANTIZE:
        raise ValueError(f"quantize {quantize!r} is unknown; known: {', '.join(fmt.QUANTIZE)}")
    projection = _frame_part(g, model, frames)
    head = _mean_pose_head(model)
    width = 1 + 8 * lstm.hidden_size + (sum(head.classes) if head is not None else 0)
    windows = g.op("Reshape", [projection, g.ints([-1, steps, width])], fmt.WINDOW_PROJECTION)
    outputs = _temporal_part(g, model, steps, windows, quantize)
    classes = [model.classifier.intent_head[1].out_features]
    classes += [model.classifier.attitude_head[2].out_features]
    classes += [model.classifier.action_head[2].out_features, model.repr_dim]
    graph = helper.make_graph(
        g.nodes,
        "socialego_student",
        [
            helper.make_tensor_value_info(
                fmt.WINDOWS, TensorProto.FLOAT, ["batch", steps, joints, channels]
            )
        ],
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", n])
            for name, n in zip(outputs, classes, strict=True)
        ],
        g.initializers,
        value_info=[  # the split points, typed so that the runtime can cut the graph there
            helper.make_tensor_value_info(
                fmt.FRAMES, TensorProto.FLOAT, ["frames", joints, channels]
            ),
            helper.make_tensor_value_info(
                fmt.FRAME_PROJECTION, TensorProto.FLOAT, ["frames", width]
            ),
            helper.make_tensor_value_info(
                fmt.WINDOW_PROJECTION, TensorProto.FLOAT, ["batch", steps, width]
            ),
        ],
    )
    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", fmt.OPSET)]
        + ([helper.make_opsetid(MS_DOMAIN, 1)] if quantize == "int8" else []),
        producer_name="socialego",
        doc_string=f"{metadata.get('model', 'SocialEgoMobile')} {metadata['version']}: "
        "windows (B, T, J, 3) normalised -> intent, attitude, action logits, z",
    )
    proto.ir_version = 8  # readable by onnxruntime >= 1.10
    helper.set_model_props(proto, fmt.metadata_props(metadata, quantize))
    onnx.checker.check_model(proto, full_check=True)
    return proto
