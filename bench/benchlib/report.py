"""Summaries, ratios, the targets of issue #8, JSON and markdown."""

import os
import platform

from .measure import median
from . import workloads as WL
from .limits import DESCRIPTIONS

# workload -> limits it is compared with (the first is the ratio column)
WORKLOAD_LIMITS = {
    "W1": ["gzip1", "upload"],
    "W1z": ["zstd3_cache", "gzip1"],
    "W1zc": ["zstd3_cache"],
    "W2": ["sha256"],
    "W3": ["restore"],
    "W3d": ["untar"],
    "W4": ["sha256"],
    "W5": [],
}


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {"kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count(), "mem_mb": mem}


def summarize(results, limit_runs):
    """Medians per (workload, tool) and per limit, with ratios."""
    lim = {}
    for name, steps in limit_runs.items():
        lim[name] = {"median_s": median([s["wall_s"] for s in steps]),
                     "cpu_s": median([s.get("cpu_s", 0.0) for s in steps]),
                     "maxrss_kb": max((s["maxrss_kb"] for s in steps), default=0),
                     "runs": [s["wall_s"] for s in steps],
                     "what": DESCRIPTIONS[name]}
    rows = {}
    for r in results:
        rows.setdefault(r["workload"], {}).setdefault(r["tool"], []).append(r)
    summary = {}
    for wl, tools in rows.items():
        out = {}
        for tool, recs in tools.items():
            good = [r for r in recs if r["ok"]]
            use = good or recs
            out[tool] = {
                "runs": len(recs),
                "failed_runs": len(recs) - len(good),
                "median_s": median([r["wall_s"] for r in use]),
                "walls": [r["wall_s"] for r in recs],
                "cpu_s": median([r.get("cpu_s", 0.0) for r in use]),
                "peak_rss_mb": max(r["maxrss_kb"] for r in recs) / 1024,
                "up_mb": median([r["up_bytes"] for r in use]) / 1e6,
                "up_layer_mb": median([r["up_layer_bytes"] for r in use]) / 1e6,
                "up_layers": median([len(r["up_layers"]) for r in use]),
                "mounted_layers": median([len(r.get("mounted_layers", [])) for r in use]),
                "down_mb": median([r["down_bytes"] for r in use]) / 1e6,
                "tmp_mb": max(r["tmp_bytes"] for r in recs) / 1e6,
                "load1": [r["load1"] for r in recs],
                "problems": sorted({p for r in recs for p in r["problems"]}
                                   | {r["error"].splitlines()[0] for r in recs if r["error"]}),
            }
        peers = [t for t in out if t not in (WL.OURS, WL.OURS_ZSTD)
                 and out[t]["failed_runs"] < out[t]["runs"]]
        best = min(peers, key=lambda t: out[t]["median_s"]) if peers else None
        lims = WORKLOAD_LIMITS.get(wl, [])
        for tool, s in out.items():
            s["best_peer"] = best
            s["x_best_peer"] = (s["median_s"] / out[best]["median_s"]) if best else None
            # W1zc is judged by the exporter's own timer of its cache part
            cache = [r["cache_s"] for r in tools[tool] if r["ok"] and "cache_s" in r]
            s["cache_s"] = median(cache) if cache else None
            timed = s["cache_s"] if wl == "W1zc" and s["cache_s"] is not None else s["median_s"]
            s["x_limits"] = {l: timed / lim[l]["median_s"]
                             for l in lims if l in lim and lim[l]["median_s"]}
        summary[wl] = out
    return summary, lim


def _ratio(x):
    return "–" if x is None else f"{x:.2f}×"


def targets(summary, lim):
    """Issue #8's targets: (text, verdict, detail)."""
    t = []

    def get(wl, tool):
        return summary.get(wl, {}).get(tool)

    def verdict(ok):
        return "met" if ok else "MISSED"

    w1 = get("W1", WL.OURS)
    for peer, bound in ((WL.UMOCI, 0.35), (WL.GO, 0.3)):
        p = get("W1", peer)
        if w1 and p and not p["failed_runs"]:
            x = w1["median_s"] / p["median_s"]
            t.append((f"W1 ≤ {bound}× {peer}", verdict(x <= bound), f"{x:.2f}×"))
        else:
            t.append((f"W1 ≤ {bound}× {peer}", "n/a", f"{peer} not run"))
    zc = get("W1zc", WL.OURS_ZSTD)
    if zc and zc.get("cache_s") is not None and "zstd3_cache" in lim:
        x = zc["cache_s"] / lim["zstd3_cache"]["median_s"]
        t.append(("W1 cache part (zstd) no slower than zstd -3 of the same bytes",
                  verdict(x <= 1),
                  f"{x:.2f}× zstd -3 -T0 of the cache bytes: cache export {zc['cache_s']:.2f} s "
                  "(W1zc, the exporter's own timer; cache alone, app image reused)"))
    else:
        t.append(("W1 cache part (zstd) no slower than zstd -3 of the same bytes", "n/a",
                  "W1zc not run"))
    w2 = get("W2", WL.OURS)
    if w2 and "sha256" in lim:
        x = w2["median_s"] / lim["sha256"]["median_s"]
        t.append(("W2 ≤ 2× sha256 limit", verdict(x <= 2), f"{x:.2f}×"))
        t.append(("W2 zero layer bytes uploaded", verdict(w2["up_layer_mb"] == 0),
                  f"{w2['up_layer_mb']:.1f} MB"))
    w3 = get("W3", WL.OURS)
    p = get("W3", WL.UMOCI)
    if w3 and p and not p["failed_runs"]:
        x = w3["median_s"] / p["median_s"]
        t.append(("W3 ≤ 0.5× skopeo+umoci", verdict(x <= 0.5), f"{x:.2f}×"))
    if w3 and "restore" in lim:
        x = w3["median_s"] / lim["restore"]["median_s"]
        t.append(("W3 within 1.5× download+decompress+write", verdict(x <= 1.5), f"{x:.2f}×"))
    w4 = get("W4", WL.OURS)
    if w4:
        mounts = w4.get("mounted_layers", 0)
        t.append(("W4 uploads only the changed layer",
                  verdict(1 <= w4["up_layers"] <= 2 and w4["up_layers"] + mounts == 2 and not w4["failed_runs"]),
                  f"{w4['up_layers']:.0f} layer upload(s) + {mounts:.0f} mount(s) (the JDK layer into the "
                  f"app and cache images), {w4['up_layer_mb']:.1f} MB"))
    rss = [(wl, s[WL.OURS]["peak_rss_mb"]) for wl, s in summary.items() if WL.OURS in s]
    rss += [(wl, s[WL.OURS_ZSTD]["peak_rss_mb"]) for wl, s in summary.items() if WL.OURS_ZSTD in s]
    if rss:
        worst = max(rss, key=lambda x: x[1])
        t.append(("peak RSS ≤ 64 MB in every workload", verdict(worst[1] <= 64),
                  f"max {worst[1]:.0f} MB ({worst[0]})"))
    tmp = [(wl, s[WL.OURS]["tmp_mb"]) for wl, s in summary.items() if WL.OURS in s]
    if tmp:
        worst = max(tmp, key=lambda x: x[1])
        t.append(("temp disk ≤ 1 MB", verdict(worst[1] <= 1), f"max {worst[1]:.2f} MB ({worst[0]})"))
    return t


def markdown(meta, summary, lim, tgt):
    L = []
    L.append(f"Run {meta['date']} on {meta['machine']['cpu']} ({meta['machine']['cores']} cores, "
             f"{meta['machine']['mem_mb']} MB RAM, kernel {meta['machine']['kernel']}); "
             f"{'quick mode, ' if meta['quick'] else ''}{meta['runs']} run(s) per cell, median; "
             f"load average at start {meta['load_start']}, at end {meta['load_end']}.")
    L.append("")
    parts = meta["corpus"]["parts"]
    L.append("Corpus: " + "; ".join(
        f"{p} {v['files']} files / {v['bytes'] / 1e6:.1f} MB ({v['source']})" for p, v in parts.items()))
    L.append("")
    L.append("| workload | tool | median s | CPU s | × best peer | × limit | peak RSS MB | up MB (layers) | down MB | temp MB | load1 | ok |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for wl in WL.WORKLOADS:
        if wl not in summary:
            continue
        for tool, s in summary[wl].items():
            xl = s["x_limits"]
            first = WORKLOAD_LIMITS[wl][0] if WORKLOAD_LIMITS[wl] else None
            lims = ", ".join(f"{_ratio(v)} {k}" for k, v in xl.items()) if xl else "–"
            ok = "yes" if not s["failed_runs"] else f"{s['failed_runs']}/{s['runs']} failed"
            med = f"{s['median_s']:.2f}"
            if wl == "W1zc" and s.get("cache_s") is not None:
                med += f" (cache {s['cache_s']:.2f})"
            L.append(f"| {wl} | {tool} | {med} | {s['cpu_s']:.1f} | {_ratio(s['x_best_peer'])} | {lims} | "
                     f"{s['peak_rss_mb']:.0f} | {s['up_mb']:.1f} ({s['up_layer_mb']:.1f}) | "
                     f"{s['down_mb']:.1f} | {s['tmp_mb']:.1f} | "
                     f"{'/'.join(f'{x:.1f}' for x in s['load1'])} | {ok} |")
    L.append("")
    L.append("| limit (same run) | median s | CPU s | peak RSS MB |")
    L.append("|---|---:|---:|---:|")
    for name, l in lim.items():
        what = l["what"].replace("|", "\\|")
        L.append(f"| {name}: {what} | {l['median_s']:.2f} | {l['cpu_s']:.1f} | {l['maxrss_kb'] / 1024:.0f} |")
    L.append("")
    if tgt:
        L.append("| target (issue #8) | verdict | measured |")
        L.append("|---|---|---|")
        for text, v, d in tgt:
            L.append(f"| {text} | {v} | {d} |")
        L.append("")
    skipped = meta.get("skipped") or {}
    for tool, why in skipped.items():
        L.append(f"- {tool}: not run ({why})")
    problems = [(wl, t, p) for wl, s in summary.items() for t, x in s.items() for p in x["problems"]]
    for wl, t, p in problems:
        L.append(f"- {wl} {t}: {p}")
    return "\n".join(L) + "\n"
