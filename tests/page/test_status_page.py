"""The patient's status page in a real headless Chromium (Debian's `chromium`, driven by
Selenium through Debian's `chromedriver`): no health data without the PIN; in plain words, what
each device is doing, what happened, and what to do; a technician view. Screenshots are saved
in test-artifacts/."""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from edge.demo.broker import LocalMosquitto, free_loopback_port
from tests.conftest import Subscriber
from tests.gateway_process import wait_until

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PIN = "2468"
SCENARIO = """
name = "page"
patient = "patient-0001"
duration_s = 45
[[devices]]
id = "strap-01"
profile = "generic_heart_rate"
[[devices]]
id = "oxi-01"
profile = "generic_pulse_oximeter"
[[episodes]]
kind = "tachycardia"
start_s = 3
duration_s = 30
level = 150
ramp_s = 1
[[faults]]
kind = "disconnect"
device = "oxi-01"
start_s = 2
duration_s = 43
[[faults]]
kind = "malformed"
device = "strap-01"
start_s = 1
duration_s = 5
every = 2
"""

pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="Debian's chromium and chromium-driver are needed")


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=412,915"):  # a phone's screen
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shot(browser: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / f"status-page-{name}.png"))


def text(browser: webdriver.Chrome) -> str:
    """The visible text, once the page has finished loading (a form post redirects)."""
    for _ in range(20):
        try:
            return str(browser.find_element(By.TAG_NAME, "body").text)
        except (StaleElementReferenceException, NoSuchElementException):
            time.sleep(0.1)
    raise AssertionError("the page never settled")


def test_the_page_refuses_without_the_pin_then_tells_the_patient_in_plain_words(
    tmp_path: Path, broker: LocalMosquitto, subscribe: Callable[..., Subscriber],
    browser: webdriver.Chrome,
) -> None:
    port = free_loopback_port()
    config = tmp_path / "gw.toml"
    config.write_text(f"""
[gateway]
id = "gw-page"
data_dir = "data"
[uplink]
port = {broker.port}
plaintext = true
[detect.heart_rate]
min_duration_s = 2
[status_page]
listen = "127.0.0.1:{port}"
silent_after_s = 10
[metrics]
listen = ""
""")
    scenario = tmp_path / "page.toml"
    scenario.write_text(SCENARIO)
    url = f"http://127.0.0.1:{port}"
    set_pin = subprocess.run([sys.executable, "-m", "edge", "set-pin", "--config", str(config)],
                             input=f"{PIN}\n{PIN}\n", capture_output=True, text=True,
                             timeout=60)
    assert set_pin.returncode == 0, set_pin.stderr
    assert (tmp_path / "data" / "page.pin").stat().st_mode & 0o777 == 0o600
    subscriber = subscribe(broker)
    gateway = subprocess.Popen([sys.executable, "-m", "edge", "sim", "--scenario",
                                str(scenario), "--radio", "inprocess", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _answers(url), 30, "the page")
        browser.get(url)
        shot(browser, "1-pin")
        assert "Enter your PIN" in text(browser)
        for private in ("strap", "heart", "oxygen", "clip"):
            assert private not in browser.page_source.lower()
        browser.get(f"{url}/technician")
        assert "Enter your PIN" in text(browser) and "strap-01" not in browser.page_source

        browser.find_element(By.ID, "pin").send_keys("0000")
        browser.find_element(By.TAG_NAME, "button").click()
        showing(browser, "That PIN is not right")
        browser.find_element(By.ID, "pin").send_keys(PIN)
        browser.find_element(By.TAG_NAME, "button").click()
        showing(browser, "Recent news")  # the patient view, after the redirect
        eventually(browser, "Your chest strap is connected. Last reading")

        subscriber.wait_for(lambda s: bool(s.of_schema("edge.event")), 30, "the tachycardia")
        time.sleep(12)  # the finger clip has been off the air longer than silent_after_s
        browser.refresh()
        page = text(browser)
        shot(browser, "2-patient")
        assert "Your heart was beating fast, at" in page
        assert "Your care team has been told." in page
        assert ("Your finger clip has not sent anything for less than a minute: put the clip "
                "back on your finger.") in page
        assert browser.find_element(By.CLASS_NAME, "problem").is_displayed()

        browser.get(f"{url}/technician")
        shot(browser, "3-technician")
        page = text(browser)
        assert "strap-01 chest strap streaming" in page and "oxi-01 finger clip down" in page
        assert "outbox waiting" in page
        assert "device strap-01: bad packet of 1 bytes: Heart Rate Measurement" in page
    finally:
        gateway.terminate()
        gateway.communicate(timeout=30)


def showing(browser: webdriver.Chrome, phrase: str, timeout_s: float = 10) -> None:
    """Wait for the page a click leads to (never reloading: that could post again)."""
    deadline = time.monotonic() + timeout_s
    while phrase not in text(browser):
        assert time.monotonic() < deadline, (phrase, text(browser))
        time.sleep(0.1)


def eventually(browser: webdriver.Chrome, phrase: str, timeout_s: float = 20) -> None:
    """Reload until the page says `phrase` (the gateway's state changes as it runs)."""
    deadline = time.monotonic() + timeout_s
    while phrase not in text(browser):
        assert time.monotonic() < deadline, (phrase, text(browser))
        time.sleep(0.5)
        browser.refresh()


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False
