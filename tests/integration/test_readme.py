"""Every `synthlake` command in the README pages' shell blocks runs, as written, on a small lake."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from quality import suites
from synthlake import layout
from synthlake.catalog import get_task
from synthlake.generation.generate import GenerationConfig, generate
from synthlake.llm import EndpointConfig
from synthlake.llm.embedded import free_port
from synthlake.realdata import write_real_examples
from tests.support import loopback
from tests.support.data import REPO


def readme_commands() -> list[str]:
    """The `synthlake ...` lines of every README page's ```bash blocks, comments removed."""
    blocks = [block for page in layout.PAGES
              for block in re.findall(r"```bash\n(.*?)```", (REPO / page).read_text(), re.DOTALL)]
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("synthlake ")]


def test_the_readme_has_commands_to_run():
    commands = readme_commands()
    assert len(commands) >= 10 and any(c.startswith("synthlake generate") for c in commands)


def test_every_readme_command_runs(lake, tmp_path):
    spec = get_task("sms_spam")
    write_real_examples(lake, spec, "setup")
    with loopback.running(free_port()) as url:
        endpoint = EndpointConfig(base_url=url, model="dev")
        for method in ("zero_shot", "few_shot"):  # two generation versions, with checks
            report = generate(lake, spec, "setup", GenerationConfig(n_per_label=4), method=method,
                              endpoint=endpoint)
            for suite in suites.SYNTHETIC_SUITES:
                suites.check_partition(lake, spec, method, suite, "setup", report.examples_version)
        env = {**os.environ, "SYNTHLAKE_LAKE": str(lake.root), "OPENAI_BASE_URL": url,
               "SYNTHLAKE_MODEL": "dev"}
        for command in readme_commands():
            argv = [sys.executable, "-m", "synthlake.cli", *shlex.split(command)[1:]]
            result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True,
                                    timeout=300)
            assert result.returncode == 0, (command, result.stderr[-1500:])
            assert "Traceback" not in result.stderr, command


@pytest.mark.parametrize(("query", "message"), [
    ("select * from no_such_table", "error: SQL: Catalog Error"),
    ("selec 1", "error: SQL: Parser Error"),
    ("missing/query.sql", "error: missing/query.sql: no such file (shipped queries:"),
])
def test_sql_errors_are_one_line(lake, tmp_path, query, message):
    write_real_examples(lake, get_task("sms_spam"), "setup")
    result = subprocess.run([sys.executable, "-m", "synthlake.cli", "--lake", str(lake.root),
                             "sql", query], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stderr.startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_shipped_queries_are_found_by_name_anywhere_and_ship_in_the_wheel(lake, tmp_path):
    write_real_examples(lake, get_task("sms_spam"), "setup")
    result = subprocess.run([sys.executable, "-m", "synthlake.cli", "--lake", str(lake.root),
                             "sql", "real_counts.sql", "--format", "csv"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "sms_spam" in result.stdout, result.stderr
    source = tmp_path / "source"  # a copy: building writes build/ beside the sources
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "lake", ".dagster_home", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path / "wheel"), str(source)], check=True, timeout=300,
                   capture_output=True)
    import zipfile

    (wheel,) = (tmp_path / "wheel").glob("synthlake-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "synthlake/sql/headline.sql" in names and "synthlake/sql/views.sql" in names
