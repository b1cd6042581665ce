"""nginx in front of N web processes, with the project's own config (``nginx/tradehive.conf``).

The config is the very file compose mounts, rendered for loopback: the upstream's servers become
the given web processes' ports (with the options the file gives its first server), the listen
ports, certificate paths and static root are replaced, and each replacement must match, so a test
breaks if the file changes shape instead of testing something else. TLS uses a throw-away
self-signed certificate for ``localhost``; websockets upgrade on ``/ws/`` as in production."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tradehive.embedded_redis import wait_for_port
from tradehive.testing.processes import ROOT, stop

NGINX_CONF = ROOT / "nginx" / "tradehive.conf"


def upstream_servers(service: str) -> re.Pattern[str]:
    """An upstream's server lines for compose's ``<service>N:8000``, then their options."""
    return re.compile(rf"^(\s*)server {service}\d+:8000 ([^;]*);\n", flags=re.MULTILINE)


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        raise RuntimeError(
            "nginx is not installed; `make test` installs Debian's nginx (apt-get install nginx)"
        )
    return found


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate and key for ``localhost`` valid for a day: (tls.crt, tls.key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    crt, pem = directory / "tls.crt", directory / "tls.key"
    crt.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return crt, pem


def render_site(
    *,
    app_ports: Sequence[int],
    http_port: int,
    https_port: int,
    crt: Path,
    key: Path,
    ws_ports: Sequence[int] = (),
) -> str:
    """nginx/tradehive.conf with compose's names replaced by loopback ones: one upstream server
    per port of ``app_ports`` (HTTP, compose's ``webN``) and of ``ws_ports`` (websockets,
    compose's ``wsN``; by default the HTTP ports, for an ASGI server that serves both)."""
    if not app_ports:
        raise ValueError("nginx needs at least one web process")
    text = NGINX_CONF.read_text()
    for service, ports in (("web", app_ports), ("ws", ws_ports or app_ports)):
        servers = list(upstream_servers(service).finditer(text))
        assert servers, f"nginx/tradehive.conf: no `server {service}N:8000 ...;` upstream line"
        indent, options = servers[0].group(1), servers[0].group(2)
        lines = "".join(f"{indent}server 127.0.0.1:{port} {options};\n" for port in ports)
        text = text[: servers[0].start()] + lines + text[servers[-1].end() :]
    replacements = [
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (r"/etc/nginx/certs/tls.crt", str(crt)),
        (r"/etc/nginx/certs/tls.key", str(key)),
        (r"alias /srv/static/;", f"alias {ROOT / 'static'}/;"),
    ]
    for old, new in replacements:
        assert text.count(old) == 1, f"nginx/tradehive.conf: expected one {old!r}"
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Proxy:
    http_port: int
    https_port: int

    @property
    def http(self) -> str:
        return f"http://localhost:{self.http_port}"

    @property
    def https(self) -> str:
        return f"https://localhost:{self.https_port}"

    @property
    def wss(self) -> str:
        return f"wss://localhost:{self.https_port}"


@contextmanager
def nginx_proxy(
    *,
    app_ports: Sequence[int],
    http_port: int,
    https_port: int,
    directory: Path,
    ws_ports: Sequence[int] = (),
) -> Iterator[Proxy]:
    """A running nginx (one worker, its files under ``directory``) balancing HTTP over
    ``app_ports`` and websockets over ``ws_ports`` (default: ``app_ports``); stopped on exit."""
    binary = nginx_binary()
    crt, key = self_signed(directory)
    site = directory / "tradehive.conf"
    site.write_text(
        render_site(
            app_ports=app_ports,
            ws_ports=ws_ports,
            http_port=http_port,
            https_port=https_port,
            crt=crt,
            key=key,
        )
    )
    temp = directory / "temp"
    temp.mkdir()
    temp.chmod(0o777)  # nginx workers drop to an unprivileged user when started as root
    main = directory / "nginx.conf"
    main.write_text(f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
""")
    # S603: the machine's nginx with our own literal arguments.
    checked = subprocess.run(  # noqa: S603
        [binary, "-t", "-c", str(main), "-p", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the rendered config: {checked.stderr}")
    nginx = subprocess.Popen(  # noqa: S603 - our own binary and literal arguments
        [binary, "-c", str(main), "-p", str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(https_port, timeout=10)
        yield Proxy(http_port=http_port, https_port=https_port)
    finally:
        stop(nginx)
