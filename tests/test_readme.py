"""The README opens with the two set-up commands, and CI runs the second one verbatim."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    lines = (ROOT / "README.md").read_text().splitlines()
    blocks, inside = [], False
    for line in lines:
        if line.startswith("```"):
            inside = not inside
            continue
        if inside and line.strip():
            blocks.append(line.strip())
        if len(blocks) == 2 and not inside:
            break
    return blocks


def test_readme_starts_with_two_setup_commands():
    main_job, tests = setup_commands()
    assert "torch==2.13.0" in main_job and "matinverse porous design" in main_job
    assert "torch==2.13.0" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert setup_commands()[1] in [line.strip() for line in ci]
