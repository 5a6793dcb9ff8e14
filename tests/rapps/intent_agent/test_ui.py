"""The operator's view in headless Chromium (Debian chromium + chromedriver, Selenium) on a real testbed-backed
network (twin over gRPC): an intent typed into the page's form becomes a plan card, is approved from the keyboard,
is applied, and reports per KPM period. Checked against the API: the city map (every cell, the link the transport
steering reports down, legends, the plan's area highlighted), the charts (legends in the palette's colours, axis
labels with units, simulated time and the city clock, SLA lines, the moment a plan was applied), the plan card, the
intent report timeline and the audit. axe-core (pinned, integrity-checked, fetched from the npm registry into a
cache) runs inside the page and fails the test on serious or critical violations. Screenshots land in reports/ci/
(operator_view.png, operator_map.png, operator_plan_card.png, operator_charts.png, operator_applied.png,
operator_timeline.png)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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

TMF = "/tmf-api/intentManagement/v5"
CI_DIR = Path(__file__).resolve().parents[3] / "reports" / "ci"
SHOT = CI_DIR / "operator_view.png"
UI_DIR = Path(__file__).resolve().parents[3] / "rapps" / "intent_agent" / "ui"
TOKEN = "ui-operator-token"
HOSPITAL = "Keep eMBB packet loss in the hospital zone below 10 % during evening peaks"
DOWN_LINK = "NE-SE"  #: the link the transport steering reports down (not on the hospital's route to the hub)
#: axe-core, pinned: version and the registry's sha512 integrity of its tarball (checked on every use)
AXE_VERSION = "4.10.3"
AXE_INTEGRITY = "sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
AXE_REGISTRY = "https://registry.npmjs.org/axe-core"
AXE_CACHE = Path(os.environ.get("NEXTRIC_AXE_CACHE", Path(tempfile.gettempdir()) / "nextric-axe-core"))


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


def _sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def axe_source() -> str:
    """``axe.min.js`` of the pinned axe-core: from the cache when its tarball still has the pinned integrity, else
    fetched from the npm registry (metadata, then the tarball), both checked against :data:`AXE_INTEGRITY`. No
    registry and no cache: the test fails (an accessibility check that silently skips checks nothing)."""
    tgz = AXE_CACHE / f"axe-core-{AXE_VERSION}.tgz"
    data = tgz.read_bytes() if tgz.exists() else b""
    if _sri(data) != AXE_INTEGRITY:
        try:
            meta = httpx.get(f"{AXE_REGISTRY}/{AXE_VERSION}", timeout=30).raise_for_status().json()
            dist = meta["dist"]
            if dist["integrity"] != AXE_INTEGRITY:
                pytest.fail(f"the registry's integrity of axe-core {AXE_VERSION} ({dist['integrity']}) is not the "
                            f"pinned one: refusing to run it")
            data = httpx.get(dist["tarball"], timeout=60, follow_redirects=True).raise_for_status().content
        except httpx.HTTPError as exc:
            pytest.fail(f"axe-core {AXE_VERSION} could not be fetched from the npm registry ({exc}); the "
                        f"accessibility check needs it (or a cached tarball in {AXE_CACHE}, NEXTRIC_AXE_CACHE)")
        if _sri(data) != AXE_INTEGRITY:
            pytest.fail(f"axe-core {AXE_VERSION}'s tarball does not match its integrity {AXE_INTEGRITY}")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        tmp = tgz.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(tgz)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        f = tar.extractfile("package/axe.min.js")
        assert f is not None
        return f.read().decode("utf-8")


def run_axe(browser: Any, axe: str, label: str) -> list[dict[str, Any]]:
    """axe-core's rules over the whole page as it stands (every <details> opened first, so collapsed content is
    checked too); prints every violation, returns those of impact serious or critical."""
    browser.execute_script("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    if not browser.execute_script("return !!window.axe"):
        browser.execute_script(axe)
    browser.set_script_timeout(120)
    res = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document).then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 8)})))).catch(e => done({error: String(e)}));")
    assert not isinstance(res, dict), res
    for v in res:
        print(f"axe [{label}] {v['impact']}: {v['id']} ({v['help']}) at {v['nodes']}")
    print(f"axe [{label}]: {len(res)} violation(s), "
          f"{sum(v['impact'] in ('serious', 'critical') for v in res)} serious or critical")
    return [v for v in res if v["impact"] in ("serious", "critical")]


@dataclass
class Served:
    base: str
    feed: Callable[[int], None]  #: more KPM periods into the agent (blocking)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    loop = asyncio.new_event_loop()
    settings = IntentAgentSettings(audit_path=str(tmp_path / "audit.db"),
                                   tokens=[Grant(name="noc", token=SecretStr(TOKEN), roles=["operator"])])
    ctx = network()
    holder: dict[str, Any] = {}

    async def setup() -> str:
        net = await ctx.__aenter__()
        sdl = EmbeddedSdl()
        topo = net.topology
        keys = topo.slice_keys  # what the transport steering publishes: one link down, the others loaded
        load = (0.3, 0.65, 0.9, 0.2)  # utilisation of the links in turn: below 50 %, 50-80 %, 80 % or more
        await sdl.set("xapp.transport_steering", {"links": json.dumps({"simTimeMs": 0, "keys": keys, "links": {
            ln.link_id: {"up": ln.link_id != DOWN_LINK, "capacityMbps": ln.capacity_mbps,
                         "offeredMbps": [ln.capacity_mbps * load[i % len(load)] / len(keys)] * len(keys),
                         "share": [1 / len(keys)] * len(keys)} for i, ln in enumerate(topo.links)}}).encode()})
        agent = net.agent(settings, sdl)
        holder["agent"], holder["net"] = agent, net
        await net.feed(agent, 8)  # eight 15 s KPM periods for the charts and the twin
        srv = await start_http(create_app(settings, agent), "127.0.0.1", 0)
        await agent.create({"name": "tight latency", "naturalLanguage": "Keep URLLC p99 latency below 5 ms"}, "noc")
        await agent.create({"name": "energy", "naturalLanguage": "Reduce energy cost by 15 % without violating "
                            "coverage SLAs", "mode": "shadow"}, "noc")
        for _ in range(1200):
            if not agent.tasks:
                break
            await asyncio.sleep(0.05)
        served.srv = srv  # type: ignore[attr-defined]
        return srv.base_url

    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    base = asyncio.run_coroutine_threadsafe(setup(), loop).result(120)

    def feed(n: int) -> None:
        asyncio.run_coroutine_threadsafe(holder["net"].feed(holder["agent"], n), loop).result(60)

    yield Served(base, feed)
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


def _map_matches_api(browser: Any, m: dict[str, Any], by: Any) -> None:
    """The map shows the API's city: every cell (with the value of the chosen KPI), the links down, the legends."""
    cells = browser.find_elements(by.CSS_SELECTOR, "#map g.map-cell")
    assert len(cells) == len(m["cells"]) == 10
    kpi = browser.find_element(by.ID, "map-kpi").get_attribute("value")
    shown = {int(c.get_attribute("data-cell-id") or 0): c.get_attribute("data-value") for c in cells}
    for c in m["cells"]:
        v = c["values"][kpi]
        assert (shown[c["cellId"]] == "") if v is None else float(shown[c["cellId"]] or "nan") == pytest.approx(v)
    down = {x.get_attribute("data-link-id") for x in browser.find_elements(by.CSS_SELECTOR,
                                                                          "#map line.map-link[data-state='down']")}
    assert down == {ln["linkId"] for ln in m["links"] if ln["state"] == "down"} == {DOWN_LINK}
    line = browser.find_element(by.CSS_SELECTOR, f"#map line.map-link[data-link-id='{DOWN_LINK}']")
    assert line.get_attribute("stroke-dasharray")  # dashed, and red
    assert line.get_attribute("stroke").lower() == "#b3261e"
    links = browser.find_elements(by.CSS_SELECTOR, "#map line.map-link")
    assert len(links) == len(m["links"])
    api_util = {ln["linkId"]: ln["utilisation"] for ln in m["links"]}
    for x in links:  # coloured by utilisation class, as the legend says
        u = api_util[x.get_attribute("data-link-id") or ""]
        if x.get_attribute("data-state") == "up":
            assert float(x.get_attribute("data-utilisation") or "nan") == pytest.approx(u)
            assert x.get_attribute("stroke") == ("#5b6b82" if u < 0.5 else "#E69F00" if u < 0.8 else "#882255")
    assert len(browser.find_elements(by.CSS_SELECTOR, "#map g.map-zone")) == len(m["zones"])
    assert {z.get_attribute("data-kind") for z in browser.find_elements(by.CSS_SELECTOR, "#map g.map-zone")} == {
        "hospital", "fwa", "corridor"}
    legend = browser.find_element(by.ID, "map-legend")
    assert legend.find_element(by.CLASS_NAME, "ramp").is_displayed()
    label = next(k for k in m["kpis"] if k["id"] == kpi)["label"]
    assert label in legend.text
    assert browser.find_elements(by.CSS_SELECTOR, "#map-legend-links li[data-kind='link-down']")
    assert "hospital zone" in browser.find_element(by.ID, "map-legend-links").text
    svg = browser.find_element(by.ID, "map")
    assert svg.get_attribute("role") == "img"
    desc = browser.find_element(by.ID, "map-desc").get_attribute("textContent") or ""
    assert f"Links down: {DOWN_LINK}" in desc
    assert "10 cells" in (browser.find_element(by.ID, "map-title").get_attribute("textContent") or "")


def test_operator_view(served: Served) -> None:
    chrome, driver = _browser_or_skip()
    axe = axe_source()  # before the browser: no registry, no test
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait

    base = served.base
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        opts.add_argument(a)
    browser = webdriver.Chrome(service=Service(driver), options=opts)
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def get(path: str, **params: Any) -> Any:
        return httpx.get(f"{base}{path}", params=params, headers=auth, timeout=10).json()

    try:
        browser.get(f"{base}/ui/#token={TOKEN}")
        WebDriverWait(browser, 30).until(
            lambda b: b.find_element(By.ID, "status").get_attribute("data-ready") == "1")
        # the operator types an intent into the form; the agent plans it and a card appears
        nl = browser.find_element(By.ID, "nl")
        nl.send_keys(HOSPITAL)
        Select(browser.find_element(By.ID, "mode")).select_by_visible_text("advisory")
        nl.send_keys(Keys.ENTER)
        WebDriverWait(browser, 120).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#plans .plan-card"))
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#intents tbody tr")) == 3)
        text = browser.find_element(By.ID, "intents").text
        assert "needsClarification" in text
        assert "confirm stricter target" in text
        assert "SUSPENDED" in text  # the shadow-mode plan: planned and logged, never applied
        # the city map against the API
        m = get("/rapp/v1/map")
        _map_matches_api(browser, m, By)
        kpi = Select(browser.find_element(By.ID, "map-kpi"))
        assert [o.get_attribute("value") for o in kpi.options] == [k["id"] for k in m["kpis"]]
        # charts that say what they show: one line and one legend entry per slice, in the palette's colours
        kpis = get("/rapp/v1/kpis")
        assert len(kpis["received_unix_s"]) == len(kpis["t_s"])
        assert kpis["received_unix_s"] == sorted(kpis["received_unix_s"])
        assert abs(kpis["received_unix_s"][-1] - time.time()) < 600
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
            assert browser.find_element(By.CSS_SELECTOR, f"#chart-{chart} .x-label").text == (
                "simulated time (s) · city clock (hh:mm)")
            clock = [x.text for x in browser.find_elements(By.CSS_SELECTOR, f"#chart-{chart} .tick.clock")]
            assert clock
            assert all(len(c) == 5 and c[2] == ":" for c in clock)
            periods = browser.find_elements(By.CSS_SELECTOR, f"#chart-{chart} rect.period")
            assert len(periods) == len(kpis["t_s"])
            tip = periods[-1].find_element(By.TAG_NAME, "title").get_attribute("textContent") or ""
            assert f"t = {kpis['t_s'][-1]:g} s simulated" in tip
            assert "city clock" in tip
            assert "wall clock (received by the rApp)" in tip  # every period has its arrival time
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
        full = {r["why"] for r in get("/rapp/v1/audit", limit=200)["items"]}
        for s in audit.find_elements(By.CSS_SELECTOR, "span.summary"):
            t = s.text
            assert t in full or (t.endswith(" …") and any(w.startswith(t[:-2].rstrip(".;")) for w in full)), t
        assert audit.find_elements(By.CSS_SELECTOR, "details.record summary")
        # plans as decisions: the advisory plan's card against the API's JSON
        pending = browser.find_element(By.ID, "plans")
        waiting = get("/rapp/v1/plans", status="awaiting_approval")
        assert len(waiting) == 1
        plan = waiting[0]
        card = pending.find_element(By.CSS_SELECTOR, f".plan-card[data-plan-id='{plan['id']}']")
        assert "hospital zone" in card.text  # the area of the intent
        assert card.find_element(By.CSS_SELECTOR, "tr.target").get_attribute("data-target") == "eMBB.packet_loss"
        _plan_card_matches_api(card, plan, By)
        # its area on the map, from the card's button (keyboard): the plan's cells ringed, the others faded
        card.find_element(By.CSS_SELECTOR, "button.show-area").send_keys(Keys.ENTER)
        assert browser.find_element(By.ID, "map-area").get_attribute("value") == f"plan:{plan['id']}"
        ringed = {int(c.get_attribute("data-cell-id") or 0)
                  for c in browser.find_elements(By.CSS_SELECTOR, "#map g.map-cell.in-area")}
        assert ringed == set(plan["card"]["area"]["cells"]) == {6, 9}
        assert len(browser.find_elements(By.CSS_SELECTOR, "#map g.map-cell.out-area")) == 8
        # the cells coloured by URLLC p99 instead, chosen with the keyboard: legend in ms with the SLA marked
        kpi = Select(browser.find_element(By.ID, "map-kpi"))
        kpi.select_by_value("p99.URLLC")
        legend = browser.find_element(By.ID, "map-legend")
        assert "URLLC p99 latency (ms)" in legend.text
        assert "SLA ceiling 20 ms" in legend.text
        assert legend.find_elements(By.CSS_SELECTOR, ".sla-mark")
        _map_matches_api(browser, get("/rapp/v1/map"), By)
        # every form field has a label; every control is a button
        unlabelled = browser.execute_script(
            "return [...document.querySelectorAll('input, select')].filter(e => !e.labels || !e.labels.length)"
            ".map(e => e.id)")
        assert unlabelled == []
        assert not browser.find_elements(By.CSS_SELECTOR, "[onclick]:not(button)")
        CI_DIR.mkdir(parents=True, exist_ok=True)
        browser.execute_script("window.scrollTo(0, 0)")
        assert browser.save_screenshot(str(SHOT))
        assert SHOT.stat().st_size > 20_000
        browser.find_element(By.CSS_SELECTOR, "section[aria-labelledby='h-map']").screenshot(
            str(CI_DIR / "operator_map.png"))
        assert card.screenshot(str(CI_DIR / "operator_plan_card.png"))
        browser.find_element(By.CLASS_NAME, "charts").screenshot(str(CI_DIR / "operator_charts.png"))
        # accessibility: axe-core over the whole page, every <details> open
        bad = run_axe(browser, axe, "plan awaiting approval")
        assert bad == [], bad
        approve = card.find_element(By.CSS_SELECTOR, "button.approve")
        assert approve.text.startswith("approve")
        assert plan["risk"] in approve.text
        if any(w["kind"] == "contradiction" for w in plan["card"]["warnings"]):
            assert "despite" in approve.text
        approve.send_keys(Keys.ENTER)  # from the keyboard: applied, it leaves the queue
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "plans").text == "none")
        applied = get("/rapp/v1/plans", status="applied")
        assert len(applied) == 1
        assert applied[0]["decided_by"] == "noc"
        # the moment it was applied, marked on the charts (simulated time)
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#chart-loss line.applied"))
        mark = browser.find_element(By.CSS_SELECTOR, "#chart-loss line.applied")
        assert mark.get_attribute("data-plan") == applied[0]["id"]
        browser.save_screenshot(str(CI_DIR / "operator_applied.png"))
        # three more KPM periods: the intent reports on each; the timeline shows target and achieved per period
        served.feed(3)
        intent = applied[0]["intent_id"]
        reps = [r for r in get(f"{TMF}/intent/{intent}/intentReport") if r["simTimeS"] is not None]
        assert len(reps) == 3
        sel = f"table.timeline[data-intent-id='{intent}'] td.period"
        WebDriverWait(browser, 30).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, sel)) >= 3)
        tl = browser.find_element(By.CSS_SELECTOR, f"table.timeline[data-intent-id='{intent}']")
        assert "eMBB.packetLossRate < 10.0 %" in tl.text
        by_t = {r["simTimeS"]: {t["target"]: t for t in r["achievedValues"]} for r in reps}
        for td in tl.find_elements(By.CSS_SELECTOR, "td.period"):
            t = by_t[float(td.get_attribute("data-sim") or "nan")][td.get_attribute("data-target") or ""]
            assert td.get_attribute("data-met") == json.dumps(t["met"])
            assert td.text.startswith({True: "✓", False: "✗", None: "–"}[t["met"]])
            if t["achieved"] is not None:
                assert float(td.get_attribute("data-achieved") or "nan") == pytest.approx(t["achieved"])
        states = [td.get_attribute("data-state") for td in tl.find_elements(By.CSS_SELECTOR, "td.status")]
        assert states == [r["notFulfilledState"] or r["fulfilmentStatus"] for r in reversed(reps)]
        heads = [h.text for h in tl.find_elements(By.CSS_SELECTOR, "thead th")][1:]
        assert [h.split(" s ")[0] for h in heads] == [f"{r['simTimeS']:g}" for r in reversed(reps)]
        tl.screenshot(str(CI_DIR / "operator_timeline.png"))
        bad = run_axe(browser, axe, "plan applied, reports in")
        assert bad == [], bad
    finally:
        browser.quit()


def test_page_works_offline() -> None:
    """No CDN: the page names no other origin (the SVG namespace is an identifier, never fetched)."""
    for f in UI_DIR.iterdir():
        text = f.read_text(encoding="utf-8")
        for url in ("http://", "https://"):
            assert all(m.startswith("http://www.w3.org/2000/svg") for m in
                       (text[i:i + 40] for i in range(len(text)) if text.startswith(url, i))), f
