"""The planner pipelines behind :mod:`rapps.intent_agent.planner.api` (pure: observations in, plan + trace out).

Phase 1 (:func:`plan`), per method (see the api docstring); Phase 2 (:func:`monitor`): corner-case monitoring
with a do-no-harm gate (``twm``) or surrogate replanning at every slow step (``improved``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from nextric.arrays import FloatArray
from nextric.datacard import validity_violations
from nextric.errors import ValidationError
from nextric.kpi import control_cost, cost_reduction
from nextric.kpm import KpmReport, report_of
from nextric.stats import lower_tail_mean
from nextric.topology import Topology
from rapps.intent_agent.planner.api import (
    METHODS,
    CandidateTrace,
    KpiForecast,
    MonitorVerdict,
    PlanRequest,
    PlanResult,
    PlanTrace,
    TwinCheck,
)
from rapps.intent_agent.planner.library import (
    D_THETA,
    Plans,
    library,
    plans_from_params,
    rules_params,
    uniform_plan,
)
from rapps.intent_agent.planner.portfolio import Portfolio
from rapps.intent_agent.planner.portfolio import load as load_portfolio
from rapps.intent_agent.planner.prescreen import MIN_COVER, prescreen
from rapps.intent_agent.planner.safety import project, surge_floors
from rapps.intent_agent.planner.score import Scores, fwm_scm, surrogate_scores
from rapps.intent_agent.planner.twin import TwinPort, rollout_shares
from rapps.intent_agent.worldmodels.features import CityRaster, Context, link_need, prb_need
from rapps.intent_agent.worldmodels.serving import WorldModels


@dataclass(frozen=True)
class PlannerConfig:
    """Sizes and thresholds (chosen on ``TUNE_SEEDS`` horizons, never on the benchmark's evaluation seeds)."""

    n_library: int = 256
    n_keep: int = 128
    n_verify: int = 3
    verify_seeds: int = 4
    n_samples: int = 4  #: CDWM stochastic samples per member and candidate
    pass_min_scm: float = 0.05  #: twin verification: mean SCM over seeds at least this ...
    pass_max_zero: int = 1  #: ... and at most this many twin seeds with SCM = 0
    risk_threshold: float = 0.5  #: Phase 2 corner case: predicted violation risk above this ...
    disagreement_threshold: float = 0.15  #: ... or ensemble SCM spread above this
    gate_margin: float = 0.02  #: do-no-harm: the alternative's utility must beat the current by this
    cem_iters: int = 4
    cem_pop: int = 96
    cem_elite: int = 12
    replan_iters: int = 2
    replan_pop: int = 48
    surge_projection: str = "urllc"  #: improved: "urllc" | "all" | "none" (see planner/safety.py)
    replan_margin: float = 0.05  #: improved: utility gain a surrogate replan needs to replace the plan
    replan: str = "every-step"  #: improved: replan at "every-step", only on a "corner-case" (as twm), or "off"
    fallback: str = "uniform"  #: improved, nothing passed: "uniform" | "best-twin" (best verified utility)
    judge: str = "mean"  #: improved with a portfolio: twin SCM over seeds as "mean" or "cvar50" (worst half)
    #: improved with a portfolio, Phase 2: "off" (keep the judged plan), "every-step" or "corner-case" surrogate
    #: replans; "off" chosen on TUNE_CHECK_SEEDS (the surrogates fail their cards on the recalibrated city)
    portfolio_replan: str = "off"
    #: improved with a portfolio: the twin overrides the prior's order (members ranked by tuning coverage) only
    #: when another member's twin utility beats the first's by more than this (chosen on TUNE_CHECK_SEEDS)
    switch_margin: float = 0.1
    dtfair_candidates: int = 24
    dtfair_seeds: int = 16

    def __post_init__(self) -> None:
        for name, allowed in (("surge_projection", ("urllc", "all", "none")),
                              ("replan", ("every-step", "corner-case", "off")),
                              ("portfolio_replan", ("every-step", "corner-case", "off")),
                              ("fallback", ("uniform", "best-twin")), ("judge", ("mean", "cvar50"))):
            if getattr(self, name) not in allowed:
                raise ValidationError(f"PlannerConfig.{name} must be one of {list(allowed)}, "
                                      f"got {getattr(self, name)!r}")


DEFAULT_CONFIG = PlannerConfig()


@lru_cache(maxsize=8)
def _raster(topo: Topology) -> CityRaster:
    """The city raster of a description (built once per description object: descriptions hash by identity)."""
    return CityRaster.build(topo)


@lru_cache(maxsize=1)
def default_models() -> WorldModels:
    """The committed ONNX models, loaded once per process (memoised; pass ``models`` to use others)."""
    return WorldModels()


@lru_cache(maxsize=8)
def _portfolio(model_dir: Path) -> Portfolio | None:
    """The plan portfolio next to the world models (None: there is none; loaded once per directory)."""
    return load_portfolio(model_dir)


@dataclass(frozen=True, eq=False)
class _Setup:
    sc: Topology  #: the description with the request's SLA ceilings
    ras: CityRaster
    reports: tuple[KpmReport, ...]
    ctx: Context
    prev_prb: FloatArray
    prev_tn: FloatArray
    k: int


def _scenario_with_ceilings(req: PlanRequest) -> Topology:
    sc = req.topology
    if not req.ceilings:
        return sc
    by_name = {c.slice_name: c for c in req.ceilings}
    unknown = set(by_name) - {s.name for s in sc.slices}
    if unknown:
        raise ValidationError(f"ceilings name unknown slices {sorted(unknown)}; slices are "
                              f"{[s.name for s in sc.slices]}")
    slices = tuple(replace(s, sla_loss=by_name[s.name].max_loss,
                           sla_p99_ms=by_name[s.name].max_p99_ms if by_name[s.name].max_p99_ms is not None
                           else s.sla_p99_ms) if s.name in by_name else s for s in sc.slices)
    return replace(sc, slices=slices)


def _setup(req: PlanRequest) -> _Setup:
    if req.method not in METHODS:
        raise ValidationError(f"unknown method {req.method!r}; one of {list(METHODS)}")
    if not req.kpm_history:
        raise ValidationError("plan request needs at least one KPM report")
    sc = _scenario_with_ceilings(req)
    reports = tuple(report_of([m], sc.cell_ids_by_key, sc.slice_ids, strict=True) for m in req.kpm_history)
    if req.horizon < 1:
        raise ValidationError("horizon must be >= 1 slow step")
    if req.twin_budget < 0:
        raise ValidationError("twin_budget must be >= 0")
    b = req.bounds
    if not (0.0 <= b.prb_min <= b.prb_max <= 1.0 and 0.0 <= b.tn_min <= b.tn_max <= 1.0):
        raise ValidationError("action bounds must satisfy 0 <= min <= max <= 1")
    ras = replace(_raster(req.topology), topo=sc)  # the request's ceilings score the FWM's spatial SCM
    ctx = Context.observed(sc, reports, req.regime, req.link_up)
    s = sc.n_slices
    p0 = np.full((sc.n_cells, s), 1 / s) if req.current_prb is None else np.asarray(req.current_prb, dtype=np.float64)
    b0 = np.full((sc.n_links, s), 1 / s) if req.current_tn is None else np.asarray(req.current_tn, dtype=np.float64)
    if p0.shape != (sc.n_cells, s) or b0.shape != (sc.n_links, s):
        raise ValidationError(f"current shares must be ({sc.n_cells}, {s}) and ({sc.n_links}, {s})")
    return _Setup(sc, ras, reports, ctx, p0, b0, req.horizon)


def _bound(req: PlanRequest, prb: FloatArray, tn: FloatArray) -> tuple[FloatArray, FloatArray]:
    b = req.bounds
    p = np.clip(prb, b.prb_min, b.prb_max)
    t = np.clip(tn, b.tn_min, b.tn_max)
    return (project(p, np.full(p.shape[-2:], b.prb_min)), project(t, np.full(t.shape[-2:], b.tn_min)))


def _safe(req: PlanRequest, st: _Setup, prb: FloatArray, tn: FloatArray,
          cfg: PlannerConfig = DEFAULT_CONFIG) -> tuple[FloatArray, FloatArray]:
    """Improved planner: surge-aware safety projection (:mod:`rapps.intent_agent.planner.safety`)."""
    if req.method != "improved" or cfg.surge_projection == "none":
        return prb, tn
    pf, tf = surge_floors(st.ras, st.ctx)
    if cfg.surge_projection == "urllc":  # surge floors for URLLC, the prescreen's cover floors for the others
        keep = np.zeros(pf.shape[-1])
        keep[1] = 1.0
        pf = pf * keep + (1 - keep) * MIN_COVER * np.minimum(prb_need(st.ras, st.ctx), 1.0)
        tf = tf * keep + (1 - keep) * MIN_COVER * np.minimum(link_need(st.ras, st.ctx), 1.0)
    return project(prb, pf), project(tn, tf)


def _dcost(st: _Setup, prb: FloatArray, tn: FloatArray) -> FloatArray:
    j = control_cost(prb, tn, st.sc.cost, np.broadcast_to(st.prev_prb, (*prb.shape[:-3], *st.prev_prb.shape)),
                     np.broadcast_to(st.prev_tn, (*tn.shape[:-3], *st.prev_tn.shape)))
    return np.asarray(cost_reduction(j, st.sc.cost))


def _rollout(twin: TwinPort, st: _Setup, req: PlanRequest, cands: Plans, n_seeds: int) -> Any:
    return rollout_shares(twin, st.sc, req.kpm_history, req.regime, req.link_up, cands.prb, cands.tn, n_seeds,
                          req.seed + 1)


def _twin_verify(twin: TwinPort, st: _Setup, req: PlanRequest, cands: Plans, n_seeds: int, cfg: PlannerConfig
                 ) -> tuple[list[TwinCheck], FloatArray, FloatArray]:
    r = _rollout(twin, st, req, cands, n_seeds)
    dc = _dcost(st, cands.prb, cands.tn)
    checks = []
    for i, name in enumerate(cands.names):
        scm = r.scm[i]
        zero = int((scm <= 0).sum())
        ok = bool(scm.mean() >= cfg.pass_min_scm and zero <= cfg.pass_max_zero)
        why = (f"twin SCM {scm.mean():.3f} over {n_seeds} seeds, {zero} at 0"
               + ("" if ok else f" (needs >= {cfg.pass_min_scm} and <= {cfg.pass_max_zero} at 0)"))
        checks.append(TwinCheck(name, tuple(map(float, scm)), float(scm.mean()),
                                tuple(map(float, r.loss[i].mean(0))), tuple(map(float, r.p99_ms[i].mean(0))),
                                float(dc[i]), ok, why))
    return checks, np.asarray(r.scm.mean(1)), dc


def _forecast_of(st: _Setup, sc_prb: FloatArray, sc_tn: FloatArray, s: Scores, i: int) -> KpiForecast:
    f = s.fc
    assert f is not None
    loss, p99 = f.loss[:, i], f.p99_ms[:, i]

    def t(x: FloatArray) -> tuple[float, ...]:
        return tuple(float(v) for v in x)

    j = float(control_cost(sc_prb[i], sc_tn[i], st.sc.cost, st.prev_prb, st.prev_tn))
    return KpiForecast(loss=t(loss.mean(0)), loss_lo=t(np.quantile(loss, 0.05, 0)),
                       loss_hi=t(np.quantile(loss, 0.95, 0)),
                       p99_ms=t(p99.mean(0)), p99_lo=t(np.quantile(p99, 0.05, 0)), p99_hi=t(np.quantile(p99, 0.95, 0)),
                       throughput_mbps=t(f.thp_mbps[i]), scm=float(f.scm[:, i].mean()),
                       scm_lo=float(np.quantile(f.scm[:, i], 0.05)), scm_hi=float(np.quantile(f.scm[:, i], 0.95)),
                       violation_risk=float(f.risk()[i]), disagreement=float(f.disagreement()[i]), cost=j,
                       cost_reduction=float(cost_reduction(np.asarray(j), st.sc.cost)))


def _result(req: PlanRequest, st: _Setup, prb: FloatArray, tn: FloatArray, expected: KpiForecast | None,
            checks: list[TwinCheck], trace: PlanTrace, models: WorldModels | None, fallback: bool, twin_calls: int,
            t0: float) -> PlanResult:
    return PlanResult(prb=np.asarray(prb), tn=np.asarray(tn), expected=expected, twin_checks=tuple(checks),
                      trace=trace, models=models.describe() if models is not None else {}, fallback=fallback,
                      twin_calls=twin_calls, decision_s=time.perf_counter() - t0, method=req.method)


def _need_models(req: PlanRequest, st: _Setup, models: WorldModels | None) -> WorldModels:
    wm = models or default_models()
    wm.require_usable()
    bad = wm.check_validity({"scenario": st.sc.scenario, "shock_family": st.ctx.family, "horizon_steps": st.k})
    if bad or st.k != wm.horizon:
        raise ValidationError("world models not valid for this request: " + "; ".join(
            bad or [f"horizon {st.k} != {wm.horizon}"]))
    return wm


def plan(req: PlanRequest, twin: TwinPort, models: WorldModels | None = None,
         cfg: PlannerConfig = DEFAULT_CONFIG) -> PlanResult:
    """Phase 1 for every method (see :mod:`rapps.intent_agent.planner.api`)."""
    t0 = time.perf_counter()
    st = _setup(req)
    k, w = st.k, req.objective
    if req.method == "uniform":
        prb, tn = uniform_plan(st.ras, k)
        tr = PlanTrace("uniform", ("static 1/S shares",), (), 1, 1, 0, 0, 0, "uniform baseline")
        return _result(req, st, prb, tn, None, [], tr, None, False, 0, t0)
    if req.method == "rules":
        prb, tn = plans_from_params(st.ras, st.ctx, rules_params(st.ras)[None], k)
        prb, tn = _bound(req, prb[0], tn[0])
        tr = PlanTrace("rules", ("demand-proportional zone rules with fixed headroom from observed load",), (),
                       1, 1, 0, 0, 0, "world-model-free rule: shares = floor + headroom x observed need")
        return _result(req, st, prb, tn, None, [], tr, None, False, 0, t0)

    port_note, wm_improved = "", None
    if req.method == "improved":  # a valid plan portfolio replaces the surrogate pipeline (no library needed)
        wm_improved = _need_models(req, st, models)
        found = _usable_portfolio(wm_improved, st)
        if not isinstance(found, str):
            return _portfolio_plan(req, st, twin, wm_improved, *found, cfg, t0)
        port_note = found
    lib = library(st.ras, st.ctx, cfg.n_library, k, req.seed)
    lib = Plans(*_bound(req, *_safe(req, st, lib.prb, lib.tn, cfg)), lib.u, lib.names, lib.families)
    steps = [f"library: {len(lib)} candidates from the city configuration and observed load"]
    if req.method == "dt-fair":
        rng = np.random.default_rng(np.random.SeedSequence([req.seed, 11]))
        pick = rng.choice(len(lib), cfg.dtfair_candidates, replace=False)
        cands = lib.take(pick)
        r = _rollout(twin, st, req, cands, cfg.dtfair_seeds)
        dc = _dcost(st, cands.prb, cands.tn)
        util = w.scm * r.scm.mean(1) + w.cost * dc
        best = int(np.argmax(util))
        ctr = tuple(CandidateTrace(n, f, "chosen" if i == best else "twin-scored", float(util[i]),
                                   f"twin SCM {r.scm[i].mean():.3f}, dcost {dc[i]:.3f}")
                    for i, (n, f) in enumerate(zip(cands.names, cands.families, strict=True)))
        calls = cfg.dtfair_candidates * cfg.dtfair_seeds
        tr = PlanTrace("dt-fair", (*steps, f"twin search: {len(cands)} candidates x {cfg.dtfair_seeds} seeds"), ctr,
                       len(lib), len(cands), 0, len(cands), 0,
                       f"highest twin utility ({cands.names[best]}: SCM {r.scm[best].mean():.3f}, "
                       f"dcost {dc[best]:.3f})")
        tr = replace(tr, extra={"u": cands.u[best].tolist()})
        return _result(req, st, cands.prb[best], cands.tn[best], None, [], tr, None, False, calls, t0)

    wm = wm_improved if wm_improved is not None else _need_models(req, st, models)
    if port_note:
        steps.append(port_note)
    rng = np.random.default_rng(np.random.SeedSequence([req.seed, 13]))
    keep = np.sort(np.concatenate([[0, 1, 2, 3, 4], 5 + rng.choice(len(lib) - 5, cfg.n_keep - 5, replace=False)]))
    kept = lib.take(keep)
    steps.append(f"kept {len(kept)} (family centres + seeded stratified sample)")
    ok, why_rej = prescreen(st.ras, st.ctx, kept.prb, kept.tn, st.prev_prb, st.prev_tn, req.bounds)
    rejected = [CandidateTrace(kept.names[i], kept.families[i], "prescreen-reject", None, why_rej[i])
                for i in np.flatnonzero(~ok)]
    pool = kept.take(np.flatnonzero(ok))
    steps.append(f"prescreen (rules): {len(pool)} of {len(kept)} structurally safe")
    if len(pool) == 0 and req.method == "improved":  # the projected candidates are the safest on offer
        pool = kept
        steps.append("improved: nothing passed the prescreen after the safety projection; scoring all kept")
    if len(pool) == 0:
        prb, tn = uniform_plan(st.ras, k)
        tr = PlanTrace(req.method, (*steps, "nothing survived the prescreen: uniform"), tuple(rejected), len(lib),
                       len(kept), len(rejected), 0, 0, "fallback: every candidate was structurally unsafe")
        return _result(req, st, prb, tn, None, [], tr, wm, True, 0, t0)
    mode = {"fwm-only": "fwm", "cdwm-only": "cdwm", "twm": "twm", "improved": "risk"}[req.method]
    sc_pool = surrogate_scores(wm, st.ras, st.ctx, pool.prb, pool.tn, _dcost(st, pool.prb, pool.tn), w, mode,
                               cfg.n_samples, req.seed)
    n_eval = len(pool)
    if req.method == "improved":
        pool, sc_pool, extra = _cem(req, st, wm, pool, sc_pool, cfg)
        n_eval += extra
        steps.append(f"CEM over {D_THETA} continuous parameters: {cfg.cem_iters} x {cfg.cem_pop} surrogate "
                     f"candidates, risk-aware utility (SCM at q={w.risk_quantile})")
    order = np.argsort(-sc_pool.utility)
    ranked = [CandidateTrace(pool.names[i], pool.families[i], "ranked", float(sc_pool.utility[i]), sc_pool.why(i))
              for i in order]
    if req.method in ("fwm-only", "cdwm-only"):
        best = int(order[0])
        exp = _forecast_of(st, pool.prb, pool.tn, sc_pool, best) if sc_pool.fc is not None else None
        ranked[0] = replace(ranked[0], verdict="chosen")
        tr = PlanTrace(req.method, (*steps, f"{mode} ranking only, no twin verification"), tuple(rejected + ranked),
                       len(lib), len(kept), len(rejected), n_eval, n_eval, f"top {mode} utility: {ranked[0].why}")
        return _result(req, st, pool.prb[best], pool.tn[best], exp, [], tr, wm, False, 0, t0)
    # verify the top n_verify distinct candidates in the twin within the budget
    n_ver = min(cfg.n_verify, len(order), max(req.twin_budget // cfg.verify_seeds, 0))
    top = order[:n_ver]
    checks: list[TwinCheck] = []
    calls = 0
    chosen: int | None = None
    if n_ver > 0:
        checks, tw_scm, tw_dc = _twin_verify(twin, st, req, pool.take(top), cfg.verify_seeds, cfg)
        calls = n_ver * cfg.verify_seeds
        passed = [j for j, c in enumerate(checks) if c.passed]
        if passed:
            if req.method == "improved":  # twin evidence + the surrogate's risk-aware view
                comb = [w.scm * tw_scm[j] + w.cost * tw_dc[j] + 0.5 * sc_pool.utility[top[j]] for j in passed]
            else:
                comb = [w.scm * tw_scm[j] + w.cost * tw_dc[j] for j in passed]
            chosen = int(top[passed[int(np.argmax(comb))]])
        elif req.method == "improved" and cfg.fallback == "best-twin":
            comb = [w.scm * tw_scm[j] + w.cost * tw_dc[j] + 0.5 * sc_pool.utility[top[j]] for j in range(n_ver)]
            chosen = int(top[int(np.argmax(comb))])
            steps.append("no candidate passed: keeping the best verified one (improved fallback), replanned per step")
        steps.append(f"twin verification: top {n_ver} x {cfg.verify_seeds} seeds, {len(passed)} passed")
    verdict = {int(top[j]): ("verified-pass" if c.passed else "verified-fail") for j, c in enumerate(checks)}
    ranked = [replace(c, verdict=verdict.get(int(i), c.verdict)) for c, i in zip(ranked, order, strict=True)]
    if chosen is None:
        prb, tn = uniform_plan(st.ras, k)
        tr = PlanTrace(req.method, (*steps, "no verified candidate passed: uniform fallback"),
                       tuple(rejected + ranked), len(lib), len(kept), len(rejected), n_eval, n_eval,
                       "fallback to uniform: none of the top candidates passed twin verification")
        return _result(req, st, prb, tn, None, checks, tr, wm, True, calls, t0)
    ranked = [replace(c, verdict="chosen") if int(i) == chosen else c for c, i in zip(ranked, order, strict=True)]
    exp = _forecast_of(st, pool.prb, pool.tn, sc_pool, chosen)
    ci = next(c for c in checks if c.candidate == pool.names[chosen])
    tr = PlanTrace(req.method, tuple(steps), tuple(rejected + ranked), len(lib), len(kept), len(rejected), n_eval,
                   n_eval, f"{pool.names[chosen]}: best verified utility ({ci.why}; predicted SCM {exp.scm:.3f} "
                   f"[{exp.scm_lo:.3f}, {exp.scm_hi:.3f}], risk {exp.violation_risk:.2f}, dcost "
                   f"{exp.cost_reduction:.3f})", {"u": pool.u[chosen].tolist()})
    return _result(req, st, pool.prb[chosen], pool.tn[chosen], exp, checks, tr, wm, False, calls, t0)


def _usable_portfolio(wm: WorldModels, st: _Setup) -> tuple[Portfolio, FloatArray] | str:
    """The portfolio next to ``wm`` and its members for this request's shock family, or why there is none to use
    (empty when there simply is none)."""
    port = _portfolio(wm.dir)
    members = port.of(st.ctx.family) if port is not None else None
    if port is None or members is None or port.card is None:
        return ""
    off = validity_violations(port.card, {"scenario": st.sc.scenario, "shock_family": st.ctx.family,
                                          "horizon_steps": st.k})
    return "portfolio not valid here (" + "; ".join(off) + "): surrogate pipeline" if off else (port, members)


def _portfolio_plan(req: PlanRequest, st: _Setup, twin: TwinPort, wm: WorldModels, port: Portfolio,
                    members: FloatArray, cfg: PlannerConfig, t0: float) -> PlanResult:
    """Improved planner with a plan portfolio (:mod:`rapps.intent_agent.planner.portfolio`): its members,
    instantiated from this horizon's observations exactly as :func:`instantiate` does, judged by the twin
    (``cfg.verify_seeds`` seeds each, within the budget; utility on the twin's mean or CVaR-50 SCM); with no
    budget the portfolio's first member (best on the tuning horizons) is taken."""
    w = req.objective
    prb, tn = plans_from_params(st.ras, st.ctx, members, st.k)
    prb, tn = _bound(req, prb, tn)
    fam = st.ctx.family
    names = tuple(f"portfolio/{fam}-{i}" for i in range(len(members)))
    cands = Plans(prb, tn, members, names, ("portfolio",) * len(members))
    card = port.card.name if port.card is not None else "portfolio"
    steps = [f"portfolio ({card}, sha256:{port.sha256()[:16]}): {len(cands)} members for {fam}"]
    sc_c = surrogate_scores(wm, st.ras, st.ctx, cands.prb, cands.tn, _dcost(st, cands.prb, cands.tn), w, "risk",
                            cfg.n_samples, req.seed)
    n_ver = min(len(cands), max(req.twin_budget // cfg.verify_seeds, 0))
    checks: list[TwinCheck] = []
    calls = 0
    if n_ver == 0:
        chosen = 0
        util = np.zeros(len(cands))
        steps.append("no twin budget: the portfolio's first member (best on the tuning horizons)")
    else:
        checks, _, tw_dc = _twin_verify(twin, st, req, cands.take(list(range(n_ver))), cfg.verify_seeds, cfg)
        calls = n_ver * cfg.verify_seeds
        per_seed = np.array([c.scm for c in checks])
        judged = per_seed.mean(1) if cfg.judge == "mean" else lower_tail_mean(per_seed, 0.5)
        util = np.full(len(cands), -np.inf)
        util[:n_ver] = w.scm * judged + w.cost * tw_dc
        best = int(np.argmax(util))
        chosen = best if util[best] > util[0] + cfg.switch_margin else 0
        steps.append(f"twin judge: {n_ver} members x {cfg.verify_seeds} seeds, utility on the {cfg.judge} SCM")
    verdict = {i: "verified" for i in range(n_ver)}
    ranked = tuple(CandidateTrace(n, "portfolio", "chosen" if i == chosen else verdict.get(i, "not-verified"),
                                  float(util[i]) if np.isfinite(util[i]) else None,
                                  checks[i].why if i < len(checks) else "beyond the twin budget")
                   for i, n in enumerate(cands.names))
    exp = _forecast_of(st, cands.prb, cands.tn, sc_c, chosen)
    how = "best twin utility" if chosen else f"the prior, not beaten in the twin by more than {cfg.switch_margin}"
    why = f"{cands.names[chosen]}: " + (f"{how} ({checks[chosen].why})" if checks else "portfolio prior")
    tr = PlanTrace(req.method, tuple(steps), ranked, len(cands), len(cands), 0, len(cands), len(cands), why,
                   {"u": cands.u[chosen].tolist(), "portfolio_sha256": port.sha256()})
    return _result(req, st, cands.prb[chosen], cands.tn[chosen], exp, checks, tr, wm, False, calls, t0)


def instantiate(req: PlanRequest, u: FloatArray, why: str) -> PlanResult:
    """The plan of parameters ``u`` (D_THETA,) for this request's observations, without search (0 twin calls);
    used by DT-FAIR to reuse the policy its once-per-scenario search chose on later horizons."""
    t0 = time.perf_counter()
    st = _setup(req)
    prb, tn = plans_from_params(st.ras, st.ctx, np.asarray(u, dtype=np.float64)[None], st.k)
    prb, tn = _bound(req, prb[0], tn[0])
    tr = PlanTrace(req.method, ("parameters reused from an earlier search",), (), 1, 1, 0, 0, 0, why,
                   {"u": list(map(float, u))})
    return _result(req, st, prb, tn, None, [], tr, None, False, 0, t0)


def _cem(req: PlanRequest, st: _Setup, wm: WorldModels, pool: Plans, s0: Scores, cfg: PlannerConfig,
         iters: int | None = None, pop: int | None = None, init_u: FloatArray | None = None
         ) -> tuple[Plans, Scores, int]:
    """Cross-entropy search over u, warm-started from the best surrogate-scored candidates (or ``init_u``)."""
    rng = np.random.default_rng(np.random.SeedSequence([req.seed, 17]))
    iters = cfg.cem_iters if iters is None else iters
    pop = cfg.cem_pop if pop is None else pop
    elite_idx = np.argsort(-s0.utility)[:cfg.cem_elite]
    elites = pool.u[elite_idx] if init_u is None else np.concatenate([init_u[None], pool.u[elite_idx]])
    mu, sd = elites.mean(0), elites.std(0) + 0.3
    all_plans, all_scores = [pool], [s0]
    n_eval = 0
    for it in range(iters):
        u = mu + sd * rng.standard_normal((pop, D_THETA))
        prb, tn = plans_from_params(st.ras, st.ctx, u, st.k)
        prb, tn = _bound(req, *_safe(req, st, prb, tn, cfg))
        ok, _ = prescreen(st.ras, st.ctx, prb, tn, st.prev_prb, st.prev_tn, req.bounds)
        if not ok.any():  # after the safety projection nothing is structurally safe: score the projected ones
            ok = np.ones(len(u), dtype=bool)
        idx = np.flatnonzero(ok)
        p = Plans(prb[idx], tn[idx], u[idx], tuple(f"cem/iter{it}/{i}" for i in idx), ("cem",) * len(idx))
        s = surrogate_scores(wm, st.ras, st.ctx, p.prb, p.tn, _dcost(st, p.prb, p.tn), req.objective, "risk",
                             cfg.n_samples, req.seed + it + 1)
        n_eval += len(idx)
        all_plans.append(p)
        all_scores.append(s)
        cat_u = np.concatenate([p.u, elites])
        cat_s = np.concatenate([s.utility, np.full(len(elites), -np.inf)])
        if it == 0:
            cat_s[len(p.u):] = -np.inf
        el = cat_u[np.argsort(-cat_s)[:cfg.cem_elite]]
        mu = 0.7 * el.mean(0) + 0.3 * mu
        sd = 0.7 * (el.std(0) + 0.05) + 0.3 * sd
        elites = el
    return Plans.concat(all_plans), Scores.concat(all_scores), n_eval


def _extend(prb: FloatArray, tn: FloatArray, start: int, k: int) -> tuple[FloatArray, FloatArray]:
    """Steps start.. of a plan padded with its last step to ``k`` steps (the CDWM's horizon)."""
    rest_p, rest_t = prb[start:], tn[start:]
    pad = k - len(rest_p)
    if pad > 0:
        rest_p = np.concatenate([rest_p, np.repeat(rest_p[-1:], pad, 0)])
        rest_t = np.concatenate([rest_t, np.repeat(rest_t[-1:], pad, 0)])
    return rest_p, rest_t


def monitor(req: PlanRequest, current: PlanResult, step: int, models: WorldModels | None = None,
            cfg: PlannerConfig = DEFAULT_CONFIG) -> MonitorVerdict:
    """Phase 2 after ``step`` executed slow steps (see :func:`rapps.intent_agent.planner.api.monitor_step`)."""
    k_total = len(current.prb)
    if not 0 < step < k_total:
        return MonitorVerdict(step, False, 0.0, 0.0, False, False, current, "nothing left to monitor")
    if current.method not in ("twm", "improved"):
        return MonitorVerdict(step, False, 0.0, 0.0, False, False, current, f"{current.method}: open loop")
    replan = cfg.portfolio_replan if "portfolio_sha256" in current.trace.extra else cfg.replan
    if current.method == "improved" and replan == "off":
        return MonitorVerdict(step, False, 0.0, 0.0, False, False, current, "improved: replanning off, keep the plan")
    st = _setup(replace(req, horizon=k_total, method=current.method))
    st = replace(st, prev_prb=np.asarray(current.prb[step - 1]), prev_tn=np.asarray(current.tn[step - 1]))
    wm = _need_models(req, st, models)
    w = req.objective
    rest_p, rest_t = _extend(current.prb, current.tn, step, k_total)
    mode = "twm" if current.method == "twm" else "risk"
    cur = surrogate_scores(wm, st.ras, st.ctx, rest_p[None], rest_t[None], _dcost(st, rest_p[None], rest_t[None]),
                           w, mode, cfg.n_samples, req.seed + 100 + step)
    assert cur.fc is not None
    risk, dis = float(cur.fc.risk()[0]), float(cur.fc.disagreement()[0])
    corner = risk > cfg.risk_threshold or dis > cfg.disagreement_threshold
    if not corner and (current.method == "twm" or replan == "corner-case"):
        return MonitorVerdict(step, False, risk, dis, False, False, current,
                              f"risk {risk:.2f}, disagreement {dis:.3f}: within thresholds, keep the plan")
    # alternatives: templates (twm) or a surrogate replan (improved: every step, or corner cases only)
    if current.method == "twm":
        alts = _templates(st, rest_p, rest_t, cur)
        names = ("template/boost-worst-slice", "template/full-rows", "template/rules")
        alt_plans = Plans(alts[0], alts[1], np.zeros((len(alts[0]), D_THETA)), names, ("template",) * len(names))
        sc_alt = surrogate_scores(wm, st.ras, st.ctx, alt_plans.prb, alt_plans.tn,
                                  _dcost(st, alt_plans.prb, alt_plans.tn), w, mode, cfg.n_samples,
                                  req.seed + 200 + step)
    else:
        lib = library(st.ras, st.ctx, 32, k_total, req.seed + step)
        lib = Plans(*_safe(req, st, lib.prb, lib.tn, cfg), lib.u, lib.names, lib.families)
        s0 = surrogate_scores(wm, st.ras, st.ctx, lib.prb, lib.tn, _dcost(st, lib.prb, lib.tn), w, mode,
                              cfg.n_samples, req.seed + 300 + step)
        u0 = np.asarray(current.trace.extra.get("u", lib.u[0]))
        alt_plans, sc_alt, _ = _cem(replace(req, seed=req.seed + step), st, wm, lib, s0, cfg, cfg.replan_iters,
                                    cfg.replan_pop, init_u=u0)
    best = int(np.argmax(sc_alt.utility))
    gain = float(sc_alt.utility[best] - cur.utility[0])
    assert sc_alt.fc is not None
    margin = cfg.gate_margin if current.method == "twm" else cfg.replan_margin
    no_harm = gain > margin and float(sc_alt.fc.risk()[best]) <= risk + 1e-9
    why = (f"{'corner case' if corner else 'replan'}: risk {risk:.2f}, disagreement {dis:.3f}; best alternative "
           f"{alt_plans.names[best]} utility {'+' if gain >= 0 else ''}{gain:.3f}, "
           f"do-no-harm gate {'passed' if no_harm else 'failed'}")
    if not no_harm:
        return MonitorVerdict(step, corner, risk, dis, True, False, current, why)
    n_rest = k_total - step
    new_p = np.concatenate([current.prb[:step], alt_plans.prb[best][:n_rest]])
    new_t = np.concatenate([current.tn[:step], alt_plans.tn[best][:n_rest]])
    tr = replace(current.trace, steps=(*current.trace.steps, f"step {step}: {why}"),
                 extra={**current.trace.extra, "u": alt_plans.u[best].tolist()})
    newp = replace(current, prb=new_p, tn=new_t, expected=_forecast_of(st, alt_plans.prb, alt_plans.tn, sc_alt, best),
                   trace=tr)
    return MonitorVerdict(step, corner, risk, dis, True, True, newp, why)


def _templates(st: _Setup, prb: FloatArray, tn: FloatArray, cur: Scores) -> tuple[FloatArray, FloatArray]:
    """Parameterised alternatives of the rest of a plan: boost the worst predicted slice, fill rows, rules."""
    assert cur.fc is not None
    heads = cur.fc.loss[:, 0].mean(0) / np.array([s.sla_loss for s in st.sc.slices])
    worst = int(np.argmax(heads))
    if st.sc.slices[1].sla_p99_ms is not None and cur.fc.p99_ms[:, 0, 1].mean() > st.sc.slices[1].sla_p99_ms:
        worst = 1
    bp, bt = prb.copy(), tn.copy()
    bp[..., worst] += 0.1
    bt[..., worst] += 0.1

    def cap(x: FloatArray) -> FloatArray:
        s = x.sum(-1, keepdims=True)
        return np.asarray(np.where(s > 1.0, x / np.maximum(s, 1e-12), x))

    full_p = prb / np.maximum(prb.sum(-1, keepdims=True), 1e-9)
    full_t = tn / np.maximum(tn.sum(-1, keepdims=True), 1e-9)
    rp, rt = plans_from_params(st.ras, st.ctx, rules_params(st.ras)[None], len(prb))
    return np.stack([cap(bp), full_p, rp[0]]), np.stack([cap(bt), full_t, rt[0]])


__all__ = ["DEFAULT_CONFIG", "PlannerConfig", "default_models", "fwm_scm", "instantiate", "monitor", "plan"]
