"""Prometheus metrics of the beam predictor (one registry passed in; no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class BeamMetrics:
    reports: Counter
    batches: Counter
    inference_latency: Histogram
    batch_ues: Histogram
    decisions: Counter
    fallbacks: Counter
    confidence: Histogram
    switches_sent: Counter
    switches_denied: Counter
    switches_failed: Counter
    switch_outcome: Counter
    model_loaded: Gauge
    model_reloads: Counter
    refinements: Counter
    refinement_changed: Counter
    ahead_fallbacks: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> BeamMetrics:
        p = "nextric_beam_predictor_"
        return cls(
            reports=Counter(p + "ue_reports", "per-UE Set-B reports processed", registry=registry),
            batches=Counter(p + "batches", "inference batches (indications merged per report period)",
                            registry=registry),
            inference_latency=Histogram(
                p + "inference_seconds", "onnxruntime time of one batch", registry=registry,
                buckets=(1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 5e-3, 2e-2)),
            batch_ues=Histogram(p + "batch_ues", "UEs per inference batch", registry=registry,
                                buckets=(1, 8, 32, 64, 128, 256, 512, 1024)),
            decisions=Counter(p + "decisions", "per-UE beam decisions by source", ["source"], registry=registry),
            fallbacks=Counter(p + "fallbacks", "classical fallbacks by reason", ["reason"], registry=registry),
            confidence=Histogram(p + "confidence", "softmax margin p1 - p2 of model predictions", registry=registry,
                                 buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)),
            switches_sent=Counter(p + "switches_sent", "serving-beam switches acknowledged by the node",
                                  registry=registry),
            switches_denied=Counter(p + "switches_denied", "switches denied by the guardrail", ["reason"],
                                    registry=registry),
            switches_failed=Counter(p + "switches_failed", "switch controls refused by the E2 node", ["cause"],
                                    registry=registry),
            switch_outcome=Counter(p + "switch_outcome", "switches checked in the UE's next report", ["result"],
                                   registry=registry),
            model_loaded=Gauge(p + "model_loaded", "1 for the model serving now", ["version"], registry=registry),
            model_reloads=Counter(p + "model_reloads", "hot reloads of artefact + card", ["result"],
                                  registry=registry),
            refinements=Counter(p + "refinements", "per-UE top-K refinement measurements: measured, missing (not in "
                                "the node's outcome: handed over), failed (control refused)", ["result"],
                                registry=registry),
            refinement_changed=Counter(p + "refinement_changed", "refined UEs served another beam than predicted",
                                       ["source"], registry=registry),
            ahead_fallbacks=Counter(p + "ahead_fallbacks", "PREDICT_AHEAD > 0: UEs served the BM-Case1 decision "
                                    "instead of the BM-Case2 model, by reason (no_model, validity)", ["reason"],
                                    registry=registry),
        )
