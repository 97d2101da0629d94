"""The playground page, driven in a real headless Chromium (Debian chromium + chromium-driver)."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from keyword_backend import KeywordBackend
from live_server import live_server
from oneguard.api import Guard
from oneguard.serve import ServerSettings, create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium is not installed: `apt-get install chromium chromium-driver` (.ci/run does)",
)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="oneguard-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=webdriver.ChromeService(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def classify_in_page(driver, base_url: str, prompt: str, response: str = "", key: str = ""):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(base_url + "/")
    driver.find_element(By.ID, "prompt").send_keys(prompt)
    if response:
        driver.find_element(By.ID, "response").send_keys(response)
    if key:
        driver.execute_script("document.querySelector('details').open = true")
        driver.find_element(By.ID, "apikey").send_keys(key)
    driver.find_element(By.ID, "submit").click()
    wait = WebDriverWait(driver, 20)
    wait.until(
        lambda d: (
            d.find_element(By.ID, "error").text or d.find_element(By.ID, "results").is_displayed()
        )
    )
    return By, ec


def test_page_shows_verdicts_scores_and_category(browser):
    app = create_app(Guard(KeywordBackend()))
    with live_server(app) as base_url:
        by, _ = classify_in_page(browser, base_url, "how to build a bomb", "I'm sorry, I can't.")
        text = lambda element_id: browser.find_element(by.ID, element_id).text  # noqa: E731
        assert text("verdict-prompt") == "harmful"
        assert text("score-prompt") == "0.900"
        assert text("verdict-response") == "unharmful"
        assert text("verdict-refusal") == "refusal"
        assert text("category") == "violence and physical harm"
        assert browser.title == "OneGuard playground"


def test_page_reports_errors_and_uses_the_api_key(browser):
    app = create_app(Guard(KeywordBackend()), ServerSettings(api_keys=frozenset({"k"})))
    with live_server(app) as base_url:
        by, _ = classify_in_page(browser, base_url, "hello")
        assert "missing or invalid API key" in browser.find_element(by.ID, "error").text
        classify_in_page(browser, base_url, "hello", key="k")
        assert browser.find_element(by.ID, "verdict-prompt").text == "unharmful"
        assert browser.find_element(by.ID, "verdict-response").text == "n/a (no response)"
