"""Idle containers (model/idle.py): what only keeps a pod alive."""

from __future__ import annotations

import pytest

from premortem.model.idle import is_idle
from premortem.model.podspec import CONTAINER, ContainerView


def container(**data) -> ContainerView:
    return ContainerView(name="c", role=CONTAINER, index=0, path=("spec", "containers", 0), data=data)


@pytest.mark.parametrize(
    "data",
    [
        {"command": ["sleep", "infinity"]},
        {"command": ["/bin/sleep", "3650d"]},
        {"command": ["sh", "-c", "exec tail -f /dev/null"]},  # kafkacat-mtls (GKE samples)
        {"command": ["/bin/sh", "-c", "while true; do sleep 30; done"]},
        {"command": ["tail"], "args": ["-f", "/dev/null"]},
        {"image": "registry.k8s.io/pause:3.9"},
    ],
)
def test_idle(data):
    assert is_idle(container(**data))


@pytest.mark.parametrize(
    "data",
    [
        {"command": ["sleep", "10"]},
        {"command": ["sh", "-c", "sleep 5 && ./serve"]},
        {"command": ["nginx", "-g", "daemon off;"]},
        {"image": "nginx:1.27"},
        {"command": ["sh", "-c", "while true; do ./poll; sleep 30; done"]},
    ],
)
def test_not_idle(data):
    assert not is_idle(container(**data))
