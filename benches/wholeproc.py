#!/usr/bin/env python3
"""Whole-process A/B comparison of two commands, by CPU time or by instruction count.

    wholeproc.py LABEL PAIRS WORKLOADS CMD_A CMD_B
    wholeproc.py --instructions LABEL WORKLOADS CMD_A CMD_B

WORKLOADS is comma-separated; in CMD_A and CMD_B (shell words) `{w}` is replaced by the workload.

By CPU time: each pair runs A and B once (B first on odd pairs, so drift cancels); the CPU time of
a run is the child's user + system time (os.wait4), which another process's load on the machine
disturbs less than wall time. Every run is pinned to one CPU (the highest-numbered this process
may use): on a 2-vCPU virtual machine, runs that migrated between vCPUs spread one binary's times
over 0.27-0.45 s, and pinned over 0.27-0.30 s. Prints, per workload:

    WHOLE LABEL WORKLOAD <median A s> <median B s> <median of the pairs' A/B ratios> <min ratio> <max ratio>

By instruction count: each command runs once under valgrind's cachegrind without cache
simulation (`--cache-sim=no`), which counts every instruction the process executes: exact and
repeatable, but blind to cache, branch and placement effects. Prints, per workload:

    WHOLEIC LABEL WORKLOAD <instructions A> <instructions B> <A/B>

Exits non-zero if any run fails (a wrong or failing run is never counted).
"""
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile


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


def instructions(argv):
    """Runs argv under cachegrind, returns the instructions it executed; raises on failure."""
    with tempfile.NamedTemporaryFile(prefix="cachegrind.") as out:
        proc = subprocess.run(
            ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--error-exitcode=99",
             f"--cachegrind-out-file={out.name}", *argv],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False,
        )
        err = proc.stderr.decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{err[-2000:]}")
        found = re.search(r"I\s+refs:\s+([0-9,]+)", err)
        if not found:
            raise SystemExit(f"no instruction count from cachegrind: {' '.join(argv)}\n{err[-2000:]}")
        return int(found.group(1).replace(",", ""))


def argvs(cmd_a, cmd_b, w):
    return ([x.replace("{w}", w) for x in shlex.split(cmd_a)],
            [x.replace("{w}", w) for x in shlex.split(cmd_b)])


def by_time(label, pairs, workloads, cmd_a, cmd_b):
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    for w in workloads.split(","):
        a_argv, b_argv = argvs(cmd_a, cmd_b, w)
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


def by_instructions(label, workloads, cmd_a, cmd_b):
    for w in workloads.split(","):
        a_argv, b_argv = argvs(cmd_a, cmd_b, w)
        a, b = instructions(a_argv), instructions(b_argv)
        print(f"WHOLEIC {label} {w} {a} {b} {a / b:.5f}", flush=True)


def main():
    if sys.argv[1] == "--instructions":
        by_instructions(*sys.argv[2:6])
    else:
        label, pairs, workloads, cmd_a, cmd_b = sys.argv[1:6]
        by_time(label, int(pairs), workloads, cmd_a, cmd_b)


if __name__ == "__main__":
    main()
