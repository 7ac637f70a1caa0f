"""Judging in two processes (premortem/fork.py): the same result as one, whatever the child does."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import run_cli
from premortem.engine import scan
from premortem.fork import in_two_processes, worth_splitting
from premortem.load.reader import load_paths
from premortem.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class _Object:
    def __init__(self, name: str) -> None:
        self.name = name


def test_every_item_comes_back_in_order_and_shared_objects_keep_their_identity():
    shared = [_Object(str(i)) for i in range(40)]

    def do(item: int) -> tuple[int, int, _Object]:
        time.sleep(0.002)  # long enough that both processes take items
        return item, os.getpid(), shared[item]

    done = in_two_processes(40, do, shared)
    assert [item for item, _, _ in done] == list(range(40))
    assert all(value is shared[item] for item, _, value in done)  # a reference, not a copy
    assert {pid for _, pid, _ in done} - {os.getpid()}  # the child did some of them


def test_a_result_that_cannot_be_pickled_is_made_again_here():
    done = in_two_processes(20, lambda item: (item, lambda: item), [])
    assert [made() for _, made in done] == list(range(20))


def test_a_child_that_dies_leaves_its_items_to_the_parent():
    parent = os.getpid()

    def do(item: int) -> tuple[int, int]:
        if os.getpid() != parent:
            os._exit(9)  # killed, out of memory...
        time.sleep(0.002)
        return item, os.getpid()

    assert in_two_processes(10, do, []) == [(item, parent) for item in range(10)]


def test_an_item_that_raises_raises_here_too():
    def do(item: int) -> int:
        if item == 3:
            raise ValueError("item three")
        return item

    with pytest.raises(ValueError, match="item three"):
        in_two_processes(6, do, [])


def test_splitting_needs_two_jobs_and_enough_objects(monkeypatch):
    monkeypatch.delenv("PREMORTEM_PARALLEL_MIN_OBJECTS", raising=False)
    assert not worth_splitting(100, 2)
    assert not worth_splitting(1_000_000, 1)
    assert worth_splitting(1_000_000, 2)
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
    assert worth_splitting(1, 2) and not worth_splitting(1, 1)


def test_a_split_scan_equals_one_process(monkeypatch):
    inputs = [str(ROOT / "examples"), str(ROOT / "tests" / "postmortems")]
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
    split = scan(load_paths(inputs), settings=Settings(jobs=2)).to_json()
    alone = scan(load_paths(inputs), settings=Settings(jobs=1)).to_json()
    assert len(alone["findings"]) > 30
    assert split == alone


def test_cli_output_is_the_same_byte_for_byte(tmp_path):
    for name in ("examples", "tests/postmortems"):
        shutil.copytree(ROOT / name, tmp_path / name.replace("/", "-"))
    outputs = []
    for jobs, least in (("1", "1000000"), ("2", "0")):
        env = {**os.environ, "PREMORTEM_PARALLEL_MIN_OBJECTS": least}
        done = run_cli("scan", "-j", jobs, str(tmp_path), "--format", "json", env=env)
        assert done.returncode in (0, 1), done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]


def test_items_below_parent_only_are_done_here():
    def do(item: int) -> tuple[int, int]:
        time.sleep(0.002)
        return item, os.getpid()

    done = in_two_processes(30, do, [], parent_only=5)
    assert [item for item, _ in done] == list(range(30))
    assert all(pid == os.getpid() for _, pid in done[:5])
