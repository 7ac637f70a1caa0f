"""A hostile config file (.premortem.yaml, pyproject.toml) or baseline: deep, huge, quadratic for the
parser, odd types, a device or a FIFO. Each is a clear error naming the file (exit 2), fast, never a
traceback or a hang."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from premortem.configfile import ConfigError, build_settings, find_config
from premortem.configfile.read import MAX_CONFIG_BYTES, MAX_KEY_PARTS
from premortem.triage.baseline import BaselineError, read_baseline

from .helpers import no_traceback, run

POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: nginx}]}\n"


def _error(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        build_settings(config=str(path))
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (".premortem.yaml", "params: " + "[" * 100_000 + "]" * 100_000 + "\n"),  # was RecursionError
        (".premortem.yaml", "".join(" " * i + f"k{i}:\n" for i in range(3000))),
        ("pyproject.toml", "[tool.premortem]\nparams = " + "[" * 100_000 + "]" * 100_000 + "\n"),
        ("pyproject.toml", "[tool.premortem]\nparams = " + "{a=" * 100_000 + "1" + "}" * 100_000 + "\n"),
    ],
)
def test_deep_nesting_is_an_error_not_a_traceback(tmp_path, name, text):
    message = _error(tmp_path, name, text)
    assert name in message and ("nest" in message or "deep" in message), message


def test_long_dotted_toml_keys_are_refused_before_tomllib(tmp_path):
    # tomllib is quadratic in the parts of one dotted key: 200,000 parts ran for minutes.
    for text in (
        "[tool.premortem]\n" + "a." * 200_000 + "b = 1\n",
        "[tool.premortem." + "a." * 200_000 + "b]\n",
    ):
        message = _error(tmp_path, "pyproject.toml", text)
        assert f"more than {MAX_KEY_PARTS} dotted parts" in message
    # dots in values are data, not keys
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.premortem]\nexclude = ["' + "a." * 200 + '"]\n')
    assert build_settings(config=str(path)).exclude == ("a." * 200,)


def test_huge_config_is_refused_unparsed(tmp_path):
    text = "ignore:\n" + "".join(f"  - RES{i:05d}\n" for i in range(100_000))
    assert len(text) > MAX_CONFIG_BYTES
    assert "larger than 1 MiB" in _error(tmp_path, ".premortem.yaml", text)


def test_discovery_survives_a_broken_pyproject(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_bytes(b'[tool.premortem]\nfail-on = "\xff\xfe"\n')
    assert find_config([str(tmp_path)]) == str(tmp_path / "pyproject.toml")  # reported when read
    (tmp_path / "pyproject.toml").write_text("[tool.black]\n" + "a." * 100_000 + "b = 1\n")
    assert find_config([str(tmp_path)]) is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('exclude: ["[z-a]"]\n', "exclude[0]: not a valid gitignore-style glob '[z-a]'"),
        (
            'ignores: [{rules: [RES001], paths: ["[z-a]"], reason: x}]\n',
            "ignores[0].paths[0]: not a valid gitignore-style glob",
        ),
        ("jobs: -5\n", "jobs: must be 0 or more"),
        ("max-input-bytes: 0\n", "max-input-bytes: must be 1 or more"),
    ],
)
def test_odd_values_are_errors_with_file_line_and_key(tmp_path, text, needle):
    assert needle in _error(tmp_path, ".premortem.yaml", text)


def test_bad_glob_on_the_command_line_is_a_usage_error(tmp_path):
    (tmp_path / "a.yaml").write_text(POD)
    out = run("scan", "a.yaml", "--no-config", "--exclude", "[z-a]", cwd=tmp_path)
    no_traceback(out)
    assert out.returncode == 2 and "--exclude: not a valid gitignore-style glob" in out.stderr


def test_a_baseline_that_is_a_device_or_fifo_is_refused_unopened(tmp_path):
    for path in ("/dev/zero", str(tmp_path / "fifo")):
        if path.endswith("fifo"):
            os.mkfifo(path)
        with pytest.raises(BaselineError, match="not a regular file"):
            read_baseline(path)


def test_a_deep_baseline_is_not_a_baseline(tmp_path):
    path = tmp_path / "b.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BaselineError, match="nested too deeply"):
        read_baseline(str(path))


def test_baseline_dev_zero_through_the_config_is_exit_2(tmp_path):
    (tmp_path / "a.yaml").write_text(POD)
    (tmp_path / ".premortem.yaml").write_text("baseline: /dev/zero\n")
    out = run("scan", "a.yaml", cwd=tmp_path, timeout=30)
    no_traceback(out)
    assert out.returncode == 2 and "not a regular file" in out.stderr


def test_config_verb_prints_the_files_text_terminal_safe(tmp_path):
    (tmp_path / ".premortem.yaml").write_text(
        'ignores: [{rules: [RES001], paths: ["a"], reason: "\\e]0;x\\a \\u202e ok"}]\nnodes: "3x4cpu/16Gi\\e[2J"\n'
    )
    out = run("config", cwd=tmp_path)
    no_traceback(out)
    assert out.returncode == 0
    assert "\x1b" not in out.stdout and "\u202e" not in out.stdout and "\x07" not in out.stdout
    assert "3x4cpu/16Gi\\e[2J" in out.stdout
