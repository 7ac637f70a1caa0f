"""The HTML report renders in a real browser: headless Debian Chromium loads it from a file, with the
network switched off, and the node bars are on screen (their colours are found in the screenshot)."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from capacity_helpers import anti_affinity, deployment, node, report

from premortem.analyses.capacity import html as html_report

CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian chromium is not installed (scripts/install-test-deps.sh installs it)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, raw rows) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return width, height, bpp, bytes(out)


def count_colour(png: bytes, hex_colour: str) -> int:
    _, _, bpp, pixels = decode_png(png)
    want = bytes.fromhex(hex_colour.lstrip("#"))
    return sum(1 for i in range(0, len(pixels), bpp) if pixels[i : i + 3] == want)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    r = report(
        node("alpha"),
        node("bravo"),
        node("charlie"),
        deployment(
            "search",
            kind="StatefulSet",
            replicas=3,
            requests="{cpu: 1, memory: 3Gi}",
            spec_extra=anti_affinity("search"),
        ),
        deployment("reports", replicas=3, requests="{cpu: 500m, memory: 1Gi}", limits="{memory: 8Gi}"),
    )
    path = tmp_path_factory.mktemp("html") / "capacity.html"
    path.write_text(html_report.render_html(r, []), encoding="utf-8")
    return path


def test_chromium_loads_the_page_and_keeps_every_node_row(page: Path, tmp_path: Path):
    out = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert out.returncode == 0, out.stderr[-2000:]
    dom = out.stdout
    assert "<title>premortem capacity: 3 nodes</title>" in dom
    assert dom.count('class="node-row"') == 3
    for name in ("alpha", "bravo", "charlie"):
        assert f'data-node="{name}"' in dom
    assert "stay Pending" in dom  # the N-1 verdict of each node


def test_chromium_screenshot_shows_the_bars(page: Path, tmp_path: Path):
    shot = tmp_path / "shot.png"
    out = chromium(tmp_path, "--window-size=1200,700", f"--screenshot={shot}", page.as_uri())
    assert shot.exists(), out.stderr[-2000:]
    png = shot.read_bytes()
    # Three cpu bars and three memory bars, each at least 18 px high and tens of px wide.
    assert count_colour(png, html_report.CPU) > 3 * 18 * 40
    assert count_colour(png, html_report.MEMORY) > 3 * 18 * 20
