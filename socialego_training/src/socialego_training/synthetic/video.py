"""One synthetic video: a camera, one to three people each doing an action, their detections
(one track per person) and, optionally, the rendered frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from socialego_core.labels import (
    ATTITUDE_LABELS,
    INTENT_LABELS,
    JPL_ACTION_LABELS,
    JPL_ACTION_PARENTS,
)

from .actions import Scene, perform
from .body import HAND_START, BodyShape, pose_to_points
from .camera import Camera
from .detector import NoiseLevel, detect
from .render import Appearance, RenderPerson, make_background, render_frame

MIN_TRACK_FRAMES = 5
MAX_GAP_FRAMES = 4  # a person unseen this long has left: the track ends


@dataclass(frozen=True)
class VideoConfig:
    width: int = 320
    height: int = 240
    fps: float = 10.0
    duration_s: tuple[float, float] = (3.0, 4.0)
    render: bool = True
    jpeg_quality: int = 85


def _labels(action: str) -> tuple[int, int, int]:
    intent, attitude = JPL_ACTION_PARENTS[action]
    return (
        INTENT_LABELS.index(intent),
        ATTITUDE_LABELS.index(attitude),
        JPL_ACTION_LABELS.index(action),
    )


def _ball_flight(pose, points, t: np.ndarray, camera: Camera) -> np.ndarray | None:
    """World path of a thrown ball: from the hand at release towards the robot."""
    if pose.held.get("right") != "ball":
        return None
    visible = pose.held_visible["right"]
    if visible.all() or not visible.any():
        return None
    release = int(np.argmin(visible))
    start = points.keypoints[release - 1, HAND_START["right"] + 9]  # middle-finger knuckle
    aim = camera.position - np.array([0.0, 0.4, 0.0])
    velocity = 7.0 * (aim - start) / np.linalg.norm(aim - start)
    flight = np.full((len(t), 3), np.nan)
    dt = t[release:] - t[release - 1]
    flight[release:] = start + dt[:, None] * velocity
    flight[release:][flight[release:, 2] < 0.3] = np.nan
    return flight


def _track_frames(detected: np.ndarray) -> np.ndarray:
    """Indices kept in the track: detected frames up to the first long gap (the person left)."""
    keep = np.zeros_like(detected)
    gap = 0
    for i, seen in enumerate(detected):
        if seen:
            keep[i] = True
            gap = 0
        else:
            gap += 1
            if gap >= MAX_GAP_FRAMES and keep.any():
                break
    return np.flatnonzero(keep)


def _round_keypoints(kp: np.ndarray) -> list:
    out = np.empty_like(kp)
    out[..., :2] = np.round(kp[..., :2], 1)
    out[..., 2] = np.round(kp[..., 2], 3)
    return out.tolist()


def generate_video(
    video_name: str,
    actions: list[str],
    rng: np.random.Generator,
    config: VideoConfig,
    frames_dir: Path | None,
) -> tuple[list[dict], int]:
    """Simulate one video; returns (track dicts in the JPL-Social schema, number of frames)."""
    n_frames = int(round(rng.uniform(*config.duration_s) * config.fps))
    camera = Camera.sample(rng, config.width, config.height, n_frames, config.fps)
    view_tan = (config.width / 2) / camera.focal
    tracks: list[dict] = []
    people: list[RenderPerson] = []
    # several people spread over the view instead of piling up in its middle
    lanes = rng.permutation(np.linspace(-0.6, 0.6, len(actions))) if len(actions) > 1 else [None]
    for person_id, action in enumerate(actions):
        for _attempt in range(20):
            first = 0 if rng.random() < 0.7 else int(rng.integers(1, max(2, n_frames // 3)))
            frames = np.arange(first, n_frames)
            t = (frames - first) / config.fps
            shape = BodyShape.sample(rng)
            lane = lanes[person_id]
            lane = None if lane is None else float(lane)
            scene = Scene(rng, t, config.fps, shape, view_tan, camera.position, lane)
            pose = perform(action, scene)
            points = pose_to_points(shape, pose)
            det = detect(points, shape, camera, frames, rng, NoiseLevel.sample(rng))
            kept = _track_frames(det.detected)
            if len(kept) >= MIN_TRACK_FRAMES and kept[0] == 0:
                break
        else:
            raise RuntimeError(f"{video_name}: could not place a visible {action} person")
        intent, attitude, action_id = _labels(action)
        tracks.append(
            {
                "video_name": video_name,
                "frame_size": [config.width, config.height],
                "video_frames_number": n_frames,
                "detected_frames_number": int(len(kept)),
                "person_id": person_id,
                "intention_class": intent,
                "attitude_class": attitude,
                "action_class": action_id,
                "frames": [
                    {
                        "frame_id": int(frames[i]),
                        "keypoints": _round_keypoints(det.keypoints[i]),
                        "score": round(float(det.scores[i]), 3),
                        "box": [round(float(v), 1) for v in det.boxes[i]],
                        "gaze": [round(float(v), 1) for v in det.gaze[i]],
                    }
                    for i in kept
                ],
            }
        )
        if frames_dir is not None:
            people.append(
                RenderPerson(
                    points=points,
                    shape=shape,
                    look=Appearance.sample(rng),
                    first_frame=first,
                    held=pose.held,
                    held_visible=pose.held_visible,
                    ball_flight=_ball_flight(pose, points, t, camera),
                )
            )
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True)
        background = make_background(camera, rng)
        for frame in range(n_frames):
            image = render_frame(background, camera, people, frame)
            image.save(frames_dir / f"{frame:06d}.jpg", quality=config.jpeg_quality)
    return tracks, n_frames
