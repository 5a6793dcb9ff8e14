"""The operator's view in headless Chromium (Debian chromium + chromedriver, Selenium): intents, a plan, KPI
charts and the audit render from the live API; a screenshot lands in reports/ci/operator_view.png."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from nextric.obs.serve import start_http
from nextric.sdl.embedded import EmbeddedSdl
from rapps.intent_agent.app import create_app
from rapps.intent_agent.settings import Grant, IntentAgentSettings
from tests.rapps.intent_agent.network import network

SHOT = Path(__file__).resolve().parents[3] / "reports" / "ci" / "operator_view.png"
TOKEN = "ui-operator-token"


def _browser_or_skip() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        chrome = None
    if chrome is None or driver is None:
        if os.environ.get("CI"):
            pytest.fail("chromium, chromedriver and selenium are required in CI (make test installs them)")
        pytest.skip("chromium/chromedriver/selenium missing: `make test` installs them (apt chromium chromium-driver)")
    return chrome, driver


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    loop = asyncio.new_event_loop()
    settings = IntentAgentSettings(audit_path=str(tmp_path / "audit.db"),
                                   tokens=[Grant(name="noc", token=SecretStr(TOKEN), roles=["operator"])])
    ctx = network()
    holder: dict[str, Any] = {}

    async def setup() -> str:
        net = await ctx.__aenter__()
        agent = net.agent(settings, EmbeddedSdl())
        holder["agent"] = agent
        await net.feed(agent, 8)  # eight 15 s KPM periods for the charts and the twin
        srv = await start_http(create_app(settings, agent), "127.0.0.1", 0)
        await agent.create({"name": "tight latency", "naturalLanguage": "Keep URLLC p99 latency below 5 ms"}, "noc")
        await agent.create({"name": "energy", "naturalLanguage": "Reduce energy cost by 15 % without violating "
                            "coverage SLAs", "mode": "shadow"}, "noc")
        await agent.create({"name": "hospital", "naturalLanguage": "Keep eMBB packet loss in the hospital zone below "
                            "10 % during evening peaks", "mode": "advisory"}, "noc")
        for _ in range(1200):
            if not agent.tasks:
                break
            await asyncio.sleep(0.05)
        served.srv = srv  # type: ignore[attr-defined]
        return srv.base_url

    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    base = asyncio.run_coroutine_threadsafe(setup(), loop).result(120)
    yield base
    asyncio.run_coroutine_threadsafe(served.srv.stop(), loop).result(10)  # type: ignore[attr-defined]
    asyncio.run_coroutine_threadsafe(ctx.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)
    holder["agent"].audit.close()


def test_operator_view(served: str) -> None:
    chrome, driver = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(driver), options=opts)
    try:
        browser.get(f"{served}/ui/#token={TOKEN}")
        WebDriverWait(browser, 30).until(
            lambda b: b.find_element(By.ID, "status").get_attribute("data-ready") == "1")
        rows = browser.find_elements(By.CSS_SELECTOR, "#intents tbody tr")
        assert len(rows) == 3
        text = browser.find_element(By.ID, "intents").text
        assert "needsClarification" in text
        assert "confirm stricter target" in text
        assert "SUSPENDED" in text  # the shadow-mode plan: planned and logged, never applied
        lines = browser.find_elements(By.CSS_SELECTOR, "#chart-loss polyline")
        assert {x.get_attribute("data-slice") for x in lines} == {"eMBB", "URLLC", "FWA"}
        assert len(browser.find_elements(By.CSS_SELECTOR, "#cells tbody tr")) == 10
        assert "compile" in browser.find_element(By.ID, "audit").text
        pending = browser.find_element(By.ID, "plans")
        assert "hospital zone" in pending.text  # the advisory plan waits for the operator, with its explanation
        assert "eMBB.packet_loss" in pending.find_element(By.CLASS_NAME, "effect").text  # and its predicted effect
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(SHOT))
        assert SHOT.stat().st_size > 20_000
        approve = next(b for b in pending.find_elements(By.TAG_NAME, "button") if b.text.startswith("approve"))
        approve.click()  # the operator approves in the page, accepting its risk: applied, it leaves the queue
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "plans").text == "none")
        applied = httpx.get(f"{served}/rapp/v1/plans", params={"status": "applied"},
                            headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
        assert len(applied) == 1
        assert applied[0]["decided_by"] == "noc"
    finally:
        browser.quit()
