//! Registry client throughput on loopback next to `curl` speaking the same protocol to the same
//! registry, in the same run (issue #3: is the client the bottleneck?).
//!
//! `cargo bench -p cnb --bench registry` (256 MB random blob, median of 3);
//! `CNB_BENCH_MB=16 CNB_BENCH_RUNS=1` (or `CNB_BENCH_QUICK=1`) for a quick run;
//! `CNB_BENCH_DIR=/path` places the blob elsewhere than $TMPDIR; `CNB_BENCH_CHUNK_MB` (default 8)
//! is the PATCH size of the chunked upload row.
//!
//! The registry is Debian's `docker-registry` on 127.0.0.1 (`cnb::testing::Registry`, storage in
//! $TMPDIR). Every upload goes to a fresh repository so the blob is never "already there" for
//! it (the registry still keeps one copy of the bytes; each upload is written and committed in
//! full). Reference rows run `curl` (POST + `PUT -T file ?digest=`, and `GET -o /dev/null`),
//! `curl | sha256sum`, `sha256sum` and `openssl dgst -sha256` as separate processes; their peak
//! RSS comes from `wait4`.

mod support;

use cnb::digest::{Digest, Hasher};
use cnb::registry::{BlobSource, Client, ClientOptions, PushOptions, PushOutcome};
use cnb::testing::{Registry, RegistryOptions};
use futures_util::StreamExt;
use rand::RngCore;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{bench_dir, env_num, loadavg, mb, peak_rss_mb, reset_peak_rss};

fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

/// Runs `cmd`, waits with `wait4`: (wall time, peak RSS MB of the child).
fn run_measured(cmd: &mut Command) -> io::Result<(Duration, f64)> {
    let t = Instant::now();
    let child = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain syscall on our own child; `rusage` is a POD written by the kernel.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let d = t.elapsed();
    if r != pid {
        return Err(io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        return Err(io::Error::other(format!("{cmd:?} failed: status {status}")));
    }
    Ok((d, ru.ru_maxrss as f64 / 1024.0))
}

fn write_random_blob(path: &Path, size: u64) -> io::Result<Digest> {
    let mut f = BufWriter::new(File::create(path)?);
    let mut rng = rand::rng();
    let mut buf = vec![0u8; 1 << 20];
    let mut h = Hasher::new();
    let mut left = size;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill_bytes(&mut buf[..n]);
        h.update(&buf[..n]);
        f.write_all(&buf[..n])?;
        left -= n as u64;
    }
    f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(h.finish().0)
}

struct Row {
    what: String,
    median: Option<Duration>,
    rss: Option<f64>,
    /// Index of the reference row this one is compared with.
    vs: Option<usize>,
}

fn main() -> io::Result<()> {
    let quick = std::env::var_os("CNB_BENCH_QUICK").is_some();
    let size_mb = env_num("CNB_BENCH_MB").unwrap_or(if quick { 16 } else { 256 });
    let runs = env_num("CNB_BENCH_RUNS")
        .unwrap_or(if quick { 1 } else { 3 })
        .max(1) as usize;
    let chunk_mb = env_num("CNB_BENCH_CHUNK_MB").unwrap_or(8).max(1);
    let base = bench_dir()?;
    let size = size_mb * 1_000_000;
    let blob = base.path().join("blob");
    let digest = write_random_blob(&blob, size)?;

    let reg = Registry::start(RegistryOptions::default());
    let host = reg.host();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let plain = Client::new(ClientOptions::default());
    let chunked = Client::new(ClientOptions {
        chunk_size: Some(chunk_mb << 20),
        ..Default::default()
    });
    let repo = |name: &str| {
        cnb::image::reference::Repository::parse(&format!("{host}/bench/{name}"))
            .map_err(|e| io::Error::other(e.to_string()))
    };
    let to_io = |e: cnb::registry::RegistryError| io::Error::other(e.to_string());

    // Warm up: page cache for the blob, the client's endpoint ping, and a copy to pull from.
    let pull_repo = repo("pull")?;
    rt.block_on(plain.push_blob(
        &pull_repo,
        BlobSource::File(blob.clone()),
        PushOptions {
            digest: Some(digest.clone()),
            ..Default::default()
        },
    ))
    .map_err(to_io)?;
    rt.block_on(chunked.head_blob(&pull_repo, &digest))
        .map_err(to_io)?;

    let mut rows: Vec<Row> = Vec::new();
    let mut fresh = 0u32;
    let mut next_repo = |kind: &str| {
        fresh += 1;
        repo(&format!("{kind}-{fresh}"))
    };

    // --- Hashing limits (reference rows 0..=2).
    let mut in_process = Vec::new();
    reset_peak_rss();
    for _ in 0..runs {
        let t = Instant::now();
        let mut f = File::open(&blob)?;
        let mut h = Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        if h.finish().0 != digest {
            return Err(io::Error::other("cnb::digest disagrees with itself"));
        }
        in_process.push(t.elapsed());
    }
    rows.push(Row {
        what: "cnb::digest::Hasher over the file (in process)".into(),
        median: median(in_process),
        rss: Some(peak_rss_mb()),
        vs: None,
    });
    for (label, cmd, args) in [
        ("`sha256sum` (hashing limit)", "sha256sum", vec![]),
        (
            "`openssl dgst -sha256` (hashing limit)",
            "openssl",
            vec!["dgst", "-sha256"],
        ),
    ] {
        let mut ds = Vec::new();
        let mut rss: f64 = 0.0;
        for _ in 0..runs {
            match run_measured(
                Command::new(cmd)
                    .args(&args)
                    .arg(&blob)
                    .stdout(Stdio::null()),
            ) {
                Ok((d, r)) => {
                    ds.push(d);
                    rss = rss.max(r);
                }
                Err(e) => eprintln!("{label}: {e}"),
            }
        }
        rows.push(Row {
            what: label.into(),
            median: median(ds),
            rss: (rss > 0.0).then_some(rss),
            vs: None,
        });
    }

    // --- curl references (rows 3..=5).
    let curl_up = rows.len();
    let mut ds = Vec::new();
    let mut rss: f64 = 0.0;
    for _ in 0..runs {
        let r = next_repo("curl")?;
        let t = Instant::now();
        let out = Command::new("curl")
            .args(["-sS", "-f", "-X", "POST", "-D", "-", "-o", "/dev/null"])
            .arg(format!(
                "http://{host}/v2/{}/blobs/uploads/",
                r.repository()
            ))
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!("curl POST: {out:?}")));
        }
        let headers = String::from_utf8_lossy(&out.stdout);
        let loc = headers
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("location")
                    .then(|| v.trim().to_string())
            })
            .ok_or_else(|| io::Error::other(format!("no Location in {headers}")))?;
        let loc = if loc.starts_with('/') {
            format!("http://{host}{loc}")
        } else {
            loc
        };
        let sep = if loc.contains('?') { '&' } else { '?' };
        let (_, r2) = run_measured(
            Command::new("curl")
                .args(["-sS", "-f", "-o", "/dev/null", "-H", "Expect:"])
                .args(["-H", "Content-Type: application/octet-stream", "-T"])
                .arg(&blob)
                .arg(format!("{loc}{sep}digest={digest}"))
                .stdout(Stdio::null()),
        )?;
        ds.push(t.elapsed());
        rss = rss.max(r2);
    }
    rows.push(Row {
        what: "curl upload: `POST` + `PUT -T file ?digest=`".into(),
        median: median(ds),
        rss: Some(rss),
        vs: None,
    });
    let url = format!("http://{host}/v2/{}/blobs/{digest}", pull_repo.repository());
    let curl_down = rows.len();
    let mut ds = Vec::new();
    let mut rss: f64 = 0.0;
    for _ in 0..runs {
        let (d, r) = run_measured(
            Command::new("curl")
                .args(["-sS", "-f", "-L", "-o", "/dev/null"])
                .arg(&url)
                .stdout(Stdio::null()),
        )?;
        ds.push(d);
        rss = rss.max(r);
    }
    rows.push(Row {
        what: "curl download: `GET -o /dev/null`".into(),
        median: median(ds),
        rss: Some(rss),
        vs: None,
    });
    let curl_down_hash = rows.len();
    let mut ds = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("curl -sS -f -L '{url}' | sha256sum"))
            .stderr(Stdio::inherit())
            .output()?;
        ds.push(t.elapsed());
        if !out.status.success() || !String::from_utf8_lossy(&out.stdout).starts_with(digest.hex())
        {
            return Err(io::Error::other(format!("curl | sha256sum: {out:?}")));
        }
    }
    rows.push(Row {
        what: "curl download piped to `sha256sum` (verified by hand)".into(),
        median: median(ds),
        rss: None,
        vs: None,
    });

    // --- Our client.
    let uploads: [(&str, &Client, bool, bool); 4] = [
        (
            "push_blob(File), digest unknown: hash pass + `PUT`",
            &plain,
            false,
            false,
        ),
        ("push_blob(File), digest known: `PUT`", &plain, true, false),
        (
            "push_blob(reader): one streamed `PATCH` + `PUT`",
            &plain,
            false,
            true,
        ),
        ("", &chunked, false, true),
    ];
    for (label, client, known, stream) in uploads {
        let label = if label.is_empty() {
            format!("push_blob(reader), chunk_size {chunk_mb} MiB: `PATCH`es + `PUT`")
        } else {
            label.to_string()
        };
        let mut ds = Vec::new();
        reset_peak_rss();
        for _ in 0..runs {
            let r = next_repo("ours")?;
            let source = if stream {
                BlobSource::reader(rt.block_on(tokio::fs::File::open(&blob))?)
            } else {
                BlobSource::File(blob.clone())
            };
            let opts = PushOptions {
                digest: known.then(|| digest.clone()),
                ..Default::default()
            };
            let t = Instant::now();
            let p = rt
                .block_on(client.push_blob(&r, source, opts))
                .map_err(to_io)?;
            ds.push(t.elapsed());
            if p.outcome != PushOutcome::Uploaded || p.digest != digest || p.size != Some(size) {
                return Err(io::Error::other(format!("{label}: unexpected {p:?}")));
            }
        }
        rows.push(Row {
            what: label,
            median: median(ds),
            rss: Some(peak_rss_mb()),
            vs: Some(curl_up),
        });
    }

    let mut ds = Vec::new();
    reset_peak_rss();
    for _ in 0..runs {
        let t = Instant::now();
        let n = rt.block_on(async {
            let mut s = plain
                .get_blob(&pull_repo, &digest, Some(size))
                .await
                .map_err(to_io)?;
            let mut null = File::create("/dev/null")?;
            let mut n = 0u64;
            // The stream's last item is the verification error, if any.
            while let Some(chunk) = s.next().await {
                let chunk = chunk?;
                null.write_all(&chunk)?;
                n += chunk.len() as u64;
            }
            io::Result::Ok(n)
        })?;
        ds.push(t.elapsed());
        if n != size {
            return Err(io::Error::other(format!("pulled {n} bytes of {size}")));
        }
    }
    let d = median(ds);
    rows.push(Row {
        what: "get_blob (digest + size verified) → /dev/null".into(),
        median: d,
        rss: Some(peak_rss_mb()),
        vs: Some(curl_down),
    });
    rows.push(Row {
        what: "get_blob, compared with curl piped to `sha256sum`".into(),
        median: d,
        rss: None,
        vs: Some(curl_down_hash),
    });

    println!(
        "\nRegistry client benchmark: {:.0} MB random blob, docker-registry on {host} (storage in {}), \
         {} core(s), median of {runs}, load average {}\n",
        mb(size),
        std::env::temp_dir().display(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        loadavg()
    );
    println!("| operation | MB/s | seconds | ours / curl | peak RSS MB |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        let (mbps, secs) = match r.median {
            Some(d) => (
                format!("{:.0}", mb(size) / d.as_secs_f64()),
                format!("{:.2}", d.as_secs_f64()),
            ),
            None => ("n/a".into(), "n/a".into()),
        };
        let ratio = match (r.vs.and_then(|i| rows[i].median), r.median) {
            (Some(c), Some(o)) => format!("{:.2}", c.as_secs_f64() / o.as_secs_f64()),
            _ => "".into(),
        };
        let rss = r.rss.map_or("–".into(), |m| format!("{m:.0}"));
        println!("| {} | {mbps} | {secs} | {ratio} | {rss} |", r.what);
    }
    println!(
        "\nours / curl = our MB/s divided by the curl row's (uploads vs the curl upload, download vs \
         the curl download); peak RSS of our rows is this process's VmHWM (reset before each row), \
         of curl/sha256sum rows the child's ru_maxrss."
    );
    Ok(())
}
