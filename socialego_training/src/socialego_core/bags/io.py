"""Write and read rosbag2 MCAP bags of SocialEgo topics with rosbags (pure Python, no ROS)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rosbags.rosbag2 import Reader, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode, StoragePlugin

from .typestore import socialego_typestore

NS_PER_S = 1_000_000_000


def stamp_to_ns(stamp: Any) -> int:
    """builtin_interfaces/Time (rosbags or rclpy object) -> integer nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def ns_to_sec_nanosec(t_ns: int) -> tuple[int, int]:
    return int(t_ns // NS_PER_S), int(t_ns % NS_PER_S)


class BagWriter:
    """A rosbag2 (MCAP, zstd chunks) writer that adds one connection per topic on first use.

    Use as a context manager; ``write`` takes a rosbags message object, ``write_raw`` CDR bytes.
    """

    def __init__(self, path: str | Path, *, compress: bool = True, storage: str = "mcap") -> None:
        self.path = Path(path)
        if self.path.exists():
            raise FileExistsError(f"bag {self.path} exists already; remove it or choose another")
        plugins = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
        if storage not in plugins:
            raise ValueError(f"unknown bag storage {storage!r}; known: {sorted(plugins)}")
        self.typestore = socialego_typestore()
        self._writer = Writer(self.path, version=9, storage_plugin=plugins[storage])
        if compress and storage == "mcap":
            self._writer.set_compression(CompressionMode.STORAGE, CompressionFormat.ZSTD)
        self._connections: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def __enter__(self) -> BagWriter:
        self._writer.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.close()

    def types(self, name: str) -> Any:
        """The rosbags message class of a type name such as ``sensor_msgs/msg/Image``."""
        return self.typestore.types[name]

    def set_custom_data(self, key: str, value: str) -> None:
        self._writer.set_custom_data(key, value)

    def _connection(self, topic: str, msgtype: str) -> Any:
        connection = self._connections.get(topic)
        if connection is None:
            connection = self._writer.add_connection(topic, msgtype, typestore=self.typestore)
            self._connections[topic] = connection
        elif connection.msgtype != msgtype:
            raise ValueError(
                f"topic {topic} already carries {connection.msgtype}, cannot also write {msgtype}"
            )
        return connection

    def write(self, topic: str, msgtype: str, message: Any, t_ns: int) -> None:
        self.write_raw(topic, msgtype, self.typestore.serialize_cdr(message, msgtype), t_ns)

    def write_raw(self, topic: str, msgtype: str, data: bytes | memoryview, t_ns: int) -> None:
        self._writer.write(self._connection(topic, msgtype), int(t_ns), data)
        self.counts[topic] = self.counts.get(topic, 0) + 1


@dataclass
class BagMessage:
    topic: str
    msgtype: str
    log_time_ns: int
    message: Any  # deserialised rosbags object (or raw bytes if ``raw=True``)


def _open_reader(path: str | Path) -> Reader:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bag {path} does not exist")
    try:
        reader = Reader(path)
        reader.open()
    except Exception as error:
        raise ValueError(f"cannot open bag {path}: {error}") from error
    return reader


def bag_topics(path: str | Path) -> dict[str, tuple[str, int]]:
    """Topic -> (message type, message count) of a bag."""
    reader = _open_reader(path)
    try:
        return {name: (info.msgtype or "", info.msgcount) for name, info in reader.topics.items()}
    finally:
        reader.close()


def read_messages(
    path: str | Path, topics: Iterable[str] | None = None, *, raw: bool = False
) -> Iterator[BagMessage]:
    """Yield the messages of ``topics`` (all if None) in log-time order.

    Types the type store does not know (foreign topics) are skipped unless asked for by name.
    """
    typestore = socialego_typestore()
    wanted = set(topics) if topics is not None else None
    reader = _open_reader(path)
    try:
        connections = [
            c
            for c in reader.connections
            if (wanted is None or c.topic in wanted)
            and (raw or c.msgtype in typestore.fielddefs or wanted is not None)
        ]
        for connection, t_ns, data in reader.messages(connections=connections):
            if raw:
                yield BagMessage(connection.topic, connection.msgtype, t_ns, bytes(data))
                continue
            try:
                message = typestore.deserialize_cdr(data, connection.msgtype)
            except Exception as error:
                raise ValueError(
                    f"bag {path}: cannot decode a {connection.msgtype} message on "
                    f"{connection.topic} at {t_ns} ns: {error}"
                ) from error
            yield BagMessage(connection.topic, connection.msgtype, t_ns, message)
    finally:
        reader.close()


def bag_custom_data(path: str | Path) -> dict[str, str]:
    """The ``custom_data`` of a bag folder's metadata.yaml ({} for a bare .mcap file)."""
    metadata = Path(path) / "metadata.yaml"
    if not metadata.is_file():
        return {}
    try:
        data = yaml.safe_load(metadata.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{metadata}: invalid YAML ({error})") from error
    info = data.get("rosbag2_bagfile_information", {})
    return {str(k): str(v) for k, v in (info.get("custom_data") or {}).items()}
