#!/usr/bin/python3
"""Execute one notebook with the Raft Lab kernel and report every code cell's status as JSON on stdout.

Usage: /usr/bin/python3 scripts/course/notebook_run.py NOTEBOOK OUTPUT CWD TIMEOUT_S

Run by scripts/notebooks-check.ts (JUPYTER_PATH must point at the repository's jupyter/ folder). Cells may
fail (allow_errors): the caller decides which failures are expected. The executed notebook goes to OUTPUT.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError


def text_of(cell, name):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == name)


def main():
    notebook, output, cwd, timeout = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    nb = nbformat.read(notebook, as_version=4)
    statuses = {}
    started = {}

    def on_cell_start(cell, cell_index):
        started[cell_index] = time.monotonic()

    def on_cell_executed(cell, cell_index, execute_reply):
        statuses[cell_index] = execute_reply["content"]["status"]
        if statuses[cell_index] != "ok":
            # tslab aborts requests that arrive within ~200 ms of an error: let it settle.
            time.sleep(0.3)

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="raftlab", allow_errors=True, resources={"metadata": {"path": cwd}},
        on_cell_start=on_cell_start, on_cell_executed=on_cell_executed,
    )
    problem = None
    t0 = time.monotonic()
    try:
        client.execute()
    except CellTimeoutError as e:
        problem = "timeout: " + str(e).splitlines()[0]
    except DeadKernelError as e:
        problem = "the kernel died: " + str(e)
    wall = time.monotonic() - t0
    nbformat.write(nb, output)
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        role = cell.metadata.get("raftlab", {})
        status = statuses.get(i, "timeout" if i in started else "not run")
        cells.append({
            "index": i,
            "id": role.get("id") or cell.get("id"),
            "role": role.get("role"),
            "needsSolution": role.get("needsSolution", True),
            "status": status,
            "stdout": text_of(cell, "stdout"),
            "stderr": text_of(cell, "stderr"),
        })
    # RAFTLAB_REPORT_FD: a pipe only this runner holds (the kernel, started with close_fds, shares stdout).
    report_fd = os.environ.get("RAFTLAB_REPORT_FD")
    out = os.fdopen(int(report_fd), "w") if report_fd else sys.stdout
    json.dump({"notebook": notebook, "wall": round(wall, 3), "problem": problem, "cells": cells}, out)
    out.flush()


if __name__ == "__main__":
    main()
