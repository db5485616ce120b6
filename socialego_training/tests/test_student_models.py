"""SocialEgoMobile and SocialEgoNet: sizes pinned to method.md, shapes, MACs, determinism."""

from __future__ import annotations

import pytest
import torch
from socialego_core.heads import ChainClassifier, SocialOutputs
from socialego_core.student import SocialEgoMobile, count_parameters
from socialego_training.bench import count_macs
from socialego_training.socialegonet import FACE_EDGES, HANDS_EDGES, SocialEgoNet


def test_student_parameter_count_matches_paper() -> None:
    assert count_parameters(SocialEgoMobile()) == 430_649


def test_student_harper_heads_change_only_the_action_layer() -> None:
    # 6 actions instead of 10: the last Linear(22 -> A) loses 4 * 23 parameters
    assert count_parameters(SocialEgoMobile(n_action=6)) == 430_649 - 4 * 23


def test_student_forward_shapes_and_output_type() -> None:
    torch.manual_seed(0)
    model = SocialEgoMobile().eval()
    out = model(torch.rand(5, 10, 17, 3) - 0.5)
    assert isinstance(out, SocialOutputs)
    assert out.intent.shape == (5, 3) and out.attitude.shape == (5, 3)
    assert out.action.shape == (5, 10) and out.z.shape == (5, 16)
    assert torch.isfinite(out.action).all()


def test_student_batches_are_independent_in_eval_mode() -> None:
    """Each window is its own set of graphs: batching must not mix samples."""
    torch.manual_seed(0)
    model = SocialEgoMobile().eval()
    x = torch.rand(4, 10, 17, 3) - 0.5
    with torch.no_grad():
        together = model(x).action
        alone = torch.cat([model(x[i : i + 1]).action for i in range(4)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_student_rejects_wrong_input_shape() -> None:
    with pytest.raises(ValueError, match=r"\(B, T, 17, 3\)"):
        SocialEgoMobile()(torch.zeros(2, 10, 133, 3))


def test_student_macs_about_4_2_million() -> None:
    macs = count_macs(SocialEgoMobile(), torch.rand(1, 10, 17, 3))
    # Bi-LSTM: 2 directions x 10 steps x 4 gates x 128 x (272 + 128) = 4.096 M of it
    assert 4_096_000 < macs < 4_300_000, macs


def test_chain_classifier_feeds_intent_into_attitude_and_action() -> None:
    torch.manual_seed(0)
    head = ChainClassifier(16).eval()
    z = torch.randn(3, 16)
    intent, attitude, action = head(z)
    # changing the intent layer's weights must change the attitude and action logits
    with torch.no_grad():
        head.intent_head[1].weight.add_(1.0)
    intent2, attitude2, action2 = head(z)
    assert not torch.allclose(attitude, attitude2) and not torch.allclose(action, action2)


def test_socialegonet_size_and_forward() -> None:
    model = SocialEgoNet()
    # 3 GCNs (3 layers x 16) + 3-layer Bi-LSTM 128 over 133 x 16 = 2128 features: 3.13 M
    assert count_parameters(model) == 3_125_001
    out = model.eval()(torch.rand(2, 30, 133, 3) - 0.5)
    assert out.action.shape == (2, 10) and out.z.shape == (2, 16)


def test_socialegonet_graph_edges_stay_inside_their_parts() -> None:
    assert max(max(e) for e in FACE_EDGES) == 67
    assert max(max(e) for e in HANDS_EDGES) == 41
    assert len(HANDS_EDGES) == 40  # 20 bones per hand
