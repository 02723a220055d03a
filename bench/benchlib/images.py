"""Run images made only with third-party tools: busybox in one layer, built with umoci and
pushed (Docker schema 2, like most run images) with skopeo."""

import os
import shutil
import subprocess

BUSYBOX = "/bin/busybox"


def _run(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{r.stdout.decode(errors='replace')}")
    return r.stdout


def push_run_image(work, host, repo_tag, extra_file=None):
    """Busybox (plus ``extra_file`` = (path in image, text) for a distinct second image)."""
    if not os.path.isfile(BUSYBOX):
        raise RuntimeError(f"{BUSYBOX} missing (Debian package busybox-static)")
    d = os.path.join(work, "runimg-" + repo_tag.replace("/", "_").replace(":", "_"))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    layout = os.path.join(d, "layout")
    image = f"{layout}:run"
    _run(["umoci", "init", "--layout", layout])
    _run(["umoci", "new", "--image", image])
    _run(["umoci", "insert", "--rootless", "--image", image, BUSYBOX, "/bin/busybox"])
    if extra_file:
        src = os.path.join(d, "extra")
        with open(src, "w") as f:
            f.write(extra_file[1])
        _run(["umoci", "insert", "--rootless", "--image", image, src, extra_file[0]])
    _run(["umoci", "config", "--image", image, "--os", "linux",
          "--config.cmd", "/bin/busybox",
          "--created", "2026-01-01T00:00:00Z", "--history.created", "2026-01-01T00:00:00Z"])
    _run(["skopeo", "--insecure-policy", "copy", "--format", "v2s2",
          "--dest-tls-verify=false", f"oci:{image}", f"docker://{host}/{repo_tag}"])
    shutil.rmtree(d, ignore_errors=True)
    return f"{host}/{repo_tag}"
