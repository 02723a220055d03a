"""The corpus, made once and cached outside the repo, and the finished-build layout made
from it for each run.

Parts (each a directory under ``<bench dir>/corpus`` or ``<bench dir>/quick``):
  jdk           a JDK copied from /usr/lib/jvm (a few large binaries)     launch + cache layer
  node_modules  ``npm ci`` of bench/corpus/package-lock.json (small files)  launch-only layer
  m2            a generated ~/.m2-like repository (jars, poms, sha1s)      cache-only layer
  app           a generated app dir (one jar, many small class files)      the app layers
"""

import json
import os
import random
import shutil
import subprocess

BENCH_UID = 1000
BENCH_GID = 1000
STAMP = "corpus.json"
VERSION = 1

GROUP_TOML = """[[group]]
  id = "bench/jvm"
  version = "1.0.0"
  api = "0.10"

[[group]]
  id = "bench/node"
  version = "1.0.0"
  api = "0.10"
"""

METADATA_TOML = """buildpack-default-process-type = "web"

[[buildpacks]]
  id = "bench/jvm"
  version = "1.0.0"
  api = "0.10"

[[buildpacks]]
  id = "bench/node"
  version = "1.0.0"
  api = "0.10"

[[processes]]
  type = "web"
  command = ["java"]
  args = ["-jar", "app.jar"]
  direct = true
  buildpack-id = "bench/jvm"
"""

# (buildpack dir, layer name, corpus part, launch, cache)
LAYERS = [
    ("bench_jvm", "jdk", "jdk", True, True),
    ("bench_jvm", "m2", "m2", False, True),
    ("bench_node", "node_modules", "node_modules", True, False),
]


def layer_toml(launch, cache, part):
    return (
        "[types]\n"
        f"  launch = {str(launch).lower()}\n"
        f"  cache = {str(cache).lower()}\n\n"
        "[metadata]\n"
        f'  part = "{part}"\n'
    )


def tree_stats(path):
    files = 0
    size = 0
    for root, dirs, names in os.walk(path):
        for n in names:
            st = os.lstat(os.path.join(root, n))
            files += 1
            size += st.st_size
    return {"files": files, "bytes": size}


def _text(rng, n):
    words = ["lorem", "ipsum", "function", "return", "const", "module", "exports",
             "require", "value", "class", "public", "static", "import", "org", "bench"]
    out = []
    total = 0
    while total < n:
        w = rng.choice(words)
        out.append(w)
        total += len(w) + 1
    return (" ".join(out))[:n].encode()


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def gen_m2(dest, rng, groups, artifacts, big):
    """A Maven-repository-like tree: jars (incompressible, like real jars), poms, sha1s."""
    for g in range(groups):
        gdir = os.path.join(dest, "repository", "org", f"bench{g}", f"group{g}")
        for a in range(artifacts):
            for v in range(rng.randint(1, 2)):
                ver = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{v}"
                d = os.path.join(gdir, f"artifact{a}", ver)
                base = f"artifact{a}-{ver}"
                jar = rng.randbytes(int(rng.lognormvariate(9.5, 1.0)) % big + 512)
                _write(os.path.join(d, base + ".jar"), jar)
                _write(os.path.join(d, base + ".jar.sha1"), b"%040x\n" % rng.getrandbits(160))
                _write(os.path.join(d, base + ".pom"), _text(rng, rng.randint(600, 4000)))
                _write(os.path.join(d, base + ".pom.sha1"), b"%040x\n" % rng.getrandbits(160))
                _write(os.path.join(d, "_remote.repositories"), _text(rng, 180))


def gen_node_modules(dest, rng, packages, files_per_pkg):
    """A node_modules-like tree (the fallback when npm is unavailable, and quick mode)."""
    for p in range(packages):
        pdir = os.path.join(dest, f"pkg-{p}")
        _write(os.path.join(pdir, "package.json"),
               b'{"name":"pkg-%d","version":"1.0.%d","main":"index.js"}\n' % (p, p))
        for i in range(files_per_pkg):
            sub = "lib" if i % 3 else "dist"
            _write(os.path.join(pdir, sub, f"f{i}.js"), _text(rng, rng.randint(200, 6000)))


def gen_app(dest, rng, jar_bytes, classes):
    half = jar_bytes // 2
    _write(os.path.join(dest, "app.jar"), rng.randbytes(half) + _text(rng, jar_bytes - half))
    for i in range(classes):
        _write(os.path.join(dest, "classes", f"pkg{i % 20}", f"C{i}.class"),
               _text(rng, rng.randint(300, 3000)))
    _write(os.path.join(dest, "README.md"), b"bench app\n")


def gen_fake_jdk(dest, rng):
    """Quick mode's stand-in for a JDK: a few binaries and some small files."""
    _write(os.path.join(dest, "lib", "server", "libjvm.so"), rng.randbytes(1 << 20) + _text(rng, 1 << 20))
    _write(os.path.join(dest, "lib", "modules"), _text(rng, 2 << 20))
    _write(os.path.join(dest, "bin", "java"), rng.randbytes(64 << 10))
    for i in range(50):
        _write(os.path.join(dest, "conf", f"c{i}.properties"), _text(rng, 800))
    _write(os.path.join(dest, "release"), b'JAVA_VERSION="0.0.0-bench"\n')


def pick_jdk():
    env = os.environ.get("CNB_BENCH_JDK")
    if env:
        return env
    root = "/usr/lib/jvm"
    best = None
    try:
        names = sorted(os.listdir(root))
    except OSError:
        names = []
    for n in names:
        p = os.path.join(root, n)
        if os.path.islink(p) or not os.path.isfile(os.path.join(p, "bin", "java")):
            continue
        size = tree_stats(p)["bytes"]
        if best is None or size > best[1]:
            best = (p, size)
    if best is None:
        raise RuntimeError("no JDK under /usr/lib/jvm (set CNB_BENCH_JDK)")
    return best[0]


def npm_node_modules(dest, bench_src, log):
    """``npm ci`` of the pinned lock file into ``dest``; returns an error string or None."""
    work = dest + ".npm"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(bench_src, "corpus", f), work)
    try:
        with open(log, "ab") as out:
            r = subprocess.run(
                ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
                cwd=work, stdout=out, stderr=subprocess.STDOUT, timeout=900,
            )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"npm could not run: {e}"
    if r.returncode != 0 or not os.path.isdir(os.path.join(work, "node_modules")):
        return f"npm ci exited {r.returncode} (see {log})"
    os.rename(os.path.join(work, "node_modules"), dest)
    shutil.rmtree(work, ignore_errors=True)
    return None


def _chown_tree(path):
    if os.geteuid() != 0:
        return
    subprocess.run(["chown", "-R", "-h", f"{BENCH_UID}:{BENCH_GID}", path], check=True)


def ensure(bench_dir, quick, bench_src, say):
    """Returns (corpus dir, description dict), making the corpus when absent."""
    corpus = os.path.join(bench_dir, "quick" if quick else "corpus")
    stamp = os.path.join(corpus, STAMP)
    if os.path.isfile(stamp):
        with open(stamp) as f:
            desc = json.load(f)
        if desc.get("version") == VERSION:
            return corpus, desc
    shutil.rmtree(corpus, ignore_errors=True)
    os.makedirs(corpus)
    rng = random.Random(8)
    desc = {"version": VERSION, "quick": quick, "parts": {}}
    if quick:
        say("making the quick corpus (generated, tiny)")
        gen_fake_jdk(os.path.join(corpus, "jdk"), rng)
        gen_node_modules(os.path.join(corpus, "node_modules"), rng, 30, 10)
        gen_m2(os.path.join(corpus, "m2"), rng, 4, 5, 20000)
        gen_app(os.path.join(corpus, "app"), rng, 256 << 10, 40)
        sources = {"jdk": "generated", "node_modules": "generated", "m2": "generated",
                   "app": "generated"}
    else:
        jdk = pick_jdk()
        say(f"making the corpus in {corpus}: copying the JDK {jdk}")
        subprocess.run(["cp", "-a", jdk, os.path.join(corpus, "jdk")], check=True)
        say("npm ci of bench/corpus/package-lock.json (node_modules)")
        err = npm_node_modules(os.path.join(corpus, "node_modules"), bench_src,
                               os.path.join(bench_dir, "npm.log"))
        if err:
            say(f"npm failed ({err}): generating a many-small-files node_modules instead")
            gen_node_modules(os.path.join(corpus, "node_modules"), rng, 400, 25)
            node_src = f"generated (npm failed: {err})"
        else:
            node_src = "npm ci of bench/corpus/package-lock.json"
        say("generating the m2 repository and the app")
        gen_m2(os.path.join(corpus, "m2"), rng, 60, 8, 400000)
        gen_app(os.path.join(corpus, "app"), rng, 8 << 20, 400)
        sources = {"jdk": f"copy of {jdk}", "node_modules": node_src,
                   "m2": "generated (seed 8)", "app": "generated (seed 8)"}
    for part, src in sources.items():
        p = os.path.join(corpus, part)
        _chown_tree(p)
        desc["parts"][part] = dict(tree_stats(p), source=src)
    with open(stamp, "w") as f:
        json.dump(desc, f, indent=1)
    return corpus, desc


def _copy(src, dst):
    """A fresh tree of hard links: new directories and directory entries at the step's
    path, the same file inodes (mode, owner, mtimes kept), made in about a second instead
    of a minute per 400 MB. Every tool only reads these files; W4 replaces the one file it
    changes (``small_change``). No tool measured keeps state keyed by inode between runs."""
    subprocess.run(["cp", "-al", src, dst], check=True)


def chown_dir(path):
    if os.geteuid() == 0:
        os.chown(path, BENCH_UID, BENCH_GID)


def make_layers(corpus, layers, with_content=True):
    """A finished build's layers dir for the exporter (or, without content, the empty layers
    dir a fresh machine starts from: group.toml only)."""
    shutil.rmtree(layers, ignore_errors=True)
    os.makedirs(layers)
    chown_dir(layers)
    with open(os.path.join(layers, "group.toml"), "w") as f:
        f.write(GROUP_TOML)
    if not with_content:
        return
    os.makedirs(os.path.join(layers, "config"))
    with open(os.path.join(layers, "config", "metadata.toml"), "w") as f:
        f.write(METADATA_TOML)
    chown_dir(os.path.join(layers, "config"))
    for bp, name, part, launch, cache in LAYERS:
        bpdir = os.path.join(layers, bp)
        if not os.path.isdir(bpdir):
            os.makedirs(bpdir)
            chown_dir(bpdir)
        _copy(os.path.join(corpus, part), os.path.join(bpdir, name))
        with open(os.path.join(bpdir, name + ".toml"), "w") as f:
            f.write(layer_toml(launch, cache, part))


def make_app(corpus, app):
    shutil.rmtree(app, ignore_errors=True)
    _copy(os.path.join(corpus, "app"), app)


def small_change(layers):
    """W4's change: one line appended to the JDK layer's ``release`` file."""
    p = os.path.join(layers, "bench_jvm", "jdk", "release")
    with open(p, "rb") as f:
        data = f.read()
    st = os.lstat(p)
    os.unlink(p)  # a hard link to the corpus: write a new file, leave the corpus alone
    with open(p, "wb") as f:
        f.write(data + b"BENCH_W4_CHANGE=%d\n" % random.getrandbits(32))
    os.chmod(p, st.st_mode & 0o7777)
    if os.geteuid() == 0:
        os.chown(p, st.st_uid, st.st_gid)
    return p
