"""The supported Django range: checked when ``django_singlestore`` is imported, and kept in
step with the pin pip resolves against (pyproject.toml)."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import django
import pytest
from django.core.exceptions import ImproperlyConfigured

from django_singlestore import versions

ROOT = Path(__file__).resolve().parents[2]


def test_installed_django_is_supported() -> None:
    versions.check_supported()
    assert versions.OLDEST <= django.VERSION[:2] <= versions.NEWEST


@pytest.mark.parametrize("version", [(5, 1, 9, "final", 0), (6, 2, 0, "alpha", 0), (7, 0)])
def test_django_outside_the_range_is_refused_naming_it(version: tuple) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        versions.check_supported(version)
    message = str(raised.value)
    assert "supports Django 5.2 to 6.1" in message
    assert f"found Django {'.'.join(map(str, version[:3]))}" in message


def test_import_refuses_an_unsupported_django() -> None:
    """A fresh interpreter whose Django reports 6.2 cannot import the backend package."""
    code = "import django; django.VERSION = (6, 2, 0, 'final', 0); import django_singlestore"
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 1
    assert "ImproperlyConfigured: django-s2kit supports Django 5.2 to 6.1" in completed.stderr


def test_range_matches_the_pin() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (pin,) = [dep for dep in project["dependencies"] if dep.startswith("Django")]
    match = re.fullmatch(r"Django>=(\d+)\.(\d+),<(\d+)\.(\d+)", pin)
    assert match, pin
    low_major, low_minor, high_major, high_minor = map(int, match.groups())
    assert (low_major, low_minor) == versions.OLDEST
    # "<6.2" admits every 6.1.x and nothing newer.
    assert (high_major, high_minor - 1) == versions.NEWEST
    for major, minor in [versions.OLDEST, (6, 0), versions.NEWEST]:
        assert f"Framework :: Django :: {major}.{minor}" in project["classifiers"]
