"""The benchmark's CPU sampler (bench/cpu.py, psutil): CPU used inside the block, per process."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.cpu import CpuSampler

BURN = "#cpu-sampler-test\nimport time\nwhile time.process_time() < 0.4: pass"


def _burn_here(seconds: float) -> None:
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass


def test_a_process_started_in_the_block_is_counted_with_the_cpu_it_used():
    with CpuSampler(interval=0.05) as cpu:
        subprocess.run([sys.executable, "-c", BURN], check=True, timeout=60)
        _burn_here(0.2)
    [child] = [value for command, value in cpu.other_seconds.items() if "#cpu-sampler-test" in command]
    assert 0.3 <= child <= 0.8
