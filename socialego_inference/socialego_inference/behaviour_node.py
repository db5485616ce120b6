"""Example behaviour node: the model for users' own consumers of SocialIntentArray.

Built on ``socialego_inference.listener.IntentListener``: greets a person whose decided intent
becomes the ``greet_intent`` label (default Interested) and raises an alert when a person's
decision turns to a negative attitude or a likely ``alert_actions`` forecast (e.g. Punch).
Class names come from the latched ModelInfo, never from hard-coded numbers; stale, poorly
observed, uncertain and old forecasts are filtered by the listener's thresholds
(``min_input_quality``, ``min_probability``, ``max_age_s``). Publishes std_msgs/String on
``socialego/behaviour/greet`` and ``socialego/behaviour/alert``.
"""

from __future__ import annotations

from rclpy.lifecycle import State, TransitionCallbackReturn
from socialego_core import topics
from socialego_core.consumer import Decision, ListenerConfig
from socialego_ros.main import run_lifecycle_node
from socialego_ros.node import SocialEgoLifecycleNode
from socialego_ros.qos import RELIABLE_OUT
from std_msgs.msg import String

from socialego_inference.listener import IntentListener
from socialego_inference.params import BEHAVIOUR_PARAMS


def listener_config(cfg: dict) -> ListenerConfig:
    """The listener's thresholds from the node's parameters."""
    return ListenerConfig(
        min_probability=cfg["min_probability"],
        min_input_quality=cfg["min_input_quality"],
        max_age_s=cfg["max_age_s"],
    )


class BehaviourNode(SocialEgoLifecycleNode):
    PARAMS = BEHAVIOUR_PARAMS

    def __init__(self, **kwargs) -> None:
        super().__init__("behaviour_node", **kwargs)
        self.listener: IntentListener | None = None
        self.greet_pub = self.alert_pub = None
        self._last_greet: dict[str, float] = {}
        self._alerting: dict[str, str] = {}  # track -> reason of its current alert
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
        self.listener = IntentListener(
            self,
            on_appear=self.on_decision,
            on_change=lambda previous, decision: self.on_decision(decision),
            on_gone=self.on_gone,
            on_intents=self.on_intents,
            on_model=self.on_model,
            config=listener_config(self.cfg),
        )
        self.inputs += self.listener.entities
        self.input_name = self.listener.subscriptions[1].topic_name
        self.start_diagnostics(self.cfg["diagnostics_period_s"])
        self.active = True
        return result

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.listener = None  # its subscriptions and timer are in self.inputs
        return super().on_deactivate(state)

    def apply_live(self, changed: dict) -> None:
        if self.listener is not None:
            self.listener.config = listener_config(self.cfg)

    def _on_set_parameters(self, params):
        result = super()._on_set_parameters(params)
        if result.successful and self.cfg:
            try:
                listener_config({**self.cfg, **{p.name: p.value for p in params}})
            except ValueError as exc:
                result.successful, result.reason = False, str(exc)
        return result

    def release(self) -> None:
        for pub in (self.greet_pub, self.alert_pub):
            if pub is not None:
                self.destroy_lifecycle_publisher(pub)
        self.greet_pub = self.alert_pub = None

    def alert_reason(self, decision: Decision) -> str:
        """Why ``decision`` calls for an alert ('' when it does not)."""
        reasons = []
        if decision.attitude and decision.attitude == self.cfg["alert_attitude"]:
            reasons.append(f"attitude {decision.attitude}")
        actions = decision.probabilities.get("action", {})
        reasons += [
            f"{a} forecast"
            for a in sorted(self.alert_actions)
            if actions.get(a, 0.0) >= self.cfg["alert_probability"]
        ]
        return ", ".join(reasons)

    def on_model(self, msg) -> None:
        self.get_logger().info(
            f"model {msg.model_name} {msg.model_version}: intents {list(msg.intent_labels)}"
        )

    def on_intents(self, msg) -> None:
        """Every intent array: input statistics for /diagnostics."""
        self.note_input()
        if msg.intents:  # an empty heartbeat's stamp is that of the last poses seen
            self.note_latency(msg.header.stamp)

    def on_decision(self, decision: Decision) -> None:
        """A person's decision appeared or changed."""
        if not self.active:
            return
        track = decision.track_id
        last = self._last_greet.get(track, -1e18)
        if (
            decision.intent == self.cfg["greet_intent"]
            and decision.stamp_s - last >= self.cfg["greet_cooldown_s"]
        ):
            self._last_greet[track] = decision.stamp_s
            self.greetings += 1
            self.get_logger().info(
                f"greeting person {track} ({decision.intent}, {decision.probability():.2f})"
            )
            self.greet_pub.publish(String(data=track))
        why = self.alert_reason(decision)
        if why and why != self._alerting.get(track):
            self.alerts += 1
            self.get_logger().warning(f"ALERT person {track}: {why}")
            self.alert_pub.publish(String(data=f"{track}: {why}"))
        if why:
            self._alerting[track] = why
        else:
            self._alerting.pop(track, None)

    def on_gone(self, previous: Decision, reason: str) -> None:
        self._alerting.pop(previous.track_id, None)
        if reason == "left":  # forget people who left, so memory stays bounded
            self._last_greet.pop(previous.track_id, None)

    def diagnostic_values(self) -> dict[str, str]:
        values = super().diagnostic_values()
        values.update(
            {
                "greetings": str(self.greetings),
                "alerts": str(self.alerts),
                "tracks_decided": str(len(self.listener.decisions) if self.listener else 0),
            }
        )
        return values


def main(args=None) -> None:
    run_lifecycle_node(BehaviourNode, args)


if __name__ == "__main__":
    main()
