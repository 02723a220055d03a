"""A throwaway CNCF Distribution registry (Debian's ``docker-registry``) on 127.0.0.1 with
filesystem storage in a temp dir, and the traffic read back from its access log."""

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)

# 127.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "PUT /v2/x/blobs/uploads/u?digest=… HTTP/1.1" 201 0 "" "ua"
ACCESS = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+" (\d{3}) (\d+|-)')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Request:
    def __init__(self, method, path, status, size):
        self.method = method
        self.path = path
        self.status = status
        self.size = size


class Traffic:
    """What crossed the wire in a window of the access log."""

    def __init__(self, uploaded, downloaded_bytes, manifests_put, mounted=()):
        self.uploaded = uploaded  # [(repo, digest, size)] of committed blob uploads
        # [(repo, digest)] of blobs mounted from another repository (no bytes sent)
        self.mounted = list(mounted)
        self.downloaded_bytes = downloaded_bytes  # GET response bytes (blobs + manifests)
        self.manifests_put = manifests_put  # [(repo, reference)]

    @property
    def uploaded_bytes(self):
        return sum(s for _, _, s in self.uploaded)


class Registry:
    def __init__(self, workdir):
        if not os.access(REGISTRY_BIN, os.X_OK):
            raise RuntimeError(f"{REGISTRY_BIN} missing (Debian package docker-registry)")
        self.dir = os.path.join(workdir, "registry")
        os.makedirs(os.path.join(self.dir, "storage"), exist_ok=True)
        self.log_path = os.path.join(self.dir, "registry.log")
        self.proc = None
        for _ in range(5):
            self.port = free_port()
            self.host = f"127.0.0.1:{self.port}"
            cfg = os.path.join(self.dir, "config.yml")
            with open(cfg, "w") as f:
                f.write(
                    "version: 0.1\nlog:\n  level: info\n  formatter: text\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {self.storage}\n"
                    "  delete:\n    enabled: true\n"
                    "  maintenance:\n    uploadpurging:\n      enabled: false\n"
                    f"http:\n  addr: {self.host}\n  secret: cnb-bench\n"
                )
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [REGISTRY_BIN, "serve", cfg],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
            log.close()
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError(f"docker-registry did not start; see {self.log_path}")

    @property
    def storage(self):
        return os.path.join(self.dir, "storage")

    def _wait_ready(self):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    # ---- access log
    def requests(self):
        out = []
        with open(self.log_path, "r", errors="replace") as f:
            for line in f:
                m = ACCESS.search(line)
                if m:
                    size = 0 if m.group(4) == "-" else int(m.group(4))
                    out.append(Request(m.group(1), m.group(2), int(m.group(3)), size))
        return out

    def mark(self):
        return len(self.requests())

    def blob_size(self, digest):
        hexd = digest.split(":", 1)[-1]
        p = os.path.join(
            self.storage, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data"
        )
        try:
            return os.path.getsize(p)
        except OSError:
            return 0

    def traffic(self, since, until=None):
        reqs = self.requests()[since:until]
        uploaded = []
        mounted = []
        down = 0
        manifests = []
        for r in reqs:
            path, _, query = r.path.partition("?")
            if r.method == "GET" and r.status in (200, 206):
                down += r.size
            if r.method in ("PUT", "POST") and r.status == 201 and "/blobs/uploads/" in path:
                params = dict(
                    kv.split("=", 1) for kv in query.split("&") if "=" in kv
                )
                d = params.get("digest")
                if "mount" in params:
                    repo = path[len("/v2/"):].split("/blobs/uploads/")[0]
                    mounted.append((repo, params["mount"].replace("%3A", ":").replace("%3a", ":")))
                if d and "mount" not in params:
                    d = d.replace("%3A", ":").replace("%3a", ":")
                    repo = path[len("/v2/"):].split("/blobs/uploads/")[0]
                    uploaded.append((repo, d, self.blob_size(d)))
            if r.method == "PUT" and r.status == 201 and "/manifests/" in path:
                repo, _, ref = path[len("/v2/"):].partition("/manifests/")
                manifests.append((repo, ref))
        return Traffic(uploaded, down, manifests, mounted)

    # ---- reading images back (plain HTTP, after a step's log window is closed)
    def manifest(self, repo, ref):
        """(manifest JSON, raw bytes) or (None, None) when absent."""
        req = urllib.request.Request(
            f"http://{self.host}/v2/{repo}/manifests/{ref}",
            headers={"Accept": MANIFEST_TYPES},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None, None
            raise
        return json.loads(raw), raw

    def layer_digests(self, repo, ref):
        m, _ = self.manifest(repo, ref)
        if m is None:
            return None
        return [l["digest"] for l in m.get("layers", [])]

    def config(self, repo, ref):
        m, _ = self.manifest(repo, ref)
        if m is None:
            return None
        with urllib.request.urlopen(
            f"http://{self.host}/v2/{repo}/blobs/{m['config']['digest']}", timeout=30
        ) as r:
            return json.loads(r.read())
