"""The ``web`` sink in a real browser (issue 27): Debian's Chromium, driven by Selenium through
``chromedriver``, opens the page of an ``edge-rppg run --realtime --sink web --sink json:...`` on a
rendered clip. The HR the page shows must be the one the json sink wrote for the frame the page says
it shows (within display rounding), the video must update, an invalid reading must look invalid
and say why, and the page must notice when the run (and its server) ends.

Screenshots go to ``$EDGE_RPPG_TEST_ARTIFACTS`` (default ``out/test-artifacts``). Skips with the
reason when chromium, chromedriver or selenium is missing (``.ci/run`` installs them)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("EDGE_RPPG_TEST_ARTIFACTS", ROOT / "out" / "test-artifacts"))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401
    SELENIUM = None
except ImportError as exc:  # pragma: no cover - the [dev] extra brings it
    SELENIUM = str(exc)

_MISSING = ", ".join(n for n, ok in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER),
                                      ("selenium", SELENIUM is None)) if not ok)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    bool(_MISSING), reason=f"needs a real browser: {_MISSING} missing (apt install chromium chromium-driver; "
                           "pip install selenium; .ci/run installs them)")]

#: Chromium as root in a sandboxed container, with nothing that reaches the network by itself.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage")
KIOSK = (1280, 800)
PHONE = (390, 844)
GREEN, AMBER = "rgb(62, 207, 110)", "rgb(255, 176, 32)"  # --valid and --invalid of app.css

READ_CARD = """
const card = document.getElementById('hr-card'), hr = document.getElementById('hr');
const status = document.getElementById('status');
return {state: card.dataset.state, reason: card.dataset.reason, frame: card.dataset.frameIndex,
        hr: hr.textContent, status: status.textContent, hr_color: getComputedStyle(hr).color,
        status_color: getComputedStyle(status).color,
        hr_decoration: getComputedStyle(hr).textDecorationLine,
        img_width: document.getElementById('frame').naturalWidth,
        conn: document.getElementById('conn').dataset.state,
        fps_processed: document.getElementById('fps-proc').textContent,
        pulse_samples: Number(document.getElementById('pulse').dataset.samples || 0)};
"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """Rendered clips (small, short): a still face with a pulse, and one without a pulse under passing street lamps."""
    from edge_rppg.synth.video_gen import PRESETS, synth_video

    out = tmp_path_factory.mktemp("web_clips")
    made = {}
    for name, preset, extra in (("pulse", "still", {}), ("artefact", "street_lamps", {"pulse_amplitude": 0.0})):
        cfg = PRESETS[preset]
        cfg = type(cfg).from_dict({**cfg.to_dict(), "duration_s": 13.0, "hr_bpm": 75.0, "width": 320, "height": 240,
                                   **extra})
        made[name] = out / f"{name}.avi"
        synth_video(made[name], cfg, seed=3)
    return made


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        viewport(driver, *KIOSK)
        yield driver
    finally:
        driver.quit()


def viewport(driver: Any, width: int, height: int) -> None:
    """Set the page's viewport exactly (the window size would include the browser's own frame)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})


def start_run(clip: Path, jsonl: Path) -> Tuple[subprocess.Popen, str, List[str]]:
    """``edge-rppg run`` on ``clip`` paced in real time, with the web and json sinks; its page URL."""
    proc = subprocess.Popen([sys.executable, "-m", "edge_rppg.cli.main", "run", "--source", str(clip), "--realtime",
                             "--sink", "web", "--port", "0", "--sink", f"json:{jsonl}"],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    lines: List[str] = []
    found = threading.Event()

    def read() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append(line)
            if "web view on" in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(180):
        proc.kill()
        pytest.fail("edge-rppg run did not start its web view: " + "".join(lines)[-2000:])
    url = re.search(r"web view on (http://\S+/) ", "".join(lines)).group(1)  # type: ignore[union-attr]
    return proc, url, lines


def wait_for(driver: Any, what: str, check: Any, timeout: float = 60.0) -> Dict[str, Any]:
    """Poll the HR card until ``check(card)`` holds; the card as read then."""
    deadline = time.monotonic() + timeout
    card: Dict[str, Any] = {}
    while time.monotonic() < deadline:
        card = driver.execute_script(READ_CARD)
        if check(card):
            return card
        time.sleep(0.05)
    pytest.fail(f"the page never showed {what}; last card: {card}")


def image_updates(driver: Any) -> bool:
    """Whether the pixels of the video element change within 10 s."""
    from selenium.webdriver.common.by import By

    img = driver.find_element(By.ID, "frame")
    first = img.screenshot_as_png
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if img.screenshot_as_png != first:
            return True
    return False


def finish(proc: subprocess.Popen, lines: List[str], jsonl: Path, url: str, driver: Any) -> Dict[int, dict]:
    """Wait for the run to end; check the server went with it; the json sink's records by frame."""
    assert proc.wait(120) == 0, "".join(lines)[-2000:]
    port = int(url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    wait_for(driver, "that the run ended", lambda c: c["conn"] == "lost", timeout=20)
    return {d["frame_index"]: d for d in map(json.loads, jsonl.read_text().splitlines())}


def observe(clip: Path, jsonl: Path, browser: Any, look: Callable[[Any], Dict[str, Any]]) -> Tuple[Dict[str, Any], dict]:
    """Start ``run --sink web`` on ``clip``, let ``look`` read the page (it returns a card), end
    the run; the card and the json sink's record of the frame the card shows."""
    proc, url, lines = start_run(clip, jsonl)
    try:
        browser.get(url)
        card = look(browser)
    except BaseException:
        proc.kill()
        raise
    records = finish(proc, lines, jsonl, url, browser)
    return card, records[int(card["frame"])]


def shows(card: Dict[str, Any], rec: dict) -> None:
    """The HR on the page is the json sink's HR of the same frame (the page shows one decimal)."""
    assert rec["hr_bpm"] is not None and abs(float(card["hr"]) - rec["hr_bpm"]) <= 0.05 + 1e-9, (card, rec)


def test_page_shows_the_json_sinks_hr_and_a_live_image(clips: Dict[str, Path], browser: Any, tmp_path: Path) -> None:
    jsonl = tmp_path / "pulse.jsonl"

    def look(browser: Any) -> Dict[str, Any]:
        assert wait_for(browser, "the live stream", lambda c: c["conn"] == "live" and c["img_width"] == 320)
        assert image_updates(browser), "the video element did not change in 10 s"
        card = wait_for(browser, "a valid HR", lambda c: c["state"] == "valid")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for _ in range(60):  # the screenshots look better with a few HRs in the history plot (not a check)
            if int(browser.execute_script("return document.getElementById('history').dataset.points || 0")) >= 4:
                break
            time.sleep(0.1)
        browser.save_screenshot(str(ARTIFACTS / "web_sink_1280x800.png"))
        viewport(browser, *PHONE)
        time.sleep(1.0)  # a frame and a health event at the new size
        browser.save_screenshot(str(ARTIFACTS / "web_sink_phone.png"))
        return card

    card, rec = observe(clips["pulse"], jsonl, browser, look)
    assert rec["valid"] is True and card["reason"] == "valid" and card["status"] == "valid"
    shows(card, rec)
    assert card["hr_color"] == GREEN and card["hr_decoration"] == "none"
    assert card["pulse_samples"] > 30 and float(card["fps_processed"]) > 0  # the pulse plot and health arrived


def test_an_invalid_reading_is_shown_as_invalid_with_its_reason(clips: Dict[str, Path], browser: Any,
                                                                 tmp_path: Path) -> None:
    jsonl = tmp_path / "artefact.jsonl"

    def look(browser: Any) -> Dict[str, Any]:
        card = wait_for(browser, "an invalid HR", lambda c: c["state"] == "invalid" and c["hr"] != "--")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "web_sink_invalid_1280x800.png"))
        return card

    card, rec = observe(clips["artefact"], jsonl, browser, look)
    assert rec["valid"] is False and rec["face_found"] is True
    shows(card, rec)
    expected = f"artefact:{rec['artefact']}" if rec["invalid_reason"] == "artefact" else rec["invalid_reason"]
    assert card["reason"] == expected and card["status"].startswith("not valid: "), card
    assert card["status_color"] == AMBER and card["hr_decoration"] == "line-through" and card["hr_color"] != GREEN
