"""The main job: `assay demo` on the embedded stack, as `make demo` runs it on a fresh machine."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_runs_on_the_embedded_stack_and_every_service_reports(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BROKER_URL", "REDIS_URL")}
    done = subprocess.run([sys.executable, "-m", "assay_shared.cli", "--state", str(tmp_path), "demo"],
                          env=env, capture_output=True, text=True, timeout=900)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert re.search(r"postgres : embedded", out) and re.search(r"bus      : embedded", out)
    for section in ("assignment", "scoring", "review sampling", "annotator metrics", "webhooks"):
        assert f"── {section} " in out
    received, verified = map(int, re.search(r"(\d+) signed deliveries received .*, (\d+) verified", out).groups())
    assert received > 0 and verified == received
    decisions, submissions = int(re.search(r"(\d+) sampling decisions", out).group(1)), \
        int(re.search(r"answered to overlap: (\d+) submissions", out).group(1))
    assert decisions == submissions
    # the careless annotator (right 1 time in 10) answered at least 3 gold tasks, so the rule
    # "gold accuracy below 0.6 after 3 gold answers" suspended them
    row = re.search(r"^   ann-06 +\d+ +\d+ +([\d.]+) \((\d+)\) .*  (\w[\w, ]*)$", out, re.MULTILINE)
    assert row, out[-2500:]
    gold_mean, gold_count, standing = float(row.group(1)), int(row.group(2)), row.group(3)
    assert gold_count >= 3 and gold_mean < 0.6, row.group(0)
    assert "suspended" in standing, row.group(0)
