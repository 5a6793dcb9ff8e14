// Operator view of the intent agent: intents, plans as decisions, KPI charts, audit (plain DOM, no build, no CDN).
"use strict";
const TMF = "/tmf-api/intentManagement/v5";
const NS = "http://www.w3.org/2000/svg";
// the slice palette is nextric/palette.py, served as /ui/palette.json: the same colours as the demo's report
let PALETTE = { slices: {}, fallback: ["#E69F00", "#56B4E9", "#882255", "#999933", "#666666"], slaDash: "6 4",
  applied: "#444444" };
const tokenInput = document.getElementById("token");
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
tokenInput.value = fromHash || sessionStorage.getItem("nextric-token") || "";
tokenInput.addEventListener("change", () => { sessionStorage.setItem("nextric-token", tokenInput.value); refresh(); });
const seen = {};  // last JSON rendered per section: unchanged data is not re-rendered (focus and open <details> stay)
let CLOCK_START = null;  // the city's time of day at simulated t = 0 ("HH:MM", from /rapp/v1/map)
const WALL = {};  // simulated t (s) -> { at: Date, how }: the wall-clock moment a KPM period was reported
let kpiFetches = 0;

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { "Authorization": "Bearer " + tokenInput.value,
    "Content-Type": "application/json", ...(opts.headers || {}) } });
  if (!r.ok) { const p = await r.json().catch(() => ({})); throw new Error(p.detail || r.statusText); }
  return r.status === 204 ? null : r.json();
}
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined && text !== null)
  e.textContent = text; if (cls) e.className = cls; return e; }
function svgEl(tag, attrs, text) { const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v); if (text !== undefined) e.textContent = text;
  return e; }
function row(cells, tag = "td") { const tr = el("tr"); for (const c of cells) { const td = el(tag);
  if (c instanceof Node) td.appendChild(c); else td.textContent = c; tr.appendChild(td); } return tr; }
function table(caption, head, rows, cls) { const t = el("table", undefined, cls); t.appendChild(el("caption", caption));
  const th = el("thead"); const tr = row(head, "th"); for (const c of tr.children) c.setAttribute("scope", "col");
  th.appendChild(tr); t.appendChild(th); const tb = el("tbody"); for (const r of rows) tb.appendChild(r);
  t.appendChild(tb); return t; }
function details(summary, body, key, cls) { const d = el("details", undefined, cls); if (key) d.dataset.key = key;
  d.appendChild(el("summary", summary)); if (body) d.appendChild(body); return d; }
// re-render a container only when its data changed, keeping open <details> open
function render(id, data, draw) { const key = JSON.stringify(data); if (seen[id] === key) return; seen[id] = key;
  const box = document.getElementById(id);
  const open = new Set([...box.querySelectorAll("details[open]")].map(d => d.dataset.key).filter(Boolean));
  draw(box);
  for (const d of box.querySelectorAll("details")) if (open.has(d.dataset.key)) d.open = true; }
// a short summary never cut mid-word: the first sentence, else the words that fit, with an ellipsis
function shorten(text, n = 140) { const s = String(text || "").replace(/\s+/g, " ").trim();
  const first = s.match(/^.+?[.;](\s|$)/); const base = first && first[0].length <= n ? first[0].trim() : s;
  if (base.length <= n) return base === s ? s : base + " …";
  const cut = base.slice(0, n + 1); const sp = cut.lastIndexOf(" ");
  return (sp > n / 2 ? cut.slice(0, sp) : cut.slice(0, n)).replace(/[,;:]$/, "") + " …"; }
function colorsFor(names) { const out = {}; let i = 0;
  for (const n of names) out[n] = PALETTE.slices[n] || PALETTE.fallback[i++ % PALETTE.fallback.length]; return out; }
// a value in a target's unit: fractions as percent, the rest as numbers with their unit
function fmt(v, unit, digits = 2) { if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (unit === "fraction") return `${(100 * v).toFixed(digits)} %`;
  if (unit && unit.startsWith("ratio")) return `${Number(v).toFixed(3)}× what runs now`;
  return `${Number(v).toPrecision(3)}${unit ? " " + unit : ""}`; }
function signed(v, unit) { const s = fmt(Math.abs(v), unit === "fraction" ? "fraction" : unit);
  return (v > 0 ? "+" : v < 0 ? "−" : "±") + s; }
// a slice's name with its palette colour as a swatch (the colour never carries the meaning alone)
function sliceTag(name, withName = true) { const s = el("span", undefined, "slice-tag"); if (!name) return s;
  const sw = el("span", undefined, "swatch dot"); sw.style.background = colorsFor([name])[name];
  sw.setAttribute("aria-hidden", "true"); s.append(sw, withName ? name : ""); return s; }
// a report's fulfilment as a class: met (FULFILLED), holding (COMPLIANT: holds, too few periods yet), missed, other
function fulfilClass(r) { return r.fulfilmentStatus === "FULFILLED" ? "met" : r.notFulfilledState === "COMPLIANT" ?
  "holding" : ["DEGRADED", "FULFILMENTFAILED"].includes(r.notFulfilledState) ? "missed" : "nodata"; }
// the city's clock at simulated t (the agent's time_of_day: clock start + whole minutes)
function clockOf(t) { if (!CLOCK_START || t == null) return "";
  const [h, m] = CLOCK_START.split(":").map(Number); const min = ((h * 60 + m + Math.floor(t / 60)) % 1440 + 1440) % 1440;
  return `${String(Math.floor(min / 60)).padStart(2, "0")}:${String(min % 60).padStart(2, "0")}`; }
function wallOf(t) { const w = WALL[t]; return w ? `${w.at.toLocaleTimeString()} wall clock (${w.how})` :
  "wall clock not known (reported before this page opened)"; }
// a report target's unit from its name (reports/fulfilment.py target_name)
function targetUnit(name) { return /Rate$/.test(name) ? "fraction" : /Ms$/.test(name) ? "ms" :
  /Mbps$/.test(name) ? "Mbit/s" : /Ratio$/.test(name) ? "ratio" : ""; }
function fmtTarget(v, unit) { if (v === null || v === undefined) return "–";
  return unit === "fraction" ? `${(100 * v).toPrecision(3)} %` : unit === "ratio" ? `${Number(v).toFixed(3)}×` :
    `${Number(v).toPrecision(3)}${unit ? " " + unit : ""}`; }
const COND = { IS_LESS_THAN: "<", IS_GREATER_THAN: ">", IS_EQUAL_TO: "=", IS_WITHIN_RANGE: "within" };
const pct = v => `${(100 * v).toFixed(0)} %`;

// ------------------------------------------------------------------------------------------------ intents
async function intents() {
  const list = await api(TMF + "/intent");
  const reps = {};
  for (const it of list) reps[it.id] = await api(`${TMF}/intent/${it.id}/intentReport`);
  render("intents", [list, reps], () => {
    const body = document.querySelector("#intents tbody"); body.replaceChildren();
    for (const it of list) {
      const last = reps[it.id][0] || {};
      const f = it.fulfilmentInfo || {};
      const state = f.fulfilmentStatus === "FULFILLED" ? "FULFILLED" : (f.notFulfilledState || "");
      const targets = (last.achievedValues || []).map(t => `${t.target} ${t.condition} ${t.value}` +
        (t.achieved == null ? "" : ` (${Number(t.achieved).toPrecision(3)})`)).join("; ");
      const why = it.compilation && it.compilation.kind === "clarification" ? it.compilation.question : (last.why || "");
      body.appendChild(row([it.name, it.lifecycleStatus, el("span", state, state), targets, readAs(it, why)]));
    }
  });
  for (const rs of Object.values(reps)) for (const r of rs)  // the rApp's report of a period: its wall-clock time
    if (r.simTimeS != null && r.creationDate && !WALL[r.simTimeS])
      WALL[r.simTimeS] = { at: new Date(r.creationDate), how: "intent report" };
  render("timeline", [list.map(i => [i.id, i.name]), reps, CLOCK_START], box => timeline(box, list, reps));
  return list;
}
// per intent: a table with one row per target and one column per KPM period (the last 12), achieved vs target
function timeline(box, list, reps) {
  box.replaceChildren(); let any = false;
  for (const it of list) {
    const periods = (reps[it.id] || []).filter(r => r.simTimeS != null).slice(0, 12).reverse();
    if (!periods.length) continue; any = true;
    const names = [...new Set(periods.flatMap(r => (r.achievedValues || []).map(t => t.target)))];
    const head = ["target", ...periods.map(r => `${r.simTimeS} s (${clockOf(r.simTimeS)})`)];
    const rows = names.map(n => { const unit = targetUnit(n);
      const first = periods.flatMap(r => r.achievedValues || []).find(t => t.target === n);
      const goal = `${n} ${COND[first.condition] || first.condition} ${fmtTarget(first.value, unit)}`;
      const tr = el("tr"); const th = el("th", undefined); th.scope = "row";
      th.append(sliceTag(n.includes(".") ? n.split(".")[0] : "", false), goal); tr.appendChild(th);
      for (const r of periods) { const t = (r.achievedValues || []).find(x => x.target === n);
        const met = t ? t.met : null;
        const td = el("td", `${met === true ? "✓" : met === false ? "✗" : "–"} ${t ? fmtTarget(t.achieved, unit) : "–"}`,
          "period " + (met === true ? "met" : met === false ? "missed" : "nodata"));
        td.dataset.sim = r.simTimeS; td.dataset.met = String(met); td.dataset.target = n;
        if (t && t.achieved != null) td.dataset.achieved = t.achieved;
        td.title = `${r.fulfilmentStatus}${r.notFulfilledState ? " " + r.notFulfilledState : ""} over the last ` +
          `${r.reportsUsed} KPM period(s): ${r.why || ""}`;
        tr.appendChild(td); }
      return tr; });
    const status = el("tr"); const sh = el("th", "fulfilment"); sh.scope = "row"; status.appendChild(sh);
    for (const r of periods) { const c = fulfilClass(r);
      const td = el("td", `${c === "met" ? "✓" : c === "missed" ? "✗" : c === "holding" ? "…" : "–"} ` +
        (r.fulfilmentStatus === "FULFILLED" ? "FULFILLED" : (r.notFulfilledState || r.fulfilmentStatus)), "status " + c);
      td.dataset.state = r.fulfilmentStatus === "FULFILLED" ? "FULFILLED" : (r.notFulfilledState || "");
      status.appendChild(td); }
    rows.push(status);
    const t = table(`Intent “${it.name}”: target and achieved value per KPM period (simulated s, city clock)`, head, rows,
      "timeline"); t.dataset.intentId = it.id; box.appendChild(t);
  }
  if (!any) box.appendChild(el("p", "no reports yet: an intent reports once its plan is applied", "note"));
}
// which words of the intent became which target / area / window, and what was asked back
function readAs(it, why) {
  const c = it.compilation;
  const box = el("div"); box.appendChild(el("span", why));
  const mapping = c ? ((c.spec && c.spec.mapping) || c.mapping || []) : [];
  const asked = c && c.kind === "clarification" ? (c.issues || []).filter(i => (i.words || []).length) : [];
  if (!mapping.length && !asked.length) return box;
  const ul = el("ul");
  for (const m of mapping) ul.appendChild(el("li", `“${m.words}” → ${m.became}`));
  for (const i of asked) ul.appendChild(el("li", `asked about “${i.words.join("”, “")}” (${i.kind})`, "asked"));
  box.appendChild(details("read as", ul, "read-as-" + it.id, "read-as")); return box;
}

// ------------------------------------------------------------------------------------------------ plans
async function plans(intentList) {
  const list = await api("/rapp/v1/plans");
  const names = Object.fromEntries(intentList.map(i => [i.id, i.name]));
  const waiting = list.filter(p => p.status === "awaiting_approval");
  const decided = list.filter(p => p.status !== "awaiting_approval").reverse();
  render("plans", [waiting, names, CLOCK_START], box => { box.replaceChildren();
    if (!waiting.length) box.appendChild(el("p", "none"));
    for (const p of waiting) box.appendChild(planCard(p, names[p.intent_id]));
  });
  document.getElementById("decided-count").textContent = `(${decided.length})`;
  render("decided-plans", [decided, names, CLOCK_START], box => { box.replaceChildren();
    if (!decided.length) box.appendChild(el("p", "none"));
    for (const p of decided) box.appendChild(planCard(p, names[p.intent_id]));
  });
  return list;
}
function planCard(p, intentName) {
  const card = p.card || {}, id = `plan-${p.id}`;
  const a = el("article", undefined, "plan-card"); a.dataset.planId = p.id; a.setAttribute("aria-labelledby", id + "-h");
  const h = el("h3"); h.id = id + "-h";
  h.append(`Plan “${p.candidate}” for intent “${intentName || p.intent_id}” `);
  h.appendChild(el("span", p.status.replace(/_/g, " "), "badge status-" + p.status));
  h.appendChild(el("span", `risk ${p.risk}`, "badge risk risk-" + p.risk));
  a.appendChild(h);
  const ar = card.area || {};
  const where = ar.cells && ar.cells.length ? `cells ${ar.cells.join(", ")}` : "every cell";
  const meta = el("p", `Area: ${ar.zone ? ar.zone + " zone, " : ""}${where}` +
    (ar.window ? `; window ${ar.window.start}-${ar.window.end} (${ar.window.label})` : "") +
    `. Mode ${p.mode}; ${p.method}; plan ${p.id}` + (p.decided_by ? `; decided by ${p.decided_by}` : "") +
    (p.applied_sim_s != null ? `; applied at t = ${p.applied_sim_s} s (simulated, ${clockOf(p.applied_sim_s)} city clock)`
      : "") + ". ", "meta");
  const show = el("button", "show the area on the map", "show-area"); show.type = "button";
  show.onclick = () => { const sel = document.getElementById("map-area"); sel.value = "plan:" + p.id;
    drawMap(); document.getElementById("h-map").scrollIntoView(); sel.focus(); };
  meta.appendChild(show); a.appendChild(meta);
  const warns = card.warnings || [];
  if (warns.length) {
    const w = el("div", undefined, "warnings"); w.setAttribute("role", "alert");
    const contra = warns.filter(x => x.kind === "contradiction").length;
    w.appendChild(el("strong", contra ? `⚠ The risk label “${p.risk}” contradicts the predictions:` :
      "⚠ Check before deciding:"));
    const ul = el("ul"); for (const x of warns) { const li = el("li", x.message, x.kind); li.dataset.kind = x.kind;
      ul.appendChild(li); } w.appendChild(ul); a.appendChild(w);
  }
  a.appendChild(targetsTable(card.targets || []));
  a.appendChild(riskBlock(p, card));
  a.appendChild(controlsTable(card.controls || { cells: [], links: [], slas: [] }));
  if ((p.alternatives || []).length) a.appendChild(runnersUp(p));
  a.appendChild(evidence(p));
  const more = el("div");
  const rc = el("ul"); for (const r of p.rollback_conditions || []) rc.appendChild(el("li", r));
  more.append(el("h4", "rolled back when"), rc);
  const as = el("ul"); for (const r of p.assumptions || []) as.appendChild(el("li", r));
  more.append(el("h4", "assumptions"), as, el("h4", "the agent's explanation (full text)"), el("p", p.explanation));
  a.appendChild(details("rollback conditions, assumptions, full explanation", more, id + "-more"));
  if (card.approval && card.approval.required) a.appendChild(actions(p, warns));
  return a;
}
function targetsTable(targets) {
  const rows = targets.map(t => {
    const unit = t.unit || t.effectUnit || "";
    const goal = `${t.slice ? t.slice + " " : ""}${t.kpi.replace(/_/g, " ")} ${COND[t.condition] || t.condition} ` +
      (t.condition === "IS_WITHIN_RANGE" ? `${fmt(t.value, unit)}–${fmt(t.upper, unit)}` : fmt(t.value, unit)) +
      (t.source !== "intent" ? ` (${t.source})` : "");
    let cells;
    if (!t.predicted) cells = [goal, "–", "–", "not checked by the twin", "–"];
    else {
      const u = t.effectUnit, b = t.benefit;
      cells = [goal, fmt(t.statusQuo, u), fmt(t.plan, u),
        `${signed(b.mean, u)} toward the target (90 % interval ${signed(b.lo, u)} to ${signed(b.hi, u)})` +
        (t.measurable ? "" : "; not measurable"),
        t.meetsWithPlan ? "meets it" : (t.meetsNow ? "misses it (meets it now)" : "misses it")];
    }
    const tr = row(cells); tr.className = "target"; tr.dataset.target = t.target;
    if (t.predicted) { tr.dataset.statusQuo = t.statusQuo; tr.dataset.plan = t.plan;
      tr.dataset.benefitMean = t.benefit.mean; tr.dataset.benefitLo = t.benefit.lo; tr.dataset.benefitHi = t.benefit.hi;
      if (!t.meetsWithPlan) tr.classList.add("miss"); }
    return tr;
  });
  if (!rows.length) rows.push(row(["the intent has no targets the agent could read", "", "", "", ""]));
  return table("Targets: predicted effect (closed-loop twin, mean over seeds) against what runs now",
    ["target", "now", "with the plan", "change", "verdict"], rows, "targets");
}
function riskBlock(p, card) {
  const box = el("div", undefined, "risk-block");
  box.appendChild(el("h4", `Risk verdict: ${p.risk}`));
  const ul = el("ul", undefined, "reasons");
  const reasons = [];
  for (const v of p.verdicts || []) for (const r of v.reasons || [])
    reasons.push(`${v.cellId ? "cell " + v.cellId + ": " : ""}${r.message} (${r.code})`);
  if (!(p.verdicts || []).length)
    reasons.push((p.evidence || []).find(e => e.startsWith("guardrail")) || "no guardrail verdicts");
  for (const r of p.refusal || []) reasons.push("refused: " + r);
  const pr = p.prediction || {};
  if (pr.slaViolationProbability != null)
    reasons.push(`the twin: breaks a slice SLA in ${pct(pr.slaViolationProbability)} of seeds, breaks one the ` +
      `status quo keeps in ${pct(pr.harmProbability || 0)}, meets every goal in ${pct(pr.attainment || 0)}`);
  for (const r of [...new Set(reasons)]) ul.appendChild(el("li", r));
  box.appendChild(ul);
  const sla = card.slas || {};
  const rows = (p.expected || []).map(x => { const s = sla[x.slice] || {};
    const tr = row([sliceTag(x.slice), `${fmt(x.loss, "fraction")} (${fmt(x.loss_lo, "fraction")}–${fmt(x.loss_hi, "fraction")})`,
      s.loss != null ? fmt(s.loss, "fraction") : "–",
      `${x.p99_ms.toFixed(1)} ms (${x.p99_lo.toFixed(1)}–${x.p99_hi.toFixed(1)} ms)`,
      s.p99_ms != null ? `${s.p99_ms} ms` : "–"]);
    if (x.loss > s.loss || (s.p99_ms != null && x.p99_ms > s.p99_ms)) tr.classList.add("breach");
    tr.style.borderLeft = `4px solid ${colorsFor([x.slice])[x.slice]}`;
    return tr; });
  box.appendChild(table("City-wide with the plan, per slice (twin: mean, 90 % of seeds)",
    ["slice", "loss", "loss SLA", "p99 delay", "p99 SLA"], rows, "expected"));
  return box;
}
function controlsTable(c) {
  const rows = [];
  const r = (v, d = 0) => v == null ? "–" : Number(v).toFixed(d);
  for (const x of c.cells) rows.push(row([x.cell, sliceTag(x.slice), "PRB quota (% of the cell)",
    `${r(x.lowerPct)}–${r(x.upperPct)} %, max ${r(x.maxPct)} %` + (x.targetPct != null ? `, target ${r(x.targetPct, 1)} %` : "")]));
  for (const x of c.links) rows.push(row([`link ${x.link}`, sliceTag(x.slice), "transport share (of the link)",
    `${pct(x.lower ?? 0)}–${pct(x.upper ?? 1)}` + (x.target != null ? `, target ${(100 * x.target).toFixed(1)} %` : "")]));
  for (const x of c.slas) rows.push(row([x.cell, sliceTag(x.slice), "SLA ceiling",
    [x.maxLoss != null ? `loss < ${fmt(x.maxLoss, "fraction", 1)}` : "", x.maxP99Ms != null ? `p99 < ${x.maxP99Ms} ms` : ""]
      .filter(Boolean).join(", ")]));
  if (!rows.length) rows.push(row(["–", "–", "no change to what runs", "–"]));
  return table("Controls it will apply (the slice scheduler and transport steering decide inside these bounds)",
    ["cell / link", "slice", "control", "bounds"], rows, "controls");
}
function runnersUp(p) {
  const units = Object.fromEntries((p.effects || []).map(e => [e.target, e.unit]));
  const rows = p.alternatives.map(x => row([String(x.rank), x.name, pct(x.hold), pct(x.violation), pct(x.harm),
    Number(x.cost).toFixed(3), Object.entries(x.goals || {}).map(([g, v]) =>
      `${g} ${signed(v.benefit.mean, units[g] || "")}`).join("; ") || "–"]));
  return table("Runners-up (twin, same seeds)", ["#", "candidate", "meets every goal", "breaks an SLA", "harm",
    "control cost", "effect on the goal"], rows, "runners-up");
}
function evidence(p) {
  const calls = (p.trace && p.trace.calls) || [];
  const total = calls.reduce((s, c) => s + (c.duration_ms || 0), 0);
  const ol = el("ol", undefined, "evidence");
  for (const c of calls) {
    const li = el("li"); li.dataset.tool = c.tool;
    li.appendChild(el("code", c.tool));
    li.append(` ${c.ok ? "ok" : "failed"}, ${Number(c.duration_ms || 0).toFixed(1)} ms`);
    const cards = [...(c.cards || []), ...Object.entries(c.versions || {}).map(([k, v]) => `${k}: ${v}`)];
    li.append(cards.length ? `; relied on ${cards.join("; ")}` : "; no model card");
    if (c.error) li.appendChild(el("div", c.error, "error"));
    ol.appendChild(li);
  }
  const box = el("div"); box.appendChild(ol);
  const ev = el("ul"); for (const e of p.evidence || []) ev.appendChild(el("li", e));
  box.append(el("h4", "what the agent drew on"), ev);
  return details(`Evidence: ${calls.length} tool calls, ${total.toFixed(0)} ms`, box, `plan-${p.id}-evidence`);
}
function actions(p, warns) {
  const box = el("div", undefined, "actions");
  const contra = warns.filter(x => x.kind === "contradiction").length;
  // the approval says which risk it accepts: a medium- or high-risk plan is refused without it
  const ok = el("button", (p.risk === "low" ? "approve (risk low)" : `approve, accepting ${p.risk} risk`) +
    (contra ? `, despite ${contra} warning${contra > 1 ? "s" : ""}` : ""), "approve");
  ok.type = "button";
  const reason = el("input"); reason.id = `reject-why-${p.id}`; reason.size = 30;
  const lab = el("label", "reason for rejecting"); lab.htmlFor = reason.id;
  const no = el("button", "reject", "reject"); no.type = "button";
  const err = el("span", "", "error"); err.setAttribute("role", "alert");
  const act = (path, body) => { ok.disabled = no.disabled = true; err.textContent = "";
    api(`/rapp/v1/plans/${p.id}/${path}`, { method: "POST", body: JSON.stringify(body) }).then(refresh)
      .catch(e => { err.textContent = e.message; ok.disabled = no.disabled = false; }); };
  ok.onclick = () => act("approve", { acknowledgeRisk: p.risk });
  no.onclick = () => act("reject", { comment: reason.value || "rejected in the operator view" });
  box.append(ok, " ", lab, " ", reason, " ", no, " ", err);
  return box;
}

// ------------------------------------------------------------------------------------------------ charts
function niceTicks(lo, hi, n = 5) { const span = hi - lo || 1, step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0)); const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= step0);
  const out = []; for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(+v.toPrecision(12));
  return out; }
// one line per slice on a labelled time axis (simulated s), the y axis in the KPI's unit, SLA ceilings dashed,
// the moments plans were applied as vertical lines; the legend and a text alternative are HTML beside it
function chart(id, o) {
  const svg = document.getElementById(id);
  const W = svg.clientWidth || 600, H = svg.clientHeight || 280, L = 62, R = 14, T = 14, B = 58;
  svg.replaceChildren(); svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const names = Object.keys(o.series), colors = colorsFor(names);
  const vals = Object.values(o.series).flat().filter(v => Number.isFinite(v));
  const slas = Object.entries(o.sla).filter(([, v]) => v != null);
  const ref = [...vals, ...slas.map(([, v]) => v)];
  let ylo, yhi, ticks, ty;
  if (o.log) {
    const pos = ref.filter(v => v > 0);
    ylo = 10 ** Math.floor(Math.log10(Math.min(...pos, 1))); yhi = 10 ** Math.ceil(Math.log10(Math.max(...pos, 10)));
    ticks = []; for (let v = ylo; v <= yhi * 1.0001; v *= 10) ticks.push(v);
    ty = v => T + (H - T - B) * (1 - (Math.log10(Math.max(v, ylo)) - Math.log10(ylo)) / (Math.log10(yhi) - Math.log10(ylo)));
  } else {
    ylo = 0; yhi = Math.max(1e-9, ...ref) * 1.08; ticks = niceTicks(0, yhi); yhi = Math.max(yhi, ticks[ticks.length - 1]);
    ty = v => T + (H - T - B) * (1 - (v - ylo) / (yhi - ylo));
  }
  const t = o.t.length ? o.t : [0, 1];
  const tlo = Math.min(...t), thi = Math.max(...t, tlo + 1);
  const tx = v => L + (W - L - R) * (v - tlo) / (thi - tlo);
  const grid = svgEl("g", { class: "axes", "aria-hidden": "true" });
  for (const v of ticks) { const y = ty(v);
    grid.appendChild(svgEl("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    grid.appendChild(svgEl("text", { x: L - 6, y: y + 4, "text-anchor": "end", class: "tick" }, o.tick(v))); }
  for (const v of niceTicks(tlo, thi, 6)) { const x = tx(v);  // two tick rows: simulated s, then the city clock
    grid.appendChild(svgEl("line", { x1: x, x2: x, y1: H - B, y2: H - B + 4, class: "axis" }));
    grid.appendChild(svgEl("text", { x, y: H - B + 15, "text-anchor": "middle", class: "tick" }, String(v)));
    if (CLOCK_START) grid.appendChild(svgEl("text", { x, y: H - B + 28, "text-anchor": "middle", class: "tick clock" },
      clockOf(v))); }
  grid.appendChild(svgEl("text", { x: L - 6, y: H - B + 15, "text-anchor": "end", class: "tick row-label" }, "sim s"));
  if (CLOCK_START) grid.appendChild(svgEl("text", { x: L - 6, y: H - B + 28, "text-anchor": "end",
    class: "tick row-label" }, "clock"));
  grid.appendChild(svgEl("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
  grid.appendChild(svgEl("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
  grid.appendChild(svgEl("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label x-label" },
    CLOCK_START ? "simulated time (s) · city clock (hh:mm)" : "simulated time (s)"));
  grid.appendChild(svgEl("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle", class: "axis-label y-label",
    transform: `rotate(-90 14 ${(T + H - B) / 2})` }, o.ylabel));
  svg.appendChild(grid);
  for (const [n, v] of slas) { const y = ty(v);
    const ln = svgEl("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: colors[n] || "#555", "stroke-dasharray": PALETTE.slaDash,
      "stroke-width": 1.2, class: "sla", "data-slice": n });
    ln.appendChild(svgEl("title", {}, `${n} SLA ${o.tick(v)} ${o.unit}`)); svg.appendChild(ln);
    svg.appendChild(svgEl("text", { x: L + 4, y: y - 3, fill: colors[n], class: "sla-label" },
      `${n} SLA ${o.tick(v)} ${o.unit}`)); }
  for (const ap of o.applied) { if (ap.t_s < tlo || ap.t_s > thi) continue; const x = tx(ap.t_s);
    const ln = svgEl("line", { x1: x, x2: x, y1: T, y2: H - B, stroke: PALETTE.applied, "stroke-width": 1.2,
      class: "applied", "data-plan": ap.planId });
    ln.appendChild(svgEl("title", {}, `plan ${ap.planId} applied at t = ${ap.t_s} s`)); svg.appendChild(ln);
    const right = x > W - R - 90;  // near the right edge the label goes to the left of the line
    svg.appendChild(svgEl("text", { x: right ? x - 3 : x + 3, y: T + 10, "text-anchor": right ? "end" : "start",
      class: "applied-label" }, "plan applied")); }
  for (const [n, ys] of Object.entries(o.series)) {
    const pts = ys.map((y, i) => `${tx(t[i]).toFixed(1)},${ty(y).toFixed(1)}`).join(" ");
    const pl = svgEl("polyline", { points: pts, fill: "none", stroke: colors[n], "stroke-width": 2, "data-slice": n });
    pl.appendChild(svgEl("title", {}, n)); svg.appendChild(pl);
  }
  // one transparent column per KPM period: hovering it names the period in simulated, city and wall-clock time
  const cols = svgEl("g", { class: "periods" }); const step = t.length > 1 ? (thi - tlo) / (t.length - 1) : thi - tlo;
  o.t.forEach((tv, i) => { const x0 = Math.max(L, tx(tv - step / 2)), x1 = Math.min(W - R, tx(tv + step / 2));
    const rc = svgEl("rect", { x: x0, y: T, width: Math.max(1, x1 - x0), height: H - T - B, class: "period",
      "data-t": tv });
    const vals = names.map(n => `${n} ${o.series[n][i] == null ? "no data" : o.tick(o.series[n][i]) + " " + o.unit}`);
    rc.appendChild(svgEl("title", {}, `t = ${tv} s simulated, ${clockOf(tv) || "?"} city clock, ${wallOf(tv)}\n` +
      vals.join(", "))); cols.appendChild(rc); });
  svg.appendChild(cols);
  const legend = document.getElementById(o.legend); legend.replaceChildren();
  for (const n of names) { const li = el("li"); li.dataset.slice = n;
    const sw = el("span", undefined, "swatch"); sw.style.background = colors[n]; sw.setAttribute("aria-hidden", "true");
    li.append(sw, n + (o.sla[n] != null ? ` (SLA ${o.tick(o.sla[n])} ${o.unit})` : "")); legend.appendChild(li); }
  const sl = el("li", undefined, "ref"); const d = el("span", undefined, "swatch dashed"); d.setAttribute("aria-hidden", "true");
  sl.append(d, "dashed: SLA ceiling"); legend.appendChild(sl);
  if (o.applied.length) { const al = el("li", undefined, "ref"); const s = el("span", undefined, "swatch vbar");
    s.setAttribute("aria-hidden", "true"); al.append(s, "vertical: plan applied"); legend.appendChild(al); }
  const last = names.map(n => { const ys = o.series[n]; const v = ys[ys.length - 1];
    return `${n} ${v == null ? "no data" : o.tick(v) + " " + o.unit}` + (o.sla[n] != null ? ` (SLA ${o.tick(o.sla[n])} ${o.unit})` : ""); });
  document.getElementById(o.desc).textContent = `${o.ylabel} per slice over simulated time ${tlo} to ${thi} s; ` +
    `last period: ${last.join(", ")}` + (o.applied.length ? `; plans applied at ${o.applied.map(a => a.t_s + " s").join(", ")}` : "") + ".";
}
async function kpis() {
  const k = await api("/rapp/v1/kpis");
  // the wall-clock moment the rApp received each period's KPM report (the API's received_unix_s)
  (k.received_unix_s || []).forEach((u, i) => { if (u != null && k.t_s[i] != null)
    WALL[k.t_s[i]] = { at: new Date(1000 * u), how: "received by the rApp" }; });
  if (kpiFetches++ > 0) for (const tv of k.t_s) if (!WALL[tv]) WALL[tv] = { at: new Date(), how: "seen by this page" };
  const loss = {}, p99 = {}, slaLoss = {}, slaP99 = {};
  for (const [n, s] of Object.entries(k.slices)) { loss[n] = s.loss.map(x => 100 * x); p99[n] = s.p99_ms;
    const sla = (k.sla || {})[n] || {}; slaLoss[n] = sla.loss != null ? 100 * sla.loss : null; slaP99[n] = sla.p99_ms; }
  const applied = k.applied || [];
  const fmtPct = v => (v === 0 ? "0" : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));
  chart("chart-loss", { t: k.t_s, series: loss, sla: slaLoss, applied, ylabel: "packet loss (%)", unit: "%",
    tick: fmtPct, legend: "legend-loss", desc: "desc-loss" });
  chart("chart-p99", { t: k.t_s, series: p99, sla: slaP99, applied, log: true, ylabel: "p99 delay (ms, log scale)",
    unit: "ms", tick: v => (v >= 1 ? String(+v.toPrecision(3)) : v.toPrecision(2)), legend: "legend-p99", desc: "desc-p99" });
  render("cells", k.cells, () => { const body = document.querySelector("#cells tbody"); body.replaceChildren();
    for (const [cell, s] of Object.entries(k.cells)) {
      const last = s.prb_use[s.prb_use.length - 1] || 0;
      const bar = el("meter"); bar.min = 0; bar.max = 1; bar.value = last; bar.setAttribute("aria-label", `cell ${cell} PRB use`);
      body.appendChild(row([`cell ${cell}`, `${(100 * last).toFixed(1)} % PRBs in use`, bar]));
    } });
}

// ------------------------------------------------------------------------------------------------ city map
// cells coloured by a KPI on a sequential scale (light = low, dark = high; lightness alone orders it, colour-blind
// safe), links by utilisation class (width grows with it), a link that is down red and dashed; from /rapp/v1/map
const RAMP = ["#fcfdbf", "#fec287", "#fb8761", "#e45a31", "#b63679", "#711f81", "#2c115f"];
const LINK_CLASSES = [{ upTo: 0.5, color: "#5b6b82", label: "below 50 %" }, { upTo: 0.8, color: "#E69F00", label: "50–80 %" },
  { upTo: Infinity, color: "#882255", label: "80 % or more" }];
const LINK_DOWN = "#b3261e", LINK_UNKNOWN = "#a0aec0";
const ZONE_FILL = { hospital: "#CC79A7", fwa: "#009E73", corridor: "#56B4E9" };
let MAP = null;
function rampColor(f) { const x = Math.min(1, Math.max(0, f)) * (RAMP.length - 1), i = Math.min(RAMP.length - 2, Math.floor(x));
  const a = RAMP[i], b = RAMP[i + 1], w = x - i;
  const c = k => Math.round(parseInt(a.slice(k, k + 2), 16) * (1 - w) + parseInt(b.slice(k, k + 2), 16) * w);
  return "#" + [1, 3, 5].map(k => c(k).toString(16).padStart(2, "0")).join(""); }
function kpiText(v, k) { return v == null ? "no data" : k.unit === "fraction" ? `${(100 * v).toFixed(1)} %` :
  `${Number(v).toPrecision(3)} ${k.unit}`; }
function linkColor(ln) { return ln.state === "down" ? LINK_DOWN : ln.utilisation == null ? LINK_UNKNOWN :
  LINK_CLASSES.find(c => ln.utilisation < c.upTo).color; }
function linkText(ln) { return ln.state === "down" ? "DOWN" : ln.state === "unknown" ? "state unknown" :
  `up, ${(100 * ln.utilisation).toFixed(0)} % used (${ln.offeredMbps.toFixed(0)} of ${ln.capacityMbps} Mbit/s)`; }
function options(sel, items) {  // (re)fill a <select> only when its options changed, keeping the choice
  const key = JSON.stringify(items); if (sel.dataset.items === key) return; sel.dataset.items = key;
  const keep = sel.value; sel.replaceChildren();
  for (const [v, label] of items) { const o = el("option", label); o.value = v; sel.appendChild(o); }
  if (items.some(([v]) => v === keep)) sel.value = keep; }
async function cityMap(intentList, planList) {
  const m = await api("/rapp/v1/map");
  CLOCK_START = m.clock.clockStart;
  const kSel = document.getElementById("map-kpi"), aSel = document.getElementById("map-area");
  options(kSel, m.kpis.map(k => [k.id, `${k.label} (${k.unit === "fraction" ? "%" : k.unit})`]));
  if (!kSel.value) kSel.value = m.defaultKpi;
  const names = Object.fromEntries(intentList.map(i => [i.id, i.name]));
  options(aSel, [["", "nothing"], ...m.areas.map(a => ["intent:" + a.intentId, `intent “${a.name}”`]),
    ...planList.map(p => ["plan:" + p.id, `plan “${p.candidate}” (${p.status.replace(/_/g, " ")}) of “${names[p.intent_id] || p.intent_id}”`])]);
  MAP = { m, plans: Object.fromEntries(planList.map(p => [p.id, p])) };
  drawMap();
}
// the cells of the chosen intent or plan (empty list = every cell), or null when nothing is chosen
function chosenArea() { const v = document.getElementById("map-area").value; if (!v || !MAP) return null;
  const [kind, id] = [v.slice(0, v.indexOf(":")), v.slice(v.indexOf(":") + 1)];
  if (kind === "intent") { const a = MAP.m.areas.find(x => x.intentId === id);
    return a ? { label: `intent “${a.name}”`, zone: a.zone, cells: a.cellIds } : null; }
  const p = MAP.plans[id]; if (!p) return null; const ar = (p.card || {}).area || {};
  return { label: `plan “${p.candidate}”`, zone: ar.zone, cells: ar.cells || [] }; }
function drawMap() {
  if (!MAP) return; const m = MAP.m;
  const k = m.kpis.find(x => x.id === document.getElementById("map-kpi").value) || m.kpis[0];
  const area = chosenArea(); const inArea = c => !area || !area.cells.length || area.cells.includes(c.cellId);
  const key = JSON.stringify([m, k.id, area]); if (seen.map === key) return; seen.map = key;
  const svg = document.getElementById("map"), pad = 140, W = m.widthM, H = m.heightM;
  const X = x => x, Y = y => H - y;  // metres, north up
  const title = svg.querySelector("title"), desc = svg.querySelector("desc");
  svg.replaceChildren(title, desc);
  svg.setAttribute("viewBox", `${-pad} ${-pad} ${W + 2 * pad} ${H + 2 * pad}`);
  svg.appendChild(svgEl("rect", { x: 0, y: 0, width: W, height: H, class: "map-ground" }));
  const zones = svgEl("g", { class: "zones" });
  for (const z of m.zones) { const fill = ZONE_FILL[z.kind] || "#999999";
    const g = svgEl("g", { class: "map-zone", "data-zone": z.name, "data-kind": z.kind });
    const hl = area && area.zone === z.name;
    if (z.points.length > 1) g.appendChild(svgEl("polyline", { points: z.points.map(([x, y]) => `${X(x)},${Y(y)}`).join(" "),
      fill: "none", stroke: fill, "stroke-opacity": 0.22, "stroke-width": 2 * z.radiusM, "stroke-linecap": "round",
      "stroke-linejoin": "round" }));
    else g.appendChild(svgEl("circle", { cx: X(z.points[0][0]), cy: Y(z.points[0][1]), r: z.radiusM, fill,
      "fill-opacity": 0.16, stroke: hl ? "#1d2430" : fill, "stroke-width": hl ? 12 : 4, "stroke-dasharray": hl ? "30 16" : "" }));
    const line = z.points.length > 1, [lx, ly] = z.points[0];  // named above a disc, above a corridor's start
    g.appendChild(svgEl("text", { x: X(lx) + (line ? 40 : 0), y: Y(ly) - z.radiusM - 14,
      "text-anchor": line ? "start" : "middle", class: "zone-label" }, `${z.name} (${z.kind})`));
    g.appendChild(svgEl("title", {}, `zone ${z.name}, ${z.kind}`)); zones.appendChild(g); }
  svg.appendChild(zones);
  const node = Object.fromEntries(m.nodes.map(n => [n.name, n]));
  const back = svgEl("g", { class: "backhaul" });
  for (const c of m.cells) { const n = node[c.aggNode]; if (!n) continue;
    back.appendChild(svgEl("line", { x1: X(c.xM), y1: Y(c.yM), x2: X(n.xM), y2: Y(n.yM), class: "map-backhaul" })); }
  svg.appendChild(back);
  const links = svgEl("g", { class: "links" });
  for (const ln of m.links) { const a = node[ln.src], b = node[ln.dst]; if (!a || !b) continue;
    const w = ln.state === "down" ? 10 : ln.utilisation == null ? 6 : 8 + 16 * Math.min(1, ln.utilisation);
    const l = svgEl("line", { x1: X(a.xM), y1: Y(a.yM), x2: X(b.xM), y2: Y(b.yM), stroke: linkColor(ln), "stroke-width": w,
      "stroke-dasharray": ln.state === "down" ? "40 24" : "", class: "map-link", "data-link-id": ln.linkId,
      "data-state": ln.state, "data-utilisation": ln.utilisation ?? "" });
    l.appendChild(svgEl("title", {}, `link ${ln.linkId} (${ln.src} → ${ln.dst}${ln.corridor ? ", corridor" : ""}): ${linkText(ln)}`));
    links.appendChild(l);
    if (ln.state === "down") links.appendChild(svgEl("text", { x: (X(a.xM) + X(b.xM)) / 2, y: (Y(a.yM) + Y(b.yM)) / 2 - 16,
      "text-anchor": "middle", class: "link-down-label" }, `${ln.linkId} down`)); }
  svg.appendChild(links);
  for (const n of m.nodes) { const s = n.hub ? 90 : 60;
    const r = svgEl("rect", { x: X(n.xM) - s / 2, y: Y(n.yM) - s / 2, width: s, height: s, class: "map-node" + (n.hub ? " hub" : ""),
      "data-node": n.name });
    r.appendChild(svgEl("title", {}, `${n.hub ? "hub" : "aggregation node"} ${n.name}`)); svg.appendChild(r);
    svg.appendChild(svgEl("text", { x: X(n.xM) + s / 2 + 10, y: Y(n.yM) + s / 2 + 30, class: "node-label" }, n.name)); }
  const cells = svgEl("g", { class: "cells" });
  for (const c of m.cells) { const v = c.values[k.id], ok = inArea(c);
    const g = svgEl("g", { class: "map-cell" + (area && ok ? " in-area" : "") + (area && !ok ? " out-area" : ""),
      "data-cell-id": c.cellId, "data-value": v ?? "" });
    if (area && ok) g.appendChild(svgEl("circle", { cx: X(c.xM), cy: Y(c.yM), r: 110, class: "area-ring" }));
    const circ = svgEl("circle", { cx: X(c.xM), cy: Y(c.yM), r: 75, fill: v == null ? "#e3e6eb" : rampColor((v - k.min) / (k.max - k.min)),
      stroke: "#1d2430", "stroke-width": 5 });
    g.appendChild(circ);
    g.appendChild(svgEl("text", { x: X(c.xM), y: Y(c.yM) - 95, "text-anchor": "middle", class: "cell-label" }, `cell ${c.cellId}`));
    g.appendChild(svgEl("text", { x: X(c.xM), y: Y(c.yM) + 130, "text-anchor": "middle", class: "cell-value" }, kpiText(v, k)));
    g.appendChild(svgEl("title", {}, `cell ${c.cellId} (${c.name}) at ${c.xM}, ${c.yM} m, via ${c.aggNode}` +
      (c.zones.length ? `, zones ${c.zones.join(", ")}` : "") + `: ${k.label} ${kpiText(v, k)}` + (area ? (ok ? `; in the area of ${area.label}` : "") : "")));
    cells.appendChild(g); }
  svg.appendChild(cells);
  // north and a 500 m scale bar
  svg.appendChild(svgEl("text", { x: W + pad / 2, y: -pad / 3, "text-anchor": "middle", class: "north" }, "N ↑"));
  svg.appendChild(svgEl("line", { x1: 0, x2: 500, y1: H + pad / 2, y2: H + pad / 2, class: "scale-bar" }));
  svg.appendChild(svgEl("text", { x: 250, y: H + pad / 2 - 14, "text-anchor": "middle", class: "scale-label" }, "500 m"));
  // what a screen reader hears: the title and a description with every cell's value and the links that are down
  title.textContent = `city map of ${m.scenario}: ${m.cells.length} cells coloured by ${k.label}`;
  const down = m.links.filter(l => l.state === "down").map(l => l.linkId);
  desc.textContent = `${m.cells.length} cells, ${m.zones.length} zones, ${m.nodes.length} transport nodes, ` +
    `${m.links.length} links. ${k.label} per cell in the last KPM period: ` +
    m.cells.map(c => `cell ${c.cellId} ${kpiText(c.values[k.id], k)}`).join(", ") + ". " +
    (m.linkState.known ? (down.length ? `Links down: ${down.join(", ")}.` : "Every link is up.") : "Link state unknown.") +
    (area ? ` Highlighted: the area of ${area.label}, ${area.cells.length ? "cells " + area.cells.join(", ") : "every cell"}.` : "");
  document.getElementById("map-when").textContent = m.clock.simTimeS == null ? "No KPM report yet." :
    `Colours: the KPM period ending at t = ${m.clock.simTimeS} s (simulated), ${m.clock.timeOfDay} city clock.` +
    (m.linkState.known ? "" : " The transport steering has published no link state: links drawn grey (unknown).");
  mapLegend(m, k, area);
  mapTables(m, k);
}
function mapLegend(m, k, area) {
  const box = document.getElementById("map-legend"); box.replaceChildren();
  const unit = k.unit === "fraction" ? "%" : k.unit;
  const h = el("div", undefined, "legend-title"); if (k.slice) h.appendChild(sliceTag(k.slice, false));
  h.append(` ${k.label} (${unit}), last KPM period`); box.appendChild(h);
  const bar = el("div", undefined, "ramp"); bar.setAttribute("aria-hidden", "true");
  bar.style.background = `linear-gradient(90deg, ${RAMP.join(", ")})`;
  const fmtU = v => k.unit === "fraction" ? `${(100 * v).toFixed(0)} %` : `${+Number(v).toPrecision(3)} ${k.unit}`;
  if (k.sla != null && k.sla <= k.max) { const mk = el("span", undefined, "sla-mark");
    mk.style.left = `${100 * (k.sla - k.min) / (k.max - k.min)}%`; bar.appendChild(mk); }
  box.appendChild(bar);
  const ticks = el("div", undefined, "ramp-ticks");
  ticks.append(el("span", fmtU(k.min)), el("span", fmtU((k.min + k.max) / 2)), el("span", fmtU(k.max)));
  box.appendChild(ticks);
  const notes = el("ul", undefined, "legend vertical");
  notes.appendChild(el("li", "light = low, dark = high"));
  if (k.sla != null) notes.appendChild(el("li", `black tick: ${k.slice} SLA ceiling ${fmtU(k.sla)}`));
  const nd = el("li"); const s0 = el("span", undefined, "swatch box"); s0.style.background = "#e3e6eb";
  s0.setAttribute("aria-hidden", "true"); nd.append(s0, "no data"); notes.appendChild(nd);
  if (area) notes.appendChild(el("li", `ringed: the area of ${area.label}; other cells faded`));
  box.appendChild(notes);
  const ul = document.getElementById("map-legend-links"); ul.replaceChildren();
  const item = (cls, style, text) => { const li = el("li"); const s = el("span", undefined, "swatch " + cls);
    Object.assign(s.style, style); s.setAttribute("aria-hidden", "true"); li.append(s, text); ul.appendChild(li); return li; };
  for (const c of LINK_CLASSES) item("line", { background: c.color }, `link up, ${c.label} of capacity used`).dataset.kind = "link";
  item("line dashed-red", {}, "link down (transport alarm)").dataset.kind = "link-down";
  item("line", { background: LINK_UNKNOWN }, "link state unknown").dataset.kind = "link";
  item("line thin", { background: "#8a94a6" }, "cell to its aggregation node");
  item("box", { background: "#fff", border: "2px solid #1d2430" }, "aggregation node (large: hub)");
  for (const [kind, c] of Object.entries(ZONE_FILL)) if (m.zones.some(z => z.kind === kind))
    item("box", { background: c, opacity: 0.45 }, `${kind} zone`).dataset.kind = "zone";
}
function mapTables(m, k) {
  const box = document.getElementById("map-tables"); box.replaceChildren();
  box.appendChild(table(`Cells: ${k.label} in the last KPM period`, ["cell", "position (m)", "zones", "aggregation node", k.label],
    m.cells.map(c => row([`cell ${c.cellId}`, `${c.xM}, ${c.yM}`, c.zones.join(", ") || "–", c.aggNode,
      kpiText(c.values[k.id], k)])), "map-cells"));
  box.appendChild(table("Transport links", ["link", "from → to", "capacity", "state and utilisation"],
    m.links.map(l => { const tr = row([l.linkId, `${l.src} → ${l.dst}`, `${l.capacityMbps} Mbit/s`, linkText(l)]);
      if (l.state === "down") tr.classList.add("breach"); return tr; }), "map-links"));
}
document.getElementById("map-kpi").addEventListener("change", drawMap);
document.getElementById("map-area").addEventListener("change", drawMap);

// ------------------------------------------------------------------------------------------------ audit
function when(ts) { const d = typeof ts === "number" ? new Date(ts * 1000) : new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toLocaleString(); }
async function audit(intentList) {
  const names = Object.fromEntries(intentList.map(i => [i.id, i.name]));
  const a = await api("/rapp/v1/audit?limit=200");
  const items = a.items.slice(-40).map(r => ({ ...r, source: "rApp", key: "rapp-" + r.id }))
    .concat(a.policy.slice(-20).map((r, i) => ({ ...r, source: "policy", key: `policy-${r.id ?? i}`,
      why: r.why || r.decision || "" })));
  items.sort((x, y) => (typeof y.ts === "number" ? y.ts * 1000 : Date.parse(y.ts)) -
    (typeof x.ts === "number" ? x.ts * 1000 : Date.parse(x.ts)));
  render("audit", [items, names], box => { const body = box.querySelector("tbody"); body.replaceChildren();
    for (const r of items) {
      const sum = el("div"); sum.appendChild(el("span", shorten(r.why), "summary"));
      const full = el("div");
      full.appendChild(el("p", r.why, "why"));
      const pre = el("pre"); full.appendChild(pre);  // scrollable: focusable so the keyboard can scroll it
      pre.tabIndex = 0; pre.setAttribute("aria-label", `full record of ${r.kind} ${r.key}`);
      const d = details("full record", full, "audit-" + r.key, "record");
      d.addEventListener("toggle", () => { if (d.open && !pre.textContent)
        pre.textContent = JSON.stringify({ source: r.source, ...r }, null, 1); });
      sum.appendChild(d);
      const tr = row([el("time", when(r.ts)), `${r.kind}${r.source === "policy" ? " (policy)" : ""}`, r.actor,
        names[r.subject] ? `${names[r.subject]} (intent ${r.subject})` : r.subject, sum]);
      tr.dataset.kind = r.kind; body.appendChild(tr);
    } });
}

async function refresh() {
  const status = document.getElementById("status");
  try { const list = await intents(); const pl = await plans(list); await cityMap(list, pl); await kpis();
    await audit(list);
    status.textContent = `${list.length} intent(s), updated ${new Date().toLocaleTimeString()}`; status.dataset.ready = "1";
  } catch (e) { status.textContent = "error: " + e.message; }
}
document.getElementById("new-intent").addEventListener("submit", ev => { ev.preventDefault();
  const err = document.getElementById("submit-error"); err.textContent = "";
  api(TMF + "/intent", { method: "POST", body: JSON.stringify({ naturalLanguage: document.getElementById("nl").value,
    mode: document.getElementById("mode").value }) }).then(refresh).catch(e => { err.textContent = e.message; }); });
fetch("palette.json").then(r => r.ok ? r.json() : null).then(p => { if (p) PALETTE = p; })
  .catch(() => {}).finally(() => { refresh(); setInterval(refresh, 3000); });
