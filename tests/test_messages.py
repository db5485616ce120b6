"""socialego_msgs: definitions, generated Python code, constants, and exact round trips over DDS.

Needs the built workspace (scripts/setup.sh) and runs inside its environment (scripts/test.sh
sources setup.env). The round trip uses two OS processes and Fast DDS on loopback only
(conftest.py sets ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST and a private ROS_DOMAIN_ID).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import msg_samples
import pytest

MSG_DIR = msg_samples.MSG_DIR
MESSAGE_TYPES = msg_samples.MESSAGE_TYPES
REPO_ROOT = MSG_DIR.parents[1]
FIELD_LINE = re.compile(
    r"^(?P<type>[A-Za-z_][\w/]*(?:\[[^\]]*\])?)\s+(?P<name>[a-z]\w*)\s*(?P<rest>.*)$"
)


def parse_msg(path: Path) -> tuple[list[str], dict[str, str], list[str]]:
    """(field names, constants name -> value, undocumented field names) of one .msg file.

    A field counts as documented by a comment on its own line or on the line directly above it.
    """
    fields, constants, undocumented = [], {}, []
    previous_is_comment = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        code, _, comment = raw.partition("#")
        code = code.strip()
        if not code:
            previous_is_comment = bool(comment.strip()) or (raw.strip() == "#")
            continue
        if "=" in code:
            name, _, value = code.split(None, 1)[1].partition("=")
            constants[name.strip()] = value.strip()
        else:
            match = FIELD_LINE.match(code)
            assert match, f"{path.name}: cannot parse line {raw!r}"
            fields.append(match["name"])
            if not comment.strip() and not previous_is_comment:
                undocumented.append(match["name"])
        previous_is_comment = False
    return fields, constants, undocumented


def test_message_types_exist():
    assert len(MESSAGE_TYPES) >= 9, f"expected the 9 socialego_msgs types, found {MESSAGE_TYPES}"


def test_every_msg_file_is_built():
    cmake = (REPO_ROOT / "socialego_msgs" / "CMakeLists.txt").read_text(encoding="utf-8")
    missing = [name for name in MESSAGE_TYPES if f'"msg/{name}.msg"' not in cmake]
    assert not missing, f"socialego_msgs/CMakeLists.txt does not generate {missing}"


@pytest.mark.parametrize("type_name", MESSAGE_TYPES)
def test_every_field_is_documented(type_name):
    _, _, undocumented = parse_msg(MSG_DIR / f"{type_name}.msg")
    assert not undocumented, f"{type_name}.msg: fields without a comment: {undocumented}"


@pytest.mark.parametrize("type_name", MESSAGE_TYPES)
def test_constant_families_have_unknown_zero(type_name):
    """Every group of constants (LAYOUT_*, TRACK_STATE_*, ...) has <GROUP>_UNKNOWN = 0."""
    _, constants, _ = parse_msg(MSG_DIR / f"{type_name}.msg")
    unknown_prefixes = [n[: -len("UNKNOWN")] for n, v in constants.items() if n.endswith("UNKNOWN")]
    assert all(constants[p + "UNKNOWN"] == "0" for p in unknown_prefixes), constants
    for name in constants:
        if name == "UNKNOWN":
            continue
        families = [p for p in unknown_prefixes if p and name.startswith(p)]
        assert families, f"{type_name}.{name} belongs to no constant group with an UNKNOWN=0 member"


def test_generated_for_python_after_sourcing_setup_env():
    """In a clean shell, `source setup.env` alone makes every type importable with its fields."""
    setup_env = REPO_ROOT / "setup.env"
    assert setup_env.is_file(), f"{setup_env} is missing: run scripts/setup.sh first"
    probe = (
        "import json, socialego_msgs.msg as m; "
        f"print(json.dumps({{n: list(getattr(m, n).get_fields_and_field_types()) "
        f"for n in {list(MESSAGE_TYPES)!r}}}))"
    )
    clean_env = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/bin:/bin"}
    command = f"source {shlex.quote(str(setup_env))} && python -c {shlex.quote(probe)}"
    result = subprocess.run(
        ["bash", "-c", command], env=clean_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"import failed after sourcing setup.env:\n{result.stderr}"
    generated = json.loads(result.stdout.strip().splitlines()[-1])
    for name in MESSAGE_TYPES:
        fields, _, _ = parse_msg(MSG_DIR / f"{name}.msg")
        assert generated[name] == fields, f"{name}: generated fields differ from {name}.msg"


def test_constants_match_socialego_core():
    """The wire constants are the core's label order + 1 and layout codes (one definition)."""
    from socialego_core import labels, layouts

    from socialego_msgs.msg import SocialIntent, WholeBodyPose

    for name, layout in layouts.LAYOUTS.items():
        assert getattr(WholeBodyPose, f"LAYOUT_{name}") == layout.code
    for table, prefix in ((labels.INTENT_LABELS, "INTENT_"), (labels.ATTITUDE_LABELS, "ATTITUDE_")):
        for index, label in enumerate(table):
            assert getattr(SocialIntent, prefix + label.upper()) == index + 1, label
    msg_layouts = {n for n in dir(WholeBodyPose) if n.startswith("LAYOUT_")} - {"LAYOUT_UNKNOWN"}
    assert msg_layouts == {f"LAYOUT_{n}" for n in layouts.LAYOUTS}


@pytest.mark.parametrize("type_name", MESSAGE_TYPES)
def test_samples_set_every_field(type_name):
    """The round-trip samples give every field a non-default value at least once."""
    cls = msg_samples.message_class(type_name)
    default = cls()
    changed = set()
    for sample in msg_samples.samples(type_name):
        for difference in msg_samples.differences(default, sample):
            changed.add(re.split(r"[.\[:]", difference, maxsplit=1)[0])
    fields = [name for name, _ in msg_samples.field_slots(cls)]
    assert [f for f in fields if f not in changed] == [], f"{type_name}: fields never set"


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _expect(lines: queue.Queue, prefix: str, timeout_s: float, spin) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        spin()
        try:
            line = lines.get_nowait()
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"echo peer exited before printing {prefix!r}")
        if line.startswith(prefix):
            return line
    raise AssertionError(f"echo peer printed no {prefix!r} within {timeout_s} s")


def test_every_message_round_trips_between_two_processes_over_dds(ros_env, tmp_path):
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

    assert ros_env["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    qos = QoSProfile(
        history=HistoryPolicy.KEEP_ALL,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.VOLATILE,
    )
    context = Context()
    rclpy.init(context=context)
    node = rclpy.create_node("socialego_msgs_roundtrip_test", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    echoed: dict[str, list] = {name: [] for name in MESSAGE_TYPES}
    publishers, subscriptions = {}, []
    for name in MESSAGE_TYPES:
        cls = msg_samples.message_class(name)
        publishers[name] = node.create_publisher(cls, f"/socialego_test/to_peer/{name}", qos)
        subscriptions.append(
            node.create_subscription(
                cls, f"/socialego_test/from_peer/{name}", echoed[name].append, qos
            )
        )

    def spin() -> None:
        executor.spin_once(timeout_sec=0.02)

    stderr_path = tmp_path / "peer.stderr"
    peer_script = Path(__file__).with_name("ros_echo_peer.py")
    with open(stderr_path, "w") as stderr_file:
        peer = subprocess.Popen(
            [sys.executable, str(peer_script), *MESSAGE_TYPES],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            text=True,
            env=ros_env,
        )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(peer.stdout, lines), daemon=True).start()
    try:
        assert peer.pid != os.getpid()
        _expect(lines, "READY", 120, spin)
        _expect(lines, "MATCHED", 120, spin)
        deadline = time.monotonic() + 120
        while not all(p.get_subscription_count() > 0 for p in publishers.values()) or not all(
            s.get_publisher_count() > 0 for s in subscriptions
        ):
            assert time.monotonic() < deadline, "test endpoints never matched the peer's"
            spin()

        sent = {name: msg_samples.samples(name) for name in MESSAGE_TYPES}
        for name, messages in sent.items():
            for message in messages:
                publishers[name].publish(message)
        deadline = time.monotonic() + 180
        while any(len(echoed[n]) < len(sent[n]) for n in MESSAGE_TYPES):
            if time.monotonic() > deadline:
                counts = {n: f"{len(echoed[n])}/{len(sent[n])}" for n in MESSAGE_TYPES}
                raise AssertionError(f"echoes missing after 180 s: {counts}")
            spin()

        peer.stdin.write("DONE\n")
        peer.stdin.flush()
        result = json.loads(_expect(lines, "RESULT ", 120, spin)[len("RESULT ") :])
        assert peer.wait(timeout=60) == 0
    finally:
        if peer.poll() is None:
            peer.kill()
            peer.wait(timeout=30)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    peer_log = stderr_path.read_text()

    # The peer saw exactly our samples (published here, deserialised there) ...
    assert result["received"] == {n: len(sent[n]) for n in MESSAGE_TYPES}, peer_log
    assert result["mismatches"] == [], result["mismatches"][:20]
    # ... and we see exactly the samples again after its publish (serialised there).
    mismatches = []
    for name in MESSAGE_TYPES:
        expected = msg_samples.samples(name)  # fresh objects: nothing shared with what was sent
        assert len(echoed[name]) == len(expected), name
        for index, (want, got) in enumerate(zip(expected, echoed[name])):
            mismatches += [f"{name}[{index}].{d}" for d in msg_samples.differences(want, got)]
    assert mismatches == [], mismatches[:20]


def test_comparison_catches_single_changes():
    """The exact comparison the round trip relies on sees one changed value deep inside."""
    import copy
    import math

    original = msg_samples.samples("WholeBodyPoseArray")[3]  # the long variant
    assert msg_samples.differences(original, copy.deepcopy(original)) == []
    for mutate in (
        lambda m: m.poses[39].score.__setitem__(5, 0.5),  # a number
        lambda m: m.poses[0].score.__setitem__(1, math.nan),  # a NaN where none was
        lambda m: setattr(m.poses[3], "bbox_x", -m.poses[3].bbox_x),  # a sign
        lambda m: setattr(m.poses[7], "track_id", m.poses[7].track_id + "x"),  # a string
        lambda m: m.poses.pop(),  # a missing element
        lambda m: setattr(m.header.stamp, "nanosec", m.header.stamp.nanosec + 1),
    ):
        changed = copy.deepcopy(original)
        mutate(changed)
        assert msg_samples.differences(original, changed) != []
    zero = msg_samples.message_class("GazeFeatures")()
    negative_zero = msg_samples.message_class("GazeFeatures")(valence=-0.0)
    assert msg_samples.differences(zero, negative_zero) != []
