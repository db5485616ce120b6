"""Recordings (rosbag2 bags, sqlite3 or MCAP) as sources of images or recorded poses.

Reading goes through ``socialego_core.bags.io`` (rosbags, no ROS install). Every message is
decoded here one at a time, so a broken one is named by bag, topic and index instead of ending
the whole run; the caller decides whether that stops (default) or is counted (``--skip-bad``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from socialego_core.bags.io import bag_topics, read_messages, stamp_to_ns
from socialego_core.bags.typestore import POSES_TYPE, socialego_typestore

IMAGE_TYPES: dict[str, str] = {
    "sensor_msgs/msg/Image": "raw",
    "sensor_msgs/msg/CompressedImage": "compressed",
}
SOURCE_KINDS: tuple[str, ...] = ("raw", "compressed", "poses")
_NAME_OK = re.compile(r"[^A-Za-z0-9_.-]+")


class InputError(ValueError):
    """Broken input: names the bag, and the topic and message index where there is one."""

    def __init__(self, bag: Path, reason: str, topic: str = "", index: int | None = None):
        self.bag, self.topic, self.index, self.reason = Path(bag), topic, index, reason
        where = f"bag {bag}"
        if topic:
            where += f", topic {topic}"
        if index is not None:
            where += f", message {index}"
        super().__init__(f"{where}: {reason}")

    def as_record(self) -> dict[str, Any]:
        """JSON-ready form for dataset.json's list of skipped input."""
        return {
            "bag": self.bag.name,
            "topic": self.topic,
            "index": self.index,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Recording:
    """One bag = one recording = one video of the dataset."""

    path: Path
    name: str  # the dataset's video_name: the bag's folder (or file) name, made file-safe

    def fingerprint(self) -> dict[str, Any]:
        """The bag's identity: sha256 of its metadata.yaml, else its files' sizes and mtimes."""
        metadata = self.path / "metadata.yaml"
        if metadata.is_file():
            digest = hashlib.sha256(metadata.read_bytes()).hexdigest()
            return {"metadata_sha256": digest}
        files = [self.path] if self.path.is_file() else sorted(self.path.rglob("*"))
        stats = [(f.name, f.stat().st_size, int(f.stat().st_mtime)) for f in files if f.is_file()]
        return {"files": [{"name": n, "size": s, "mtime": t} for n, s, t in stats]}


def recordings(paths: list[Path]) -> list[Recording]:
    """Recordings of the given bag paths; ValueError for a missing bag or two with one name."""
    out: list[Recording] = []
    seen: dict[str, Path] = {}
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"bag {path} does not exist")
        stem = path.name[: -len(path.suffix)] if path.is_file() else path.name
        name = _NAME_OK.sub("_", stem).strip("_.") or "recording"
        if name in seen:
            raise ValueError(
                f"bags {seen[name]} and {path} both give the recording name {name!r}: "
                "rename one (each bag is one recording, named after its folder)"
            )
        seen[name] = path
        out.append(Recording(path, name))
    return out


@dataclass(frozen=True)
class TopicChoice:
    topic: str
    msgtype: str
    kind: str  # raw | compressed | poses
    messages: int


def choose_topic(
    bag: Path, image_topic: str | None = None, poses_topic: str | None = None
) -> TopicChoice:
    """The topic to read: ``poses_topic`` if given, else ``image_topic``, else the bag's only
    image topic. InputError names the bag and lists what it holds when the choice fails."""
    try:
        topics = bag_topics(bag)
    except (OSError, ValueError) as error:
        raise InputError(bag, f"cannot open the bag: {error}") from error
    listing = ", ".join(f"{t} ({m})" for t, (m, _) in sorted(topics.items())) or "no topics"
    if poses_topic:
        if poses_topic not in topics:
            raise InputError(bag, f"no topic {poses_topic}; the bag has: {listing}")
        msgtype, count = topics[poses_topic]
        if msgtype != POSES_TYPE:
            raise InputError(bag, f"{poses_topic} carries {msgtype}, not {POSES_TYPE}")
        return TopicChoice(poses_topic, msgtype, "poses", count)
    images = {t: (m, n) for t, (m, n) in topics.items() if m in IMAGE_TYPES}
    if image_topic:
        if image_topic not in topics:
            raise InputError(bag, f"no topic {image_topic}; the bag has: {listing}")
        if image_topic not in images:
            raise InputError(
                bag,
                f"{image_topic} carries {topics[image_topic][0]}, not an image "
                f"({' or '.join(IMAGE_TYPES)})",
            )
    elif len(images) == 1:
        image_topic = next(iter(images))
    elif not images:
        hint = ""
        if any(m == POSES_TYPE for m, _ in topics.values()):
            hint = "; it has recorded poses: pass --poses-topic"
        raise InputError(bag, f"no image topic (the bag has: {listing}){hint}")
    else:
        raise InputError(
            bag,
            f"{len(images)} image topics ({', '.join(sorted(images))}): choose one with "
            "--image-topic",
        )
    msgtype, count = images[image_topic]
    return TopicChoice(image_topic, msgtype, IMAGE_TYPES[msgtype], count)


@dataclass
class Item:
    """One message of the chosen topic: decoded, or the reason it could not be."""

    index: int  # position on the topic in log-time order, from 0
    stamp_ns: int  # the header stamp (the log time where the header has none)
    message: Any | None
    error: InputError | None = None


def iter_topic(bag: Path, choice: TopicChoice) -> Iterator[Item]:
    """Every message of ``choice.topic`` in order. A message that cannot be decoded comes with
    its error; a bag that cannot be read on raises InputError (bag, topic, index)."""
    store = socialego_typestore()
    stream = read_messages(bag, [choice.topic], raw=True)
    index = 0
    while True:
        try:
            raw = next(stream)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - rosbags/mcap raise many kinds
            raise InputError(
                bag,
                f"cannot read further ({type(error).__name__}: {error})",
                choice.topic,
                index,
            ) from error
        try:
            message = store.deserialize_cdr(raw.message, raw.msgtype)
        except Exception as error:  # noqa: BLE001 - any undecodable bytes are the same problem
            reason = f"cannot decode the {raw.msgtype} message ({type(error).__name__}: {error})"
            yield Item(index, raw.log_time_ns, None, InputError(bag, reason, choice.topic, index))
        else:
            stamp = stamp_to_ns(message.header.stamp)
            yield Item(index, stamp if stamp > 0 else raw.log_time_ns, message)
        index += 1
