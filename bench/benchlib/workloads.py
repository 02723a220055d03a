"""The workloads W1–W5, run for each tool, with the correctness checks of each."""

import os
import re
import shutil

from . import corpus as C
from .measure import Step, StepFailed, loadavg

OURS = "ours"
OURS_ZSTD = "ours (zstd cache)"
GO = "go-lifecycle"
UMOCI = "umoci+skopeo"
BUILDAH = "buildah (vfs)"

WORKLOADS = {
    "W1": "cold export: analyzer + exporter -cache-image, empty registry repos",
    "W1z": "W1 with zstd cache layers (CNB_RS_CACHE_COMPRESSION=zstd)",
    "W1zc": "the zstd cache part alone: W1z's app image again (every app layer reused) with a "
            "new cache image; timed by the exporter's own 'Timer: Cache ran for' line",
    "W2": "warm re-export of a fresh copy of the same layers",
    "W3": "fresh-machine restore: analyzer + restorer -cache-image into an empty layers dir",
    "W3d": "the same restore from a -cache-dir",
    "W4": "one small change in the JDK layer, re-export",
    "W5": "rebase onto a second run image",
}


class Workspace:
    """One tool's fixed paths (layer tars name their paths, so they stay the same)."""

    def __init__(self, base, name):
        slug = "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")
        self.slug = slug
        self.root = os.path.join(base, slug)
        self.layers = os.path.join(self.root, "layers")
        self.app = os.path.join(self.root, "workspace")
        self.home = os.path.join(self.root, "home")
        self.tmp = os.path.join(self.root, "tmp")
        self.run_toml = os.path.join(self.root, "run.toml")
        self.cache_dir = os.path.join(self.root, "cachedir")
        self.bundle = os.path.join(self.root, "bundle")
        self.log = os.path.join(self.root, "log.txt")
        for d in (self.root, self.home):
            os.makedirs(d, exist_ok=True)
            C.chown_dir(d)
        self.fresh_tmp()

    def fresh_tmp(self):
        """A new TMPDIR and HOME for each step (no client-side cache carried over)."""
        for d in (self.tmp, self.home):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            C.chown_dir(d)


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|µs|us|ns)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9}


def cache_timer(output):
    """Seconds of the exporter's "Timer: Cache ran for <Go duration> and ended at …" line."""
    m = re.search(r"Timer: Cache ran for (\S+) and ended", output)
    if not m:
        return None
    parts = _GO_DURATION.findall(m.group(1))
    return sum(float(n) * _UNIT_S[u] for n, u in parts) if parts else None


def restored_ok(layers_root, corpus_desc):
    """The cache layers (JDK, m2) are back with the same file count and bytes."""
    problems = []
    for part, rel in (("jdk", "bench_jvm/jdk"), ("m2", "bench_jvm/m2")):
        got = C.tree_stats(os.path.join(layers_root, rel))
        want = corpus_desc["parts"][part]
        if (got["files"], got["bytes"]) != (want["files"], want["bytes"]):
            problems.append(f"{rel}: restored {got['files']} files / {got['bytes']} bytes, "
                            f"want {want['files']} / {want['bytes']}")
    return problems


class Runner:
    def __init__(self, corpus, desc, work, say):
        self.corpus = corpus
        self.desc = desc
        self.work = work
        self.say = say
        self.spaces = {}
        self.results = []

    def use_registry(self, reg, run_image, run_image2):
        """Each run gets its own empty registry: nothing from an earlier run can be reused
        or cross-mounted (skopeo and buildah remember where blobs live, per registry)."""
        self.reg = reg
        self.host = reg.host
        self.run_image = run_image
        self.run_image2 = run_image2
        for w in self.spaces.values():
            with open(w.run_toml, "w") as f:
                f.write(f'[[images]]\n  image = "{run_image}"\n')

    def ws(self, tool):
        if tool.name not in self.spaces:
            w = Workspace(self.work, tool.name)
            with open(w.run_toml, "w") as f:
                f.write(f'[[images]]\n  image = "{self.run_image}"\n')
            self.spaces[tool.name] = w
        return self.spaces[tool.name]

    def repos(self, w, i):
        return f"bench/{w.slug}-app-{i}", f"bench/{w.slug}-cache-{i}"

    # ---- one measured step
    def measure(self, workload, tool, i, body, checks=None):
        w = self.ws(tool)
        w.fresh_tmp()
        rec = {"workload": workload, "tool": tool.name, "run": i, "load1": loadavg()[0],
               "ok": True, "error": None, "problems": []}
        mark = self.reg.mark()
        step = Step([w.tmp], log=w.log)
        with open(w.log, "a") as f:
            f.write(f"\n===== {workload} run {i} =====\n")
        try:
            with step:
                body(step, w)
        except StepFailed as e:
            rec["ok"] = False
            rec["error"] = str(e)[-1500:]
        tr = self.reg.traffic(mark)
        layer_set = set()
        for repo, ref in tr.manifests_put:
            for d in self.reg.layer_digests(repo, ref) or []:
                layer_set.add((repo, d))
        up_layers = [(r, d, s) for r, d, s in tr.uploaded if (r, d) in layer_set]
        mounted_layers = [(r, d) for r, d in tr.mounted if (r, d) in layer_set]
        rec.update({
            "wall_s": step.wall,
            "maxrss_kb": step.maxrss_kb,
            "cpu_s": step.cpu_s,
            "tmp_bytes": step.tmp_bytes,
            "up_bytes": tr.uploaded_bytes,
            "up_layer_bytes": sum(s for _, _, s in up_layers),
            "up_layers": [[r, d, s] for r, d, s in up_layers],
            "mounted_layers": [[r, d] for r, d in mounted_layers],
            "down_bytes": tr.downloaded_bytes,
            "procs": len(step.procs),
        })
        if rec["ok"] and checks:
            rec["problems"] = checks(w, rec)
            rec["ok"] = not rec["problems"]
        if getattr(tool, "cleanup", None):
            tool.cleanup(w)
        w.fresh_tmp()
        status = "ok" if rec["ok"] else "FAILED"
        self.say(f"  {workload} {tool.name} run {i}: {rec['wall_s']:.2f}s cpu {rec['cpu_s']:.1f}s "
                 f"rss {rec['maxrss_kb'] / 1024:.0f}MB up {rec['up_bytes'] / 1e6:.1f}MB "
                 f"(layers {rec['up_layer_bytes'] / 1e6:.1f}MB) "
                 f"down {rec['down_bytes'] / 1e6:.1f}MB tmp {rec['tmp_bytes'] / 1e6:.1f}MB "
                 f"load {rec['load1']:.1f} {status}")
        if not rec["ok"]:
            self.say("    " + (rec["error"] or "; ".join(rec["problems"])).replace("\n", "\n    "))
        self.results.append(rec)
        return rec

    # ---- checks
    def images_exist(self, *repos):
        return [f"{r}:latest not in the registry" for r in repos
                if self.reg.manifest(r, "latest")[0] is None]

    # ---- workloads
    def w1(self, tool, i, workload="W1"):
        w = self.ws(tool)
        C.make_layers(self.corpus, w.layers)
        C.make_app(self.corpus, w.app)
        app_repo, cache_repo = self.repos(w, i)
        app, cache = f"{self.host}/{app_repo}", f"{self.host}/{cache_repo}"

        def body(step, w):
            if tool.kind == "lifecycle":
                tool.analyze(step, w, self.host, app, self.run_image, cache)
                tool.export(step, w, self.host, app, cache_image=cache)
            else:
                tool.export(step, w, self.host, self.run_image, app_repo, cache_repo)

        return self.measure(workload, tool, i, body,
                            lambda w, r: self.images_exist(app_repo, cache_repo))

    def w1zc(self, tool, i):
        """The cache part of a zstd export, apart: the app image of W1z run i is the previous
        image (every app layer reused, nothing else to make), the cache image is new. The
        exporter runs at debug level for its "Timer: Cache ran for <duration>" line, which
        times the cache export alone (at debug level every layer is hashed first, before
        that timer starts)."""
        w = self.ws(tool)
        C.make_layers(self.corpus, w.layers)
        C.make_app(self.corpus, w.app)
        app_repo, _ = self.repos(w, i)
        cache_repo = f"bench/{w.slug}-cachez-{i}"
        app, cache = f"{self.host}/{app_repo}", f"{self.host}/{cache_repo}"
        out = {}

        def body(step, w):
            tool.analyze(step, w, self.host, app, self.run_image, cache)
            out["export"] = tool.export(step, w, self.host, app, cache_image=cache,
                                        extra=["-log-level", "debug"])

        def check(w, r):
            p = self.images_exist(app_repo, cache_repo)
            text = out["export"].output if out.get("export") else ""
            secs = cache_timer(text)
            if secs is None:
                p.append("no 'Timer: Cache ran for' line in the exporter's output")
            else:
                r["cache_s"] = secs
            app_up = [x for x in r["up_layers"] if x[0] == app_repo]
            if app_up:
                p.append(f"{len(app_up)} app layer(s) uploaded, want 0 (all reused)")
            return p

        return self.measure("W1zc", tool, i, body, check)

    def w2(self, tool, i):
        # Same as W1 against the repos W1 run i filled: a fresh copy of the same layers.
        w = self.ws(tool)
        app_repo, cache_repo = self.repos(w, i)

        def check(w, r):
            p = self.images_exist(app_repo, cache_repo)
            # Expected of a lifecycle (layers reused by diffID); peers are only measured.
            if r["up_layer_bytes"] and tool.kind == "lifecycle":
                p.append(f"{r['up_layer_bytes']} layer bytes uploaded, want 0: "
                         + ", ".join(f"{x[0]}@{x[1][:19]}" for x in r["up_layers"]))
            return p

        C.make_layers(self.corpus, w.layers)
        C.make_app(self.corpus, w.app)
        app, cache = f"{self.host}/{app_repo}", f"{self.host}/{cache_repo}"

        def body(step, w):
            if tool.kind == "lifecycle":
                tool.analyze(step, w, self.host, app, self.run_image, cache)
                tool.export(step, w, self.host, app, cache_image=cache)
            else:
                tool.export(step, w, self.host, self.run_image, app_repo, cache_repo)

        return self.measure("W2", tool, i, body, check)

    def w3(self, tool, i):
        w = self.ws(tool)
        app_repo, cache_repo = self.repos(w, i)
        app, cache = f"{self.host}/{app_repo}", f"{self.host}/{cache_repo}"
        if tool.kind == "lifecycle":
            C.make_layers(self.corpus, w.layers, with_content=False)

            def body(step, w):
                tool.analyze(step, w, self.host, app, self.run_image, cache)
                tool.restore(step, w, self.host, cache_image=cache)

            return self.measure("W3", tool, i, body, lambda w, r: restored_ok(w.layers, self.desc))
        shutil.rmtree(w.bundle, ignore_errors=True)

        def body(step, w):
            tool.restore(step, w, self.host, cache_repo, w.bundle)

        return self.measure("W3", tool, i, body,
                            lambda w, r: restored_ok(os.path.join(w.bundle, "rootfs", "layers"),
                                                     self.desc))

    def w3d_setup(self, tool):
        """Fills the tool's -cache-dir once (untimed): an export with -cache-dir. Its layers
        are those of every W1/W2 export, so the W1 app image of any run matches it."""
        w = self.ws(tool)
        if os.path.isdir(os.path.join(w.cache_dir, "committed")):
            return
        C.make_layers(self.corpus, w.layers)
        C.make_app(self.corpus, w.app)
        os.makedirs(w.cache_dir, exist_ok=True)
        app = f"{self.host}/bench/{w.slug}-appd"
        step = Step([], log=w.log)
        with step:
            tool.analyze(step, w, self.host, app, self.run_image)
            tool.export(step, w, self.host, app, cache_dir=w.cache_dir)

    def w3d(self, tool, i):
        w = self.ws(tool)
        self.w3d_setup(tool)
        C.make_layers(self.corpus, w.layers, with_content=False)
        app_repo, _ = self.repos(w, i)
        app = f"{self.host}/{app_repo}"

        def body(step, w):
            tool.analyze(step, w, self.host, app, self.run_image)
            tool.restore(step, w, self.host, cache_dir=w.cache_dir)

        return self.measure("W3d", tool, i, body, lambda w, r: restored_ok(w.layers, self.desc))

    def w4(self, tool, i):
        w = self.ws(tool)
        app_repo, cache_repo = self.repos(w, i)
        app, cache = f"{self.host}/{app_repo}", f"{self.host}/{cache_repo}"
        C.make_layers(self.corpus, w.layers)
        C.make_app(self.corpus, w.app)
        C.small_change(w.layers)

        def body(step, w):
            tool.analyze(step, w, self.host, app, self.run_image, cache)
            tool.export(step, w, self.host, app, cache_image=cache)

        def check(w, r):
            p = self.images_exist(app_repo, cache_repo)
            # The changed JDK layer is new to both images: uploaded to each, or uploaded once
            # and mounted into the other repository (a mount sends no layer bytes).
            digests = set()
            for repo in (app_repo, cache_repo):
                n = [x[1] for x in r["up_layers"] if x[0] == repo]
                n += [x[1] for x in r.get("mounted_layers", []) if x[0] == repo]
                if len(n) != 1:
                    p.append(f"{repo}: {len(n)} new layers (uploaded or mounted), want exactly 1 (the JDK layer)")
                digests.update(n)
            if not r["up_layers"]:
                p.append("no layer uploaded at all")
            if len(r["up_layers"]) > 2:
                p.append(f"{len(r['up_layers'])} layer uploads, want at most 2")
            return p

        return self.measure("W4", tool, i, body, check)

    def w5(self, tool, i):
        w = self.ws(tool)
        app_repo, _ = self.repos(w, i)
        app = f"{self.host}/{app_repo}"
        before = self.reg.layer_digests(app_repo, "latest") or []
        run2_repo, _, run2_tag = self.run_image2.split("/", 1)[1].partition(":")
        base2 = self.reg.layer_digests(run2_repo, run2_tag or "latest") or []

        def body(step, w):
            tool.rebase(step, w, self.host, app, self.run_image2)

        def check(w, r):
            after = self.reg.layer_digests(app_repo, "latest") or []
            p = []
            if after[: len(base2)] != base2:
                p.append("the rebased image does not start with the new run image's layers")
            if len(after) - len(base2) != len(before) - 1:
                p.append(f"app layers changed: {len(before)} layers before, {len(after)} after")
            return p

        return self.measure("W5", tool, i, body, check)
