"""Pose backends, image conversions, tracking and gaze features, without ROS.

Real people come from footage shipped in registry packages (scripts/fetch_footage.sh);
the ONNX backends are checked with tiny ONNX models built here whose outputs are known.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from footage import read_rgb, video_frames
from socialego_core.layouts import COCO_WHOLEBODY133
from socialego_perception.backends import BackendError, PersonPose, create_backend
from socialego_perception.backends.base import OUTPUT_LAYOUT
from socialego_perception.conversions import (
    ImageConversionError,
    compressed_to_rgb,
    declared_size,
    fill_image_msg,
    image_to_rgb,
)
from socialego_perception.gaze_features import estimate_gaze
from socialego_perception.tracking import COASTING, CONFIRMED, PoseTracker, TrackerConfig

IDX = {name: i for i, name in enumerate(COCO_WHOLEBODY133.joint_names)}


# -- conversions ------------------------------------------------------------------------------
def test_every_supported_encoding_round_trips_to_rgb():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, size=(17, 19, 3), dtype=np.uint8)
    for encoding in ("rgb8", "bgr8", "rgba8"):
        msg = fill_image_msg(SimpleNamespace(), rgb, encoding)
        np.testing.assert_array_equal(image_to_rgb(msg), rgb)
    mono = image_to_rgb(fill_image_msg(SimpleNamespace(), rgb, "mono8"))
    assert mono.shape == (17, 19, 3) and (mono[..., 0] == mono[..., 2]).all()


def test_row_padding_in_step_is_skipped():
    rgb = (np.arange(16 * 16 * 3) % 251).astype(np.uint8).reshape(16, 16, 3)
    padded = np.zeros((16, 64), dtype=np.uint8)
    padded[:, :48] = rgb.reshape(16, 48)
    msg = SimpleNamespace(encoding="rgb8", height=16, width=16, step=64, data=padded.tobytes())
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"encoding": "16UC1"}, "unsupported image encoding '16UC1'"),
        ({"encoding": "yuv422"}, "unsupported image encoding"),
        ({"data": b"\x00" * 10}, "image data has 10 bytes"),
        ({"step": 2}, "step 2 is smaller"),
        ({"width": 0}, "image size must be positive"),
        ({"data": b"\x00" * (32 * 32 * 3 + 1)}, "image data has 3073 bytes, expected"),
        ({"width": 8, "step": 24}, "8x32 is smaller than 16 px a side"),
        ({"width": 20000, "height": 20000}, "20000x20000 = 400000000 pixels, more than"),
    ],
)
def test_bad_images_raise_named_errors(fields, message):
    msg = fill_image_msg(SimpleNamespace(), np.zeros((32, 32, 3), np.uint8), "rgb8")
    for key, value in fields.items():
        setattr(msg, key, value)
    with pytest.raises(ImageConversionError, match=message):
        image_to_rgb(msg)


def test_compressed_jpeg_and_png_decode_and_garbage_is_rejected():
    import cv2

    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, :30] = (255, 0, 0)
    for ext in (".png", ".jpg"):
        ok, buf = cv2.imencode(ext, rgb[..., ::-1])
        out = compressed_to_rgb(SimpleNamespace(format=ext[1:], data=buf.tobytes()))
        assert out.shape == rgb.shape
        assert abs(int(out[20, 10, 0]) - 255) < 10 and int(out[20, 10, 2]) < 10
    with pytest.raises(ImageConversionError, match="cannot read the size"):
        compressed_to_rgb(SimpleNamespace(format="jpeg", data=b"not a jpeg at all"))
    with pytest.raises(ImageConversionError, match="no data"):
        compressed_to_rgb(SimpleNamespace(format="jpeg", data=b""))


def jpeg_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A small real JPEG whose frame header is patched to declare ``width`` x ``height``."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_declared_sizes_are_read_without_decoding():
    import cv2

    assert declared_size(jpeg_bomb(1234, 567)) == (1234, 567)
    ok, png = cv2.imencode(".png", np.zeros((21, 33, 3), np.uint8))
    assert declared_size(png.tobytes()) == (33, 21)
    png_bomb = bytearray(png.tobytes())
    png_bomb[16:24] = struct.pack(">II", 30000, 30000)
    for data in (jpeg_bomb(), bytes(png_bomb)):
        with pytest.raises(ImageConversionError, match="more than max_image_pixels") as info:
            compressed_to_rgb(SimpleNamespace(format="jpeg", data=data))
        assert info.value.kind == "image_too_large"
    with pytest.raises(ImageConversionError, match="smaller than 16 px"):
        compressed_to_rgb(SimpleNamespace(format="jpeg", data=jpeg_bomb(8, 8)))
    ok, small = cv2.imencode(".jpg", np.zeros((300, 400, 3), np.uint8))
    with pytest.raises(ImageConversionError, match="400x300 = 120000 pixels"):
        compressed_to_rgb(SimpleNamespace(format="jpeg", data=small.tobytes()), max_pixels=100_000)


# -- by-name mapping --------------------------------------------------------------------------
def test_mediapipe_landmarks_map_by_name():
    from socialego_perception.backends.mediapipe_backend import (
        LEFT_HAND_MAP,
        MEDIAPIPE_POSE_NAMES,
        POSE_MAP,
        RIGHT_HAND_MAP,
    )

    pairs = dict(zip(*(a.tolist() for a in POSE_MAP)))
    mp = {name: i for i, name in enumerate(MEDIAPIPE_POSE_NAMES)}
    for name in ("nose", "left_eye", "right_ear", "left_shoulder", "right_ankle", "left_heel"):
        assert pairs[mp[name]] == IDX[name]
    assert pairs[mp["left_foot_index"]] == IDX["left_big_toe"]
    assert mp["left_eye_inner"] not in pairs  # no COCO-WholeBody counterpart
    left = dict(zip(*(a.tolist() for a in LEFT_HAND_MAP)))
    right = dict(zip(*(a.tolist() for a in RIGHT_HAND_MAP)))
    assert left[0] == IDX["left_hand_wrist"] and left[4] == IDX["left_hand_thumb_4"]
    assert left[8] == IDX["left_hand_index_4"] and right[20] == IDX["right_hand_pinky_4"]
    assert len(left) == len(right) == 21


# -- MediaPipe on real people -----------------------------------------------------------------
def assert_plausible_standing_person(
    kp: np.ndarray, width: int, height: int, with_face: bool = False
) -> None:
    body = kp[:17]
    seen = body[:, 2] > 0.5
    assert seen.sum() >= 12, f"only {seen.sum()} confident body joints"
    inside = (body[seen, 0] > -5) & (body[seen, 0] < width + 5) & (body[seen, 1] > -5)
    assert inside.all() and (body[seen, 1] < height + 5).all()
    for upper, lower in (("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle")):
        for side in ("left", "right"):
            a, b = IDX[f"{side}_{upper}"], IDX[f"{side}_{lower}"]
            if body[a, 2] > 0.5 and body[b, 2] > 0.5:
                assert body[a, 1] < body[b, 1], f"{side} {upper} below {lower}"
    if not with_face:
        assert kp[23:91, 2].max() == 0  # face: not provided by MediaPipe's pose mode, score 0


@pytest.fixture(scope="module")
def mediapipe_pose():
    pytest.importorskip("mediapipe", reason="mediapipe not installed (requirements/runtime.txt)")
    backend = create_backend("mediapipe", mediapipe_mode="pose", max_persons=4)
    yield backend
    backend.close()


def test_mediapipe_pose_finds_the_basketball_player(mediapipe_pose):
    rgb = read_rgb("basketball1.png")
    people = mediapipe_pose.infer(rgb)
    assert people, "no person found in basketball1.png"
    best = max(people, key=lambda p: p.score)
    assert best.keypoints.shape == (OUTPUT_LAYOUT.num_joints, 3)
    assert best.bbox[3] > 150  # a full-size person, not a speck
    assert_plausible_standing_person(best.keypoints, rgb.shape[1], rgb.shape[0])


def test_mediapipe_holistic_adds_face_and_hands_next_to_the_wrists():
    pytest.importorskip("mediapipe", reason="mediapipe not installed (requirements/runtime.txt)")
    backend = create_backend("mediapipe", mediapipe_mode="holistic")
    try:
        rgb = read_rgb("basketball1.png")
        people = []
        for _ in range(3):  # holistic tracks over frames; a few tries settle the hand crops
            people = backend.infer(rgb)
    finally:
        backend.close()
    assert len(people) == 1
    kp = people[0].keypoints
    assert_plausible_standing_person(kp, rgb.shape[1], rgb.shape[0], with_face=True)
    # the face mesh, mapped to the 68 iBUG points, lies around the body's nose
    face = kp[23:91]
    assert (face[:, 2] > 0).all(), "holistic found no face"
    nose = kp[IDX["nose"]]
    assert face[:, 0].min() < nose[0] < face[:, 0].max()
    assert face[:, 1].min() < nose[1] < face[:, 1].max()
    hands = 0
    for side in ("left", "right"):
        hand = kp[IDX[f"{side}_hand_wrist"]]
        if hand[2] > 0:
            hands += 1
            wrist = kp[IDX[f"{side}_wrist"]]
            assert math.dist(hand[:2], wrist[:2]) < 60, f"{side} hand far from its wrist"
    assert hands >= 1, "holistic found no hand"


def test_pose_and_tracker_follow_the_walking_man(mediapipe_pose):
    frames = video_frames("stream_pose_ml_walk.webm", count=40, step=3, start=30)
    tracker = PoseTracker(TrackerConfig(initialization_delay=1))
    ids = []
    for rgb in frames:
        for person in tracker.update(mediapipe_pose.infer(rgb)):
            if person.state == CONFIRMED:
                ids.append(person.track_id)
    assert len(ids) >= 0.7 * len(frames), f"tracked in only {len(ids)} of {len(frames)} frames"
    dominant = max(set(ids), key=ids.count)
    assert ids.count(dominant) >= 0.8 * len(ids), f"track ids switched: {ids}"
    assert len(set(ids)) <= 2


def test_two_people_get_two_distinct_stable_tracks(mediapipe_pose):
    # Sports2D demo: a man jumps on a box from the start; from frame 72 to 141 a woman walks
    # past below him (MediaPipe only re-detects people it lost, so start at frame 0)
    frames = video_frames("sports2d_demo.mp4", count=48, step=3, start=0)
    tracker = PoseTracker(TrackerConfig(initialization_delay=1))
    per_frame = []
    for rgb in frames:
        tracked = [p for p in tracker.update(mediapipe_pose.infer(rgb)) if p.state == CONFIRMED]
        per_frame.append({p.track_id: p.pose.bbox for p in tracked})

    def centre(box):
        return np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])

    def spread(boxes):
        centres = [centre(b) for b in boxes]
        return max(np.linalg.norm(a - b) for a in centres for b in centres)

    apart = [f for f in per_frame[24:] if len(f) >= 2 and spread(f.values()) > 60]
    assert len(apart) >= 0.6 * 24, f"two people tracked in {len(apart)} of 24 frames"
    all_ids = [tid for f in per_frame for tid in f]
    top_two = sorted(set(all_ids), key=all_ids.count)[-2:]
    covered = sum(all_ids.count(t) for t in top_two)
    assert covered >= 0.75 * len(all_ids), f"ids switch too often: {per_frame}"


# -- tracking (synthetic boxes) ---------------------------------------------------------------
def person(x: float, y: float) -> PersonPose:
    kp = np.zeros((133, 3), np.float32)
    kp[:17] = (x + 20, y + 50, 0.9)
    return PersonPose(keypoints=kp, bbox=(x, y, 40.0, 100.0), score=0.9)


def test_tracker_keeps_ids_coasts_and_gives_new_id_after_long_absence():
    tracker = PoseTracker(TrackerConfig(hit_counter_max=5, initialization_delay=1))
    ids_a, ids_b = set(), set()
    for i in range(20):
        people = [person(10 + 5 * i, 20), person(500 - 5 * i, 300)]
        for p in tracker.update(people):
            (ids_a if p.pose.bbox[1] == 20 else ids_b).add(p.track_id)
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b
    # person B missed for two images: still reported, as coasting, with the same id
    for i in range(20, 22):
        out = tracker.update([person(10 + 5 * i, 20)])
        states = {p.track_id: p.state for p in out}
        assert states[next(iter(ids_b))] == COASTING and states[next(iter(ids_a))] == CONFIRMED
    back = tracker.update([person(10 + 5 * 22, 20), person(500 - 5 * 22, 300)])
    assert {p.track_id for p in back if p.state == CONFIRMED} == ids_a | ids_b
    ages = [p.age for p in back]
    assert min(ages) >= 20
    # gone for longer than hit_counter_max: a returning person is a new track
    for i in range(23, 40):
        tracker.update([person(10 + 5 * i, 20)])
    ids_new = set()
    for i in range(40, 43):
        for p in tracker.update([person(10 + 5 * i, 20), person(300, 300)]):
            if p.pose.bbox[1] == 300:
                ids_new.add(p.track_id)
    assert ids_new and not ids_new & ids_b


def test_tracker_config_validation():
    with pytest.raises(ValueError, match="iou_threshold"):
        TrackerConfig(iou_threshold=1.5)
    with pytest.raises(ValueError, match="initialization_delay"):
        TrackerConfig(hit_counter_max=3, initialization_delay=3)


# -- ONNX backends with tiny models of known output ---------------------------------------------
def constant_model(path, input_shape, outputs: dict[str, np.ndarray]) -> None:
    """An ONNX model whose outputs are the given constants (plus 0 x the input)."""
    onnx = pytest.importorskip("onnx", reason="onnx not installed (requirements/runtime.txt)")
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("ReduceSum", ["images"], ["s"], keepdims=0),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
    ]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_c"))
        nodes.append(helper.make_node("Add", [f"{name}_c", "z"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    graph = helper.make_graph(
        nodes,
        "constant",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        outs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_yolo_onnx_decodes_letterboxed_people(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    out = np.zeros((1, 56, 100), np.float32)

    def candidate(i, cx, cy, w, h, score):
        out[0, :5, i] = (cx, cy, w, h, score)
        for k in range(17):
            out[0, 5 + 3 * k : 8 + 3 * k, i] = (cx - 20 + k, cy - 90 + 10 * k, 0.8)

    candidate(0, 320, 320, 100, 200, 0.9)
    candidate(1, 322, 321, 100, 200, 0.85)  # duplicate of 0: NMS removes it
    candidate(2, 100, 400, 50, 100, 0.3)  # below the threshold
    candidate(3, 500, 300, 60, 120, 0.7)
    path = tmp_path / "yolo.onnx"
    constant_model(path, (1, 3, 640, 640), {"output0": out})
    backend = create_backend("yolo_onnx", yolo_model_path=str(path), min_detection_confidence=0.4)
    people = backend.infer(np.zeros((480, 640, 3), np.uint8))  # letterbox: dy = 80, scale 1
    assert len(people) == 2
    first = max(people, key=lambda p: p.score)
    assert first.score == pytest.approx(0.9)
    np.testing.assert_allclose(first.bbox, (270, 140, 100, 200), atol=0.5)
    body = first.keypoints[:17]
    np.testing.assert_allclose(body[:, 0], 300 + np.arange(17), atol=0.5)
    np.testing.assert_allclose(body[:, 1], 150 + 10 * np.arange(17), atol=0.5)
    assert first.keypoints[17:, 2].max() == 0  # no feet/face/hands from a COCO-17 model


def test_onnx_wholebody_decodes_simcc_back_to_image_pixels(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    k = 133
    simcc_x = np.zeros((1, k, 384), np.float32)
    simcc_y = np.zeros((1, k, 512), np.float32)
    for j in range(k):
        simcc_x[0, j, 2 * (20 + j)] = 0.9
        simcc_y[0, j, 2 * (30 + j)] = 0.9
    simcc_x[0, 6, :] = 0.0
    simcc_x[0, 6, 2 * 26] = 0.1  # a weak joint keeps its low score
    path = tmp_path / "rtmw.onnx"
    constant_model(path, (1, 3, 256, 192), {"simcc_x": simcc_x, "simcc_y": simcc_y})
    backend = create_backend(
        "onnx_wholebody", wholebody_model_path=str(path), box_source="full_image"
    )
    assert "hands" in backend.provides and "face" in backend.provides
    people = backend.infer(np.zeros((480, 640, 3), np.uint8))
    assert len(people) == 1
    kp = people[0].keypoints
    # full-image box 640x480 -> aspect 3:4 box 640 x 853.3, padded 1.25: scale 0.24 both ways
    j = np.arange(k)
    np.testing.assert_allclose(kp[:, 0], (20 + j - 96) / 0.24 + 320, atol=0.6)
    np.testing.assert_allclose(kp[:, 1], (30 + j - 128) / 0.24 + 240, atol=0.6)
    assert kp[6, 2] == pytest.approx(0.1) and kp[5, 2] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "yolo_onnx", "yolo_model_path": "/nonexistent/yolo.onnx"},
            "/nonexistent/yolo.onnx",
        ),
        ({"name": "yolo_onnx"}, "no YOLO-pose ONNX model file given"),
        (
            {
                "name": "onnx_wholebody",
                "wholebody_model_path": "/no/rtmw.onnx",
                "box_source": "full_image",
            },
            "/no/rtmw.onnx does not exist",
        ),
        ({"name": "openpose"}, "unknown pose backend 'openpose'"),
        ({"name": "onnx_wholebody", "box_source": "magic"}, "box_source must be one of"),
        ({"name": "mediapipe", "mediapipe_mode": "iris"}, "mediapipe mode must be one of"),
    ],
)
def test_backend_setup_errors_name_the_problem(kwargs, message):
    name = kwargs.pop("name")
    with pytest.raises(BackendError, match=message.replace("(", r"\(")):
        create_backend(name, **kwargs)


def test_corrupt_onnx_file_is_named(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage" * 100)
    with pytest.raises(BackendError, match=f"cannot load YOLO-pose ONNX model file {bad}"):
        create_backend("yolo_onnx", yolo_model_path=str(bad))


# -- gaze features ------------------------------------------------------------------------------
def face(nose_dx: float = 0.0, eyes: bool = True, nose: bool = True) -> np.ndarray:
    kp = np.zeros((133, 3), np.float32)
    kp[IDX["left_eye"]] = (330, 100, 0.9 if eyes else 0)  # the person's left eye: image right
    kp[IDX["right_eye"]] = (310, 100, 0.9 if eyes else 0)
    kp[IDX["nose"]] = (320 + nose_dx, 111, 0.9 if nose else 0)
    kp[IDX["left_ear"]] = (342, 104, 0.8)
    kp[IDX["right_ear"]] = (298, 104, 0.8)
    return kp


def test_frontal_face_looks_at_the_camera():
    est = estimate_gaze(face())
    assert abs(math.degrees(est.yaw_rad)) < 1 and abs(math.degrees(est.pitch_rad)) < 10
    assert est.gaze_direction[2] < -0.9  # towards the camera
    assert est.mutual_gaze_probability > 0.7
    assert est.head_point == pytest.approx((320, 100))


def test_turned_face_and_back_of_head_do_not():
    turned = estimate_gaze(face(nose_dx=8.0))
    assert math.degrees(turned.yaw_rad) > 30  # towards image right
    assert turned.gaze_target[0] > turned.head_point[0]
    assert turned.mutual_gaze_probability < 0.3
    back = estimate_gaze(face(eyes=False, nose=False))
    assert back.mutual_gaze_probability < 0.01 and back.gaze_direction[2] > 0.9
    assert estimate_gaze(np.zeros((133, 3), np.float32)) is None


def test_duplicate_reports_of_one_person_are_suppressed():
    from socialego_perception.backends.base import suppress_duplicates

    def p(box, score):
        return PersonPose(np.zeros((133, 3), np.float32), box, score)

    wide = p((100, 100, 80, 200), 0.9)
    narrow_same_height = p((130, 105, 25, 190), 0.8)  # arms down: same person
    child_in_front = p((110, 200, 40, 90), 0.85)  # inside the box but half the height
    neighbour = p((300, 100, 80, 200), 0.7)
    kept = suppress_duplicates([narrow_same_height, wide, child_in_front, neighbour])
    assert kept == [wide, child_in_front, neighbour]


YOLO_MODEL = Path(__file__).resolve().parents[1] / ".cache" / "models" / "yolo11n-pose.onnx"


def test_real_yolo11n_pose_finds_both_players():
    """The real exported YOLO11n-pose (opt-in, AGPL-3.0) on basketball1.png: two players."""
    pytest.importorskip("onnxruntime", reason="onnxruntime not installed")
    if not YOLO_MODEL.is_file():
        pytest.skip(f"{YOLO_MODEL} missing: run scripts/export_yolo_pose.sh (AGPL-3.0, opt-in)")
    backend = create_backend("yolo_onnx", yolo_model_path=str(YOLO_MODEL))
    rgb = read_rgb("basketball1.png")
    people = backend.infer(rgb)
    assert len(people) == 2, [p.bbox for p in people]
    centres = sorted(p.bbox[0] + p.bbox[2] / 2 for p in people)
    assert centres[1] - centres[0] > 200  # one on each side of the court
    for person in people:
        assert person.bbox[3] > 300
        assert person.keypoints[17:, 2].max() == 0  # COCO-17 only
    best = max(people, key=lambda p: (p.keypoints[:17, 2] > 0.5).sum())
    assert_plausible_standing_person(best.keypoints, rgb.shape[1], rgb.shape[0])
