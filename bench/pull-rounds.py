#!/usr/bin/python3
"""Interleaved rounds of the pull benchmark (run by bench/pull.sh), and its Markdown report.

    pull-rounds.py rounds CONFIG.json RAW.tsv
    pull-rounds.py report CONFIG.json RAW.tsv RESULTS.md

CONFIG.json: {"runs", "warmup", "work", "cases": {LABEL: [STEP, ...]}, "sizes", ...} where a
STEP is an argv list; "{out}" in an argument is replaced by a fresh empty directory of the
case below "work" (a cold store every round). A case's steps run one after the other; a
sample is:
  - wall: fork of the first step to exit of the last (CLOCK_MONOTONIC), in ms;
  - rss: the largest ru_maxrss that wait4 reports for a step (the step's process and every
    descendant it waited for), KiB;
  - write: /proc/self/io write_bytes of this process after reaping the step minus before:
    the kernel adds a reaped child's I/O counters (and those of its own reaped children)
    to its parent, so this is the bytes the whole process tree wrote to storage;
  - sync: the time a `sync` after the case took (untimed in wall): what was still to be
    written for the data to be durable. ecsa syncs its layers before committing them; the
    peers leave their data in the page cache.
Each round runs every case once, the order rotating by one per round. After each case its
output is removed and the file system synced, so no case pays for another's writeback.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time


SYNC_PATH = ["/"]  # the file system of the stores (syncfs, not every file system)


def io_write_bytes():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/io: no write_bytes")


def run_step(argv, env):
    before = io_write_bytes()
    pid = os.fork()
    if pid == 0:
        try:
            devnull = os.open("/dev/null", os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    written = io_write_bytes() - before
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss, written


def run_case(steps, out, env):
    os.makedirs(out)
    start = time.monotonic()
    rss, written = 0, 0
    for step in steps:
        argv = [a.replace("{out}", out) for a in step]
        code, r, w = run_step(argv, env)
        if code != 0:
            raise RuntimeError("exit status %d: %s" % (code, " ".join(argv)))
        rss, written = max(rss, r), written + w
    wall = (time.monotonic() - start) * 1000
    t = time.monotonic()
    subprocess.run(["sync", "-f", SYNC_PATH[0]], check=True)
    sync_ms = (time.monotonic() - t) * 1000
    return wall, rss, written, sync_ms


def rounds(cfg_path, raw_path):
    cfg = json.load(open(cfg_path))
    SYNC_PATH[0] = cfg["work"]
    labels = list(cfg["cases"])
    env = dict(os.environ, **cfg.get("env", {}))
    total = cfg["warmup"] + cfg["runs"]
    with open(raw_path, "w") as raw:
        raw.write("label\tround\twall_ms\trss_kib\twrite_bytes\tsync_ms\n")
        for i in range(total):
            order = labels[i % len(labels):] + labels[:i % len(labels)]
            for label in order:
                out = os.path.join(cfg["work"], "%s-%d" % (re.sub("[^A-Za-z0-9]+", "-", label), i))
                try:
                    wall, rss, written, sync_ms = run_case(cfg["cases"][label], out, env)
                finally:
                    shutil.rmtree(out, ignore_errors=True)
                    subprocess.run(["sync", "-f", SYNC_PATH[0]], check=True)
                if i >= cfg["warmup"]:
                    raw.write("%s\t%d\t%.1f\t%d\t%d\t%.1f\n" %
                              (label, i - cfg["warmup"], wall, rss, written, sync_ms))
                    raw.flush()
                print("pull bench: round %d/%d %s %.0f ms, %.1f MiB, %.1f MB written" %
                      (i + 1, total, label, wall, rss / 1024, written / 1e6), file=sys.stderr)


def pct(xs, q):
    xs = sorted(xs)
    k = (len(xs) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def report(cfg_path, raw_path, out_path):
    cfg = json.load(open(cfg_path))
    samples = {}
    with open(raw_path) as f:
        next(f)
        for line in f:
            label, _, wall, rss, written, sync_ms = line.split("\t")
            samples.setdefault(label, []).append(
                (float(wall), int(rss), int(written), float(sync_ms)))
    med = {l: {k: statistics.median(s[i] for s in v) for i, k in
               enumerate(["wall", "rss", "write", "sync"])} for l, v in samples.items()}
    ecsa, peer = cfg["ecsa_label"], cfg["peer_label"]
    size = cfg["sizes"]["uncompressed"]

    def sizes_of(label):
        return cfg["sizes_one"]["uncompressed"] if "one-layer" in label else size
    lines = [
        "# Pull benchmark: `ecsa-run pull` against `skopeo copy` + `umoci unpack`",
        "",
        "Written by `bench/pull.sh` on %s: %s." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                   cfg["machine"]),
        "",
        "Exact command: `%s`" % cfg["command"],
        "",
        "- Image: %s (`bench/make-pull-image.py`, built from this machine's /usr): %d layers, "
        "%.1f MB uncompressed (tar streams), %.1f MB compressed (gzip -6); layers of %s MB "
        "uncompressed." % (cfg["image"], len(cfg["sizes"]["layers"]), size / 1e6,
                           cfg["sizes"]["compressed"] / 1e6,
                           ", ".join("%.1f" % (l["uncompressed"] / 1e6) for l in cfg["sizes"]["layers"])),
        "- One-layer image: %s, the same files in one layer of %.1f MB uncompressed (%.1f MB "
        "compressed), pulled by ecsa only: peak RSS with a big layer; its written ratio is "
        "to its own size." % (cfg["image_one"], cfg["sizes_one"]["uncompressed"] / 1e6,
                              cfg["sizes_one"]["compressed"] / 1e6),
        "- Registry: Debian's docker-registry on 127.0.0.1 (plain HTTP), the image pushed with skopeo.",
        "- Cases (a fresh, empty store or directory every round):",
    ]
    for label, steps in cfg["cases"].items():
        lines.append("  - %s: %s" % (label, " ; ".join("`%s`" % " ".join(s) for s in steps)))
    lines += [
        "- %d rounds after %d warm-up rounds; each round runs every case once, the order "
        "rotating by one per round. Medians of the same run; compare ratios, not absolute "
        "numbers across runs (the machine is shared)." % (cfg["runs"], cfg["warmup"]),
        "- Wall: fork to exit of the case's commands. Peak RSS: the largest `ru_maxrss` "
        "wait4 reports for a command (covers its reaped descendants). Written: "
        "/proc/self/io `write_bytes` of the benchmark process across the case (the kernel "
        "adds reaped children's counters to the parent: the whole process tree). Sync after: "
        "`sync -f` of the stores' file system right after the case (not in wall): data the case left unwritten.",
        "- Load average (1, 5, 15 min) before: %s, after: %s." % (
            cfg["load_before"], " ".join(open("/proc/loadavg").read().split()[:3])),
        "",
        "| case | wall median ms | p25-p75 ms | wall ratio | peak RSS median MiB | peak RSS max MiB "
        "| written median MB | written / uncompressed | sync after median ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label in cfg["cases"]:
        v = samples[label]
        walls = [s[0] for s in v]
        lines.append("| %s | %.0f | %.0f-%.0f | %.2f | %.1f | %.1f | %.1f | %.2f | %.0f |" % (
            label, med[label]["wall"], pct(walls, 0.25), pct(walls, 0.75),
            med[label]["wall"] / med[peer]["wall"], med[label]["rss"] / 1024,
            max(s[1] for s in v) / 1024, med[label]["write"] / 1e6,
            med[label]["write"] / sizes_of(label), med[label]["sync"]))
    e, p = med[ecsa], med[peer]
    rss_max = max(s[1] for l in cfg["rss_labels"] for s in samples[l]) / 1024
    rss_med = max(med[l]["rss"] for l in cfg["rss_labels"]) / 1024
    ok = lambda b: "met" if b else "MISSED"
    lines += [
        "",
        "Targets (ecsa = `%s`, peers = `%s`):" % (ecsa, peer),
        "",
        "| target | result | |",
        "|---|---|---|",
        "| wall time at most 0.4x the peers' | %.2fx (%.0f ms vs %.0f ms) | %s |" % (
            e["wall"] / p["wall"], e["wall"], p["wall"], ok(e["wall"] / p["wall"] <= 0.4)),
        "| peak RSS under 32 MiB, whatever the layer sizes | max %.1f MiB over all rounds of both images (median %.1f MiB; the 5-layer image %.1f MiB vs the peers' %.1f MiB, ratio %.2fx) | %s |" % (
            rss_max, rss_med, e["rss"] / 1024, p["rss"] / 1024, e["rss"] / p["rss"], ok(rss_max < 32)),
        "| bytes written at most 1.1x the uncompressed image | %.2fx (%.1f MB of %.1f MB; peers %.2fx) | %s |" % (
            e["write"] / size, e["write"] / 1e6, size / 1e6, p["write"] / size,
            ok(e["write"] / size <= 1.1)),
    ]
    for extra in cfg.get("notes", []):
        lines += ["", extra]
    lines += ["", "Versions:"] + ["- %s" % v for v in cfg["versions"]]
    lines += ["", "Raw samples (label, round, wall_ms, rss_kib, write_bytes, sync_ms): `%s`." % cfg["raw"], ""]
    with open(out_path + ".tmp", "w") as f:
        f.write("\n".join(lines))
    os.rename(out_path + ".tmp", out_path)
    print("\n".join(lines[-12:]))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "rounds":
        rounds(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
