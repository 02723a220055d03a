"""The tools under test. Each returns, per workload, the commands of one timed step.

* ``Lifecycle``: our binary or the Go lifecycle, run as the phases pack/kpack run
  (argv[0] = phase name, Platform API 0.13, as root dropping to the build user).
* ``UmociSkopeo``: ``umoci insert`` of each layer dir into an OCI layout, ``skopeo copy``
  to the registry; ``skopeo copy`` + ``umoci unpack`` to restore.
* ``Buildah``: ``buildah from/copy/commit/push`` with the vfs storage driver.
"""

import os
import shutil
import tempfile

from . import corpus as C

PLATFORM_API = "0.13"


def base_env(home, tmp, host):
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": home,
        "TMPDIR": tmp,
        "CNB_PLATFORM_API": PLATFORM_API,
        "CNB_INSECURE_REGISTRIES": host,
        "CNB_NO_COLOR": "true",
    }


def ids():
    if os.geteuid() == 0:
        return str(C.BENCH_UID), str(C.BENCH_GID)
    return str(os.getuid()), str(os.getgid())


class Lifecycle:
    """A lifecycle binary (dispatching on argv[0]) and the launcher it puts in images."""

    kind = "lifecycle"

    def __init__(self, name, binary, launcher, extra_env=None):
        self.name = name
        self.binary = binary
        self.launcher = launcher
        self.extra_env = extra_env or {}
        self.links = None

    def phase_path(self, phase):
        """A symlink named after the phase (the binary dispatches on argv[0]'s base name)."""
        if self.links is None:
            self.links = tempfile.mkdtemp(prefix="cnb-bench-links-")
        os.makedirs(self.links, exist_ok=True)
        os.chmod(self.links, 0o755)
        p = os.path.join(self.links, phase)
        if not os.path.lexists(p):
            os.symlink(os.path.abspath(self.binary), p)
        return p

    def env(self, w, host):
        e = base_env(w.home, w.tmp, host)
        e.update(self.extra_env)
        return e

    def _phase(self, step, phase, args, w, host, image=None):
        uid, gid = ids()
        argv = [self.phase_path(phase)] + list(args) + ["-uid", uid, "-gid", gid]
        if image:
            argv.append(image)
        return step.run(argv, env=self.env(w, host), cwd=w.root)

    def analyze(self, step, w, host, app, run_image, cache_image=None):
        args = ["-layers", w.layers, "-run-image", run_image]
        if cache_image:
            args += ["-cache-image", cache_image]
        self._phase(step, "analyzer", args, w, host, app)

    def export(self, step, w, host, app, cache_image=None, cache_dir=None, extra=()):
        args = ["-layers", w.layers, "-app", w.app, "-launcher", self.launcher,
                "-run", w.run_toml, "-report", os.path.join(w.root, "report.toml")]
        if cache_image:
            args += ["-cache-image", cache_image]
        if cache_dir:
            args += ["-cache-dir", cache_dir]
        return self._phase(step, "exporter", list(extra) + args, w, host, app)

    def restore(self, step, w, host, cache_image=None, cache_dir=None):
        args = ["-layers", w.layers]
        if cache_image:
            args += ["-cache-image", cache_image]
        if cache_dir:
            args += ["-cache-dir", cache_dir]
        self._phase(step, "restorer", args, w, host)

    def rebase(self, step, w, host, app, new_run_image):
        args = ["-run-image", new_run_image, "-force",
                "-report", os.path.join(w.root, "rebase-report.toml")]
        self._phase(step, "rebaser", args, w, host, app)


class UmociSkopeo:
    kind = "peer"
    name = "umoci+skopeo"

    def _skopeo(self, step, env, src, dst):
        step.run(["/usr/bin/skopeo", "--insecure-policy", "copy", "--src-tls-verify=false",
                  "--dest-tls-verify=false"] + (["--format", "oci"] if dst.startswith("oci:") else [])
                 + [src, dst], env=env)

    def export(self, step, w, host, run_image, app_repo, cache_repo):
        """Base pulled, one ``umoci insert`` per layer (app image: JDK, node_modules, app;
        cache image: JDK, m2), both images pushed."""
        env = base_env(w.home, w.tmp, host)
        layout = os.path.join(w.tmp, "oci")
        self._skopeo(step, env, f"docker://{run_image}", f"oci:{layout}:app")
        jdk = os.path.join(w.layers, "bench_jvm", "jdk")
        for src, dst in [(jdk, "/layers/bench_jvm/jdk"),
                         (os.path.join(w.layers, "bench_node", "node_modules"),
                          "/layers/bench_node/node_modules"),
                         (w.app, "/workspace")]:
            step.run(["/usr/bin/umoci", "insert", "--image", f"{layout}:app", src, dst], env=env)
        step.run(["/usr/bin/umoci", "new", "--image", f"{layout}:cache"], env=env)
        for src, dst in [(jdk, "/layers/bench_jvm/jdk"),
                         (os.path.join(w.layers, "bench_jvm", "m2"), "/layers/bench_jvm/m2")]:
            step.run(["/usr/bin/umoci", "insert", "--image", f"{layout}:cache", src, dst], env=env)
        self._skopeo(step, env, f"oci:{layout}:app", f"docker://{host}/{app_repo}:latest")
        self._skopeo(step, env, f"oci:{layout}:cache", f"docker://{host}/{cache_repo}:latest")

    def restore(self, step, w, host, cache_repo, bundle):
        env = base_env(w.home, w.tmp, host)
        layout = os.path.join(w.tmp, "oci")
        self._skopeo(step, env, f"docker://{host}/{cache_repo}:latest", f"oci:{layout}:cache")
        step.run(["/usr/bin/umoci", "unpack", "--image", f"{layout}:cache", bundle], env=env)


class Buildah:
    kind = "peer"
    name = "buildah (vfs)"

    def _b(self, w):
        return ["/usr/bin/buildah", "--root", os.path.join(w.tmp, "storage"),
                "--runroot", os.path.join(w.tmp, "run"), "--storage-driver", "vfs"]

    def export(self, step, w, host, run_image, app_repo, cache_repo):
        env = base_env(w.home, w.tmp, host)
        b = self._b(w)
        step.run(b + ["from", "--tls-verify=false", "--name", "app", f"docker://{run_image}"], env=env)
        jdk = os.path.join(w.layers, "bench_jvm", "jdk")
        step.run(b + ["copy", "app", jdk, "/layers/bench_jvm/jdk"], env=env)
        step.run(b + ["copy", "app", os.path.join(w.layers, "bench_node", "node_modules"),
                      "/layers/bench_node/node_modules"], env=env)
        step.run(b + ["copy", "app", w.app, "/workspace"], env=env)
        step.run(b + ["commit", "app", "bench-app"], env=env)
        step.run(b + ["from", "--name", "cache", "scratch"], env=env)
        step.run(b + ["copy", "cache", jdk, "/layers/bench_jvm/jdk"], env=env)
        step.run(b + ["copy", "cache", os.path.join(w.layers, "bench_jvm", "m2"),
                      "/layers/bench_jvm/m2"], env=env)
        step.run(b + ["commit", "cache", "bench-cache"], env=env)
        step.run(b + ["push", "--tls-verify=false", "bench-app",
                      f"docker://{host}/{app_repo}:latest"], env=env)
        step.run(b + ["push", "--tls-verify=false", "bench-cache",
                      f"docker://{host}/{cache_repo}:latest"], env=env)

    def cleanup(self, w):
        # vfs layers are plain directories; buildah's own rm would cost as much as rm -rf.
        shutil.rmtree(os.path.join(w.tmp, "storage"), ignore_errors=True)
        shutil.rmtree(os.path.join(w.tmp, "run"), ignore_errors=True)
