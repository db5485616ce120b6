"""socialego-label in a real headless browser (Debian's chromium + chromium-driver via selenium):
keys answer, the track files change, the server is killed mid-way and a restart resumes, the
canvas shows the frame, broken input is named on the page.

SOCIALEGO_LABEL_SCREENSHOT=PATH also saves the page's screenshot there (docs/images/label_page.png).
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sego_labelpage import (
    BROWSER_MISSING,
    BROWSER_PRESENT,
    chrome,
    free_port,
    label_all,
    page,
    press,
    wait_file,
    wait_for,
)
from sego_labelpage import start_label_server as start_server
from selenium.webdriver.common.by import By
from socialego_training.data import LABEL_KEYS, load_split
from socialego_training.synthetic import generate_dataset

pytestmark = pytest.mark.skipif(not BROWSER_PRESENT, reason=BROWSER_MISSING)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "recorded"
    generate_dataset(root, 12, seed=5, render=True, progress=False)
    for path in sorted((root / "train").glob("*.json")):
        data = json.loads(path.read_text())
        data.update(dict.fromkeys(LABEL_KEYS))  # as a recording turned into a dataset
        path.write_text(json.dumps(data))
    (root / "train" / "zz_broken.json").write_text("{broken", encoding="utf-8")
    return root


@pytest.fixture
def browser():
    driver = chrome()
    yield driver
    driver.quit()


def canvas_image(driver) -> np.ndarray:
    url = page(driver, "document.getElementById('clip').toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)


def test_label_page_in_a_headless_browser(dataset: Path, browser, tmp_path: Path):
    train = dataset / "train"
    names = sorted(p.stem for p in train.glob("v*.json"))
    assert len(names) >= 5
    log = tmp_path / "server.log"
    port = free_port()
    server = start_server(dataset, port, log)
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait_for(browser, "window.labelPage.ready && window.labelPage.imageShown")
        assert page(browser, "labelPage.track.name") == names[0]
        # a broken track file is named on the page and in the terminal
        assert "zz_broken.json" in browser.find_element(By.ID, "errors").text
        assert "zz_broken.json" in log.read_text()

        # the canvas shows the frame (with the skeleton over it), stepping moves one frame
        press(browser, " ")
        wait_for(browser, "!labelPage.playing")
        press(browser, "+")
        assert browser.find_element(By.ID, "speed-line").text == "speed ×2"
        press(browser, "-", "-")
        assert browser.find_element(By.ID, "speed-line").text == "speed ×0.5"
        press(browser, ".")
        wait_for(browser, "labelPage.imageShown")
        track = page(browser, "labelPage.track")
        fid = page(browser, "labelPage.shownFrameId")
        assert fid == track["frame_ids"][page(browser, "labelPage.index")]
        frame_file = dataset / "videos" / track["video_name"] / f"{fid:06d}.jpg"
        frame = np.asarray(Image.open(frame_file).convert("RGB"), dtype=np.float32)
        shown = canvas_image(browser)
        assert shown.shape == frame.shape
        diff = np.abs(shown - frame).mean()
        assert diff < 10, f"canvas differs from {frame_file.name} by {diff:.1f} on average"
        assert np.abs(shown - shown.mean((0, 1))).mean() > 5  # not a flat placeholder
        assert (np.abs(shown - frame).max(-1) > 60).mean() > 0.001  # the pose is drawn over it

        # help overlay
        press(browser, "h")
        help_box = browser.find_element(By.ID, "help")
        assert help_box.is_displayed() and "undo" in help_box.text
        screenshot = tmp_path / "label_page.png"
        browser.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 10_000
        press(browser, "\ue00c")  # Escape
        wait_for(browser, "document.getElementById('help').hidden")

        # answers by key: Wave (implies Interacting / Positive)
        press(browser, "4")
        data = wait_file(train / f"{names[0]}.json", lambda d: d["action_class"] == 3)
        assert (data["intention_class"], data["attitude_class"]) == (0, 0)
        assert data["label_status"] == "labelled"
        wait_for(browser, f"labelPage.track && labelPage.track.name === '{names[1]}'")
        # intent override (w: Interested), unsure, Handshake
        press(browser, "w", "u", "1")
        data = wait_file(train / f"{names[1]}.json", lambda d: d["action_class"] == 0)
        assert (data["intention_class"], data["attitude_class"]) == (1, 0)
        assert data["label_status"] == "unsure" and data["label_overrides"] == ["intent"]
        wait_for(browser, f"labelPage.track.name === '{names[2]}'")
        # skip, then undo it
        press(browser, "x")
        data = wait_file(train / f"{names[2]}.json", lambda d: d.get("label_status") == "skipped")
        assert data["label_status"] == "skipped" and data["action_class"] is None
        wait_for(browser, f"labelPage.track.name === '{names[3]}'")
        press(browser, "z")
        data = wait_file(train / f"{names[2]}.json", lambda d: "label_status" not in d)
        assert "label_status" not in data
        wait_for(browser, f"labelPage.track.name === '{names[2]}'")
        counts = browser.find_element(By.ID, "progress-counts").text
        assert counts.startswith(f"2 of {len(names)} answered"), counts
        assert "Wave 1" in browser.find_element(By.ID, "class-counts").text
        if os.environ.get("SOCIALEGO_LABEL_SCREENSHOT"):  # the picture in docs/own-data.md
            press(browser, "e")  # an intent override pending
            browser.set_window_size(1300, 900)
            browser.save_screenshot(os.environ["SOCIALEGO_LABEL_SCREENSHOT"])
            press(browser, "\ue00c")

        # the server dies mid-way: nothing is lost, a new start resumes at the first open track
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        for path in train.glob("v*.json"):
            json.loads(path.read_text())  # every file whole
        assert [p.name for p in train.iterdir() if p.name.startswith(".")] == []  # no temp files
        video = json.loads((train / f"{names[3]}.json").read_text())["video_name"]
        shutil.rmtree(dataset / "videos" / video)  # the next track's frame folder goes missing
        server = start_server(dataset, port, log)
        browser.refresh()
        wait_for(browser, "window.labelPage.ready")
        assert page(browser, "labelPage.track.name") == names[2]
        assert "2 of" in browser.find_element(By.ID, "progress-line").text
        press(browser, "0")  # No_Response
        data = wait_file(train / f"{names[2]}.json", lambda d: d["action_class"] == 9)
        assert (data["intention_class"], data["attitude_class"], data["action_class"]) == (2, 2, 9)
        wait_for(browser, f"labelPage.track.name === '{names[3]}'")
        message = browser.find_element(By.ID, "frames-message").text
        assert "no video frames for" in message and "videos" in message, message
        assert "no video frames for" in log.read_text()
        assert server.poll() is None  # still serving
        # the rest by key until every track is answered; the loaders then read them all
        assert label_all(browser, lambda name: "9") == len(names) - 3
        assert "every track is answered" in browser.find_element(By.ID, "status").text
        assert len(load_split(dataset, "train", skip_bad=True).tracks) == len(names)
    finally:
        server.kill()
        server.wait(timeout=10)
