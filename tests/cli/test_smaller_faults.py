"""The smaller faults of issue 26, point 8, each with its real component: a prefix taken over
while the removed council's cases exist, Ctrl-C early in `cin import --jobs 4`, concurrent
`cin init`, the folders' modes under umask 000. (The census `--year` range and the empty return
are in test_fuzz_refusals.py.)"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.cli_harness import REPO, assert_failed_cleanly, cin, point_at, write_lines


def _env(db_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CIN_DATA_DIR=str(data_dir), CIN_DATABASE_URL=db_url, CIN_TODAY="2025-06-02")
    env.update(PREFECT_API_URL="http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES="0")
    # the project's Prefect home is derived from the data folder unless set: an earlier test in
    # the same session may have left PREFECT_HOME (and its neighbours) in this process's env
    for variable in ("CIN_POLICY_DIR", "PREFECT_HOME", "PREFECT_LOCAL_STORAGE_PATH"):
        env.pop(variable, None)
    return env


def test_a_prefix_taken_from_a_removed_council_with_cases_is_refused(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    point_at(monkeypatch, db_url, tmp_path)
    opened = cin(capsys, "case", "refer", "--authority", "redbridge", "--child", "C1",
                 "--date", "2025-05-01")  # fmt: skip
    assert opened.status == 0, opened.err
    folder = tmp_path / "policies"
    folder.mkdir()
    for source in (REPO / "policies").glob("*.yaml"):
        if source.name != "redbridge.yaml":
            (folder / source.name).write_bytes(source.read_bytes())
    text = (REPO / "policies" / "redbridge.yaml").read_text(encoding="utf-8")
    newcomer = folder / "redford.yaml"  # another council, Redbridge's prefix RED by its slug
    newcomer.write_text(text.replace("authority: redbridge", "authority: redford"))
    done = cin(capsys, "policy", "validate", "--policy-dir", str(folder), str(newcomer))
    assert_failed_cleanly(done, single=True)
    assert "case_prefix: expected a prefix no other authority's cases use" in done.err
    assert "RED numbers 1 case(s) of 'redbridge'" in done.err
    fixed = newcomer.read_text().replace(
        "authority: redford", "authority: redford\ncase_prefix: RFD"
    )
    newcomer.write_text(fixed)
    assert cin(capsys, "policy", "validate", "--policy-dir", str(folder), str(newcomer)).status == 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_ctrl_c_early_in_an_import_with_jobs_prints_one_line(db_url: str, engine: Engine,
                                                             tmp_path: Path):  # fmt: skip
    lines = [json.dumps({"authority": "redbridge", "child": f"C{n}", "type": "referral_received",
                         "on": "2025-01-06", "source": "2A", "key": f"k{n}"})
             for n in range(4000)]  # fmt: skip
    # 4,000 lines: with 400 a fresh-clone run's import had finished before the test saw its four
    # workers, and the Ctrl-C went to no one (empty stderr, exit 0)
    path = write_lines(tmp_path / "many.jsonl", lines)
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "import", str(path), "--jobs", "4", "--no-deliver",
         "--no-progress"],
        cwd=REPO, env=_env(db_url, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 4 and process.poll() is None:  # the workers starting
        assert time.monotonic() < deadline, "the import's workers never started"
        time.sleep(0.01)
    assert process.poll() is None, "the import ended before its workers were seen"
    workers = _children(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in err, err[-3000:]
    assert err.strip() == "cin: interrupted", err
    assert process.returncode == 130

    def alive(pid: int) -> bool:  # a zombie left to init is not alive
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
        except FileNotFoundError:
            return False

    ending = time.monotonic() + 10  # the workers (and multiprocessing's resource tracker) end
    while any(alive(pid) for pid in workers) and time.monotonic() < ending:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in workers), "a worker outlived the import"


def test_concurrent_init_all_succeed(db_url: str, tmp_path: Path):
    env = _env(db_url, tmp_path)
    runs = [
        subprocess.Popen([sys.executable, "-m", "cli.main", "init"], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    results = [(run.wait(timeout=180), run.stderr.read() if run.stderr else "") for run in runs]
    assert results == [(0, "")] * 4, results


def test_folders_are_private_under_umask_000(db_url: str, engine: Engine, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # an existing, readable data folder: tightened
    script = "import os, sys\nos.umask(0)\nfrom cli.main import main\nsys.exit(main(sys.argv[1:]))"
    broken = _env("postgresql+psycopg://postgres@127.0.0.1:9/cin26_none", data)
    done = subprocess.run([sys.executable, "-c", script, "case", "show", "RED-000001"], cwd=REPO,
                          env=broken, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 3, done.stderr
    for folder in (data, data / "logs", data / "prefect"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    log = data / "logs" / "cin-errors.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
