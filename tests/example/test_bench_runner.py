"""``bench/runner.py``: the BENCH_JSON contract, the text-only fallback, and a docs/benchmarks.md
rewrite that keeps every bench owner's own section."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parents[2] / "bench" / "runner.py"


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


def test_backfill_json_becomes_rows() -> None:
    spec = importlib.util.spec_from_file_location("bench_runner_rows", RUNNER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.backfill_rows(
        {
            "rows": 1000, "target": "emulator", "raw_pipe_rows_per_s": 1000,
            "dumpdata_loaddata_rows_per_s": 10, "s2_backfill_rows_per_s_default": 700,
            "s2_backfill_rows_per_s_best": 900,
        }
    )  # fmt: skip
    assert [r["ratio"] for r in rows] == [0.7, 0.9, 70.0]


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
