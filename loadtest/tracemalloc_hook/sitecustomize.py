"""Memory per connection by where it was allocated: a hook for the server under load.

Put this folder on PYTHONPATH for a run of loadtest/compare.py; every Python process then traces
its allocations. Send the Townhall server SIGUSR1 once before the phones connect and once after;
the second signal writes the difference, per connection, by file and by traceback, to
TRACEMALLOC_OUT (default tracemalloc-report.txt), dividing by TRACEMALLOC_PHONES (default 2000).
docs/performance.md shows a run of it.
"""

import gc
import os
import signal
import tracemalloc

tracemalloc.start(10)
_snapshots: list[tracemalloc.Snapshot] = []


def _snapshot(*_: object) -> None:
    gc.collect()
    _snapshots.append(tracemalloc.take_snapshot())
    if len(_snapshots) != 2:
        return
    phones = int(os.environ.get("TRACEMALLOC_PHONES", "2000"))
    with open(os.environ.get("TRACEMALLOC_OUT", "tracemalloc-report.txt"), "w") as out:
        for key in ("filename", "traceback"):
            stats = _snapshots[1].compare_to(_snapshots[0], key)
            total = sum(s.size_diff for s in stats) / phones
            print(f"== by {key}: {total:.0f} B per connection", file=out)
            for stat in stats[:30]:
                print(
                    f"{stat.size_diff / phones:8.0f} B {stat.count_diff / phones:6.2f} blocks",
                    file=out,
                )
                lines = (
                    stat.traceback.format()[-6:]
                    if key == "traceback"
                    else [stat.traceback[0].filename]
                )
                for line in lines:
                    print("      ", line, file=out)


signal.signal(signal.SIGUSR1, _snapshot)
