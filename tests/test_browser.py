"""Tests of the headless-Chromium page checker (tests/browser.py) on small self-contained pages."""

import base64
import os
import struct
import zlib

import pytest
from browser import BrowserTimeout, check_page, find_chromium


@pytest.fixture(scope="module")
def chromium():
    path = find_chromium()
    if path is None:
        if os.environ.get("CI", "") not in ("", "0", "false"):
            pytest.fail("CI is set but no Chromium was found: CI must install it (.ci/run does, "
                        "apt-get install chromium) or set CHROMIUM to the browser's path")
        pytest.skip("no Chromium found (install Debian's chromium or set CHROMIUM); "
                    "browser checks skipped outside CI")
    return path


def tiny_png(width=3, height=2, rgb=(200, 30, 30)) -> bytes:
    """A valid truecolour PNG, built by hand."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def page(tmp_path, body, title="Test page"):
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
                    f"</head><body>{body}</body></html>", encoding="utf-8")
    return path


def test_clean_page(chromium, tmp_path):
    body = "".join(f"<figure><img src='{data_uri(tiny_png(rgb=c))}' width=60 height=40>"
                   f"<figcaption>fig {i}</figcaption></figure>"
                   for i, c in enumerate([(200, 30, 30), (30, 30, 200)]))
    shot = tmp_path / "out" / "shot.png"
    report = check_page(page(tmp_path, body + "<p>done</p>", "Clean"), shot, chromium=chromium)
    assert report["errors"] == []
    assert report["title"] == "Clean"
    assert (report["images"], report["images_loaded"], report["selected"]) == (2, 2, 2)
    assert report["screenshot"] == str(shot)
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 100
    assert struct.unpack(">II", data[16:24]) == (report["width"], report["height"])
    assert report["width"] > 0 and report["height"] > 0


def test_console_error_reported(chromium, tmp_path):
    report = check_page(page(tmp_path, '<script>console.error("boom")</script>'),
                        tmp_path / "s.png", selector="p", chromium=chromium)
    assert any("boom" in e for e in report["errors"]), report["errors"]
    assert report["selected"] == 0


def test_uncaught_exception_reported(chromium, tmp_path):
    report = check_page(page(tmp_path, '<script>throw new Error("kaput")</script>'),
                        tmp_path / "s.png", selector=None, chromium=chromium)
    assert any("kaput" in e for e in report["errors"]), report["errors"]
    assert report["selected"] is None


def test_broken_image_detected(chromium, tmp_path):
    body = (f"<figure><img src='{data_uri(tiny_png())}'></figure>"
            "<figure><img src='data:image/png;base64,AAAAbm90IGEgcG5n'></figure>")
    report = check_page(page(tmp_path, body), tmp_path / "s.png", chromium=chromium)
    assert report["images"] == 2
    assert report["images_loaded"] == 1


def test_timeout_is_clear_and_cleans_up(chromium, tmp_path):
    # a page whose load event never comes within the limit
    body = "<script>const t = Date.now() + 30000; while (Date.now() < t) {}</script>"
    with pytest.raises(BrowserTimeout, match="timed out while"):
        check_page(page(tmp_path, body), tmp_path / "s.png", timeout=1.5, chromium=chromium)
    assert not (tmp_path / "s.png").exists()
