"""Cold start of a project on the SingleStore backend vs the same project on Django's MySQL one.

    .venv/bin/python bench/cold_start.py [--runs 15]

Writes a throwaway project into a temporary directory — the settings a newcomer writes, the
contrib apps and one ``shop`` app with an ``Order`` model — in variants that differ only in the
backend: ``ENGINE: "django_singlestore"`` (with ``django_singlestore`` in ``INSTALLED_APPS``,
as docs/backend.md suggests) against ``ENGINE: "django.db.backends.mysql"`` whose settings also
``import singlestoredb`` (the bare driver package: what any project on that driver pays). A
third variant adds the kit's apps (``s2router``, ``migration_kit``) to the SingleStore project.
Nothing connects to a database: ``manage.py check`` without ``--database`` runs no database
checks, which is the point — it measures what every ``manage.py`` command, test run and worker
boot pays before its first query.

Measured, alternating the variants run by run so drift on the machine hits all alike (median
and spread of wall-clock seconds per run, a fresh interpreter each time):

- ``python -c "import django_singlestore.base"`` vs
  ``python -c "import django.db.backends.mysql.base, singlestoredb"``;
- ``python manage.py check`` for each variant.

Bytecode is cached (in a temporary ``PYTHONPYCACHEPREFIX``, warmed by one untimed run of each
variant) as it is after ``pip install``: the test environment sets ``PYTHONDONTWRITEBYTECODE``,
which would otherwise recompile our sources on every start. Then prints where the SingleStore
variant's import time goes (``python -X importtime``, grouped by top-level package), and what
the first connection adds later (importing ``django_singlestore.driver``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.2

SETTINGS = """\
{driver_import}SECRET_KEY = "cold-start-bench"
DEBUG = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "project.urls"
DATABASES = {{
    "default": {{
        "ENGINE": "{engine}",
        "HOST": "127.0.0.1",
        "PORT": "3306",
        "NAME": "shop",
        "USER": "app",
        "PASSWORD": "secret",{options}
    }}
}}
INSTALLED_APPS = [
{apps}
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.request",
            ]
        }},
    }}
]
{extra}"""

MODELS = """\
from django.db import models


class Order(models.Model):
    customer_id = models.BigIntegerField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    note = models.TextField(blank=True)
    placed_at = models.DateTimeField()
    paid = models.BooleanField(default=False)
    attrs = models.JSONField(null=True)
"""

MANAGE = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings_" + sys.argv.pop(1))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""

VARIANTS = {
    "mysql": {
        "engine": "django.db.backends.mysql",
        "driver_import": "import singlestoredb  # noqa: F401  (the bare driver package)\n\n",
        "options": "",
        "apps": "",
        "extra": "",
    },
    "s2": {
        "engine": "django_singlestore",
        "driver_import": "",
        "options": "",
        "apps": '    "django_singlestore",',
        "extra": "",
    },
    "kit": {
        "engine": "django_singlestore",
        "driver_import": "",
        # Contrib apps on SingleStore are reference tables (s2router.E013's hint).
        "options": '\n        "OPTIONS": {"table_storage_type": {"*": "ROWSTORE REFERENCE"}},',
        "apps": '    "django_singlestore",\n    "s2router",\n    "migration_kit",',
        "extra": (
            'S2ROUTER = {"SINGLESTORE": "default"}\n'
            'DATABASE_ROUTERS = ["s2router.SingleStoreRouter"]\n'
        ),
    },
}


def write_project(root: Path) -> None:
    (root / "project").mkdir()
    (root / "project" / "__init__.py").write_text("")
    (root / "project" / "urls.py").write_text("urlpatterns = []\n")
    for name, values in VARIANTS.items():
        (root / "project" / f"settings_{name}.py").write_text(SETTINGS.format(**values))
    (root / "shop").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "models.py").write_text(MODELS)
    (root / "manage.py").write_text(MANAGE)


def child_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return seconds


def importtime(code: str, cwd: Path, env: dict[str, str], after: str = "") -> dict[str, float]:
    """Self time (ms) of ``python -X importtime -c code`` by top-level package; with ``after``,
    only of the imports that follow the line ``code`` writes to stderr."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=cwd, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = done.stderr.splitlines()
    if after:
        lines = lines[lines.index(after) + 1 :]
    by_package: dict[str, float] = defaultdict(float)
    for line in lines:
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            by_package[match.group(2).split(".")[0]] += int(match.group(1)) / 1000
    return dict(by_package)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="s2kit-cold-") as tmp:
        root = Path(tmp) / "proj"
        root.mkdir()
        write_project(root)
        env = child_env(Path(tmp) / "pycache")
        py = sys.executable
        commands = {
            "import ours": [py, "-c", "import django_singlestore.base"],
            "import baseline": [py, "-c", "import django.db.backends.mysql.base, singlestoredb"],
            **{f"check {v}": [py, "manage.py", v, "check"] for v in VARIANTS},
        }
        for command in commands.values():  # warm the bytecode cache
            timed(command, root, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(timed(command, root, env))
        ours_modules = importtime("import django_singlestore.base", root, env)
        mark = "-- first connection --"
        deferred = importtime(
            f"import sys, django_singlestore.base; print({mark!r}, file=sys.stderr); "
            "import django_singlestore.driver",
            root,
            env,
            after=mark,
        )
    medians = {name: statistics.median(s) * 1000 for name, s in samples.items()}
    spreads = {name: (min(s) * 1000, max(s) * 1000) for name, s in samples.items()}
    rows = []
    print(f"{args.runs} runs each, wall-clock ms per fresh interpreter (median, min to max):")
    pairs = [
        ("import django_singlestore.base vs django.db.backends.mysql.base + import singlestoredb",
         "import ours", "import baseline", True),
        ("manage.py check, ENGINE django_singlestore vs django.db.backends.mysql + import "
         "singlestoredb", "check s2", "check mysql", True),
        ("manage.py check with s2router and migration_kit installed too, vs the MySQL project",
         "check kit", "check mysql", False),
    ]  # fmt: skip
    for label, ours, baseline, targeted in pairs:
        ratio = medians[ours] / medians[baseline]
        lo = spreads[ours][0] / spreads[baseline][1]
        hi = spreads[ours][1] / spreads[baseline][0]
        (o_lo, o_hi), (b_lo, b_hi) = spreads[ours], spreads[baseline]
        print(
            f"  {label}:\n    {medians[ours]:.0f} ms ({o_lo:.0f} to {o_hi:.0f}) vs "
            f"{medians[baseline]:.0f} ms ({b_lo:.0f} to {b_hi:.0f}): {ratio:.2f}x"
            + (f" (target ≤ {TARGET}x)" if targeted else " (not a target: the kit's own apps)")
        )
        row = {
            "name": f"cold start: {label}",
            "ours": round(medians[ours], 1),
            "baseline": round(medians[baseline], 1),
            "unit": "ms",
            "ratio": round(ratio, 2),
            "target": f"≤ {TARGET}x" if targeted else "",
            "spread": {
                "ours_ms": [round(x, 1) for x in spreads[ours]],
                "baseline_ms": [round(x, 1) for x in spreads[baseline]],
                "ratio_bounds": [round(lo, 2), round(hi, 2)],
            },
            "runs": args.runs,
        }
        rows.append(row)
    print("where `import django_singlestore.base` spends its time (-X importtime, self ms):")
    for package, ms in sorted(ours_modules.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  {package:<22} {ms:7.1f}")
    top = sorted(deferred.items(), key=lambda kv: -kv[1])[:5]
    print(
        f"deferred to the first connection (importing django_singlestore.driver): "
        f"{sum(deferred.values()):.0f} ms, of it "
        + ", ".join(f"{package} {ms:.0f}" for package, ms in top)
        + " (singlestoredb.fusion is not among them: it loads only when used)"
    )
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(rows, ensure_ascii=False))


if __name__ == "__main__":
    main()
