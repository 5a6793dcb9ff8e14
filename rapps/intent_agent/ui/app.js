// Operator view of the intent agent: intents, plans awaiting approval, KPI charts, audit (plain DOM, no build).
"use strict";
const TMF = "/tmf-api/intentManagement/v5";
const COLORS = { eMBB: "#3465a4", URLLC: "#cc0000", FWA: "#4e9a06" };
const tokenInput = document.getElementById("token");
const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
tokenInput.value = fromHash || sessionStorage.getItem("nextric-token") || "";
tokenInput.addEventListener("change", () => { sessionStorage.setItem("nextric-token", tokenInput.value); refresh(); });

async function api(path, opts = {}) {
  const r = await fetch(path, { ...opts, headers: { "Authorization": "Bearer " + tokenInput.value,
    "Content-Type": "application/json", ...(opts.headers || {}) } });
  if (!r.ok) { const p = await r.json().catch(() => ({})); throw new Error(p.detail || r.statusText); }
  return r.status === 204 ? null : r.json();
}
function el(tag, text, cls) { const e = document.createElement(tag); if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls; return e; }
function row(cells) { const tr = el("tr"); for (const c of cells) { const td = el("td"); if (c instanceof Node)
  td.appendChild(c); else td.textContent = c; tr.appendChild(td); } return tr; }

async function intents() {
  const list = await api(TMF + "/intent");
  const body = document.querySelector("#intents tbody"); body.replaceChildren();
  for (const it of list) {
    const reps = await api(`${TMF}/intent/${it.id}/intentReport`);
    const last = reps[0] || {};
    const f = it.fulfilmentInfo || {};
    const state = f.fulfilmentStatus === "FULFILLED" ? "FULFILLED" : (f.notFulfilledState || "");
    const targets = (last.achievedValues || []).map(t => `${t.target} ${t.condition} ${t.value}` +
      (t.achieved == null ? "" : ` (${Number(t.achieved).toPrecision(3)})`)).join("; ");
    const why = it.compilation && it.compilation.kind === "clarification" ? it.compilation.question : (last.why || "");
    body.appendChild(row([it.name, it.lifecycleStatus, el("span", state, state), targets, readAs(it.compilation, why)]));
  }
  return list.length;
}
// which words of the intent became which target / area / window, and what was asked back
function readAs(c, why) {
  const box = el("div"); box.appendChild(el("span", why));
  const mapping = c ? ((c.spec && c.spec.mapping) || c.mapping || []) : [];
  const asked = c && c.kind === "clarification" ? (c.issues || []).filter(i => (i.words || []).length) : [];
  if (!mapping.length && !asked.length) return box;
  const d = el("details", undefined, "read-as"); d.appendChild(el("summary", "read as"));
  const ul = el("ul");
  for (const m of mapping) ul.appendChild(el("li", `“${m.words}” → ${m.became}`));
  for (const i of asked) ul.appendChild(el("li", `asked about “${i.words.join("”, “")}” (${i.kind})`, "asked"));
  d.appendChild(ul); box.appendChild(d); return box;
}
async function plans() {
  const list = await api("/rapp/v1/plans?status=awaiting_approval");
  const box = document.getElementById("plans"); box.replaceChildren();
  if (!list.length) box.appendChild(el("p", "none"));
  for (const p of list) {
    const d = el("div", undefined, "plan");
    d.appendChild(el("p", `plan ${p.id} (intent ${p.intent_id}, ${p.method}, risk ${p.risk})`));
    d.appendChild(el("p", p.explanation));
    for (const e of p.effects || []) {
      const b = e.benefit, f = v => e.unit === "fraction" ? `${(100 * v).toFixed(2)} %` : `${v.toFixed(2)} ${e.unit}`;
      d.appendChild(el("p", `${e.target}: ${f(e.statusQuo)} now, ${f(e.plan)} with the plan (benefit ${f(b.mean)}, ` +
        `90 % ${f(b.lo)} to ${f(b.hi)})`, "effect"));
    }
    // the approval says which risk it accepts: a medium- or high-risk plan is refused without it
    const ok = el("button", p.risk === "low" ? "approve" : `approve, accepting ${p.risk} risk`);
    ok.onclick = () => api(`/rapp/v1/plans/${p.id}/approve`, { method: "POST",
      body: JSON.stringify({ acknowledgeRisk: p.risk }) }).then(refresh);
    const no = el("button", "reject"); no.onclick = () => api(`/rapp/v1/plans/${p.id}/reject`, { method: "POST",
      body: JSON.stringify({ comment: "rejected in the operator view" }) }).then(refresh);
    d.append(ok, " ", no); box.appendChild(d);
  }
}
function chart(svg, title, t, series, scale) {
  const W = svg.clientWidth || 500, H = svg.clientHeight || 200, pad = 30;
  svg.replaceChildren(); svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const all = Object.values(series).flat(); const ymax = Math.max(1e-9, ...all) * 1.1;
  const tmin = Math.min(...t, 0), tmax = Math.max(...t, 1);
  const ns = "http://www.w3.org/2000/svg";
  const label = document.createElementNS(ns, "text"); label.setAttribute("x", pad); label.setAttribute("y", 14);
  label.textContent = `${title} (max ${(ymax * scale / 1.1).toFixed(2)})`; svg.appendChild(label);
  for (const [name, ys] of Object.entries(series)) {
    const pts = ys.map((y, i) => `${pad + (W - 2 * pad) * (t[i] - tmin) / (tmax - tmin || 1)},` +
      `${H - pad - (H - 2 * pad) * y / ymax}`).join(" ");
    const pl = document.createElementNS(ns, "polyline"); pl.setAttribute("points", pts);
    pl.setAttribute("fill", "none"); pl.setAttribute("stroke", COLORS[name] || "#555"); pl.setAttribute("stroke-width", "2");
    pl.setAttribute("data-slice", name); svg.appendChild(pl);
  }
}
async function kpis() {
  const k = await api("/rapp/v1/kpis");
  const loss = {}, p99 = {};
  for (const [n, s] of Object.entries(k.slices)) { loss[n] = s.loss.map(x => 100 * x); p99[n] = s.p99_ms; }
  chart(document.getElementById("chart-loss"), "loss per slice, %", k.t_s, loss, 1);
  chart(document.getElementById("chart-p99"), "worst-cell p99 latency per slice, ms", k.t_s, p99, 1);
  const body = document.querySelector("#cells tbody"); body.replaceChildren();
  for (const [cell, s] of Object.entries(k.cells)) {
    const last = s.prb_use[s.prb_use.length - 1] || 0;
    body.appendChild(row([`cell ${cell}`, `${(100 * last).toFixed(1)} % PRBs in use`]));
  }
}
async function audit() {
  const a = await api("/rapp/v1/audit?limit=200");
  const body = document.querySelector("#audit tbody"); body.replaceChildren();
  for (const r of a.items.slice(-40)) body.appendChild(row([r.id, r.kind, r.actor, r.subject, r.why]));
  for (const r of a.policy.slice(-20)) body.appendChild(row(["policy", r.kind, r.actor, r.subject, r.why || r.decision || ""]));
}
async function refresh() {
  const status = document.getElementById("status");
  try { const n = await intents(); await plans(); await kpis(); await audit();
    status.textContent = `${n} intent(s), updated ${new Date().toLocaleTimeString()}`; status.dataset.ready = "1";
  } catch (e) { status.textContent = "error: " + e.message; }
}
document.getElementById("new-intent").addEventListener("submit", ev => { ev.preventDefault();
  api(TMF + "/intent", { method: "POST", body: JSON.stringify({ naturalLanguage: document.getElementById("nl").value,
    mode: document.getElementById("mode").value }) }).then(refresh).catch(e => alert(e.message)); });
refresh(); setInterval(refresh, 3000);
