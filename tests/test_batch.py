"""``render --all`` in several processes writes exactly what the serial run writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_REFS, RENDER_LIBRARY

from evidence.errors import EvidenceError
from evidence.pages import batch
from evidence.pages.render import render_conditions


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_parallel_pages_are_byte_identical_to_serial_ones(table, tmp_path):
    names = ["tinnitus", "migraine", "tinnitus"]  # a repeated page is written twice, as serially
    serial = render_conditions(table, names, tmp_path / "serial")
    steps = []
    parallel = batch.render_conditions_parallel(
        table, names, tmp_path / "parallel", workers=2, progress=lambda text, done, total: steps.append((done, total))
    )
    assert [p.name for p in parallel] == [p.name for p in serial]
    assert [p.parent.name for p in parallel] == ["parallel"] * len(serial)
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")
    assert {"tinnitus.md", "tinnitus.html", "migraine.md", "migraine.html"} <= set(_files(tmp_path / "serial"))
    assert steps[0] == (0, 3) and steps[-1] == (3, 3) and len(steps) == 4


def test_options_reach_the_workers(table, tmp_path):
    options = dict(style="apa", citations="author-year", method="fixed")
    render_conditions(table, ["tinnitus", "migraine"], tmp_path / "serial", **options)
    batch.render_conditions_parallel(table, ["tinnitus", "migraine"], tmp_path / "parallel", workers=2, **options)
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")
    render_conditions(table, ["tinnitus", "migraine"], tmp_path / "defaults")
    assert _files(tmp_path / "parallel")["tinnitus.md"] != _files(tmp_path / "defaults")["tinnitus.md"]


def test_an_error_in_one_page_stops_the_run(table, tmp_path):
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.md.j2").write_text("{{ no_such_variable }}\n", encoding="utf-8")
    with pytest.raises(EvidenceError, match="page.md.j2"):
        batch.render_conditions_parallel(
            table, ["tinnitus", "migraine"], tmp_path / "out", workers=2, templates=templates
        )


def test_one_worker_or_one_page_runs_serially(table, tmp_path, monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("no process pool for one page")

    monkeypatch.setattr(batch, "ProcessPoolExecutor", no_pool)
    written = batch.render_conditions_parallel(table, ["migraine"], tmp_path / "a")
    assert [p.name for p in written] == [p.name for p in render_conditions(table, ["migraine"], tmp_path / "b")]
    written = batch.render_conditions_parallel(table, ["tinnitus", "migraine"], tmp_path / "c", workers=1)
    assert [p.name for p in written][:2] == ["tinnitus.md", "tinnitus.html"]
    assert batch.default_workers() >= 1


def test_render_all_with_jobs_matches_one_job(tmp_path):
    from evidence.cli import cli

    runner = CliRunner()
    for jobs in ("1", "2"):
        result = runner.invoke(
            cli,
            [
                "render",
                "--refs",
                str(RENDER_LIBRARY),
                "--all",
                "--jobs",
                jobs,
                "--out",
                str(tmp_path / jobs),
                "--quiet",
            ],
        )
        assert result.exit_code == 0, result.output
    assert _files(tmp_path / "2") == _files(tmp_path / "1") and len(_files(tmp_path / "1")) >= 4
    bad = runner.invoke(cli, ["render", "--refs", str(EXAMPLE_REFS), "--all", "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs" in bad.output
