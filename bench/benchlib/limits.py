"""The machine's limits on the same bytes, measured in the same run: hashing, compression,
upload to and download + decompress + write from the same registry."""

import hashlib
import os
import shutil
import subprocess
import urllib.request

from .measure import Step, run

ALL = ["jdk", "node_modules", "m2", "app"]
LAUNCH = ["jdk", "node_modules", "app"]
CACHE = ["jdk", "m2"]

# name -> (what it is, workloads it is the limit of)
DESCRIPTIONS = {
    "sha256": "tar of the corpus | openssl dgst -sha256",
    "gzip1": "tar of the corpus | gzip -1",
    "zstd3": "tar of the corpus | zstd -3 -T0",
    "zstd3_cache": "tar of the cache layers (jdk, m2) | zstd -3 -T0",
    "upload": "curl upload (POST + PUT ?digest=) of the gzip -1 blob of the launch layers",
    "restore": "curl download | gzip -dc | tar -x of the gzip -1 blob of the cache layers",
    "untar": "tar -xf of an uncompressed tar of the cache layers (from disk)",
}


def _tar(corpus, parts):
    return ["tar", "-cf", "-", "-C", corpus] + parts


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return "sha256:" + h.hexdigest()


def _location(output, host):
    for line in output.splitlines():
        if line.lower().startswith("location:"):
            loc = line.split(":", 1)[1].strip()
            if loc.startswith("/"):
                loc = f"http://{host}{loc}"
            return loc
    raise RuntimeError(f"no Location in the POST answer:\n{output}")


def curl_upload(step_or_none, host, repo, path, digest):
    """POST then PUT -T <file> ?digest= (two curl processes)."""
    post = ["/usr/bin/curl", "-sS", "-f", "-X", "POST", "-D", "-", "-o", "/dev/null",
            f"http://{host}/v2/{repo}/blobs/uploads/"]
    p = run(post)
    if p.code != 0:
        raise RuntimeError(f"curl POST failed: {p.output}")
    loc = _location(p.output, host)
    sep = "&" if "?" in loc else "?"
    put = ["/usr/bin/curl", "-sS", "-f", "-X", "PUT", "-H", "Expect:",
           "-H", "Content-Type: application/octet-stream", "-T", path,
           f"{loc}{sep}digest={digest}"]
    q = run(put)
    if q.code != 0:
        raise RuntimeError(f"curl PUT failed: {q.output}")
    if step_or_none is not None:
        step_or_none.procs += [p, q]


class Limits:
    def __init__(self, corpus, work):
        self.corpus = corpus
        self.dir = os.path.join(work, "limits")
        os.makedirs(self.dir, exist_ok=True)
        # Untimed inputs: the blobs and the tar the limits read.
        self.launch_gz = os.path.join(self.dir, "launch.tar.gz")
        self.cache_gz = os.path.join(self.dir, "cache.tar.gz")
        self.cache_tar = os.path.join(self.dir, "cache.tar")
        with open(self.launch_gz, "wb") as f:
            _pipe_to(_tar(corpus, LAUNCH), ["gzip", "-1", "-c"], f)
        with open(self.cache_gz, "wb") as f:
            _pipe_to(_tar(corpus, CACHE), ["gzip", "-1", "-c"], f)
        subprocess.run(_tar(corpus, CACHE)[:2] + [self.cache_tar] + _tar(corpus, CACHE)[3:],
                       check=True)
        self.launch_digest = _sha256_file(self.launch_gz)
        self.cache_digest = _sha256_file(self.cache_gz)
        self.n = 0

    def use_registry(self, registry):
        self.reg = registry
        curl_upload(None, registry.host, "bench/limit-cache", self.cache_gz, self.cache_digest)

    def sizes(self):
        return {"launch_gz": os.path.getsize(self.launch_gz),
                "cache_gz": os.path.getsize(self.cache_gz),
                "cache_tar": os.path.getsize(self.cache_tar)}

    def _dest(self):
        d = os.path.join(self.dir, "x")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def measure(self, name):
        """One timed run of limit ``name``; returns the Step."""
        c = self.corpus
        if name in ("restore", "untar"):
            dest = self._dest()
        with Step([]) as s:
            if name == "sha256":
                s.pipe([_tar(c, ALL), ["openssl", "dgst", "-sha256"]])
            elif name == "gzip1":
                s.pipe([_tar(c, ALL), ["gzip", "-1", "-c"]])
            elif name == "zstd3":
                s.pipe([_tar(c, ALL), ["zstd", "-3", "-T0", "-q", "-c"]])
            elif name == "zstd3_cache":
                s.pipe([_tar(c, CACHE), ["zstd", "-3", "-T0", "-q", "-c"]])
            elif name == "upload":
                self.n += 1
                curl_upload(s, self.reg.host, f"bench/limit-up-{self.n}", self.launch_gz,
                            self.launch_digest)
            elif name == "restore":
                url = f"http://{self.reg.host}/v2/bench/limit-cache/blobs/{self.cache_digest}"
                s.pipe([["/usr/bin/curl", "-sS", "-f", url], ["gzip", "-dc"],
                        ["tar", "-xf", "-", "-C", dest]])
            elif name == "untar":
                s.pipe([["tar", "-xf", self.cache_tar, "-C", dest]])
            else:
                raise KeyError(name)
        if name in ("restore", "untar"):
            shutil.rmtree(dest, ignore_errors=True)
        return s


def _pipe_to(a, b, out):
    p1 = subprocess.Popen(a, stdout=subprocess.PIPE)
    p2 = subprocess.Popen(b, stdin=p1.stdout, stdout=out)
    p1.stdout.close()
    if p2.wait() != 0 or p1.wait() != 0:
        raise RuntimeError(f"{a} | {b} failed")
