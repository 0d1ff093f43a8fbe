#!/usr/bin/env python3
"""Turns the raw outputs of benches/run.sh into figures beside their floors.
usage: report.py WORKDIR MODE"""

import json
import os
import sys


def main():
    w, mode = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = []
    p = out.append

    p("\n## 1. plan vs the git CLI doing the same reads (wall mean; CPU = user+sys)")
    res = json.load(open(os.path.join(w, "plan.json")))["results"]
    for plan, floor in [(res[0], res[1]), (res[2], res[3])]:
        cpu = lambda r: r["user"] + r["system"]
        p(
            f"- {plan['command']}: {plan['mean'] * 1000:.1f} ms (cpu {cpu(plan) * 1000:.1f} ms) | "
            f"{floor['command']}: {floor['mean'] * 1000:.1f} ms (cpu {cpu(floor) * 1000:.1f} ms) | "
            f"ratio {plan['mean'] / floor['mean']:.2f}x wall, {cpu(plan) / cpu(floor):.2f}x cpu (target <= 1.2x)"
        )

    p("\n## 2. rewriter over the corpus vs yaml-rust2 parsing the same bytes alone")
    est = {}
    for name in ("rewrite", "yaml_parse_only", "yaml_parse_and_reparse_changed"):
        f = os.path.join(root, "target", "criterion", "corpus", name, "new", "estimates.json")
        if mode == "full" and os.path.exists(f):
            est[name] = json.load(open(f))["mean"]["point_estimate"] / 1e6
    if len(est) == 3:
        r, q, v = est["rewrite"], est["yaml_parse_only"], est["yaml_parse_and_reparse_changed"]
        p(
            f"- criterion mean: rewrite {r:.2f} ms | parse only {q:.2f} ms | ratio {r / q:.2f}x (target <= 1.5x)"
        )
        p(
            f"- with the verification's re-parse of the changed files in the floor: {v:.2f} ms"
            f" ({v / q:.2f}x parse only) | rewrite / that floor {r / v:.2f}x"
        )
    else:
        p("- criterion ran each benchmark once (--test): no timing in smoke mode")
    cg = os.path.join(w, "callgrind.txt")
    if os.path.exists(cg):
        n = {}
        for line in open(cg):
            side, count = line.split()
            n[side] = int(count.replace(",", ""))
        if len(n) == 4:
            # Every side loads the corpus and makes the changed files' new texts first.
            r, q, v = (n[k] - n["load"] for k in ("rewrite", "parse", "reparse"))
            p(
                f"- instructions (callgrind, corpus loading subtracted): rewrite {r:,} | parse only {q:,}"
                f" | ratio {r / q:.2f}x"
            )
            p(
                f"- instructions, floor with the verification's re-parse: {v:,} ({v / q:.2f}x parse only)"
                f" | rewrite / that floor {r / v:.2f}x"
            )
    for line in open(os.path.join(w, "rewrite.criterion.txt")):
        if "corpus/" in line or "time:" in line or "thrpt:" in line:
            p("  " + line.rstrip())

    p("\n## 3. plan over the fleet of small repositories (wall mean)")
    res = json.load(open(os.path.join(w, "fleet.json")))["results"]
    cores = os.cpu_count() or 1
    for kind, label in (("batch plan", "rebranch batch plan --jobs"), ("xargs", "rebranch plan per process, xargs -P")):
        rows = [r for r in res if kind in r["command"]]
        base = rows[0]["mean"]
        for r in rows:
            jobs = int(r["parameters"]["jobs"])
            p(
                f"- {label} {jobs}, {len(open(os.path.join(w, 'repos.txt')).readlines())} repositories: {r['mean'] * 1000:.0f} ms | speedup {base / r['mean']:.2f}x"
                f" | ideal {min(jobs, cores)}x on {cores} cores"
            )

    cpu_file = os.path.join(w, "fleet.cpu.txt")
    if os.path.exists(cpu_file):
        runs = {}
        for line in open(cpu_file):
            jobs, wall, cpu = map(int, line.split())
            runs.setdefault(jobs, []).append((wall, cpu))
        med = lambda xs: sorted(xs)[len(xs) // 2]
        wall1 = med([w_ for w_, _ in runs[1]])
        for jobs, rs in sorted(runs.items()):
            wall, cpu = med([w_ for w_, _ in rs]), med([c for _, c in rs])
            best = min(wall1, max(cpu / min(jobs, cores), wall1 / min(jobs, cores)))
            p(
                f"- batch plan --jobs {jobs}, median of {len(rs)}: wall {wall} ms, CPU of all processes {cpu} ms"
                f" | bound {best:.0f} ms | speedup {wall1 / wall:.2f}x of at most {wall1 / best:.2f}x"
            )

    p("\n## 4. network round trips (counted at the loopback servers)")
    for line in open(os.path.join(w, "roundtrips.txt")):
        if line.startswith("roundtrips |"):
            p("- " + line[len("roundtrips | "):].rstrip())

    p("\n## 5. peak memory (max RSS, /usr/bin/time)")
    rss = dict(line.split() for line in open(os.path.join(w, "rss.txt")))
    for kind in ("default", "bench"):
        pl, fl = int(rss[f"plan-{kind}"]), int(rss[f"floor-{kind}"])
        p(f"- plan ({kind} plan): {pl / 1024:.1f} MB | floor's largest process: {fl / 1024:.1f} MB (target < 100 MB)")
    print("\n".join(out))


if __name__ == "__main__":
    main()
