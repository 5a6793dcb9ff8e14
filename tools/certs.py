"""Certificates for the E2 gRPC port's TLS in a local run, a test cluster or compose: a CA, a server certificate
whose subject alternative names are the E2 servers' Service names, and optionally client certificates (mTLS).

Made with the ``openssl`` command (OpenSSL 1.1.1 or newer), so nothing is added to nextric's dependencies:

    python -m tools.certs secrets/e2-tls                       # compose and release "nextric" in any namespace
    python -m tools.certs secrets/e2-tls --release ric --namespace ric-apps --client slice-scheduler

writes ``ca.crt`` (every E2 client's ``..._TLS_CA_FILE``), ``ca.key`` (keep it: it signs more certificates; no pod
needs it), ``tls.crt`` and ``tls.key`` (the E2 servers' ``..._E2__TLS_CERT_FILE`` / ``_KEY_FILE``) and, per
``--client``, ``<name>.crt`` / ``<name>.key``. The file names are those of a ``kubernetes.io/tls`` Secret plus
``ca.crt`` (cert-manager's layout): ``kubectl create secret generic nextric-e2-tls --from-file=ca.crt
--from-file=tls.crt --from-file=tls.key`` (docs/deploy.md). Keys are EC P-256, written mode 0600; certificates are
valid ``--days`` (default 90). For production use the cluster's issuer (cert-manager) with the same names.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: the components that serve the E2 gRPC port (and the transport controller and the twin beside it)
E2_SERVERS = ("testbed", "e2term")


@dataclass(frozen=True)
class Issued:
    """Where the files went."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]]


def server_names(release: str = "nextric", namespace: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The DNS names an E2 client may use for an E2 server: the compose service names, the Helm / kustomize
    Service names ``<release>-<component>`` (with the namespace's qualified forms when given), ``localhost``."""
    names: list[str] = []
    for component in E2_SERVERS:
        service = f"{release}-{component}"
        names += [component, service]
        if namespace:
            qualified = f"{service}.{namespace}"
            names += [qualified, f"{qualified}.svc", f"{qualified}.svc.cluster.local"]
    names += ["localhost", *extra]
    return list(dict.fromkeys(names))


def _openssl(*args: str) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise SystemExit("tools.certs needs the openssl command (apt-get install openssl)")
    proc = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def _key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(path))
    os.chmod(path, 0o600)


def _sign(ca_cert: Path, ca_key: Path, key: Path, cert: Path, subject: str, extensions: str, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csr, ext = Path(tmp) / "req.csr", Path(tmp) / "ext.cnf"
        ext.write_text(f"[v3]\n{extensions}\n")
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
                 "-CAserial", str(Path(tmp) / "ca.srl"), "-days", str(days), "-sha256", "-extfile", str(ext),
                 "-extensions", "v3", "-out", str(cert))


def issue(out: Path, names: Sequence[str], ips: Sequence[str] = ("127.0.0.1",), clients: Sequence[str] = (),
          days: int = 90, ca_name: str = "nextric E2 CA") -> Issued:
    """A new CA in ``out`` and a server certificate for ``names`` (DNS) and ``ips``; one client certificate per name
    in ``clients`` (extended key usage clientAuth, CN = the name)."""
    out.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = out / "ca.key", out / "ca.crt"
    _key(ca_key)
    _openssl("req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", str(days), "-subj", f"/CN={ca_name}",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-out", str(ca_cert))
    sans = ",".join([*(f"DNS:{n}" for n in names), *(f"IP:{ip}" for ip in ips)])
    server_key, server_cert = out / "tls.key", out / "tls.crt"
    _key(server_key)
    _sign(ca_cert, ca_key, server_key, server_cert, f"/CN={names[0]}",
          f"basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
          f"subjectAltName={sans}", days)
    issued: dict[str, tuple[Path, Path]] = {}
    for name in clients:
        key, cert = out / f"{name}.key", out / f"{name}.crt"
        _key(key)
        _sign(ca_cert, ca_key, key, cert, f"/CN={name}",
              "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth", days)
        issued[name] = (cert, key)
    return Issued(ca_cert, ca_key, server_cert, server_key, issued)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.certs", description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for ca.crt, ca.key, tls.crt, tls.key (created)")
    parser.add_argument("--release", default="nextric", help="Helm release / kustomize name prefix (nextric)")
    parser.add_argument("--namespace", help="add the namespace-qualified Service names")
    parser.add_argument("--name", action="append", default=[], help="one more DNS name of the server (repeat)")
    parser.add_argument("--ip", action="append", default=["127.0.0.1"], help="IP address of the server (repeat)")
    parser.add_argument("--client", action="append", default=[], help="a client certificate for mTLS (repeat)")
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args(argv)
    names = server_names(args.release, args.namespace, args.name)
    issued = issue(args.out, names, args.ip, args.client, args.days)
    print(f"CA {issued.ca_cert}; server {issued.server_cert} for {', '.join(names)}; "
          f"{len(issued.clients)} client certificate(s)")


if __name__ == "__main__":
    main()
