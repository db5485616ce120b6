"""Example behaviour node: the model for users' own consumers of SocialIntentArray.

Greets a person whose smoothed intent becomes the ``greet_intent`` label (default Interested)
and raises an alert on a negative attitude or a likely ``alert_actions`` forecast (e.g. Punch).
Class names come from the latched ModelInfo topic, never from hard-coded numbers; stale or
poorly observed intents are ignored. Publishes std_msgs/String on ``socialego/behaviour/greet``
and ``socialego/behaviour/alert``.
"""

from __future__ import annotations

from rclpy.lifecycle import State, TransitionCallbackReturn
from socialego_core import topics
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode
from socialego_ros.qos import LATCHED, RELIABLE_OUT
from socialego_ros.stamps import stamp_seconds
from std_msgs.msg import String

from socialego_inference.params import BEHAVIOUR_PARAMS
from socialego_msgs.msg import ModelInfo, SocialIntentArray


class BehaviourNode(SocialEgoLifecycleNode):
    PARAMS = BEHAVIOUR_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("behaviour_node", **kwargs)
        self.info: ModelInfo | None = None
        self.greet_pub = self.alert_pub = None
        self._previous_intent: dict[str, int] = {}
        self._last_greet: dict[str, float] = {}
        self.greetings = 0
        self.alerts = 0

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        cfg = self.validated_params()
        if cfg is None:
            return TransitionCallbackReturn.FAILURE
        self.cfg = cfg
        self.greet_pub = self.create_lifecycle_publisher(
            String, topics.BEHAVIOUR_GREET, RELIABLE_OUT
        )
        self.alert_pub = self.create_lifecycle_publisher(
            String, topics.BEHAVIOUR_ALERT, RELIABLE_OUT
        )
        return TransitionCallbackReturn.SUCCESS

    @property
    def alert_actions(self) -> set[str]:
        # Read from cfg on every use so a live ``ros2 param set alert_actions`` takes effect.
        return {a.strip() for a in self.cfg.get("alert_actions", "").split(",") if a.strip()}

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        result = super().on_activate(state)
        self.inputs += [
            self.create_subscription(ModelInfo, topics.MODEL_INFO, self.on_info, LATCHED),
            self.create_subscription(
                SocialIntentArray, topics.INTENTS, self.on_intents, RELIABLE_OUT
            ),
        ]
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        return result

    def release(self) -> None:
        for pub in (self.greet_pub, self.alert_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self.greet_pub = self.alert_pub = None

    def on_info(self, msg: ModelInfo) -> None:
        self.info = msg
        self.get_logger().info(
            f"model {msg.model_name} {msg.model_version}: intents {list(msg.intent_labels)}"
        )

    @staticmethod
    def _label(labels, decision: int) -> str:
        return labels[decision - 1] if 0 < decision <= len(labels) else ""

    def on_intents(self, msg: SocialIntentArray) -> None:
        if not self.active:
            return
        self.note_input()
        if self.info is None:
            self.warn_throttled("no_model_info", "no ModelInfo received yet: intents ignored")
            return
        seen = set()
        for intent in msg.intents:
            seen.add(intent.track_id)
            if intent.stale or intent.input_quality < self.cfg["min_input_quality"]:
                continue
            label = self._label(self.info.intent_labels, intent.intent)
            previous = self._previous_intent.get(intent.track_id, 0)
            self._previous_intent[intent.track_id] = intent.intent
            stamp = stamp_seconds(intent.header.stamp)
            last = self._last_greet.get(intent.track_id, -1e18)
            if (
                label == self.cfg["greet_intent"]
                and previous != intent.intent
                and stamp - last >= self.cfg["greet_cooldown_s"]
            ):
                self._last_greet[intent.track_id] = stamp
                self.greetings += 1
                self.get_logger().info(f"greeting person {intent.track_id} ({label})")
                self.greet_pub.publish(String(data=intent.track_id))
            attitude = self._label(self.info.attitude_labels, intent.attitude)
            action_prob = {
                name: p for name, p in zip(self.info.action_labels, intent.action_probabilities)
            }
            risky = [
                a
                for a in self.alert_actions
                if action_prob.get(a, 0.0) >= self.cfg["alert_probability"]
            ]
            if attitude == self.cfg["alert_attitude"] or risky:
                self.alerts += 1
                why = f"attitude {attitude}" if attitude == self.cfg["alert_attitude"] else ""
                why = ", ".join(x for x in (why, *(f"{a} forecast" for a in risky)) if x)
                self.get_logger().warning(f"ALERT person {intent.track_id}: {why}")
                self.alert_pub.publish(String(data=f"{intent.track_id}: {why}"))
        # forget people who left, so memory stays bounded
        for tid in [t for t in self._previous_intent if t not in seen]:
            self._previous_intent.pop(tid, None)
            self._last_greet.pop(tid, None)

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update({"greetings": str(self.greetings), "alerts": str(self.alerts)})
        return values


def main(args=None) -> None:
    run_lifecycle_node(BehaviourNode, args)


if __name__ == "__main__":
    main()
