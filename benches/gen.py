#!/usr/bin/env python3
"""Synthetic Helm monorepo for the benchmarks (not part of the shipped binary).

Writes, under OUT:
  origin.git/        bare remote built with `git fast-import` (main + charts branches)
  clone/             a clone of it, `main` checked out (origin URL set by benches/run.sh)
  bench-plan.toml    the ADR-002 plan with [rewrite] files widened to every CI/config file
  ci-files.txt       the repository paths of the CI/config files (the rewriter's corpus)
  sizes.json         what was generated

Deterministic (fixed seed and dates). Sizes: --files total files on main, --charts charts,
--commits commits on main; each chart brings 4 CI/config files (a release and a lint
workflow, a ct.yaml and a cr.yaml), plus 5 at the root.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys

WORDS = "alpha beta gamma delta api web worker cache queue auth billing search mail proxy".split()


def release_workflow(chart, i):
    variant = i % 4
    steps = [
        "      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n",
        '      - name: Configure Git\n        run: |\n          git config user.name "$GITHUB_ACTOR"\n'
        '          git config user.email "$GITHUB_ACTOR@users.noreply.github.com"\n',
        "      - uses: azure/setup-helm@v4\n        with:\n          version: v3.14.%d\n" % (i % 5),
        "      - name: Package %s\n        run: helm package charts/%s --destination .cr-release-packages\n"
        % (chart, chart),
    ]
    if variant == 0:
        steps.append(
            "      - name: Run chart-releaser\n        uses: helm/chart-releaser-action@v1.6.0\n"
            "        with:\n          charts_dir: charts\n          pages_branch: charts\n"
            "          skip_packaging: true\n        env:\n"
            '          CR_TOKEN: "${{ secrets.GITHUB_TOKEN }}"\n'
        )
    elif variant == 1:
        steps.append(
            "      - uses: actions/checkout@v4\n        with:\n          ref: charts\n"
            "          path: published\n"
            "      - name: Publish %s to the charts branch\n        run: |\n"
            "          cp .cr-release-packages/*.tgz published/\n"
            "          cd published\n          helm repo index . --merge index.yaml\n"
            "          git add . && git commit -m 'Publish %s'\n"
            "          git push origin HEAD:charts\n" % (chart, chart)
        )
    elif variant == 2:
        steps.append(
            "      - name: Upload with cr\n        run: |\n"
            "          cr upload --owner acme --git-repo helm-charts --skip-existing\n"
            "          cr index --owner acme --git-repo helm-charts --pages-branch charts --push\n"
        )
    else:
        steps.append(
            "      # The published index lives on the charts branch; packages come from charts/.\n"
            "      - name: Deploy the index\n        uses: peaceiris/actions-gh-pages@v4\n"
            "        with:\n          github_token: ${{ secrets.GITHUB_TOKEN }}\n"
            "          publish_branch: charts\n          publish_dir: ./published\n"
            "          keep_files: true\n"
        )
    return (
        "# Release workflow for the %s chart (generated)\n"
        "name: Release %s\n\non:\n  push:\n    branches: [main]\n    paths:\n"
        "      - 'charts/%s/**'\n  workflow_dispatch: {}\n\n"
        "permissions:\n  contents: write\n\n"
        "concurrency:\n  group: release-%s\n  cancel-in-progress: false\n\n"
        "jobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n" % (chart, chart, chart, chart)
        + "".join(steps)
    )


def lint_workflow(chart, i):
    return (
        "name: Lint and test %s\n\non:\n  pull_request:\n    paths:\n      - 'charts/%s/**'\n"
        "      - .github/workflows/lint-%s.yml\n\n"
        "jobs:\n  lint-test:\n    runs-on: ubuntu-latest\n    timeout-minutes: %d\n    steps:\n"
        "      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n"
        "      - uses: azure/setup-helm@v4\n"
        "      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n"
        "      - uses: helm/chart-testing-action@v2.6.1\n"
        "      - name: List changed charts\n        id: list-changed\n        run: |\n"
        "          changed=$(ct list-changed --config charts/%s/ct.yaml)\n"
        '          if [[ -n "$changed" ]]; then echo "changed=true" >> "$GITHUB_OUTPUT"; fi\n'
        "      - name: Lint\n        run: ct lint --config charts/%s/ct.yaml --chart-dirs charts\n"
        "      - uses: helm/kind-action@v1\n        if: steps.list-changed.outputs.changed == 'true'\n"
        "      - name: Install\n        if: steps.list-changed.outputs.changed == 'true'\n"
        "        run: ct install --config charts/%s/ct.yaml --charts charts/%s\n"
        % (chart, chart, chart, 10 + i % 20, chart, chart, chart, chart)
    )


def ct_yaml(chart, i):
    return (
        "# chart-testing configuration for %s\nremote: origin\ntarget-branch: main\n"
        "chart-dirs:\n  - charts\nchart-repos:\n  - bitnami=https://charts.bitnami.com/bitnami\n"
        "helm-extra-args: --timeout %ds\nvalidate-maintainers: false\n"
        "check-version-increment: true\n" % (chart, 300 + i % 300)
    )


def cr_yaml(chart, i):
    return (
        "# chart-releaser configuration for %s\nowner: acme\ngit-repo: helm-charts\n"
        "pages-branch: charts\npackage-path: .cr-release-packages\nrelease-name-template: "
        '"{{ .Name }}-{{ .Version }}"\nskip-existing: true\n' % chart
    )


ROOT_FILES = {
    "ct.yaml": "remote: origin\ntarget-branch: main\nchart-dirs:\n  - charts\n"
    "validate-maintainers: false\n",
    "cr.yaml": "owner: acme\ngit-repo: helm-charts\npages-branch: charts\n",
    "renovate.json": '{\n  "extends": ["config:recommended"],\n  "baseBranches": ["main"],\n'
    '  "ignorePaths": ["charts/**/tests/**"]\n}\n',
    ".github/dependabot.yml": "version: 2\nupdates:\n  - package-ecosystem: github-actions\n"
    "    directory: /\n    schedule:\n      interval: weekly\n    target-branch: main\n",
    ".github/workflows/pages.yml": "name: Deploy the Helm repository\non:\n  push:\n"
    "    branches: [charts]\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n        with:\n          ref: charts\n"
    "      - uses: cloudflare/wrangler-action@v3\n        with:\n"
    "          apiToken: ${{ secrets.CLOUDFLARE_API_TOKEN }}\n"
    "          command: pages deploy . --project-name=acme-helm-charts --branch=charts\n",
}


def chart_files(chart, i, rng):
    files = {
        "charts/%s/Chart.yaml" % chart: "apiVersion: v2\nname: %s\ndescription: A Helm chart for %s\n"
        "type: application\nversion: 0.%d.0\nappVersion: \"1.%d.0\"\n" % (chart, chart, i % 50, i % 9),
        "charts/%s/values.yaml" % chart: "replicaCount: %d\nimage:\n  repository: ghcr.io/acme/%s\n"
        "  tag: \"\"\nservice:\n  type: ClusterIP\n  port: %d\nresources: {}\n"
        % (1 + i % 3, chart, 8000 + i),
        "charts/%s/README.md" % chart: "# %s\n\nInstall with `helm install %s acme/%s`.\n"
        % (chart, chart, chart),
        "charts/%s/.helmignore" % chart: ".git/\n*.swp\n*.bak\n",
    }
    for t in ["deployment", "service", "ingress", "hpa", "serviceaccount", "configmap",
              "_helpers", "NOTES"]:
        ext = "tpl" if t == "_helpers" else ("txt" if t == "NOTES" else "yaml")
        body = "{{- /* %s for %s */}}\n" % (t, chart) + "".join(
            "# %s\n" % " ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(rng.randint(5, 30))
        )
        files["charts/%s/templates/%s.%s" % (chart, t, ext)] = body
    return files


def ci_files(chart, i):
    return {
        ".github/workflows/release-%s.yml" % chart: release_workflow(chart, i),
        ".github/workflows/lint-%s.yml" % chart: lint_workflow(chart, i),
        "charts/%s/ct.yaml" % chart: ct_yaml(chart, i),
        "charts/%s/cr.yaml" % chart: cr_yaml(chart, i),
    }


def filler(path, rng):
    n = rng.randint(3, 40)
    return "// %s\n" % path + "".join(
        "%s %s\n" % (rng.choice(WORDS), rng.randint(0, 10**6)) for _ in range(n)
    )


def blob(data):
    b = data.encode() if isinstance(data, str) else data
    return b"data %d\n" % len(b) + b + b"\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=50000)
    ap.add_argument("--charts", type=int, default=500)
    ap.add_argument("--commits", type=int, default=10000)
    ap.add_argument("--index-releases", type=int, default=20, help="commits on the charts branch")
    ap.add_argument("--no-clone", action="store_true", help="bare remote only")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    rng = random.Random(42)
    out = os.path.abspath(a.out)
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    origin = os.path.join(out, "origin.git")
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", origin], check=True, env=env)

    charts = ["%s-%s-%d" % (rng.choice(WORDS), rng.choice(WORDS), i) for i in range(a.charts)]
    tree = {}
    ci = []
    for p, t in ROOT_FILES.items():
        tree[p] = t
        ci.append(p)
    for i, c in enumerate(charts):
        tree.update(chart_files(c, i, rng))
        for p, t in ci_files(c, i).items():
            tree[p] = t
            ci.append(p)
    k = 0
    while len(tree) < a.files:
        p = "services/svc-%03d/pkg/mod%02d/file%03d.go" % (k // 1000, (k // 50) % 20, k % 50)
        tree[p] = filler(p, rng)
        k += 1
    paths = sorted(tree)
    changeable = [p for p in paths if not p.endswith(".json")]

    fi = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=origin, stdin=subprocess.PIPE, env=env
    )
    w = fi.stdin.write
    when = 1_600_000_000
    # main: the first commit adds every file; each later one changes a few.
    w(b"commit refs/heads/main\nmark :1\n")
    w(b"author Bench <bench@example.invalid> %d +0000\n" % when)
    w(b"committer Bench <bench@example.invalid> %d +0000\n" % when)
    w(blob("Import the monorepo"))
    for p in paths:
        w(b"M 100644 inline %s\n" % p.encode())
        w(blob(tree[p]))
    w(b"\n")
    for n in range(2, a.commits + 1):
        when += 600
        w(b"commit refs/heads/main\nmark :%d\n" % n)
        w(b"author Bench <bench@example.invalid> %d +0000\n" % when)
        w(b"committer Bench <bench@example.invalid> %d +0000\n" % when)
        w(blob("Change %d" % n))
        w(b"from :%d\n" % (n - 1))
        for _ in range(rng.randint(1, 4)):
            p = rng.choice(changeable)
            mark = "#" if p.endswith((".yml", ".yaml", ".tpl", ".txt", ".md")) else "//"
            tree[p] = tree[p] + "%s %s %d\n" % (mark, rng.choice(WORDS), n)
            w(b"M 100644 inline %s\n" % p.encode())
            w(blob(tree[p]))
        w(b"\n")
    # charts: the published Helm repository, index.yaml plus packaged charts.
    entries = {}
    for r in range(a.index_releases):
        when += 600
        w(b"commit refs/heads/charts\n")
        w(b"author Bench <bench@example.invalid> %d +0000\n" % when)
        w(b"committer Bench <bench@example.invalid> %d +0000\n" % when)
        w(blob("Release batch %d" % r))
        for c in charts[r :: a.index_releases] or charts[:1]:
            version = "0.%d.0" % r
            entries.setdefault(c, []).append(version)
            pkg = "%s-%s.tgz" % (c, version)
            w(b"M 100644 inline %s\n" % pkg.encode())
            w(blob(bytes(rng.getrandbits(8) for _ in range(512))))
        index = "apiVersion: v1\nentries:\n" + "".join(
            "  %s:\n" % c
            + "".join(
                "  - name: %s\n    version: %s\n    urls:\n    - https://charts.acme.example/%s-%s.tgz\n"
                % (c, v, c, v)
                for v in vs
            )
            for c, vs in sorted(entries.items())
        )
        w(b"M 100644 inline index.yaml\n")
        w(blob(index))
        w(b"\n")
    w(b"done\n")
    fi.stdin.close()
    if fi.wait() != 0:
        sys.exit("git fast-import failed")

    with open(os.path.join(out, "ci-files.txt"), "w") as f:
        f.write("".join(p + "\n" for p in sorted(ci)))
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "plans", "adr-002.toml")) as f:
        plan = f.read()
    extra = "".join('  "charts/%s/ct.yaml",\n  "charts/%s/cr.yaml",\n' % (c, c) for c in charts)
    plan = plan.replace('  "wrangler.toml",\n', '  "wrangler.toml",\n' + extra, 1)
    with open(os.path.join(out, "bench-plan.toml"), "w") as f:
        f.write(plan)
    with open(os.path.join(out, "sizes.json"), "w") as f:
        json.dump(
            {"files": len(tree), "charts": len(charts), "ci_files": len(ci), "commits": a.commits,
             "charts_branch_commits": a.index_releases},
            f,
        )
    if not a.no_clone:
        clone = os.path.join(out, "clone")
        subprocess.run(["git", "clone", "-q", origin, clone], check=True, env=env)
        for k, v in [("user.name", "Bench"), ("user.email", "bench@example.invalid")]:
            subprocess.run(["git", "-C", clone, "config", k, v], check=True, env=env)
    if not a.quiet:
        print("generated %s: %d files, %d charts, %d CI/config files, %d commits"
              % (out, len(tree), len(charts), len(ci), a.commits))


if __name__ == "__main__":
    main()
