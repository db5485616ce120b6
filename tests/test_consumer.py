"""DecisionTracker (socialego_core.consumer, no rclpy): label names by ModelInfo, stale /
low-quality / uncertain / old forecasts filtered out, and appear / change / go events."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from socialego_core.calibration import quality_adjusted
from socialego_core.consumer import DecisionTracker, ListenerConfig

# a label order unlike the message constants: everything must go by names
INFO = SimpleNamespace(
    intent_labels=["Not_Interested", "Interested", "Interacting"],
    attitude_labels=["Positive", "Negative", "Not_Interacting"],
    action_labels=["Wave", "Punch"],
    model_version="v1",
    model_name="m",
)


def stamp(t: float) -> SimpleNamespace:
    return SimpleNamespace(sec=int(t), nanosec=round((t - int(t)) * 1e9))


def intent(track, t, decision, p=0.9, attitude=3, action=1, quality=1.0, stale=False, version="v1"):
    rest = (1.0 - p) / 2
    probs = [rest] * 3
    probs[decision - 1 if decision else 0] = p
    return SimpleNamespace(
        header=SimpleNamespace(stamp=stamp(t)),
        track_id=track,
        person_id="",
        intent=decision,
        intent_probabilities=probs,
        attitude=attitude,
        attitude_probabilities=[0.1, 0.1, 0.8],
        action=action,
        action_label="",
        action_probabilities=[0.8, 0.2],
        input_quality=quality,
        stale=stale,
        model_version=version,
    )


def array(*intents) -> SimpleNamespace:
    return SimpleNamespace(intents=list(intents))


def kinds(events) -> list[tuple[str, str, str]]:
    return [(e.kind, e.track_id, e.reason) for e in events]


def tracker(**config) -> DecisionTracker:
    t = DecisionTracker(ListenerConfig(**config))
    assert t.set_model_info(INFO) == []
    return t


def test_nothing_before_model_info_then_names_not_indices():
    t = DecisionTracker()
    assert t.update(array(intent("a", 10.0, 2)), 10.0) == []
    assert t.ignored["no_model_info"] == 1
    t.set_model_info(INFO)
    (event,) = t.update(array(intent("a", 10.0, 2, attitude=2, action=2)), 10.1)
    d = event.decision
    assert event.kind == "appeared"
    assert (d.intent, d.attitude, d.action) == ("Interested", "Negative", "Punch")
    assert d.probability() == pytest.approx(0.9)
    assert d.probabilities["action"] == {"Wave": pytest.approx(0.8), "Punch": pytest.approx(0.2)}


def test_change_and_left():
    t = tracker()
    assert kinds(t.update(array(intent("a", 1.0, 1), intent("b", 1.0, 2)), 1.0)) == [
        ("appeared", "a", ""),
        ("appeared", "b", ""),
    ]
    assert t.update(array(intent("a", 1.1, 1), intent("b", 1.1, 2)), 1.1) == []  # no change
    events = t.update(array(intent("a", 1.2, 3)), 1.2)
    assert kinds(events) == [("changed", "a", ""), ("gone", "b", "left")]
    assert (events[0].previous.intent, events[0].decision.intent) == (
        "Not_Interested",
        "Interacting",
    )
    assert events[1].previous.intent == "Interested"
    assert set(t.current) == {"a"}


def test_watch_narrows_what_counts_as_a_change():
    t = tracker(watch=("intent",))
    t.update(array(intent("a", 1.0, 2, attitude=1)), 1.0)
    assert t.update(array(intent("a", 1.1, 2, attitude=2)), 1.1) == []
    assert tracker().update(array(intent("a", 1.0, 2, attitude=1)), 1.0)[0].kind == "appeared"


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"stale": True}, "stale"),
        ({"quality": 0.1}, "low_quality"),
        ({"decision": 0}, "undecided"),
        ({"p": 0.4}, "uncertain"),
    ],
)
def test_an_unusable_forecast_ends_the_decision_with_its_reason(changes, reason):
    t = tracker(min_probability=0.5, min_input_quality=0.3)
    t.update(array(intent("a", 1.0, 2)), 1.0)
    args = {"track": "a", "t": 1.1, "decision": 2, **changes}
    assert kinds(t.update(array(intent(**args)), 1.1)) == [("gone", "a", reason)]
    # and never appears while unusable
    assert t.update(array(intent(**args)), 1.2) == []


def test_probability_threshold_is_on_the_quality_adjusted_probability():
    # 0.9 observed at quality 0.5: 0.5 * 0.9 + 0.5 / 3 = 0.617
    adjusted = float(quality_adjusted([0.9, 0.05, 0.05], 0.5)[0])
    assert adjusted == pytest.approx(0.5 * 0.9 + 0.5 / 3)
    below = tracker(min_probability=adjusted + 0.01, min_input_quality=0.0)
    assert below.update(array(intent("a", 1.0, 1, quality=0.5)), 1.0) == []
    above = tracker(min_probability=adjusted - 0.01, min_input_quality=0.0)
    (event,) = above.update(array(intent("a", 1.0, 1, quality=0.5)), 1.0)
    assert event.decision.probability() == pytest.approx(adjusted)


def test_old_forecasts_and_a_stopped_stream_expire():
    t = tracker(max_age_s=0.5)
    assert t.update(array(intent("a", 1.0, 2)), 1.6) == []  # already 0.6 s old
    t.update(array(intent("a", 2.0, 2)), 2.0)
    assert t.expire(2.4) == []
    assert kinds(t.expire(2.6)) == [("gone", "a", "expired")]
    assert t.current == {}


def test_other_model_versions_are_ignored_and_a_new_model_ends_every_decision():
    t = tracker()
    assert t.update(array(intent("a", 1.0, 2, version="v0")), 1.0) == []
    assert t.ignored["other_model"] == 1
    t.update(array(intent("a", 1.0, 2)), 1.0)
    assert t.set_model_info(INFO) == []  # the same model again (a late latched copy)
    other = SimpleNamespace(**{**vars(INFO), "model_version": "v2"})
    assert kinds(t.set_model_info(other)) == [("gone", "a", "expired")]


def test_bad_probabilities_do_not_raise():
    t = tracker()
    bad = intent("a", 1.0, 2)
    bad.intent_probabilities = [float("nan")] * 3
    assert t.update(array(bad), 1.0) == []  # no usable probability: uncertain
    short = intent("a", 1.0, 2)
    short.intent_probabilities = [1.0]
    assert t.update(array(short), 1.0) == []


@pytest.mark.parametrize(
    "config",
    [{"min_probability": 1.5}, {"min_input_quality": -0.1}, {"max_age_s": 0.0}, {"watch": ("x",)}],
)
def test_bad_config_is_refused_naming_the_field(config):
    with pytest.raises(ValueError, match=next(iter(config))):
        ListenerConfig(**config)
