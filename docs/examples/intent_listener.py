"""Consume SocialEgo's forecasts in your own rclpy node.

    source setup.env
    python docs/examples/intent_listener.py [--ros-args -r __ns:=/robot1]

Reads the latched ModelInfo once (label names, model version) and then every SocialIntentArray;
prints one line per person whose forecast is usable: not stale, and the decided intent's
probability, discounted by the input quality, above a threshold. Class names always come from
ModelInfo: never hard-code class numbers, a model trained on another label set orders them
differently.
"""

from __future__ import annotations

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from socialego_core.calibration import quality_adjusted

from socialego_msgs.msg import ModelInfo, SocialIntent, SocialIntentArray

# The intent node publishes ModelInfo once, reliable + transient local: subscribe the same way
# or a late subscriber never sees it.
LATCHED = QoSProfile(
    history=HistoryPolicy.KEEP_LAST,
    depth=1,
    reliability=ReliabilityPolicy.RELIABLE,
    durability=DurabilityPolicy.TRANSIENT_LOCAL,
)
RELIABLE = QoSProfile(
    history=HistoryPolicy.KEEP_LAST, depth=10, reliability=ReliabilityPolicy.RELIABLE
)


def label(names: list[str], decision: int) -> str:
    """Name of a decision field (label index + 1); '' for 0 = unknown."""
    return names[decision - 1] if 0 < decision <= len(names) else ""


def describe(intent: SocialIntent, info: ModelInfo, threshold: float = 0.6) -> str | None:
    """One line for a usable forecast, None when it should not be acted on.

    The published probabilities are calibrated; discounted by the input quality (a stale
    forecast becomes uniform), the decided intent must still reach ``threshold``
    (docs/calibration.md)."""
    if intent.intent == 0:
        return None  # the hysteresis has not decided yet
    p = quality_adjusted(intent.intent_probabilities, intent.input_quality, intent.stale)
    p_intent = float(p[intent.intent - 1])
    if p_intent < threshold:
        return None  # too uncertain once the evidence the model could not see is counted
    intent_name = label(list(info.intent_labels), intent.intent)
    attitude = label(list(info.attitude_labels), intent.attitude) or "?"
    action = intent.action_label or "?"
    return (
        f"person {intent.track_id}: {intent_name} ({p_intent:.2f}), attitude {attitude}, "
        f"next action {action}, input quality {intent.input_quality:.2f}"
    )


class IntentListener(Node):
    def __init__(self) -> None:
        super().__init__("intent_listener")
        self.info: ModelInfo | None = None
        # relative names: a namespace (e.g. /robot1) prefixes them like the SocialEgo nodes' own
        self.create_subscription(ModelInfo, "socialego/model_info", self.on_info, LATCHED)
        self.create_subscription(SocialIntentArray, "socialego/intents", self.on_intents, RELIABLE)

    def on_info(self, msg: ModelInfo) -> None:
        self.info = msg
        self.get_logger().info(f"model {msg.model_name} {msg.model_version} ({msg.dataset})")

    def on_intents(self, msg: SocialIntentArray) -> None:
        if self.info is None:
            return  # no label names yet
        for intent in msg.intents:
            if intent.model_version != self.info.model_version:
                continue  # a forecast of another model than the one described
            line = describe(intent, self.info)
            if line is not None:
                self.get_logger().info(line)


def main() -> None:
    rclpy.init()
    node = IntentListener()
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C or SIGTERM: leave quietly
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
