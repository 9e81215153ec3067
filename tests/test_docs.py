"""The operators' guide's examples work as written: the systemd units pass systemd-analyze,
the nginx site passes nginx -t, and the backup and restore scripts bring a database back,
on SQLite and PostgreSQL."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bench.common import POSTGRES_ADMIN_URL, bench_environment, fresh_postgres, upgrade
from tests.conftest import require

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
INSTALL = "/opt/closeloop"


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    require(found is not None, f"{name} is not installed (make test installs it)")
    return found


def test_every_example_the_guide_names_exists():
    guide = (ROOT / "docs" / "operations.md").read_text()
    named = set(re.findall(r"docs/examples/[\w./-]+", guide))
    assert named and all((ROOT / path).exists() for path in named), named
    assert {path.name for path in EXAMPLES.rglob("*") if path.is_file()} <= {
        Path(path).name for path in named
    }  # and every example is in the guide


def test_the_systemd_units_pass_systemd_analyze(tmp_path):
    analyze = tool("systemd-analyze")
    venv = tmp_path / "install" / ".venv" / "bin"
    venv.mkdir(parents=True)
    for command in ("gunicorn", "flask"):
        (venv / command).symlink_to(ROOT / ".venv" / "bin" / command)
    (tmp_path / "env").write_text("CLOSELOOP_ENVIRONMENT=production\n")
    units = []
    for unit in sorted((EXAMPLES / "systemd").iterdir()):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(INSTALL, str(tmp_path / "install"))
                        .replace("/etc/closeloop/env", str(tmp_path / "env")))  # fmt: skip
        units.append(str(copy))
    assert len(units) == 5
    result = subprocess.run([analyze, "verify", *units], capture_output=True, text=True,
                            cwd=tmp_path, check=False)  # fmt: skip
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_nginx_site_passes_nginx_t(tmp_path):
    nginx, openssl = tool("nginx"), tool("openssl")
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=leads.example.com", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True)  # fmt: skip
    site = (EXAMPLES / "nginx.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/leads.example.com", str(tmp_path))
    (tmp_path / "closeloop.conf").write_text(site.replace("/var/log/nginx", str(tmp_path)))
    (tmp_path / "nginx.conf").write_text(
        f"error_log {tmp_path}/error.log;\npid {tmp_path}/nginx.pid;\nevents {{}}\n"
        f"http {{\n  include {tmp_path}/closeloop.conf;\n}}\n"
    )
    result = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p",
                             str(tmp_path)], capture_output=True, text=True, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def _leads(url: str) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT email FROM leads ORDER BY id")).scalars())
    finally:
        engine.dispose()


def _add_lead(env: dict, email: str) -> None:
    script = ("from app import create_app\napp = create_app()\n"
              f"assert app.test_client().post('/leads', json={{'email': '{email}'}})"
              ".status_code == 201\n")  # fmt: skip
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=ROOT, env=env,
                   check=True)  # fmt: skip


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_backup_and_restore_drill(tmp_path, database, request):
    if database == "sqlite":
        tool("sqlite3")
        source, target = f"sqlite:///{tmp_path}/live.db", f"sqlite:///{tmp_path}/restored.db"
    else:
        request.getfixturevalue("postgres_url")  # fails the run when PostgreSQL is missing
        tool("pg_dump"), tool("pg_restore")
        source, target = fresh_postgres("closeloop_drill"), fresh_postgres("closeloop_restored")
    env = bench_environment(source)
    upgrade(env)
    for email in ("ada@example.com", "bob@example.com"):
        _add_lead(env, email)
    backup = tmp_path / "closeloop.backup"
    subprocess.run([str(EXAMPLES / "backup.sh"), str(backup)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    _add_lead(env, "after-the-backup@example.com")

    restore_env = {**env, "CLOSELOOP_DATABASE_URL": target}
    subprocess.run([str(EXAMPLES / "restore.sh"), str(backup)], env=restore_env, check=True,
                   capture_output=True)  # fmt: skip
    upgrade(restore_env)  # as after any restore: a no-op when the backup is current
    assert _leads(target) == ["ada@example.com", "bob@example.com"]
    _add_lead(restore_env, "carol@example.com")  # the restored database takes new leads
    assert _leads(target)[-1] == "carol@example.com"
    if database == "postgresql":
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL + "/postgres", autocommit=True) as connection:
            for name in ("closeloop_drill", "closeloop_restored"):
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert os.path.getsize(backup) > 0
