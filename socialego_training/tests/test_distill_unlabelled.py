"""The unlabelled transfer set of distillation: no supervised term on unlabelled rows, the
teacher codes of unlabelled tracks, the mean-teacher control and the study arms."""

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from sego_toydata import write_toy_dataset
from socialego_core.heads import SocialOutputs
from socialego_training.data import DatasetError
from socialego_training.distill import (
    DistillConfig,
    DistillSetup,
    prepare_distillation,
    run_distillation,
)
from socialego_training.label_scarce import main as label_scarce_main
from socialego_training.label_scarce import make_label_scarce
from socialego_training.loop import epoch_batches, task_loss
from socialego_training.study import run_study
from socialego_training.study_config import StudyConfig, parse_arm
from socialego_training.teacher_codes import TeacherRepresentations
from socialego_training.train_data import load_datasets
from socialego_training.unlabelled import load_unlabelled, unlabelled_batch

torch.set_num_threads(1)


def strip_labels(src: Path, dst: Path) -> Path:
    """A copy of the track files of ``src`` with the three labels null (unlabelled tracks)."""
    dst.mkdir(parents=True)
    for file in sorted(src.glob("*.json")):
        data = json.loads(file.read_text())
        for key in ("intention_class", "attitude_class", "action_class"):
            data[key] = None
        (dst / file.name).write_text(json.dumps(data))
    return dst


@pytest.fixture
def unlabelled_dir(tmp_path):
    other = write_toy_dataset(tmp_path / "other", {"train": 4}, seed=5, splits=("train",))
    return strip_labels(other / "train", tmp_path / "unlabelled")


def outputs_of(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return SocialOutputs(
        *(torch.randn(n, k, generator=g, requires_grad=True) for k in (3, 3, 10, 16))
    )


def test_loss_on_an_unlabelled_batch_has_no_supervised_term():
    out = outputs_of(4)
    loss = task_loss(out, torch.full((4, 3), -1))
    assert loss.item() == 0.0
    loss.backward()  # still part of the graph, with no gradient to the heads
    assert all(t.grad is None or not t.grad.any() for t in out[:3])


def test_a_mixed_batch_is_supervised_on_its_labelled_rows_only():
    out = outputs_of(5)
    labels = torch.tensor([[0, 1, 2], [2, 0, 9], [-1, -1, -1], [1, 1, 4], [-1, -1, -1]])
    keep = labels[:, 0] >= 0
    expected = sum(F.cross_entropy(t[keep], labels[keep, i]) for i, t in enumerate(out[:3]))
    assert task_loss(out, labels).item() == pytest.approx(expected.item(), rel=1e-6)
    # a fully labelled batch: exactly CE_int + CE_att + CE_act as before
    full = labels[keep]
    out3 = SocialOutputs(*(t[keep] for t in out))
    exact = sum(F.cross_entropy(t, full[:, i]) for i, t in enumerate(out3[:3]))
    assert torch.equal(task_loss(out3, full), exact)


def test_load_unlabelled_takes_a_folder_or_a_dataset_root(unlabelled_dir, tmp_path):
    spec = DistillConfig().window_spec()
    data = load_unlabelled(unlabelled_dir, spec, log=lambda _: None)
    assert len(data) == 40 and bool((data.labels == -1).all())
    # a labelled dataset root serves as transfer data too; its labels are not used
    root = write_toy_dataset(tmp_path / "labelled", {"train": 1}, splits=("train",))
    notes = []
    data = load_unlabelled(root, spec, log=notes.append)
    assert len(data) == 10 and bool((data.labels == -1).all())
    assert "carry labels" in notes[0]
    with pytest.raises(DatasetError, match="does not exist"):
        load_unlabelled(tmp_path / "missing", spec)


def test_unlabelled_batches_are_seeded_and_distinct():
    a = unlabelled_batch(50, 8, seed=0, epoch=1, step=2)
    assert torch.equal(a, unlabelled_batch(50, 8, 0, 1, 2))
    assert len(set(a.tolist())) == 8
    assert not torch.equal(a, unlabelled_batch(50, 8, 0, 1, 3))
    assert len(unlabelled_batch(5, 8, 0, 0, 0)) == 5


def _cfg(root, out, **kw):
    base = dict(
        data_root=str(root),
        epochs=2,
        batch_size=16,
        joint_rate=0.3,
        frame_rate=0.3,
        corruption_warmup_epochs=1,
        progress=False,
        device="cpu",
        calibration="none",
        out_dir=str(out),
        resume=False,
    )
    base.update(kw)
    return DistillConfig(**base)


def _weights(result):
    return torch.cat([p.detach().flatten() for p in result.model.parameters()])


def test_unlabelled_tracks_change_the_result_and_labelled_runs_stay_as_they_were(
    toy_root, unlabelled_dir, tmp_path
):
    quiet = lambda _: None  # noqa: E731
    cfg = _cfg(toy_root, tmp_path / "a", method="infonce")
    data = load_datasets(cfg, quiet)
    u_set = load_unlabelled(unlabelled_dir, data[0].spec, log=quiet)
    n, n_u = len(data[0]), len(u_set)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(n + n_u, 16, generator=g)
    logits = [torch.randn(n + n_u, k, generator=g) for k in (3, 3, 10)]
    reps_all = TeacherRepresentations(z, *logits)
    reps_train = TeacherRepresentations(z[:n], *(t[:n] for t in logits))

    def run(name, reps, u, **kw):
        c = _cfg(toy_root, tmp_path / name, **kw)
        return run_distillation(c, quiet, setup=DistillSetup(*data, reps, {}, u))

    labelled = run("labelled", reps_train, None, method="infonce")
    # the study's shared setup (codes of the unlabelled set appended) leaves it unchanged
    shared = run("shared", reps_all, None, method="infonce")
    assert torch.equal(_weights(labelled), _weights(shared))
    with_u = run("with_u", reps_all, u_set, method="infonce", unlabelled=str(unlabelled_dir))
    assert not torch.allclose(_weights(labelled), _weights(with_u))
    meta = json.loads((tmp_path / "with_u" / "summary.json").read_text())
    assert meta["steps"] == 2 * len(epoch_batches(n, 16, 0, 0))  # epochs over the labelled set
    # the control without a teacher trains on the same data
    mt = run("mean_teacher", None, u_set, method="mean_teacher", unlabelled=str(unlabelled_dir))
    assert mt.history[-1]["train_aux_loss"] > 0
    assert not torch.allclose(_weights(mt), _weights(with_u))


def test_unlabelled_tracks_need_a_distillation_method(toy_root, unlabelled_dir, tmp_path):
    cfg = _cfg(toy_root, tmp_path / "x", method="none", unlabelled=str(unlabelled_dir))
    with pytest.raises(ValueError, match="unlabelled tracks only feed a distillation loss"):
        prepare_distillation(cfg, lambda _: None)


def test_parse_arm():
    arm = parse_arm("infonce+u@1")
    assert (arm.method, arm.unlabelled, arm.weight) == ("infonce", True, 1.0)
    assert parse_arm("none") == parse_arm("none").__class__("none", "none", False, None)
    with pytest.raises(ValueError, match="must be a number"):
        parse_arm("infonce@x")
    with pytest.raises(ValueError, match="'none' takes neither"):
        parse_arm("none+u")


def test_study_with_unlabelled_arms_reports_best_and_final_epoch(
    toy_root, unlabelled_dir, tmp_path
):
    out = tmp_path / "study"
    cfg = StudyConfig(
        out_dir=str(out),
        data_root=str(toy_root),
        settings=("both30",),
        seeds=(0, 1),
        methods=("none", "mean_teacher+u@1"),
        unlabelled=str(unlabelled_dir),
        student_epochs=2,
        warmup_epochs=1,
        batch_size=16,
        progress=False,
    )
    summary = run_study(cfg, log=lambda _: None)
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all("final_mean_acc" in r for r in rows)
    assert summary["both30"]["mean_teacher+u@1"]["n"] == 2
    text = (out / "study.md").read_text()
    assert "| mean teacher (no teacher) + unlabelled, w 1 |" in text
    assert "at the final epoch" in text
    # the paired gain: per seed, the arm minus "none" of the same seed
    gains = [
        100 * sum(r[f"{t}_acc"] for t in ("intent", "attitude", "action")) / 3
        for r in sorted(rows, key=lambda r: (r["seed"], r["method"] != "none"))
    ]
    first = f"{gains[1] - gains[0]:+.1f}"
    assert "Paired gain over no distillation" in text and f"({first}, " in text
    assert (out / "study_final.png").stat().st_size > 10_000
    with pytest.raises(ValueError, match="needs unlabelled tracks"):
        run_study(StudyConfig(out_dir=str(tmp_path / "y"), methods=("infonce+u",)))


def test_label_scarce_split_keeps_labelled_and_strips_unlabelled(toy_root, tmp_path, capsys):
    counts = make_label_scarce(toy_root, tmp_path / "ls", 12, 40, 5, seed=3)
    assert counts == {"labelled": 12, "validation": 5, "test": 20, "unlabelled": 40}
    lab = {p.name for p in (tmp_path / "ls" / "labelled" / "train").glob("*.json")}
    unl = sorted((tmp_path / "ls" / "unlabelled" / "train").glob("*.json"))
    assert len(lab) == 12 and len(unl) == 40 and not lab & {p.name for p in unl}
    assert all(json.loads(p.read_text())["action_class"] is None for p in unl)
    spec = DistillConfig().window_spec()
    assert len(load_unlabelled(tmp_path / "ls" / "unlabelled", spec, log=lambda _: None)) == 40
    # asking for more than there is: one clear error line
    args = ["--src", str(toy_root), "--out", str(tmp_path / "x"), "--labelled", "99"]
    rc = label_scarce_main(args)
    assert rc == 1 and "only 60 available" in capsys.readouterr().err
