"""``bench/runner.py``: the BENCH_JSON contract, the text-only fallback, and a docs/benchmarks.md
rewrite that keeps every bench owner's own section; the backfill and verify benches' rows and
the backfill chart data they hand to the runner through that contract."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
RUNNER = BENCH / "runner.py"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The runner module, pointed at a scratch bench/ and docs/ under ``tmp_path``."""
    spec = importlib.util.spec_from_file_location("bench_runner_under_test", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "bench").mkdir()
    (tmp_path / "docs").mkdir()
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "BENCH", tmp_path / "bench")
    monkeypatch.setattr(module, "DOC", tmp_path / "docs" / "benchmarks.md")
    monkeypatch.setattr(module, "STORE", tmp_path / "docs" / "benchmarks.json")
    monkeypatch.setattr(module, "CHART", tmp_path / "docs" / "img" / "backfill.png")
    monkeypatch.setattr(module, "QUICK_ARGS", {})
    return module


def write_bench(runner: ModuleType, name: str, body: str) -> None:
    (runner.BENCH / f"{name}.py").write_text(body)


CONTRACT = """
import json, os
print("speedy: 2.0x faster")
rows = [{"name": "thing per second", "ours": 200.0, "baseline": 100.0, "unit": "ops/s",
         "ratio": 2.0, "target": ">= 1x"}]
with open(os.environ["BENCH_JSON"], "w") as f:
    json.dump(rows, f)
"""
TEXT_ONLY = "for i in range(20):\n    print(f'line {i}')\n"
FAILING = "import sys\nprint('boom')\nsys.exit(3)\n"


def test_contract_fallback_and_failure(runner: ModuleType) -> None:
    write_bench(runner, "speedy", CONTRACT)
    write_bench(runner, "chatty", TEXT_ONLY)
    write_bench(runner, "broken", FAILING)
    write_bench(runner, "_helper", "raise SystemExit('helpers are not benches')")
    runner.DOC.write_text("# Benchmarks\n\nIntro.\n\n## speedy\n\nOwner's own words, kept.\n")
    assert runner.bench_names() == ["broken", "chatty", "speedy"]

    assert runner.main([]) == 1  # "broken" failed

    store = json.loads(runner.STORE.read_text())
    speedy, chatty, broken = (store["benches"][n] for n in ("speedy", "chatty", "broken"))
    assert speedy["contract"] and speedy["rows"][0]["ratio"] == 2.0
    assert not chatty["contract"] and chatty["rows"] == []
    assert chatty["tail"] == [f"line {i}" for i in range(20 - runner.TAIL_LINES, 20)]
    assert broken["exit"] == 3 and broken["tail"] == ["boom"]

    doc = runner.DOC.read_text()
    assert doc.index("Intro.") < doc.index(runner.START) < doc.index("## speedy")
    assert "| speedy | thing per second | 200 | 100 | ops/s | 2.00x | >= 1x | yes |" in doc
    assert "`chatty`:" in doc and "line 19" in doc
    assert "Owner's own words, kept." in doc


def test_rerun_of_one_bench_keeps_the_others(runner: ModuleType) -> None:
    write_bench(runner, "speedy", CONTRACT)
    write_bench(runner, "chatty", TEXT_ONLY)
    assert runner.main([]) == 0
    first = runner.DOC.read_text()
    assert runner.main(["chatty"]) == 0
    second = runner.DOC.read_text()
    assert second.count(runner.START) == 1 and second.count(runner.END) == 1
    assert "| speedy | thing per second |" in second
    assert first.split(runner.END)[1] == second.split(runner.END)[1]


def test_unknown_bench_is_a_usage_error(runner: ModuleType) -> None:
    write_bench(runner, "speedy", CONTRACT)
    with pytest.raises(SystemExit) as exc:
        runner.main(["nope"])
    assert exc.value.code == 2


#: Rows in the runner's contract with a ``chart`` on one of them (the runner draws it).
CHART_ROWS = [
    {"name": "s2_backfill vs raw COPY | LOAD DATA pipe (1,000 rows → emulator)", "ours": 700,
     "baseline": 1000, "unit": "rows/s", "ratio": 0.7, "target": "≥ 0.6x"},
    {"name": "s2_backfill, best batch size / workers, vs raw pipe", "ours": 900,
     "baseline": 1000, "unit": "rows/s", "ratio": 0.9, "target": "≥ 0.6x",
     "chart": {"rows": 1000, "target": "emulator", "raw_pipe_rows_per_s": 1000,
               "by_batch_size": {"1000": 500, "5000": 600, "20000": 900, "adaptive": 700},
               "by_workers": {"1": 700, "2": 800, "4": 650}}},
    {"name": "s2_backfill vs dumpdata | loaddata", "ours": 700, "baseline": 10,
     "unit": "rows/s", "ratio": 70.0, "target": "≥ 30x"},
]  # fmt: skip
SPREAD = {"median": 90, "min": 80, "max": 95}


def bench_module(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """``bench/<name>.py`` imported as a module (its ``sys.path`` entry undone afterwards)."""
    monkeypatch.setattr(sys, "path", [*sys.path])
    spec = importlib.util.spec_from_file_location(f"bench_{name}_under_test", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backfill_rows_one_per_matrix_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    cell = {"model": "wide", "source": "pg", "use_tz": False, "ratio": 0.9,
            "s2_backfill_rows_per_s": SPREAD, "raw_pipe_rows_per_s": {**SPREAD, "median": 100},
            "load_average": "1.00 2.00 3.00"}  # fmt: skip
    rows = bench_module("backfill", monkeypatch).rows(
        {"rows": 1000, "rounds": 3, "cells": [cell, {**cell, "use_tz": True}]}
    )
    assert [(r["ours"], r["baseline"], r["ratio"], r["target"]) for r in rows] == [
        (90, 100, 0.9, "≥ 0.9x")
    ] * 2
    assert "wide, pg source, USE_TZ=False (1,000 rows, median of 3" in rows[0]["name"]
    assert "ours 80 to 95" in rows[0]["name"] and "load 1.00 2.00 3.00" in rows[0]["name"]


def test_verify_rows_one_per_matrix_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    cell = {"model": "narrow", "source": "maria", "use_tz": True, "ratio": 1.2,
            "s2_verify_s": {"median": 0.6, "min": 0.5, "max": 0.7},
            "raw_checksum_s": {"median": 0.5, "min": 0.5, "max": 0.5},
            "load_average": "1.00 1.00 1.00"}  # fmt: skip
    rows = bench_module("verify", monkeypatch).rows({"rows": 1000, "rounds": 3, "cells": [cell]})
    assert [(r["ours"], r["baseline"], r["ratio"], r["target"]) for r in rows] == [
        (0.6, 0.5, 1.2, "≤ 1.1x")
    ]
    assert "narrow, maria source, USE_TZ=True" in rows[0]["name"]


def test_kitbench_emit_follows_the_contract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The results for people on stdout, the rows (and nothing else) in ``BENCH_JSON``."""
    kb = bench_module("_kitbench", monkeypatch)
    rows = [{"name": "x → y", "ours": 1, "baseline": 2, "unit": "s", "ratio": 0.5}]
    monkeypatch.delenv("BENCH_JSON", raising=False)
    kb.emit({"rows": 3}, rows)
    assert json.loads(capsys.readouterr().out) == {"rows": 3}
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv("BENCH_JSON", str(tmp_path / "bench.json"))
    kb.emit({"rows": 3}, rows)
    assert json.loads(capsys.readouterr().out) == {"rows": 3}
    assert json.loads((tmp_path / "bench.json").read_text()) == rows


def backfill_rows_as_stored(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """``CHART_ROWS`` as the runner stores them (through JSON)."""
    return json.loads(json.dumps(CHART_ROWS))


def test_backfill_chart_comes_through_the_contract(
    runner: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner finds the chart data among the backfill rows it stored, also on ``--no-run``."""
    rows = backfill_rows_as_stored(monkeypatch)
    text = json.dumps(rows)
    write_bench(
        runner, "backfill", f"import os\nopen(os.environ['BENCH_JSON'], 'w').write({text!r})\n"
    )
    drawn: list[dict] = []
    monkeypatch.setattr(runner, "draw_chart", drawn.append)
    assert runner.main([]) == 0
    assert runner.main(["--no-run"]) == 0
    assert drawn == [rows[1]["chart"]] * 2
    doc = runner.DOC.read_text()
    assert "| backfill | s2_backfill vs dumpdata \\| loaddata | 700 | 10 | rows/s | 70.00x |" in doc
    assert "results via BENCH_JSON" in doc and "by_workers" not in doc


def test_draw_chart(runner: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    # matplotlib comes with the bench extra, which scripts/services.sh installs.
    assert runner.draw_chart(backfill_rows_as_stored(monkeypatch)[1]["chart"])
    assert runner.CHART.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("target", "ratio", "expected"),
    [("≤ 1.3x", 1.2, "yes"), ("≤ 1.3x", 1.4, "no"), (">= 30x", 31, "yes"), ("≥ 0.6x", 0.5, "no"),
     ("≤ +0.2 ms", 1.0, ""), ("flat", 1.0, "")],
)  # fmt: skip
def test_met_reads_ratio_targets(
    runner: ModuleType, target: str, ratio: float, expected: str
) -> None:
    assert runner.met({"target": target, "ratio": ratio}) == expected


@pytest.mark.parametrize(("met", "expected"), [(True, "yes"), (False, "no")])
def test_met_prefers_the_rows_own_verdict(runner: ModuleType, met: bool, expected: str) -> None:
    """Targets that are not ratio bounds ("≤ 2 µs per decision") carry their own verdict."""
    assert runner.met({"target": "≤ 2 µs per decision", "ratio": 5.0, "met": met}) == expected
