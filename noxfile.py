"""The test matrix: our whole pytest suite on every supported Django, each on its own Python.

``nox`` (``make test``) runs every leg; ``nox -s "tests(dj61)"`` runs one. Each leg runs the
suite against PostgreSQL, MariaDB and the emulator (or ``S2_TEST_URL``), in its own virtualenv
under ``.nox/``, which later runs reuse: it is reinstalled only when pyproject.toml or the leg's
Django changes. Test databases get the leg's suffix (``_dj52``...), after any
``TOX_PARALLEL_ENV`` the caller set, so legs and helpers never drop each other's databases.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
#: (leg id, Django feature release, Python): the oldest Python each Django supports that these
#: machines have, so the legs also cover three Pythons.
LEGS = [("dj52", "5.2", "3.11"), ("dj60", "6.0", "3.12"), ("dj61", "6.1", "3.13")]

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True


def _pyenv_pythons() -> None:
    """Put pyenv's interpreters on PATH (python3.12, python3.13 ...) where pyenv is installed;
    nox looks each leg's Python up by that name."""
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return
    bins = sorted(str(path) for path in Path(root, "versions").glob("3.*/bin"))
    os.environ["PATH"] = os.pathsep.join([*bins, os.environ.get("PATH", "")])


_pyenv_pythons()


@nox.session
@nox.parametrize(
    ("python", "django"),
    [(python, django) for _, django, python in LEGS],
    ids=[leg for leg, _, _ in LEGS],
)
def tests(session: nox.Session, django: str) -> None:
    """The pytest suite on one Django (extra pytest arguments after ``--``)."""
    leg = next(leg for leg, release, _ in LEGS if release == django)
    want = f"Django~={django}.0"
    stamp = Path(session.virtualenv.location, ".s2kit-installed")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + want.encode()).hexdigest()
    if not stamp.is_file() or stamp.read_text() != digest:
        session.install("-e", ".[test,bench]", want)
        stamp.write_text(digest)
    suffix = "_".join(filter(None, [os.environ.get("TOX_PARALLEL_ENV"), leg]))
    session.run("python", "-m", "pytest", *session.posargs, env={"TOX_PARALLEL_ENV": suffix})
