"""A real report, written without torch, rendered in headless Chromium: the page loads and every image decodes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a real ONNX Runtime export, then a browser

REPO = Path(__file__).resolve().parents[2]
NO_TORCH = ("import sys; sys.modules['torch'] = None; sys.modules['transformers'] = None; "
            "from edgedistill.cli import main; sys.exit(main(sys.argv[1:]))")
# Appended to a copy of the page: once everything has loaded, the title lists each image's decoded size.
PROBE = ("<script>window.addEventListener('load', () => { document.title = JSON.stringify("
         "[...document.images].map(image => [image.naturalWidth, image.naturalHeight])); });</script>")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=10000"]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)
    if found is None:
        message = "Debian's chromium is not installed (`make browser` installs it)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def report_page(real_export, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-page")
    result = subprocess.run([sys.executable, "-c", NO_TORCH, "report", str(real_export), "--out", str(out)],
                            check=False, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, cwd=REPO,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"wrote {out / 'index.html'}"
    return out / "index.html"


def test_every_image_of_the_page_decodes_in_chromium(report_page, chromium, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report_page.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, "--dump-dom", probed.as_uri()], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    sizes = json.loads(re.search(r"<title>(.*?)</title>", dom).group(1))
    assert len(sizes) == 4  # accuracy/latency, sizes, distributions, latency by length
    assert all(width > 300 and height > 100 for width, height in sizes)
    assert "Gate decisions" in dom and "tiny-host" in dom


def test_the_screenshot_shows_a_page(report_page, chromium, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--screenshot={shot}", "--window-size=1280,2400", report_page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 50  # text and plots, not a blank or error page
