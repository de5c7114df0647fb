"""Where a sweep's study lives, on real engines: Optuna's journal file for several workers on one
machine (the default), and a real PostgreSQL server for workers on several machines, started here
as a throwaway cluster in a temporary folder on a local port. Without PostgreSQL's server programs
or its Python driver, the PostgreSQL tests skip and say why (pytest -rs prints it)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import pytest

pytest.importorskip("optuna")

from wgan_kit.experiments import check_sweep, run_sweep, sweep_status  # noqa: E402
from wgan_kit.experiments import study as studies  # noqa: E402
from wgan_kit.training import distributed  # noqa: E402

from test_sweep import sweep_cli, tiny_sweep, write_toml  # noqa: E402

WORKER_ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def ran(out: Path) -> list:
    """The trials that ran (not the records a re-queued trial leaves behind)."""
    current, _ = studies.status(out)
    return [t for t in current.trials if not t.user_attrs.get("unused")]


def test_four_workers_starting_at_once_on_a_fresh_sweep_run_every_trial_once(tmp_path):
    spec = check_sweep(tiny_sweep(seeds=[0, 1], settings={"constraint.weight": [0.1, 1.0]},
                                  jobs=4))
    out = tmp_path / "sweep"
    finished = run_sweep(spec, out, threads=1, quiet=True)
    assert finished.url == f"journal:///{(out / 'sweep.journal').resolve()}"  # the default
    trials = ran(out)
    assert len(trials) == 4 and {t.state.name for t in trials} == {"COMPLETE"}
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 4  # none twice
    assert sorted(p.name for p in out.glob("trial-*")) == sorted(
        t.user_attrs["folder"] for t in trials)


def test_a_sweep_folder_on_sqlite_stays_readable_and_continues_there(tmp_path):
    spec = check_sweep(tiny_sweep(seeds=[], storage=f"sqlite:///{tmp_path}/sweep.db"))
    out = tmp_path / "sweep"
    url = studies.create(spec, out)
    assert url.startswith("sqlite:///")
    run_sweep(spec, out, threads=1, quiet=True)  # continues in the storage its folder names
    assert [r.state for r in sweep_status(out)[0]] == ["complete", "complete"]


# --- PostgreSQL ---------------------------------------------------------------------------------

def server_program(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, or where Debian's and Ubuntu's packages put it."""
    return shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                                  reverse=True)), None)


@pytest.fixture(scope="module")
def postgres() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL cluster with a password: its URL, and the parts to spoil it."""
    pytest.importorskip("psycopg", reason="PostgreSQL's driver psycopg is not installed: "
                                           "pip install 'wgan-kit[postgres]'")
    initdb, pg_ctl = server_program("initdb"), server_program("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed: "
                    "apt-get install postgresql (.ci/run does)")
    folder = Path(tempfile.mkdtemp(prefix="wgan-kit-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as its own user
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: the PostgreSQL server cannot start")
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    password = folder / "password"
    password.write_text("secret\n")
    if as_user:
        shutil.chown(password, "postgres", "postgres")
    port = distributed.free_port()
    data = folder / "data"
    started = False
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "wgan", "--auth=scram-sha-256",
                        f"--pwfile={password}"], check=True, capture_output=True, timeout=120)
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w",
                        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True, timeout=120)
        started = True
        import sqlalchemy

        admin = sqlalchemy.create_engine(f"postgresql://wgan:secret@127.0.0.1:{port}/postgres",
                                         isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text("CREATE DATABASE sweeps"))
        admin.dispose()
        yield {"url": f"postgresql://wgan:secret@127.0.0.1:{port}/sweeps", "port": str(port)}
    except subprocess.CalledProcessError as exc:
        log = (folder / "log").read_text() if (folder / "log").exists() else ""
        pytest.skip(f"the PostgreSQL server did not start: {exc.stderr.decode()[-300:]} {log}")
    finally:
        if started:
            subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def joining(url: str, name: str, out: Path) -> subprocess.Popen:
    """`wgan-kit sweep --join URL --name NAME --out OUT`, as a worker on another machine would run
    it (the server holds every test's sweep, so each names its own)."""
    return subprocess.Popen([sys.executable, "-m", "wgan_kit", "sweep", "--join", url, "--name",
                             name, "--out", str(out), "--quiet", "--threads", "1"], env=WORKER_ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def test_two_workers_in_separate_folders_join_one_postgres_sweep_and_run_each_trial_once(
        tmp_path, postgres):
    spec = check_sweep(tiny_sweep(name="machines", seeds=[0, 1, 2], storage=postgres["url"]))
    started = tmp_path / "machine-a"
    url = studies.create(spec, started)
    assert url == postgres["url"]
    workers = [joining(url, "machines", out) for out in (started, tmp_path / "machine-b")]
    assert [w.wait(timeout=600) for w in workers] == [0, 0], [w.stderr.read() for w in workers]
    trials = ran(started)
    assert len(trials) == 6 and {t.state.name for t in trials} == {"COMPLETE"}
    assert len({json.dumps(t.params, sort_keys=True) for t in trials}) == 6  # none twice
    folders = {p.name for p in (*started.glob("trial-*"), *(tmp_path / "machine-b").glob(
        "trial-*"))}
    assert folders == {t.user_attrs["folder"] for t in trials}


def test_a_worker_killed_mid_trial_leaves_a_trial_the_other_resumes_from_its_checkpoint(
        tmp_path, postgres):
    tables = tiny_sweep(name="killed", seeds=[], settings={"run.steps": [400]},
                        storage=postgres["url"])
    tables["run"]["checkpoint_every"] = 10
    spec = check_sweep(tables)
    shared = tmp_path / "shared"  # the trial folders on a disk both workers see
    url = studies.create(spec, shared)
    first = joining(url, "killed", shared)
    checkpoints = shared / "trial-000" / "checkpoints"
    deadline = time.monotonic() + 300
    while not any(checkpoints.glob("*.safetensors")):
        assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    killed_at = max(int(p.stem.removeprefix("step-")) for p in checkpoints.iterdir())
    assert killed_at < 400, "the trial ended before its worker was killed"

    second = joining(url, "killed", shared)
    assert second.wait(timeout=600) == 0, second.stderr.read()
    assert [r.state for r in sweep_status(shared)[0]] == ["complete"]
    killed, resumed = ran(shared)  # the killed worker's attempt, failed, and its continuation
    assert (killed.state.name, resumed.state.name) == ("FAIL", "COMPLETE")
    assert resumed.user_attrs["resumes"] == killed.number
    assert resumed.user_attrs["folder"] == killed.user_attrs["folder"] == "trial-000"
    steps = [json.loads(line)["step"] for line in
             (shared / "trial-000" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and steps[-1] == 400  # resumed: each step logged once


@pytest.mark.parametrize("spoil, says", [
    (lambda url, port: url.replace("secret", "wrong"), "password authentication failed"),
    (lambda url, port: url.replace(f":{port}/", f":{distributed.free_port()}/"),
     "Connection refused")])
def test_a_wrong_password_or_an_unreachable_server_is_refused_in_one_line_before_any_trial(
        tmp_path, postgres, spoil, says):
    bad = spoil(postgres["url"], postgres["port"])
    sweep_file = write_toml(tmp_path / "sweep.toml", tiny_sweep(seeds=[]))
    for command in (["sweep", str(sweep_file), "--storage", bad, "--out", str(tmp_path / "a")],
                    ["sweep", "--join", bad, "--out", str(tmp_path / "b")]):
        refused = sweep_cli(*command)
        assert refused.exit_code == 2, refused.output
        errors = [line for line in refused.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and says in errors[0], refused.output
        assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
