"""Start the components of a rendered deployment as the manifests say, on this machine, with no container runtime.

A deployment (the Helm chart rendered by the Helm library, a kustomize overlay rendered by ``kubectl kustomize``,
or the interpolated compose model) becomes a list of :class:`Pod`: each pod's command, environment (``value``,
``secretKeyRef`` / ``configMapKeyRef`` from the rendered Secrets and ConfigMaps, ``$(VAR)`` expansion as the
kubelet does it), volumes (emptyDir / tmpfs / named volume: an empty directory; Secret: its items as files; a
compose bind mount: the host path; compose ``secrets:``: a directory standing for /run/secrets holding a copy of
each secret's ``file:`` under its target name), user and group. What stands in for the container runtime, and
nothing else:

* **pod network**: each pod gets its own loopback address (127.x.y.z), so every component binds the ports its
  manifest fixes (8080, 36421, ...); the cluster DNS is a substitution of every Service name (also
  ``name.namespace``, ``name.namespace.svc``, ``...svc.cluster.local``) in environment values by the address of the
  pod it selects, and the wildcard bind address ``0.0.0.0`` by the pod's own address;
* **mounts**: a mount path in an environment value is replaced by the directory standing for that volume;
* **read-only root and user**: when the tests run as root, each process starts in a mount namespace of its own
  (``unshare -m``) where every filesystem is remounted read-only except the directories standing for its volumes,
  as ``readOnlyRootFilesystem`` / compose ``read_only`` make it; it then runs as the manifest's ``runAsUser`` /
  ``runAsGroup`` (compose: the image's ``USER``) when that user can reach this interpreter (a Python installed
  under root's 0700 home cannot be run by another user: then it stays root, still on a read-only root);
  ``TMPDIR`` is its ``/tmp`` volume. Without root none of this is possible and :func:`isolation` says so;
* **images**: ``python`` is this interpreter (the package is installed in it, as in the images); ``redis-server``
  is Debian's binary with the manifest's arguments plus ``--bind <pod address>`` and ``--dir <its volume>``;
* **SCTP**: this kernel has none, so an E2AP transport the manifest sets to ``sctp`` runs as ``tcp`` (the same
  E2AP PDUs, framed over TCP, as the E2AP tests do);
* **external services** a manifest points at but does not deploy (the O-RAN SC platform's Redis, DBAAS) are a
  real ``redis-server`` on an address of their own.

Names are resolved where a network address is written (``host:port``, URLs included), never in other values (a
service called ``redis`` and the SDL backend ``redis`` are different things).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PROBES = ("/ric/v1/health/alive", "/ric/v1/health/ready", "/metrics")
_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_REDIS_URL = re.compile(r"redis://(?:[^@/\s]*@)?([A-Za-z0-9.-]+):(\d+)")


@dataclass
class Pod:
    name: str
    host: str
    command: list[str]
    env: dict[str, str]
    http_port: int | None
    volumes: dict[str, Path] = field(default_factory=dict)  #: mount path -> directory standing for it
    user: int | None = None
    group: int | None = None


class Addresses:
    """One loopback address per pod: 127.<b>.<c>.<n>, a /24 of its own per deployment under test."""

    def __init__(self, block: int) -> None:
        self._prefix = f"127.{100 + block // 250}.{block % 250 + 1}"
        self._next = 1

    def take(self) -> str:
        self._next += 1
        return f"{self._prefix}.{self._next}"


def _secret_data(doc: dict[str, Any]) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
    data.update(doc.get("stringData") or {})
    return data


def _expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: a defined variable is replaced, an undefined reference is kept."""
    return _REF.sub(lambda m: env.get(m.group(1), m.group(0)), value.replace("$$", "\0")).replace("\0", "$")


def _substitute_hosts(value: str, hosts: dict[str, str]) -> str:
    for name in sorted(hosts, key=len, reverse=True):
        value = re.sub(rf"(?<![A-Za-z0-9.-]){re.escape(name)}(?=:[0-9])", hosts[name], value)
    return value


def _service_names(name: str, namespace: str | None) -> list[str]:
    names = [name]
    if namespace:
        names += [f"{name}.{namespace}", f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"]
    return names


def pods_from_k8s(docs: list[dict[str, Any]], addresses: Addresses, root: Path) -> tuple[list[Pod], dict[str, str]]:
    """Pods of every Deployment in ``docs`` (one replica each), volumes under ``root``; and the cluster DNS
    (every name of every Service -> the address of the pod it selects). Pass both to :func:`wire`."""
    secrets = {d["metadata"]["name"]: _secret_data(d) for d in docs if d["kind"] == "Secret"}
    configs = {d["metadata"]["name"]: dict(d.get("data") or {}) for d in docs if d["kind"] == "ConfigMap"}
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    host_of = {d["metadata"]["name"]: addresses.take() for d in deployments}
    hosts: dict[str, str] = {}
    for svc in (d for d in docs if d["kind"] == "Service"):
        selector = svc["spec"].get("selector") or {}
        for dep in deployments:
            labels = dep["spec"]["template"]["metadata"].get("labels") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                for n in _service_names(svc["metadata"]["name"], svc["metadata"].get("namespace")):
                    hosts[n] = host_of[dep["metadata"]["name"]]
    pods = []
    for dep in deployments:
        name = dep["metadata"]["name"]
        spec = dep["spec"]["template"]["spec"]
        (c,) = spec["containers"]
        psc, csc = spec.get("securityContext") or {}, c.get("securityContext") or {}
        volumes = _k8s_volumes(spec, c, secrets, root / name)
        env: dict[str, str] = {}
        for e in c.get("env", []):
            if "value" in e:
                env[e["name"]] = _expand(str(e["value"]), env)
                continue
            ref = e["valueFrom"]
            if "secretKeyRef" in ref:
                env[e["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
            elif "configMapKeyRef" in ref:
                env[e["name"]] = configs[ref["configMapKeyRef"]["name"]][ref["configMapKeyRef"]["key"]]
            else:
                raise AssertionError(f"{name}: env {e['name']}: unsupported source {sorted(ref)}")
        http = next((p["containerPort"] for p in c.get("ports", []) if p.get("name") == "http"), None)
        command = [_expand(a, env) for a in (*c.get("command", []), *c.get("args", []))]
        if not c.get("command") and str(c.get("image", "")).startswith(("redis:", "docker.io/library/redis:")):
            command.insert(0, "redis-server")  # the redis image's entrypoint runs redis-server with the args
        pods.append(Pod(name=name, host=host_of[name], command=command, env=env, http_port=http, volumes=volumes,
                        user=csc.get("runAsUser", psc.get("runAsUser")),
                        group=csc.get("runAsGroup", psc.get("runAsGroup"))))
    return pods, hosts


def _k8s_volumes(spec: dict[str, Any], container: dict[str, Any], secrets: dict[str, dict[str, str]],
                 root: Path) -> dict[str, Path]:
    sources = {v["name"]: v for v in spec.get("volumes", [])}
    out: dict[str, Path] = {}
    for m in container.get("volumeMounts", []):
        vol = sources[m["name"]]
        where = root / m["name"]
        where.mkdir(parents=True, exist_ok=True)
        if "secret" in vol:
            data = secrets[vol["secret"]["secretName"]]
            items = vol["secret"].get("items") or [{"key": k, "path": k} for k in data]
            for item in items:
                (where / item["path"]).write_text(data[item["key"]])
        elif not ({"emptyDir", "persistentVolumeClaim"} & set(vol)):
            raise AssertionError(f"volume {m['name']}: unsupported source {sorted(vol)}")
        out[m["mountPath"]] = where
    return out


def pods_from_compose(data: dict[str, Any], services: list[str], addresses: Addresses, root: Path,
                      image_users: dict[str, int]) -> tuple[list[Pod], dict[str, str]]:
    """Pods of the compose ``services`` (interpolated model), volumes under ``root``, and the network's DNS
    (service name -> address); ``image_users``: image -> the uid its Dockerfile's ``USER`` sets."""
    host_of = {s: addresses.take() for s in services}
    pods = []
    for s in services:
        svc = data["services"][s]
        volumes: dict[str, Path] = {}
        for spec in svc.get("volumes", []):
            src, _, rest = spec.partition(":")
            target = rest.split(":")[0]
            volumes[target] = Path(src) if src.startswith((".", "/")) else root / s / src
            volumes[target].mkdir(parents=True, exist_ok=True)
        for target in svc.get("tmpfs", []):
            volumes[target] = root / s / target.strip("/").replace("/", "_")
            volumes[target].mkdir(parents=True, exist_ok=True)
        _compose_secrets(data, svc, volumes, root / s / "run_secrets")
        env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
        user = svc.get("user", image_users.get(str(svc.get("image", "")).split(":")[0]))
        uid = int(str(user).split(":")[0]) if user is not None else None
        pods.append(Pod(name=s, host=host_of[s], command=list(svc["command"]), env=env,
                        http_port=8080 if s != "redis" else None, volumes=volumes, user=uid, group=uid))
    return pods, host_of


def _compose_secrets(data: dict[str, Any], svc: dict[str, Any], volumes: dict[str, Path], where: Path) -> None:
    """The service's compose secrets (short syntax, or long with a relative target), each file-based secret's
    ``file:`` (relative: to the working directory) copied into ``where``, which stands for /run/secrets."""
    for entry in svc.get("secrets", []):
        if isinstance(entry, str):
            source, target = entry, entry
        else:
            source, target = entry["source"], entry.get("target", entry["source"])
        assert not target.startswith("/"), f"secret {source}: a target outside /run/secrets is not supported"
        spec = (data.get("secrets") or {})[source]
        assert set(spec) == {"file"}, f"secret {source}: only file-based secrets are supported ({sorted(spec)})"
        where.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(spec["file"]), where / target)
        volumes["/run/secrets"] = where


def _translate(pod: Pod, hosts: dict[str, str]) -> None:
    for k, v in list(pod.env.items()):
        if k.endswith("E2AP_TRANSPORT") or k.endswith("E2AP__TRANSPORT"):
            v = "tcp" if v.lower() == "sctp" and not _has_sctp() else v
        v = _substitute_hosts(v, hosts).replace("0.0.0.0", pod.host)
        for mount in sorted(pod.volumes, key=len, reverse=True):  # the innermost mount holds the path
            if v == mount or v.startswith(mount.rstrip("/") + "/"):
                v = str(pod.volumes[mount]) + v[len(mount.rstrip("/")):]
                break
        pod.env[k] = v


def _has_sctp() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class External:
    """A Redis the manifests point at but do not deploy, at its own address."""

    host: str
    port: int
    password: str | None


def wire(pods: list[Pod], hosts: dict[str, str], addresses: Addresses) -> list[External]:
    """Give every external Redis (a ``redis://`` host that is no Service) an address, then translate each pod's
    environment: names to addresses, ``0.0.0.0`` to the pod's own address, mount paths to their directories."""
    found: dict[tuple[str, int], str | None] = {}
    for pod in pods:
        for v in pod.env.values():
            for m in _REDIS_URL.finditer(v):
                if m.group(1) not in hosts:
                    userinfo, at, _ = m.group(0)[len("redis://"):].partition("@")
                    password = userinfo.partition(":")[2] if at else ""
                    found[(m.group(1), int(m.group(2)))] = password or None
    for name, _ in found:
        hosts.setdefault(name, addresses.take())
    for pod in pods:
        _translate(pod, hosts)
    return [External(hosts[name], port, pw) for (name, port), pw in sorted(found.items())]


@dataclass
class Running:
    pod: Pod
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


#: run in a fresh mount namespace: bind each volume directory (arguments before ``--``) onto itself, remount every
#: other filesystem read-only, then exec the rest (``setpriv`` first when switching user)
_READ_ONLY_ROOT = r"""set -e
mount --make-rprivate /
vols=""
while [ "$1" != "--" ]; do mount --bind "$1" "$1"; vols="$vols $1 "; shift; done
shift
for mp in $(awk '{print $5}' /proc/self/mountinfo | sort -u); do
  case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue;; esac
  case "$vols" in *" $mp "*) continue;; esac
  mount -o remount,bind,ro "$mp"
done
exec "$@"
"""


def isolation() -> str:
    """What this machine can enforce: ``read-only root`` (root with ``unshare`` and ``mount``) or ``none``."""
    if os.geteuid() == 0 and shutil.which("unshare") and shutil.which("mount"):
        return "read-only root"
    return "none"


def _reachable_by_others(path: str) -> bool:
    """Whether a user other than the owner may execute ``path`` (every ancestor directory searchable)."""
    real = Path(os.path.realpath(path))
    return all(os.stat(p).st_mode & 0o001 for p in [real, *real.parents])


def _switch_user(pod: Pod, executable: str) -> bool:
    return (os.geteuid() == 0 and pod.user is not None and shutil.which("setpriv") is not None
            and _reachable_by_others(executable))


def _chown_volumes(pod: Pod) -> None:
    assert pod.user is not None
    for where in pod.volumes.values():
        if where.is_relative_to(tempfile.gettempdir()):
            for p in [where, *where.rglob("*")]:
                os.chown(p, pod.user, pod.group if pod.group is not None else pod.user)


def start(pod: Pod, logs: Path) -> Running:
    """Start ``pod`` (``python``: this interpreter; ``redis-server``: Debian's, bound to the pod's address)."""
    command = list(pod.command)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", **pod.env}
    if "/tmp" in pod.volumes:
        env["TMPDIR"] = str(pod.volumes["/tmp"])
    if command[0] == "python":
        command[0] = sys.executable
    elif command[0] == "redis-server":
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed (make test installs it)"
        data = pod.volumes.get("/data") or next(iter(pod.volumes.values()), logs)
        command = [binary, *command[1:], "--bind", pod.host, "--dir", str(data), "--save", ""]
    if _switch_user(pod, command[0]):
        _chown_volumes(pod)
        group = pod.group if pod.group is not None else pod.user
        command = ["setpriv", f"--reuid={pod.user}", f"--regid={group}", "--clear-groups", *command]
    if isolation() == "read-only root":
        writable = sorted({str(p) for p in pod.volumes.values()})
        command = ["unshare", "-m", "sh", "-c", _READ_ONLY_ROOT, "sh", *writable, "--", *command]
    log = logs / f"{pod.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/")
    return Running(pod, proc, log)


def start_external(ext: External, workdir: Path, logs: Path) -> Running:
    """A real redis-server standing for an external service."""
    workdir.mkdir(parents=True, exist_ok=True)
    auth = ["--requirepass", ext.password] if ext.password else []
    pod = Pod(name=f"external-redis-{ext.host}", host=ext.host, command=["redis-server", "--port", str(ext.port),
              *auth], env={}, http_port=None, volumes={"/data": workdir})
    return start(pod, logs)


def probe_all(running: list[Running], timeout_s: float) -> dict[str, dict[str, int | str]]:
    """Poll alive, ready and metrics of every HTTP pod until each answers 200 or ``timeout_s`` passes; the last
    status (or error) per pod and path."""
    want: dict[str, dict[str, int | str]] = {r.pod.name: dict.fromkeys(PROBES, "not tried")
                                             for r in running if r.pod.http_port}
    by_name = {r.pod.name: r for r in running}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            pending = [(n, p) for n, paths in want.items() for p, s in paths.items() if s != 200]
            if not pending or all(by_name[n].proc.poll() is not None for n, _ in pending):
                break  # all answered, or every one still missing has exited
            for name, path in pending:
                r = by_name[name]
                if r.proc.poll() is not None:
                    want[name][path] = f"exited with {r.proc.returncode}"
                    continue
                try:
                    want[name][path] = client.get(f"http://{r.pod.host}:{r.pod.http_port}{path}").status_code
                except httpx.HTTPError as exc:
                    want[name][path] = type(exc).__name__
            time.sleep(0.5)
    return want


@contextlib.contextmanager
def deployed(pods: list[Pod], logs: Path, externals: list[External]) -> Iterator[list[Running]]:
    """Start the external Redis stand-ins, then every pod; stop them all on exit."""
    running: list[Running] = []
    try:
        for ext in externals:
            running.append(start_external(ext, logs / f"redis-{ext.host}", logs))
        for pod in sorted(pods, key=lambda p: p.http_port is not None):  # Redis first, as its clients retry
            running.append(start(pod, logs))
        yield running
    finally:
        for r in running:
            if r.proc.poll() is None:
                r.proc.terminate()
        for r in running:
            try:
                r.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                r.proc.kill()
                r.proc.wait(timeout=10)
