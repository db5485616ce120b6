"""Driving socialego-label in headless Chromium (Debian's chromium + chromium-driver, selenium):
shared by the page's own test and any test that labels a dataset through the page."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import JavascriptException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BROWSER_PRESENT = CHROMIUM.is_file() and CHROMEDRIVER.is_file()
BROWSER_MISSING = (
    "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_label_server(root: Path, port: int, log: Path, split: str = "train") -> subprocess.Popen:
    """``socialego-label ROOT`` in its own process, once it answers on ``port``."""
    command = [sys.executable, "-m", "socialego_training.labelling.cli", str(root)]
    command += ["--port", str(port), "--split", split]
    with log.open("a") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"socialego-label did not start:\n{log.read_text()}")


def chrome(width: int = 1300, height: int = 820) -> webdriver.Chrome:
    """Headless Chromium through the installed driver: selenium-manager never looks for (or
    downloads) one, because the driver's path is given."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(20)
    return driver


def page(driver, expr: str):
    """The value of a JavaScript expression in the page (window.labelPage holds its state)."""
    return driver.execute_script(f"return {expr};")


def wait_for(driver, expr: str, timeout: float = 20) -> None:
    """Until ``expr`` is truthy. A script error counts as "not yet": right after a load the
    page script may not have defined ``window.labelPage`` when the first poll runs."""
    wait = WebDriverWait(driver, timeout, ignored_exceptions=(JavascriptException,))
    wait.until(lambda d: page(d, expr))


def press(driver, *keys: str) -> None:
    body = driver.find_element(By.TAG_NAME, "body")
    for key in keys:
        body.send_keys(key)


def wait_file(path: Path, check: Callable[[dict], bool], timeout: float = 10) -> dict:
    """The track JSON once ``check`` holds for it (or as it is after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        data = json.loads(path.read_text())
        if check(data) or time.monotonic() > deadline:
            return data
        time.sleep(0.1)


def label_all(driver, keys_for: Callable[[str], str], timeout: float = 20) -> int:
    """Answer every open track of the loaded page: ``keys_for(track name)`` gives the keys to
    press (e.g. "4" for Wave, "wu1" for Interested + unsure + Handshake). Returns how many."""
    wait_for(driver, "window.labelPage.ready", timeout)
    answered = 0
    while True:
        open_now = page(driver, "labelPage.state.progress.states.open")
        if open_now == 0:
            return answered
        name = page(driver, "labelPage.track.name")
        press(driver, *keys_for(name))
        wait_for(driver, f"labelPage.state.progress.states.open < {open_now}", timeout)
        wait_for(driver, "!labelPage.busy", timeout)
        answered += 1
