"""The `wgan-kit` command sets torch's thread waiting (wgan_kit/thread_policy.py) before torch
loads, in its own process and so in every process it starts; a user's own setting wins."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from wgan_kit.thread_policy import THREAD_POLICY, use_thread_policy

# A plugin file that writes what its process sees, once a run loads it.
RECORDER = """
import json, os
from pathlib import Path
Path(os.environ["WGAN_KIT_TEST_RECORD"]).write_text(json.dumps(
    {key: os.environ.get(key) for key in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}))
"""


def environment_of_a_run(tmp_path, **given: str) -> dict:
    plugin, record = tmp_path / "recorder.py", tmp_path / "seen.json"
    plugin.write_text(RECORDER)
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    done = subprocess.run(
        [shutil.which("wgan-kit"), "run", "--plugin", str(plugin), "--steps", "1",
         "--batch-size", "8", "--set", "gen.hidden=8", "--set", "critic.hidden=8", "--quiet",
         "--out", str(tmp_path / "run")],
        env={**environment, **given, "WGAN_KIT_TEST_RECORD": str(record)},
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(record.read_text())


def test_a_wgan_kit_run_waits_as_the_thread_policy_says(tmp_path):
    assert environment_of_a_run(tmp_path) == {"GOMP_SPINCOUNT": THREAD_POLICY["GOMP_SPINCOUNT"],
                                              "OMP_WAIT_POLICY": None}


@pytest.mark.parametrize("given", [{"GOMP_SPINCOUNT": "300000"}, {"OMP_WAIT_POLICY": "PASSIVE"}])
def test_a_users_own_setting_wins(tmp_path, given):
    seen = environment_of_a_run(tmp_path, **given)
    assert {key: value for key, value in seen.items() if value is not None} == given


def test_use_thread_policy_adds_only_what_is_missing():
    environ = {"PATH": "/bin"}
    assert use_thread_policy(environ) == THREAD_POLICY
    assert environ == {"PATH": "/bin", **THREAD_POLICY}
    assert use_thread_policy(environ) == {}  # already there
    assert use_thread_policy({"OMP_WAIT_POLICY": "ACTIVE"}) == {}  # the user chose the waiting
