"""The README's two commands are the contract; CI must run the test command verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_COMMAND = "pip install torch==2.13.0 -e '.[dev]' && pytest"
MAIN_COMMAND = "pip install torch==2.13.0 -e . && wgan-kit run"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert TEST_COMMAND in readme and MAIN_COMMAND in readme
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text().splitlines()
