"""docker-compose.yml checks without a Docker engine: interpolation from .env.example, services vs
deploy/components.yaml, commands resolvable (the module and its ``__main__`` exist in the installed package),
environment names known to each app's pydantic settings, nothing hard-coded for ports/tokens/passwords, secrets
(file-based, each one a service mounts defined, each ``/run/secrets/<name>`` an environment names mounted); override
files (``-f docker-compose.yml -f deploy/compose.e2ap.yaml``) merged and profiles applied as Compose does."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_settings import BaseSettings

VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def interpolate(value: Any, env: dict[str, str], missing: set[str]) -> Any:
    """Compose-style ``${VAR}``, ``${VAR:?msg}``, ``${VAR:-default}`` over nested data; records unset names."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, missing) for v in value]
    if not isinstance(value, str):
        return value

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if name in env and (env[name] or not (op or "").startswith(":")):
            return env[name]
        if op in (":-", "-"):
            return arg or ""
        missing.add(name)
        return ""

    return VAR.sub(sub, value)


REPLACED = {"command", "entrypoint", "test", "image"}  #: sequences and scalars an override replaces


def merge(base: Any, override: Any, key: str = "") -> Any:
    """An override file merged into the model, by the compose-spec merge rules that nextric's files need: mappings
    merge key by key (``services``, ``environment`` and ``depends_on`` in their mapping form, as nextric writes
    them), other sequences (``ports``, ``volumes`` ...) are the base's items followed by the override's new ones,
    ``command``/``entrypoint``/healthcheck ``test`` and scalars are replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = merge(base[k], v, k) if k in base else v
        return out
    if isinstance(base, list) and isinstance(override, list) and key not in REPLACED:
        return base + [v for v in override if v not in base]
    return override


def active_services(data: dict[str, Any], profiles: set[str]) -> dict[str, Any]:
    """The services ``docker compose --profile ... up`` starts: those without ``profiles`` or with an enabled one."""
    return {n: s for n, s in data["services"].items()
            if not s.get("profiles") or set(s["profiles"]) & profiles}


def dependency_problems(data: dict[str, Any], profiles: set[str]) -> list[str]:
    """``depends_on`` entries of started services that name a service Compose would not start (it refuses those)."""
    active = active_services(data, profiles)
    why = {True: "disabled by its profiles", False: "undefined"}
    return [f"{name} depends on {dep}, which is {why[dep in data['services']]}"
            for name, svc in active.items() for dep in svc.get("depends_on", {}) if dep not in active]


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
    """A service's secrets as Compose mounts them: target path -> secret name (short syntax ``- name``, long syntax
    ``{source, target}``; a relative target is under /run/secrets)."""
    out: dict[str, str] = {}
    for entry in svc.get("secrets", []):
        if isinstance(entry, str):
            source, target = entry, entry
        else:
            source, target = entry["source"], entry.get("target", entry["source"])
        out[target if target.startswith("/") else f"{SECRETS_DIR}/{target}"] = source
    return out


def secret_problems(data: dict[str, Any], profiles: set[str]) -> list[str]:
    """Secrets that would not work: one a started service mounts but the file does not define, one that is not
    file-based (``environment:``/``external`` secrets are not what nextric's files use), an environment value under
    /run/secrets that names no secret the service mounts."""
    defined = data.get("secrets") or {}
    problems = [f"secret {n}: not file-based ({sorted(d)})" for n, d in defined.items() if set(d) != {"file"}]
    for name, svc in active_services(data, profiles).items():
        mounted = service_secrets(svc)
        problems += [f"{name}: secret {src} is not defined" for src in mounted.values() if src not in defined]
        for key, value in (svc.get("environment") or {}).items():
            if str(value).startswith(SECRETS_DIR + "/") and str(value) not in mounted:
                problems.append(f"{name}: {key}={value} is no secret it mounts")
    return problems
