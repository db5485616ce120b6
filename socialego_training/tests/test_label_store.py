"""socialego-label without a browser: answers written atomically with provenance, resume, undo,
nesting and overrides, broken files, and the HTTP server's answers to bad input."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from sego_toydata import toy_track
from socialego_core.labels import HARPER, JPL_SOCIAL, implied_parents
from socialego_training.data import DatasetError, load_split
from socialego_training.labelling import LabelStore, write_json_atomic
from socialego_training.labelling.cli import main as label_main
from socialego_training.labelling.server import LabelApp, make_server

WAVE, POINT, NO_RESPONSE = 3, 6, 9  # JPL action ids


def write_unlabelled(root: Path, n: int = 4, split: str = "train") -> list[Path]:
    rng = np.random.default_rng(0)
    (root / split).mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        track = toy_track(i % 10, rng, f"v{i:03d}", 0, n_frames=6, gaps=False)
        track.update(intention_class=None, attitude_class=None, action_class=None)
        path = root / split / f"v{i:03d}_0.json"
        path.write_text(json.dumps(track), encoding="utf-8")
        paths.append(path)
    return paths


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_implied_parents_follow_the_table_nesting_and_harper_has_none():
    assert implied_parents(JPL_SOCIAL, WAVE) == (0, 0)  # Interacting, Positive
    assert implied_parents(JPL_SOCIAL, POINT) == (1, 2)  # Interested, Not_Interacting
    assert implied_parents(HARPER, 0) is None
    with pytest.raises(ValueError, match="action 10 outside 0..9"):
        implied_parents(JPL_SOCIAL, 10)


def test_answers_are_written_at_once_with_provenance_and_loaders_read_them(tmp_path):
    paths = write_unlabelled(tmp_path / "d")
    store = LabelStore(tmp_path / "d", "train")
    assert store.next_open() == "v000_0"
    store.answer("v000_0", WAVE)
    data = read(paths[0])
    assert (data["intention_class"], data["attitude_class"], data["action_class"]) == (0, 0, 3)
    assert data["label_status"] == "labelled" and data["label_tool"] == "socialego-label"
    assert data["label_overrides"] == [] and data["labelled_at"].endswith("+00:00")
    assert len(data["frames"]) == 6  # the rest of the track is kept
    # an override replaces what the action implies, and is recorded
    store.answer("v001_0", POINT, intent=2, unsure=True)
    data = read(paths[1])
    assert (data["intention_class"], data["attitude_class"], data["action_class"]) == (2, 2, 6)
    assert data["label_status"] == "unsure" and data["label_overrides"] == ["intent"]
    store.skip("v002_0")
    data = read(paths[2])
    assert data["label_status"] == "skipped" and data["action_class"] is None
    # no temporary file is left beside the tracks
    assert sorted(p.name for p in (tmp_path / "d" / "train").iterdir()) == [p.name for p in paths]
    loaded = load_split(tmp_path / "d", "train")
    assert [t.path.name for t in loaded.tracks] == ["v000_0.json", "v001_0.json"]
    assert loaded.tracks[1].extra["label_status"] == "unsure"  # unsure tracks train as labelled
    assert [p.name for p in loaded.unlabelled] == ["v002_0.json", "v003_0.json"]
    progress = store.progress()
    assert progress["answered"] == 3 and progress["total"] == 4
    assert progress["states"] == {
        "open": 1,
        "labelled": 1,
        "unsure": 1,
        "skipped": 1,
        "broken": 0,
    }
    assert progress["per_class"]["action"]["Wave"] == 1
    assert progress["per_class"]["intent"]["Not_Interested"] == 1


def test_a_new_store_resumes_at_the_first_open_track(tmp_path):
    write_unlabelled(tmp_path / "d", n=5)
    first = LabelStore(tmp_path / "d", "train")
    first.answer("v000_0", WAVE)
    first.skip("v001_0")
    first.answer("v003_0", NO_RESPONSE)  # answered out of order (browsing with [ ])
    again = LabelStore(tmp_path / "d", "train")
    assert again.next_open() == "v002_0"
    assert again.next_open(after="v002_0") == "v004_0"
    assert again.next_open(after="v004_0") == "v002_0"  # wraps round
    assert again.entry("v003_0").labels == (2, 2, NO_RESPONSE)


def test_undo_restores_exactly_what_the_last_answers_changed(tmp_path):
    paths = write_unlabelled(tmp_path / "d", n=2)
    original = paths[0].read_text(encoding="utf-8")
    store = LabelStore(tmp_path / "d", "train")
    assert store.undo() is None and not store.can_undo
    store.answer("v000_0", WAVE)
    store.answer("v000_0", POINT, unsure=True)  # changed mind on the same track
    store.skip("v001_0")
    assert store.undo() == "v001_0"
    assert read(paths[1])["action_class"] is None and "label_status" not in read(paths[1])
    assert store.undo() == "v000_0"
    data = read(paths[0])
    assert data["action_class"] == WAVE and data["label_status"] == "labelled"
    assert store.undo() == "v000_0"
    assert read(paths[0]) == json.loads(original)  # provenance fields gone again
    assert store.next_open() == "v000_0" and store.undo() is None


def test_harper_labels_need_intent_and_attitude_given(tmp_path):
    write_unlabelled(tmp_path / "d", n=1)
    (tmp_path / "d" / "dataset.json").write_text(json.dumps({"dataset": "harper"}))
    store = LabelStore(tmp_path / "d", "train")
    assert store.table is HARPER
    with pytest.raises(ValueError, match="does not nest"):
        store.answer("v000_0", 1)
    store.answer("v000_0", 1, intent=1, attitude=2)
    assert store.entry("v000_0").labels == (1, 2, 1)
    with pytest.raises(ValueError, match="action 6 outside"):
        store.answer("v000_0", 6, intent=1, attitude=2)


def test_broken_files_are_named_and_never_written_while_the_rest_works(tmp_path):
    paths = write_unlabelled(tmp_path / "d", n=3)
    paths[1].write_text("{not json", encoding="utf-8")
    store = LabelStore(tmp_path / "d", "train")
    broken = store.entry("v001_0")
    assert broken.state == "broken" and "invalid JSON" in broken.error
    with pytest.raises(DatasetError, match="v001_0.json.*broken"):
        store.answer("v001_0", WAVE)
    assert paths[1].read_text(encoding="utf-8") == "{not json"
    store.answer("v000_0", WAVE)
    assert store.next_open(after="v000_0") == "v002_0"  # the broken one is passed over
    assert store.progress()["states"]["broken"] == 1 and store.progress()["total"] == 2


def test_missing_dataset_split_or_bad_description_is_named(tmp_path, capsys):
    with pytest.raises(DatasetError, match="does not exist"):
        LabelStore(tmp_path / "nowhere", "train")
    write_unlabelled(tmp_path / "d", n=1)
    with pytest.raises(DatasetError, match="split folder missing"):
        LabelStore(tmp_path / "d", "test")
    (tmp_path / "d" / "dataset.json").write_text("{", encoding="utf-8")
    with pytest.raises(DatasetError, match="dataset.json: cannot read"):
        LabelStore(tmp_path / "d", "train")
    assert label_main([str(tmp_path / "nowhere")]) == 2
    assert "nowhere: dataset root does not exist" in capsys.readouterr().err


def test_a_failed_write_leaves_the_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(TypeError):
        write_json_atomic(path, {"a": object()})
    assert path.read_text(encoding="utf-8") == '{"a": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_server_names_bad_tracks_and_missing_frames_and_keeps_running(tmp_path):
    paths = write_unlabelled(tmp_path / "d", n=3)
    paths[2].write_text("[]", encoding="utf-8")
    lines: list[str] = []
    app = LabelApp(LabelStore(tmp_path / "d", "train"), log=lines.append)
    server = make_server(app, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        status, state = _get(f"{base}/api/state")
        assert status == 200 and state["next_open"] == "v000_0"
        assert state["broken"][0]["name"] == "v002_0"
        assert "not an object" in state["broken"][0]["error"]
        assert any("v002_0.json" in line for line in lines)  # said in the terminal
        status, track = _get(f"{base}/api/track?name=v000_0")
        assert status == 200 and track["frame_ids"] == [5, 6, 7, 8, 9, 10]
        assert "no video frames for 'v000'" in track["frames_message"]
        assert any("no video frames for 'v000'" in line for line in lines)
        status, track = _get(f"{base}/api/track?name=v002_0")
        assert track["state"] == "broken" and "v002_0.json" in track["error"]
        assert _get(f"{base}/api/track?name=nope")[0] == 400
        assert _get(f"{base}/api/frame?name=v000_0&frame=5")[0] == 404
        request = urllib.request.Request(
            f"{base}/api/answer", data=b'{"name": "v000_0", "action": "x"}', method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(request, timeout=10)
        assert bad.value.code == 400
        # still serving after every bad request
        request = urllib.request.Request(
            f"{base}/api/answer", data=b'{"name": "v000_0", "action": 3}', method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            result = json.loads(response.read())
        assert result["next"] == "v001_0" and read(paths[0])["action_class"] == 3
        with urllib.request.urlopen(f"{base}/", timeout=10) as response:
            assert b"label.js" in response.read()
    finally:
        server.shutdown()
        server.server_close()


def test_frames_from_a_video_file_and_video_names_outside_the_videos_folder(tmp_path):
    cv2 = pytest.importorskip("cv2", reason="OpenCV reads video files (socialego[teacher])")
    write_unlabelled(tmp_path / "d", n=2)
    videos = tmp_path / "d" / "videos"
    videos.mkdir()
    writer = cv2.VideoWriter(
        str(videos / "v000.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48)
    )
    for k in range(12):
        writer.write(np.full((48, 64, 3), 20 * k, np.uint8))
    writer.release()
    path = tmp_path / "d" / "train" / "v001_0.json"
    path.write_text(json.dumps(dict(read(path), video_name="../../secret")), encoding="utf-8")
    app = LabelApp(LabelStore(tmp_path / "d", "train"), log=lambda line: None)
    assert app.track("v000_0")["frames_message"] is None
    data, kind = app.frame("v000_0", 7)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert kind == "image/jpeg" and image.shape == (48, 64) and abs(image.mean() - 140) < 8
    with pytest.raises(FileNotFoundError, match="frame 30 of 'v000'"):
        app.frame("v000_0", 30)
    with pytest.raises(ValueError, match="no folder name"):
        app.frame("v001_0", 5)
