"""PNG map of a city (cells, zones, transport graph) and a KPI time series of one run."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from testbed.core.engine import Emulator
from testbed.core.scenario import city_arrays, load_scenario
from testbed.core.scheduler import plan_ratios
from testbed.core.shocks import ShockRegime
from testbed.policies import uniform_shares


def plot_city(out_dir: Path, scenario: str = "twm_poc", regime: str = "hotspot-ID", seed: int = 0) -> list[Path]:
    """Write ``<scenario>_map.png`` and ``<scenario>_<regime>_kpis.png`` (uniform 1/3 allocation) to
    ``out_dir``; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sc = load_scenario(scenario)
    arr = city_arrays(sc)
    fig, ax = plt.subplots(figsize=(7, 7))
    colours = {"hospital": "tab:red", "fwa": "tab:green", "corridor": "tab:orange", "generic": "tab:gray"}
    for z in sc.zones:
        pts = np.asarray(z.points)
        if len(pts) == 1:
            ax.add_patch(Circle(tuple(pts[0]), z.radius_m, color=colours[z.kind], alpha=0.2))
            ax.annotate(z.name, tuple(pts[0]), color=colours[z.kind], ha="center")
        else:
            ax.plot(pts[:, 0], pts[:, 1], color=colours[z.kind], lw=z.radius_m / 8, alpha=0.25, solid_capstyle="round")
            ax.annotate(z.name, tuple(pts[-1]), color=colours[z.kind])
    nodes = np.asarray(sc.transport.node_xy)
    for i, ln in enumerate(sc.transport.links):
        a, b = nodes[arr.link_src[i]], nodes[arr.link_dst[i]]
        ax.annotate("", xy=tuple(b), xytext=tuple(a),
                    arrowprops={"arrowstyle": "->", "color": "purple" if ln.corridor else "black", "lw": 1.2})
    ax.scatter(nodes[:, 0], nodes[:, 1], marker="s", s=80, c="purple", label="aggregation nodes", zorder=3)
    for j, name in enumerate(sc.transport.nodes):
        ax.annotate(name, tuple(nodes[j]), fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.scatter(arr.cell_xy[:, 0], arr.cell_xy[:, 1], marker="^", s=120, c="tab:blue", label="cells", zorder=4)
    for c in sc.cells:
        ax.annotate(str(c.cell_id), (c.x_m, c.y_m), xytext=(5, 5), textcoords="offset points")
    ax.set_xlim(0, sc.width_m)
    ax.set_ylim(0, sc.height_m)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{sc.name}: cells, zones, transport (purple = corridor links)")
    ax.legend(loc="lower right")
    p_map = out_dir / f"{sc.name}_map.png"
    fig.savefig(p_map, dpi=110, bbox_inches="tight")
    plt.close(fig)
    # KPI time series
    emu = Emulator(sc, ShockRegime.parse(regime), seed=seed, nmse_obs=4)
    prb, tn = uniform_shares(sc)
    emu.set_allocation(plan_ratios(sc.plan_shares, prb), tn)
    t, loss, p99, scm_v = [], [], [], []
    for _ in range(sc.timing.slow_per_horizon * 2):
        emu.step_slow()
        k = emu.window_kpis()
        emu.read_kpm()
        t.append(emu.t_s)
        loss.append(k.loss[0])
        p99.append(k.p99_ms[0])
        scm_v.append(float(k.scm[0]))
    la, pa = np.array(loss), np.array(p99)
    fig, axs = plt.subplots(3, 1, figsize=(8, 8), sharex=True)
    for si, s in enumerate(sc.slices):
        axs[0].plot(t, la[:, si], label=f"{s.name} (ceiling {s.sla_loss:.0%})")
        if s.sla_p99_ms is not None:
            axs[1].plot(t, pa[:, si], label=f"{s.name} p99 (ceiling {s.sla_p99_ms} ms)")
            axs[1].axhline(s.sla_p99_ms, ls="--", c="gray")
    axs[0].set_ylabel("loss rate")
    axs[0].legend()
    axs[1].set_ylabel("p99 latency (ms)")
    axs[1].set_yscale("log")
    axs[1].legend()
    axs[2].plot(t, scm_v, c="k")
    axs[2].set_ylabel("SCM")
    axs[2].set_xlabel("simulated time (s)")
    axs[0].set_title(f"{sc.name} {regime}, uniform 1/3 allocation, seed {seed} (per slow step)")
    p_kpi = out_dir / f"{sc.name}_{regime}_kpis.png"
    fig.savefig(p_kpi, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return [p_map, p_kpi]
