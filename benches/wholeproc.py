#!/usr/bin/env python3
"""Whole-process A/B timing: runs two commands in alternating pairs and compares their CPU time.

    wholeproc.py LABEL PAIRS WORKLOADS CMD_A CMD_B

WORKLOADS is comma-separated; in CMD_A and CMD_B (shell words) `{w}` is replaced by the workload.
Each pair runs A and B once (B first on odd pairs, so drift cancels); the CPU time of a run is the
child's user + system time (os.wait4), which another process's load on the machine disturbs less
than wall time. Prints, per workload:

    WHOLE LABEL WORKLOAD <median A s> <median B s> <median of the pairs' A/B ratios> <min ratio> <max ratio>

and exits non-zero if any run fails (a wrong or failing run is never timed).
"""
import os
import shlex
import statistics
import subprocess
import sys


def cpu_seconds(argv):
    """Runs argv, returns its user + system CPU seconds; raises on failure."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def main():
    label, pairs, workloads, cmd_a, cmd_b = sys.argv[1:6]
    pairs = int(pairs)
    for w in workloads.split(","):
        a_argv = [x.replace("{w}", w) for x in shlex.split(cmd_a)]
        b_argv = [x.replace("{w}", w) for x in shlex.split(cmd_b)]
        # One untimed run each: page cache, CPU frequency.
        cpu_seconds(a_argv)
        cpu_seconds(b_argv)
        a_times, b_times, ratios = [], [], []
        for i in range(pairs):
            if i % 2 == 0:
                a = cpu_seconds(a_argv)
                b = cpu_seconds(b_argv)
            else:
                b = cpu_seconds(b_argv)
                a = cpu_seconds(a_argv)
            a_times.append(a)
            b_times.append(b)
            ratios.append(a / b if b > 0 else float("nan"))
        print(
            f"WHOLE {label} {w} {statistics.median(a_times):.4f} {statistics.median(b_times):.4f} "
            f"{statistics.median(ratios):.4f} {min(ratios):.4f} {max(ratios):.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
