import subprocess
import sys

from bench import servers

#: A child that uses 0.3 s of CPU and ends; its parent reaps it, then says so and waits.
_PARENT = """
import subprocess, sys, time
burn = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"
subprocess.run([sys.executable, "-c", burn], check=True)
print("reaped", flush=True)
time.sleep(60)
"""


def test_cpu_seconds_counts_a_process_that_ended_in_its_parent() -> None:
    # A PostgreSQL backend or autovacuum worker that exits mid-round must still count.
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline() == "reaped\n"
            assert servers.cpu_seconds(parent.pid) >= 0.3
        finally:
            parent.kill()
