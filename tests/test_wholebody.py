"""Multi-person whole body: body backend + tracking, then MediaPipe face/hand models per person
crop (socialego_perception.backends.face_hands), ROS-free.

Real people from footage shipped in registry packages (scripts/fetch_footage.sh): the walking
man of stream-pose-ml beside a mirrored, later copy of himself (two people facing the camera in
one frame), the Sports2D demo (two people, one in profile) and opencv-doc's basketball1.png.
"""

from __future__ import annotations

import numpy as np
import pytest
from footage import read_rgb, video_frames
from socialego_core.layouts import COCO_WHOLEBODY133, FACE, LEFT_HAND, RIGHT_HAND
from socialego_perception.backends import PersonPose, create_backend
from socialego_perception.backends.base import bbox_from_keypoints
from socialego_perception.tracking import CONFIRMED, PoseTracker, TrackerConfig

IDX = {name: i for i, name in enumerate(COCO_WHOLEBODY133.joint_names)}
PARTS = {"face": FACE, "left_hand": LEFT_HAND, "right_hand": RIGHT_HAND}

mp = pytest.importorskip("mediapipe", reason="mediapipe not installed (requirements/runtime.txt)")
from socialego_perception.backends.face_hands import (  # noqa: E402
    FACE_MESH_POINTS,
    FACE_MESH_TO_IBUG68,
    MediaPipeFaceHands,
)
from socialego_perception.backends.face_hands_regions import (  # noqa: E402
    MIN_CROP_PX,
    CropBox,
    person_crop_box,
)


@pytest.fixture(scope="module")
def face_hands():
    stage = MediaPipeFaceHands(max_persons=4)
    yield stage
    stage.close()


@pytest.fixture(scope="module")
def body():
    backend = create_backend("mediapipe", mediapipe_mode="pose", max_persons=4)
    yield backend
    backend.close()


def two_people_frames(count: int) -> list[np.ndarray]:
    """1280x720 frames with two people facing the camera: the walking man of stream-pose-ml
    (left half) beside a mirrored copy of himself 12 frames later (right half). MediaPipe's
    multi-pose detector misses the basketball player of basketball1.png whenever another
    person is in the frame, so he cannot be the second person here; the real two-person
    footage (Sports2D) has one of them in full profile, where the face model finds no face."""
    walks = video_frames("stream_pose_ml_walk.webm", count=count + 4, step=3, start=0, width=1280)
    assert len(walks) == count + 4, "stream_pose_ml_walk.webm is shorter than expected"
    return [
        np.ascontiguousarray(np.hstack([walks[i][:, 280:920], walks[i + 4][:, 280:920][:, ::-1]]))
        for i in range(count)
    ]


def body_box(kp: np.ndarray, grow: float) -> tuple[float, float, float, float]:
    """Box of the body keypoints only (COCO-17 + feet), grown by ``grow`` x its height: the
    fingers of a raised hand reach a hand's length (about 0.12 body heights) past the wrist."""
    x, y, w, h = bbox_from_keypoints(kp[:23], 0.3)
    pad = grow * h
    return (x - pad, y - pad, w + 2 * pad, h + 2 * pad)


def inside(points: np.ndarray, box) -> np.ndarray:
    x, y, w, h = box
    return (
        (points[:, 0] >= x)
        & (points[:, 0] <= x + w)
        & (points[:, 1] >= y)
        & (points[:, 1] <= y + h)
    )


# -- crop geometry (synthetic) ----------------------------------------------------------------
def test_crop_points_map_back_to_full_image_pixels():
    box = CropBox(x0=100, y0=50, width=200, height=400)
    norm = np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 0.25], [-0.1, 1.2]])
    expected = np.array([[100, 50], [300, 450], [200, 150], [80, 530]], dtype=float)
    np.testing.assert_allclose(box.to_image(norm), expected)
    np.testing.assert_allclose(box.to_crop(expected), norm * [200, 400])
    rgb = np.arange(600 * 400 * 3, dtype=np.uint32).reshape(600, 400, 3).astype(np.uint8)
    crop = box.cut(rgb)
    assert crop.shape == (400, 200, 3) and crop.flags.c_contiguous
    np.testing.assert_array_equal(crop[0, 0], rgb[50, 100])
    np.testing.assert_array_equal(crop[-1, -1], rgb[449, 299])


def test_person_crop_box_grows_clips_and_refuses_slivers():
    # grows by 25 % of the longer side (100) each way
    assert person_crop_box((100, 100, 40, 100), 640, 480) == CropBox(75, 75, 90, 150)
    # clipped at the image border
    assert person_crop_box((600, 400, 40, 100), 640, 480) == CropBox(575, 375, 65, 105)
    # a person barely inside the border: under MIN_CROP_PX after clipping
    assert person_crop_box((639, 100, 4, 4), 640, 480) is None
    assert 640 - 638 < MIN_CROP_PX
    for bad in ((np.nan, 0, 10, 10), (0, 0, 0, 50), (0, 0, 10, -5), (0, 0, np.inf, 10)):
        assert person_crop_box(bad, 640, 480) is None, bad


def test_face_moved_in_the_image_moves_its_keypoints_by_the_same_offset(body, face_hands):
    """The basketball player pasted at two places of a larger grey image, with his body
    keypoints moved by the paste offset: every face and hand point found must move by exactly
    that offset (crop -> image mapping, end to end through the models). At (0, 0) his crop is
    clipped by the image border, at the other place it is not."""
    player = read_rgb("basketball1.png")[:, :250]  # 480x250, the player alone
    people = body.infer(player)
    assert len(people) == 1
    results = []
    for dx, dy in ((0, 0), (517, 203)):
        canvas = np.full((800, 900, 3), 127, np.uint8)
        canvas[dy : dy + 480, dx : dx + 250] = player
        kp = people[0].keypoints.copy()
        kp[:, :2] += (dx, dy)
        x, y, w, h = people[0].bbox
        moved = PersonPose(keypoints=kp, bbox=(x + dx, y + dy, w, h), score=people[0].score)
        assert face_hands.refine(canvas, [moved]) == 1
        results.append(moved.keypoints)
    a, b = results
    found = (a[:, 2] > 0) & (b[:, 2] > 0)
    assert found[FACE.start : FACE.stop].all(), "face not found on the player"
    assert found[LEFT_HAND.start : RIGHT_HAND.stop].sum() >= 21, "no hand found on the player"
    shift = b[FACE.start : RIGHT_HAND.stop, :2] - a[FACE.start : RIGHT_HAND.stop, :2]
    shift = shift[found[FACE.start : RIGHT_HAND.stop]]
    np.testing.assert_allclose(shift, np.tile((517, 203), (len(shift), 1)), atol=1.5)


# -- the face table ---------------------------------------------------------------------------
def test_face_mesh_table_gives_68_distinct_mesh_points_in_ibug_order(body, face_hands):
    assert len(FACE_MESH_TO_IBUG68) == 68 == len(FACE)
    assert len(set(FACE_MESH_TO_IBUG68)) == 68
    assert all(0 <= i < FACE_MESH_POINTS for i in FACE_MESH_TO_IBUG68)
    rgb = read_rgb("basketball1.png")
    people = body.infer(rgb)
    face_hands.refine(rgb, people)
    face = people[0].keypoints[FACE.start : FACE.stop]
    assert (face[:, 2] > 0).all()
    x, y = face[:, 0], face[:, 1]
    # anatomy of an upright face: jaw runs from image left (subject's right) over the chin
    assert x[0] < x[8] < x[16] and y[8] == y[:17].max()
    assert x[36:42].mean() < x[42:48].mean()  # right eye on the image left
    brows, eyes, nose_tip = y[17:27].mean(), y[36:48].mean(), y[30]
    mouth, chin = y[48:68].mean(), y[8]
    assert brows < eyes < nose_tip < mouth < chin
    # and the face lies on the body's head: the nose keypoint inside the face points' box
    nose = people[0].keypoints[IDX["nose"]]
    assert x.min() < nose[0] < x.max() and y.min() < nose[1] < y.max()


# -- two real people --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def two_people_tracked(face_hands):
    frames = two_people_frames(count=7)
    tracker = PoseTracker(TrackerConfig(initialization_delay=1))
    per_frame = []
    body = create_backend("mediapipe", mediapipe_mode="pose", max_persons=4)  # fresh: no history
    try:
        for rgb in frames:
            tracked = [p for p in tracker.update(body.infer(rgb)) if p.state == CONFIRMED]
            face_hands.refine(rgb, [p.pose for p in tracked], [p.track_id for p in tracked])
            per_frame.append({p.track_id: p.pose.keypoints.copy() for p in tracked})
    finally:
        body.close()
    return per_frame


def test_two_people_keep_two_track_ids(two_people_tracked):
    ids = [tid for frame in two_people_tracked for tid in frame]
    assert len(set(ids)) == 2, (
        f"track ids: {two_people_tracked and [list(f) for f in two_people_tracked]}"
    )
    assert sum(len(f) == 2 for f in two_people_tracked) >= len(two_people_tracked) - 1


def test_each_person_gets_face_and_hands_inside_their_own_box(two_people_tracked):
    found = {}  # (track id, part) -> frames with that part
    for frame in two_people_tracked:
        boxes = {tid: body_box(kp, 0.15) for tid, kp in frame.items()}
        for tid, kp in frame.items():
            for part, rows in PARTS.items():
                pts = kp[rows.start : rows.stop]
                seen = pts[:, 2] > 0
                if not seen.any():
                    continue
                found[(tid, part)] = found.get((tid, part), 0) + 1
                assert inside(pts[seen, :2], boxes[tid]).all(), f"{tid} {part} outside its box"
                for other, box in boxes.items():
                    if other != tid:
                        assert not inside(pts[seen, :2], box).any(), f"{tid} {part} in {other}"
                if part != "face":  # the hand's wrist sits on that arm's wrist
                    side = part.split("_")[0]
                    wrist, forearm = kp[IDX[f"{side}_wrist"]], kp[IDX[f"{side}_elbow"]]
                    reach = np.linalg.norm(wrist[:2] - forearm[:2])
                    assert np.linalg.norm(pts[0, :2] - wrist[:2]) < 0.6 * reach
    frames = len(two_people_tracked)
    for tid in {t for f in two_people_tracked for t in f}:
        assert found.get((tid, "face"), 0) >= frames // 2, f"track {tid}: faces {found}"
        hands = found.get((tid, "left_hand"), 0) + found.get((tid, "right_hand"), 0)
        assert hands >= frames // 2, f"track {tid}: hands {found}"


def test_track_ids_let_parts_be_followed_with_fewer_model_runs():
    """With track ids a face/hand found in the last image is looked for where it was: fewer
    model runs, and the points land where a fresh search puts them."""
    frames = two_people_frames(count=5)
    body = create_backend("mediapipe", mediapipe_mode="pose", max_persons=4)
    tracker = PoseTracker(TrackerConfig(initialization_delay=0))
    tracking, searching = MediaPipeFaceHands(max_persons=2), MediaPipeFaceHands(max_persons=2)
    try:
        for i, rgb in enumerate(frames):
            tracked = [p for p in tracker.update(body.infer(rgb)) if p.state == CONFIRMED]
            ids = [p.track_id for p in tracked]
            followed = [PersonPose(p.pose.keypoints.copy(), p.pose.bbox, 1.0) for p in tracked]
            fresh = [PersonPose(p.pose.keypoints.copy(), p.pose.bbox, 1.0) for p in tracked]
            tracking.refine(rgb, followed, ids)
            searching.refine(rgb, fresh)
            if i == 0:
                continue
            for a, b in zip(followed, fresh, strict=True):
                both = (a.keypoints[:, 2] > 0) & (b.keypoints[:, 2] > 0)
                both[:23] = False
                size = a.bbox[3]
                gap = np.linalg.norm(a.keypoints[both, :2] - b.keypoints[both, :2], axis=1)
                assert (gap < 0.03 * size).mean() > 0.9, f"image {i}: tracked points drift"
        assert tracking.model_runs < 0.8 * searching.model_runs, (
            tracking.model_runs,
            searching.model_runs,
        )
    finally:
        body.close()
        tracking.close()
        searching.close()


def test_track_ids_must_match_the_people(face_hands):
    rgb = np.zeros((64, 64, 3), np.uint8)
    person = PersonPose(np.zeros((133, 3), np.float32), (10.0, 10.0, 20.0, 40.0), 0.9)
    with pytest.raises(ValueError, match="2 track ids for 1 people"):
        face_hands.refine(rgb, [person], ["1", "2"])


def test_cap_processes_the_largest_people_only():
    rgb = two_people_frames(count=1)[0]
    body = create_backend("mediapipe", mediapipe_mode="pose", max_persons=4)
    stage = MediaPipeFaceHands(max_persons=1)
    try:
        people = body.infer(rgb)
        assert len(people) == 2
        assert stage.refine(rgb, people) == 1
    finally:
        body.close()
        stage.close()
    big, small = sorted(people, key=lambda p: p.bbox[2] * p.bbox[3], reverse=True)
    assert big.keypoints[FACE.start : FACE.stop, 2].max() > 0
    assert small.keypoints[FACE.start : RIGHT_HAND.stop, 2].max() == 0


def test_sports2d_both_people_get_hands_and_keep_their_ids(body, face_hands):
    """The Sports2D demo at its own 1768x994: the man jumping on the box and, from frame 72,
    the woman walking below. She stays in full profile, which MediaPipe's face model does not
    handle (no face for her); both get hands at their own wrists, with stable track ids."""
    backend = create_backend("mediapipe", mediapipe_mode="pose", max_persons=4)
    frames = video_frames("sports2d_demo.mp4", count=36, step=4, start=0, width=1768)
    tracker = PoseTracker(TrackerConfig(initialization_delay=1))
    hands, faces, ids = {}, {}, []
    try:
        for rgb in frames:
            tracked = [p for p in tracker.update(backend.infer(rgb)) if p.state == CONFIRMED]
            face_hands.refine(rgb, [p.pose for p in tracked], [p.track_id for p in tracked])
            for p in tracked:
                kp = p.pose.keypoints
                ids.append(p.track_id)
                box = body_box(kp, 0.15)
                for rows in (LEFT_HAND, RIGHT_HAND):
                    pts = kp[rows.start : rows.stop]
                    if pts[:, 2].max() > 0:
                        hands[p.track_id] = hands.get(p.track_id, 0) + 1
                        assert inside(pts[pts[:, 2] > 0, :2], box).all()
                if kp[FACE.start : FACE.stop, 2].max() > 0:
                    faces[p.track_id] = faces.get(p.track_id, 0) + 1
    finally:
        backend.close()
    top_two = sorted(set(ids), key=ids.count)[-2:]
    assert len(top_two) == 2 and sum(ids.count(t) for t in top_two) >= 0.9 * len(ids), ids
    for tid in top_two:
        assert hands.get(tid, 0) >= 5, f"track {tid} got hands in {hands.get(tid, 0)} frames"
    assert max(faces.values(), default=0) >= 2, f"faces: {faces}"  # the man, when he faces us


# -- bad input ---------------------------------------------------------------------------------
def test_malformed_people_and_tiny_border_crops_do_not_crash(face_hands):
    rgb = read_rgb("basketball1.png")
    height, width = rgb.shape[:2]

    def person(kp, bbox) -> PersonPose:
        return PersonPose(keypoints=kp, bbox=bbox, score=0.9)

    nan_kp = np.full((133, 3), np.nan, np.float32)
    head_at_corner = np.zeros((133, 3), np.float32)
    # a face and arms whose regions reach past the image corner
    for name, xy in {
        "nose": (width - 2, 1),
        "left_eye": (width - 1, 0),
        "right_eye": (width - 6, 0),
        "left_shoulder": (width - 1, 20),
        "right_shoulder": (width - 20, 20),
        "left_elbow": (width - 1, 35),
        "left_wrist": (width - 1, 48),
    }.items():
        head_at_corner[IDX[name]] = (*xy, 0.9)
    people = [
        person(nan_kp, (np.nan, np.nan, np.nan, np.nan)),
        person(np.zeros((133, 3), np.float32), (0.0, 0.0, 0.0, 0.0)),
        person(np.zeros((17, 3), np.float32), (10.0, 10.0, 100.0, 200.0)),  # wrong layout
        person(np.zeros((133, 3), np.float32), (width - 1.0, height - 1.0, 3.0, 3.0)),
        person(head_at_corner, (width - 20.0, 0.0, 19.0, 48.0)),
        person(np.full((133, 3), np.inf, np.float32), (5.0, 5.0, 50.0, 80.0)),
    ]
    processed = face_hands.refine(rgb, people)
    assert processed <= face_hands.max_persons
    corner = people[4].keypoints
    found = corner[FACE.start : RIGHT_HAND.stop]
    # whatever was found there is inside the image; points outside score 0
    assert np.isfinite(found[found[:, 2] > 0, :2]).all()
    assert (found[found[:, 2] > 0, 0] < width).all() and (found[found[:, 2] > 0, 1] >= 0).all()
    assert people[3].keypoints[FACE.start : RIGHT_HAND.stop, 2].max() == 0  # sliver: skipped
    assert face_hands.refine(rgb, []) == 0
    tiny = np.zeros((1, 1, 3), np.uint8)
    assert face_hands.refine(tiny, [person(np.zeros((133, 3), np.float32), (0, 0, 1, 1))]) == 0


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((40, 40), np.uint8),
        np.zeros((40, 40, 4), np.uint8),
        np.zeros((40, 40, 3), np.float32),
        "not an image",
    ],
)
def test_bad_images_are_named(face_hands, image):
    with pytest.raises(ValueError, match=r"\(H, W, 3\) uint8 RGB image"):
        face_hands.refine(image, [])


def test_bad_settings_are_named():
    from socialego_perception.backends import BackendError

    with pytest.raises(BackendError, match="max_persons must be >= 1"):
        MediaPipeFaceHands(max_persons=0)
    with pytest.raises(BackendError, match="hand_model_complexity must be 0 or 1"):
        MediaPipeFaceHands(hand_model_complexity=2)
