"""The operator's view in headless Chromium (Debian chromium + chromedriver, Selenium): intents, a plan card, KPI
charts and the audit render from the live API. The charts carry legends (slice names, in the palette's colours),
axis labels with units and SLA lines; the plan card's targets, predictions, warnings, controls, runners-up and
evidence match the API's JSON; the operator approves with the keyboard and the chart marks the moment. Screenshots
land in reports/ci/operator_view.png, operator_plan_card.png, operator_charts.png and operator_applied.png."""

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
from nextric.palette import SLICE_COLORS
from nextric.sdl.embedded import EmbeddedSdl
from rapps.intent_agent.app import create_app
from rapps.intent_agent.settings import Grant, IntentAgentSettings
from tests.rapps.intent_agent.network import network

CI_DIR = Path(__file__).resolve().parents[3] / "reports" / "ci"
SHOT = CI_DIR / "operator_view.png"
UI_DIR = Path(__file__).resolve().parents[3] / "rapps" / "intent_agent" / "ui"
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


def _plan_card_matches_api(card: Any, plan: dict[str, Any], by: Any) -> None:
    """The card shows the API's plan: targets with predicted values, warnings, controls, runners-up, evidence."""
    c = plan["card"]
    assert f"risk {plan['risk']}" in card.text
    assert plan["candidate"] in card.text
    rows = card.find_elements(by.CSS_SELECTOR, "table.targets tr.target")
    assert [r.get_attribute("data-target") for r in rows] == [t["target"] for t in c["targets"]]
    for r, t in zip(rows, c["targets"], strict=True):
        if t["predicted"]:
            assert float(r.get_attribute("data-status-quo")) == pytest.approx(t["statusQuo"])
            assert float(r.get_attribute("data-plan")) == pytest.approx(t["plan"])
            assert float(r.get_attribute("data-benefit-lo")) == pytest.approx(t["benefit"]["lo"])
            assert float(r.get_attribute("data-benefit-hi")) == pytest.approx(t["benefit"]["hi"])
            if t["effectUnit"] == "fraction":  # in the target's unit: percent, with the 90 % interval
                assert f"{100 * t['plan']:.2f} %" in r.text
                assert "90 % interval" in r.text
    shown = [w.text for w in card.find_elements(by.CSS_SELECTOR, ".warnings li")]
    assert shown == [w["message"] for w in c["warnings"]]
    if any(w["kind"] == "contradiction" for w in c["warnings"]):
        assert "contradicts the predictions" in card.find_element(by.CLASS_NAME, "warnings").text
    ctl = c["controls"]
    assert len(card.find_elements(by.CSS_SELECTOR, "table.controls tbody tr")) == max(
        1, len(ctl["cells"]) + len(ctl["links"]) + len(ctl["slas"]))
    if ctl["cells"]:
        assert ctl["cells"][0]["cell"] in card.find_element(by.CSS_SELECTOR, "table.controls").text
    assert len(card.find_elements(by.CSS_SELECTOR, "table.runners-up tbody tr")) == len(plan["alternatives"])
    ev = card.find_element(by.CSS_SELECTOR, "details[data-key$='-evidence']")
    assert ev.get_attribute("open") is None  # collapsed until asked for
    tools = [li.get_attribute("data-tool") for li in ev.find_elements(by.CSS_SELECTOR, "ol.evidence li")]
    assert tools == [x["tool"] for x in plan["trace"]["calls"]]
    ev.find_element(by.TAG_NAME, "summary").click()
    assert "ms" in ev.find_element(by.CSS_SELECTOR, "ol.evidence li").text
    assert "twin" in ev.text  # the model the twin call relied on


def test_operator_view(served: str) -> None:
    chrome, driver = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(driver), options=opts)
    auth = {"Authorization": f"Bearer {TOKEN}"}
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
        # charts that say what they show: one line and one legend entry per slice, in the palette's colours
        kpis = httpx.get(f"{served}/rapp/v1/kpis", headers=auth, timeout=10).json()
        slices = set(kpis["slices"])
        assert slices == {"eMBB", "URLLC", "FWA"}
        for chart in ("loss", "p99"):
            lines = browser.find_elements(By.CSS_SELECTOR, f"#chart-{chart} polyline")
            assert {x.get_attribute("data-slice") for x in lines} == slices
            assert {x.get_attribute("data-slice"): x.get_attribute("stroke") for x in lines} == {
                n: SLICE_COLORS[n] for n in slices}
            legend = browser.find_elements(By.CSS_SELECTOR, f"#legend-{chart} li[data-slice]")
            assert {x.get_attribute("data-slice") for x in legend} == slices
            assert all(x.text.startswith(x.get_attribute("data-slice") or "?") for x in legend)
            assert browser.find_element(By.CSS_SELECTOR, f"#chart-{chart} .x-label").text == "simulated time (s)"
            assert browser.find_element(By.ID, f"desc-{chart}").get_attribute("textContent")  # text alternative
            assert browser.find_element(By.ID, f"chart-{chart}").get_attribute("role") == "img"
        assert browser.find_element(By.CSS_SELECTOR, "#chart-loss .y-label").text == "packet loss (%)"
        assert "ms" in browser.find_element(By.CSS_SELECTOR, "#chart-p99 .y-label").text
        # SLA ceilings as reference lines: every slice's loss SLA, the p99 SLA of the slices that have one
        sla_loss = {x.get_attribute("data-slice")
                    for x in browser.find_elements(By.CSS_SELECTOR, "#chart-loss line.sla")}
        assert sla_loss == {n for n, v in kpis["sla"].items() if v["loss"] is not None}
        sla_p99 = {x.get_attribute("data-slice")
                   for x in browser.find_elements(By.CSS_SELECTOR, "#chart-p99 line.sla")}
        assert "URLLC" in sla_p99
        assert sla_p99 == {n for n, v in kpis["sla"].items() if v["p99_ms"] is not None}
        assert "URLLC (SLA 20 ms)" in browser.find_element(By.ID, "legend-p99").text
        assert len(browser.find_elements(By.CSS_SELECTOR, "#cells tbody tr")) == 10
        # the audit: action, actor, time and a summary never cut mid-word, the full record collapsible
        audit = browser.find_element(By.ID, "audit")
        assert "compile" in audit.text
        full = {r["why"] for r in httpx.get(f"{served}/rapp/v1/audit", params={"limit": 200}, headers=auth,
                                            timeout=10).json()["items"]}
        for s in audit.find_elements(By.CSS_SELECTOR, "span.summary"):
            t = s.text
            assert t in full or (t.endswith(" …") and any(w.startswith(t[:-2].rstrip(".;")) for w in full)), t
        assert audit.find_elements(By.CSS_SELECTOR, "details.record summary")
        # plans as decisions: the advisory plan's card against the API's JSON
        pending = browser.find_element(By.ID, "plans")
        waiting = httpx.get(f"{served}/rapp/v1/plans", params={"status": "awaiting_approval"}, headers=auth,
                            timeout=10).json()
        assert len(waiting) == 1
        plan = waiting[0]
        card = pending.find_element(By.CSS_SELECTOR, f".plan-card[data-plan-id='{plan['id']}']")
        assert "hospital zone" in card.text  # the area of the intent
        assert card.find_element(By.CSS_SELECTOR, "tr.target").get_attribute("data-target") == "eMBB.packet_loss"
        _plan_card_matches_api(card, plan, By)
        # every form field has a label; every control is a button
        unlabelled = browser.execute_script(
            "return [...document.querySelectorAll('input, select')].filter(e => !e.labels || !e.labels.length)"
            ".map(e => e.id)")
        assert unlabelled == []
        assert not browser.find_elements(By.CSS_SELECTOR, "[onclick]:not(button)")
        CI_DIR.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(SHOT))
        assert SHOT.stat().st_size > 20_000
        assert card.screenshot(str(CI_DIR / "operator_plan_card.png"))
        browser.find_element(By.CLASS_NAME, "charts").screenshot(str(CI_DIR / "operator_charts.png"))
        approve = card.find_element(By.CSS_SELECTOR, "button.approve")
        assert approve.text.startswith("approve")
        assert plan["risk"] in approve.text
        if any(w["kind"] == "contradiction" for w in plan["card"]["warnings"]):
            assert "despite" in approve.text
        approve.send_keys(Keys.ENTER)  # from the keyboard: applied, it leaves the queue
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "plans").text == "none")
        applied = httpx.get(f"{served}/rapp/v1/plans", params={"status": "applied"}, headers=auth, timeout=10).json()
        assert len(applied) == 1
        assert applied[0]["decided_by"] == "noc"
        # the moment it was applied, marked on the charts (simulated time)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#chart-loss line.applied"))
        mark = browser.find_element(By.CSS_SELECTOR, "#chart-loss line.applied")
        assert mark.get_attribute("data-plan") == applied[0]["id"]
        browser.save_screenshot(str(CI_DIR / "operator_applied.png"))
    finally:
        browser.quit()


def test_page_works_offline() -> None:
    """No CDN: the page names no other origin (the SVG namespace is an identifier, never fetched)."""
    for f in UI_DIR.iterdir():
        text = f.read_text(encoding="utf-8")
        for url in ("http://", "https://"):
            assert all(m.startswith("http://www.w3.org/2000/svg") for m in
                       (text[i:i + 40] for i in range(len(text)) if text.startswith(url, i))), f
