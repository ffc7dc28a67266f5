"""The README quickstart is a test: a project built from its marked blocks alone, migrated live.

A temporary directory gets exactly what the README's ``quickstart`` blocks say (commands run,
files written or appended to), with fresh databases of unique names: ``default`` on PostgreSQL
or on MariaDB (the README: "MySQL/MariaDB works the same way"), ``s2`` on the session's emulator
(or the SingleStore of ``S2_TEST_URL``). Only the two URLs the README's settings read from the
environment are set. Then every runbook step runs as the README writes it, with ``--format
json`` added, and writes from the application land between the steps.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from s2emulator.pytest_plugin import real_singlestore
from tests.quickstart.readme import Block, blocks

pytestmark = pytest.mark.s2

SEED = 3000
LIVE = 20  # orders created per burst of live writes; 3 of them are deleted again
TIMEOUT = 180


@dataclass
class Server:
    """Where one of the test's databases lives and how to create and drop it."""

    scheme: str
    user: str
    password: str
    host: str
    port: int
    admin: Callable[[str], None]

    def url(self, name: str) -> str:
        return f"{self.scheme}://{self.user}:{self.password}@{self.host}:{self.port}/{name}"


def _postgresql() -> Server:
    import psycopg

    db = settings.DATABASES["default"]

    def admin(sql: str) -> None:
        with psycopg.connect(
            host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
            dbname=db["NAME"], autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(sql)

    port = int(db["PORT"] or 5432)
    return Server("postgres", db["USER"], db["PASSWORD"], db["HOST"], port, admin)


def _mysql_admin(host: str, port: int, user: str, password: str, connect: Any) -> Callable:
    def admin(sql: str) -> None:
        conn = connect(host=host, port=port, user=user, password=password)
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    return admin


def _mariadb() -> Server:
    import MySQLdb

    db = settings.DATABASES["mysql"]
    host, port, user, password = db["HOST"], int(db["PORT"] or 3306), db["USER"], db["PASSWORD"]
    admin = _mysql_admin(host, port, user, password, lambda **kw: MySQLdb.connect(**kw))
    return Server("mysql", user, password, host, port, admin)


@pytest.fixture(scope="module")
def singlestore(request: pytest.FixtureRequest) -> Server:
    """The session's emulator, or the real SingleStore of ``S2_TEST_URL``."""
    import singlestoredb

    db = settings.DATABASES["s2"]
    if real_singlestore():
        host, port = db["HOST"], int(db["PORT"] or 3306)
    else:
        emulator = request.getfixturevalue("s2emu")
        host, port = emulator.host, emulator.port
    user, password = db["USER"], db["PASSWORD"]
    admin = _mysql_admin(host, port, user, password, singlestoredb.connect)
    return Server("singlestoredb", user, password, host, port, admin)


class Project:
    """The directory the quickstart is followed in, and the environment its commands get."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        if argv[0] == "python":
            argv = [sys.executable, *argv[1:]]
        elif argv[0] == "django-admin":
            argv = [sys.executable, "-m", "django", *argv[1:]]
        return subprocess.run(
            argv, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=TIMEOUT
        )

    def ok(self, argv: list[str]) -> str:
        result = self.run(argv)
        assert result.returncode == 0, f"{' '.join(argv)}: {result.stdout}{result.stderr}"
        return result.stdout

    def json(self, argv: list[str]) -> tuple[int, Any]:
        """Exit code and parsed stdout of a README command with ``--format json`` added."""
        result = self.run([*argv, "--format", "json"])
        try:
            data = json.loads(result.stdout) if result.stdout.strip() else None
        except ValueError:
            pytest.fail(f"{' '.join(argv)} printed no JSON: {result.stdout}{result.stderr}")
        assert result.returncode == 0, f"{' '.join(argv)} exited {result.returncode}: " + (
            f"{result.stdout}{result.stderr}"
        )
        return result.returncode, data

    def shell(self, code: str) -> Any:
        """Run application code (``manage.py shell``); its last line of output is JSON."""
        out = self.ok([sys.executable, "manage.py", "shell", "--no-imports", "-c", code])
        return json.loads(out.strip().splitlines()[-1])


def check_install(command: list[str], vendor: str) -> None:
    """``pip install``: the project is already installed here; what the README names must exist
    and be installed (extras by their requirements), with the README's own vendor swap."""
    metadata = importlib.metadata.metadata("django-s2kit")
    provided = set(metadata.get_all("Provides-Extra") or [])
    requires = importlib.metadata.requires("django-s2kit") or []
    for arg in command[2:]:
        match = re.fullmatch(r"django-s2kit\[(.*)\]", arg)
        if match is None:
            importlib.metadata.version(arg)  # e.g. dj-database-url
            continue
        for extra in match[1].split(","):
            extra = "mysql" if extra == "postgresql" and vendor == "mysql" else extra
            assert extra in provided, f"the README installs extra [{extra}], pyproject has none"
            wanted = [r for r in requires if re.search(rf"extra == ['\"]{extra}['\"]", r)]
            assert wanted, f"extra [{extra}] installs nothing"
            for requirement in wanted:
                importlib.metadata.version(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])


def build(project: Project, readme: list[Block], vendor: str) -> list[Block]:
    """Follow the README up to the runbook; returns the runbook's steps."""
    steps = []
    for block in readme:
        if block.kind == "step":
            steps.append(block)
        elif block.kind == "run":
            for command in block.commands():
                if command[:2] == ["pip", "install"]:
                    check_install(command, vendor)
                else:
                    project.ok(command)
        elif block.kind == "file":
            (project.root / block.arg).write_text(block.body)
        elif block.kind == "append":
            path = project.root / block.arg
            assert path.exists(), f"the README appends to {block.arg}, which nothing created"
            path.write_text(path.read_text() + "\n" + block.body)
    return steps


#: The application at work: creates, saves, a queryset update, deletes, analytics rows.
WRITES = f"""
import json
from shop.models import Order
from metrics.models import PageView
made = [Order.objects.create(email=f"live{{i}}@example.com", total=i) for i in range({LIVE})]
for order in made[:5]:
    order.status = "paid"
    order.save()
Order.objects.filter(pk__in=[o.pk for o in made[5:10]]).update(status="shipped")
Order.objects.filter(pk__in=[o.pk for o in made[-3:]]).delete()
PageView.objects.bulk_create([PageView(path=f"/orders/{{o.pk}}", order=o) for o in made[:4]])
print(json.dumps({{"orders": Order.objects.count()}}))
"""
SEED_CODE = f"""
import json
from shop.models import Order
Order.objects.bulk_create(
    [Order(email=f"c{{i}}@example.com", total=i % 500) for i in range({SEED})], batch_size=1000
)
print(json.dumps({{"orders": Order.objects.count()}}))
"""
COUNTS = """
import json
from shop.models import Order
from metrics.models import PageView
print(json.dumps({"orders": Order.objects.count(), "page_views": PageView.objects.count()}))
"""


def moved(expected: str) -> Callable[[list[Any]], None]:
    def check(outputs: list[Any]) -> None:
        data = outputs[-1]
        assert (data["changed"], data["to"]) == (True, expected), data
        assert data["models"][0]["phase"] == expected

    return check


def backfilled(outputs: list[Any]) -> None:
    [result] = outputs[0]["models"]
    assert result["finished"] and outputs[0]["rejected"] == 0, result
    assert result["rows_total"] == result["source_rows"] >= SEED, result


def drained(data: dict[str, Any]) -> None:
    """``s2_sync`` failed nothing and left no outbox entry (the writers' own relay may
    have applied the live writes already)."""
    assert data["failed"] == 0 and not data["errors"], data
    assert all(not pending for pending in data["lag"].values()), data


def synced(outputs: list[Any]) -> None:
    drained(outputs[0])


def verified(outputs: list[Any]) -> None:
    [result] = outputs[0]["models"]
    assert result["error"] == "" and result["differences"] == 0, result
    assert result["source_rows"] == result["target_rows"] > SEED, result


def cut_over(outputs: list[Any]) -> None:
    sync, phase = outputs
    drained(sync)
    moved("cutover")([phase])
    assert phase["models"][0]["reads"] == phase["models"][0]["writes"] == "s2"


def integrity_clean(outputs: list[Any]) -> None:
    total = outputs[0]["total"]
    assert total["relations"] >= 1 and total["violations"] == 0, outputs[0]
    assert total["rows_checked"] >= 3 * 4, total  # the page views written so far


def status_healthy(outputs: list[Any]) -> None:
    [model] = outputs[0]["models"]
    assert model["phase"] == "cutover" and model["primary"] == "s2", model
    assert model["backfill"]["finished"] and model["verify"]["clean"], model
    assert model["outbox"]["failing"] == 0, model


STEPS: dict[str, Callable[[list[Any]], None]] = {
    "dual_write": moved("dual_write"),
    "backfill": backfilled,
    "sync": synced,
    "verify": verified,
    "shadow": moved("shadow"),
    "cutover": cut_over,
    "integrity": integrity_clean,
    "status": status_healthy,
    "done": moved("done"),
}
#: Steps after which the application writes again (before the next step runs). Not before
#: ``verify``: writes queued since the last ``s2_sync`` only make it wait out its lag window.
WRITES_AFTER = {"dual_write", "backfill", "shadow", "cutover", "integrity", "status", "done"}


@pytest.fixture
def fresh_databases(
    request: pytest.FixtureRequest, singlestore: Server
) -> Iterator[Callable[[Server], dict[str, str]]]:
    """Creates ``default`` on the given server and ``s2``, named uniquely; drops them after."""
    made: list[tuple[Server, str]] = []

    def make(source: Server) -> dict[str, str]:
        suffix = os.environ.get("TOX_PARALLEL_ENV", "")
        name = f"qs_{suffix}_{uuid.uuid4().hex[:8]}".replace("-", "_")
        for server, db in ((source, name), (singlestore, f"{name}_s2")):
            server.admin(f"CREATE DATABASE {db}")
            made.append((server, db))
        s2_name = f"{name}_s2"  # the emulator's MariaDB may be the source's server too
        return {"DATABASE_URL": source.url(name), "S2_DATABASE_URL": singlestore.url(s2_name)}

    yield make
    for server, name in made:
        server.admin(f"DROP DATABASE IF EXISTS {name}")


def new_project(root: Path, urls: dict[str, str]) -> Project:
    """An empty directory whose commands see only the README's two URL variables of ours."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(urls)
    root.mkdir()
    return Project(root, env)


def follow(vendor: str, root: Path, urls: dict[str, str]) -> None:
    """The whole README on one ``default`` vendor: build, migrate, the runbook, live writes."""
    project = new_project(root, urls)
    steps = build(project, blocks(), vendor)
    assert [step.arg for step in steps] == list(STEPS), "the runbook's steps or their order"

    orders = project.shell(SEED_CODE)["orders"]
    assert orders == SEED
    for step in steps:
        outputs = []
        for command in step.commands():
            _, data = project.json(command)
            outputs.append(data)
        STEPS[step.arg](outputs)
        if step.arg in WRITES_AFTER:
            orders += LIVE - 3
            assert project.shell(WRITES)["orders"] == orders, f"after {step.arg}"

    # Everything written before, during and after the move is on SingleStore, nothing twice.
    counts = project.shell(COUNTS)
    assert counts == {"orders": orders, "page_views": 4 * len(WRITES_AFTER)}


def test_readme_quickstart(
    tmp_path: Path, fresh_databases: Callable[[Server], dict[str, str]]
) -> None:
    """PostgreSQL and MariaDB as ``default``, side by side (each is a chain of processes)."""
    sources = {"postgresql": _postgresql(), "mysql": _mariadb()}
    with ThreadPoolExecutor(len(sources)) as pool:
        runs = {
            vendor: pool.submit(follow, vendor, tmp_path / vendor, fresh_databases(server))
            for vendor, server in sources.items()
        }
    for vendor, run in runs.items():
        try:
            run.result()
        except AssertionError as exc:
            raise AssertionError(f"default on {vendor}: {exc}") from exc


def test_readme_contrib_on_singlestore(
    tmp_path: Path, fresh_databases: Callable[[Server], dict[str, str]]
) -> None:
    """The README's variant: its first line alone (contrib on SingleStore) is s2router.E013 for
    each contrib app; with the whole block, check passes and migrate makes reference tables."""
    readme = blocks()
    [variant] = [b for b in readme if b.kind == "variant" and b.arg == "contrib-on-singlestore"]
    project = new_project(tmp_path / "project", fresh_databases(_postgresql()))
    runs = [i for i, b in enumerate(readme) if b.kind == "run"]
    build(project, readme[: runs[1]], "postgresql")  # install, project, models, settings
    settings_py = project.root / "mysite" / "settings.py"
    written = settings_py.read_text()
    first_line = variant.body.splitlines()[0]
    assert "CONTRIB_DATABASE" in first_line
    project.ok([sys.executable, "manage.py", "makemigrations", "shop", "metrics"])
    settings_py.write_text(f"{written}\n{first_line}\n")
    result = project.run([sys.executable, "manage.py", "check", "--database", "s2"])
    assert result.returncode == 1, result.stdout + result.stderr
    for label in ("admin", "auth", "contenttypes", "sessions"):
        assert f"s2router.E013) Contrib app {label!r} is on SingleStore" in result.stderr

    settings_py.write_text(f"{written}\n{variant.body}")
    assert "System check identified no issues" in project.ok(
        [sys.executable, "manage.py", "check", "--database", "s2"]
    )
    project.ok([sys.executable, "manage.py", "migrate", "--database", "s2"])
    design = project.shell(
        "import json\n"
        "from django.db import connections\n"
        "c = connections['s2']\n"
        "with c.cursor() as cursor:\n"
        "    print(json.dumps({t: c.introspection.get_table_design(cursor, t).storage.value"
        " for t in ('auth_user', 'django_session', 'migration_kit_outboxentry')}))"
    )
    assert design == {
        "auth_user": "ROWSTORE REFERENCE",
        "django_session": "ROWSTORE REFERENCE",
        "migration_kit_outboxentry": "ROWSTORE",
    }
