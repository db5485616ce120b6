"""The rosbags type store with the socialego_msgs types registered at run time (no ROS needed).

The ``.msg`` files are found in the repository checkout, in ``$SOCIALEGO_MSGS_DIR`` or in the
``share/socialego_msgs/msg`` folder of any prefix on ``$AMENT_PREFIX_PATH`` (a colcon install or a
ROS installation), so the bag tools work both from a source tree and from a deployed workspace.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from socialego_core import topics

MSG_PACKAGE = "socialego_msgs"

# Topic names in bags (absolute): those of socialego_core.topics in the root namespace.
IMAGE_TOPIC = topics.CAMERA_IMAGE
POSES_TOPIC = topics.absolute(topics.POSES)
INTENTS_TOPIC = topics.absolute(topics.INTENTS)
MODEL_INFO_TOPIC = topics.absolute(topics.MODEL_INFO)
GROUND_TRUTH_TOPIC = topics.absolute(topics.GROUND_TRUTH)
# Ground-truth boxes/keypoints of each labelled person, so that the tracker's own track ids can be
# matched to the labelled people by box overlap when a camera bag is replayed.
GROUND_TRUTH_POSES_TOPIC = topics.absolute(topics.GROUND_TRUTH_POSES)

IMAGE_TYPE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE_TYPE = "sensor_msgs/msg/CompressedImage"
POSES_TYPE = f"{MSG_PACKAGE}/msg/WholeBodyPoseArray"
INTENTS_TYPE = f"{MSG_PACKAGE}/msg/SocialIntentArray"
MODEL_INFO_TYPE = f"{MSG_PACKAGE}/msg/ModelInfo"
GROUND_TRUTH_TYPE = f"{MSG_PACKAGE}/msg/PersonLabelsArray"


def _candidate_msg_dirs() -> list[Path]:
    candidates: list[Path] = []
    if env := os.environ.get("SOCIALEGO_MSGS_DIR"):
        candidates.append(Path(env))
    # Source checkout: <repo>/socialego_training/src/socialego_core/bags/typestore.py
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidates.append(parent / MSG_PACKAGE / "msg")
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(Path(prefix) / "share" / MSG_PACKAGE / "msg")
    return candidates


def find_msg_dir() -> Path:
    """Return the folder holding the socialego_msgs ``.msg`` files; error lists where it looked."""
    candidates = _candidate_msg_dirs()
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.msg")):
            return candidate
    looked = "\n  ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        "cannot find the socialego_msgs .msg files; set SOCIALEGO_MSGS_DIR or source the "
        f"workspace (setup.env). Looked in:\n  {looked}"
    )


@lru_cache(maxsize=4)
def _typestore_for(msg_dir: str) -> Typestore:
    store = get_typestore(Stores.ROS2_KILTED)
    types: dict = {}
    for msg_file in sorted(Path(msg_dir).glob("*.msg")):
        try:
            types.update(
                get_types_from_msg(
                    msg_file.read_text(encoding="utf-8"), f"{MSG_PACKAGE}/msg/{msg_file.stem}"
                )
            )
        except Exception as error:  # rosbags raises its own parse errors; name the file
            raise ValueError(f"cannot parse message definition {msg_file}: {error}") from error
    store.register(types)
    return store


def socialego_typestore(msg_dir: str | Path | None = None) -> Typestore:
    """A ROS 2 (Kilted) type store that also knows every socialego_msgs type."""
    return _typestore_for(str(Path(msg_dir) if msg_dir else find_msg_dir()))
