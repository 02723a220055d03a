//! Layer engine throughput next to this machine's own limits, measured in the same run.
//!
//! `cargo bench -p cnb --bench layers` (default ~400 MB tree), `CNB_BENCH_MB=40` for a quick
//! run, `CNB_BENCH_DIR=/path` to place the generated tree elsewhere than $TMPDIR.
//! Reference rows run `openssl dgst -sha256`, `gzip -1`, `zstd -3` and GNU `tar -x` on the
//! very same tar file as separate processes.

use cnb::archive::{Compression, ExtractOptions, Expected, Owner, extract};
use cnb::layers::{self, LayerSpec, testtree};
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0).
    let _ = fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

struct Row {
    what: String,
    mbps: f64,
    secs: f64,
    out_mb: Option<f64>,
    rss: Option<f64>,
}

fn mb(n: u64) -> f64 {
    n as f64 / 1e6
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

/// Best of `runs`.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best: Option<(T, Duration)> = None;
    for _ in 0..runs {
        let (r, d) = time(&mut f);
        if best.as_ref().is_none_or(|(_, b)| d < *b) {
            best = Some((r, d));
        }
    }
    best.expect("runs > 0")
}

fn tool(cmd: &str, args: &[&str], input: &Path) -> Option<Duration> {
    let inp = File::open(input).ok()?;
    let t = Instant::now();
    let st = Command::new(cmd).args(args).stdin(inp).stdout(Stdio::null()).stderr(Stdio::null()).status().ok()?;
    st.success().then(|| t.elapsed())
}

fn main() -> io::Result<()> {
    let size_mb: u64 = std::env::var("CNB_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(400);
    let runs: usize = std::env::var("CNB_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let base = match std::env::var_os("CNB_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let layers_dir = base.path().join("layers");
    let layer = layers_dir.join("bp/layer");
    fs::create_dir_all(layers_dir.join("bp"))?;
    testtree::build_bench_tree(&layer, size_mb * 1_000_000)?;
    let spec = LayerSpec::dir(&layer, Owner::new(1000, 1000));
    let to_err = |e: layers::LayerError| io::Error::other(e.to_string());

    // Warm the page cache and learn the tar size.
    let tar_path = base.path().join("layer.tar");
    layers::write_tar(&spec, BufWriter::new(File::create(&tar_path)?)).map_err(to_err)?;
    let tar_size = fs::metadata(&tar_path)?.len();
    let nfiles = walk_count(&layer);
    let mut rows = Vec::new();

    let measure = |what: &str, rows: &mut Vec<Row>, f: &mut dyn FnMut() -> io::Result<Option<u64>>| -> io::Result<()> {
        reset_peak_rss();
        let (out, d) = best(runs, &mut *f);
        let out = out?;
        rows.push(Row {
            what: what.to_string(),
            mbps: mb(tar_size) / d.as_secs_f64(),
            secs: d.as_secs_f64(),
            out_mb: out.map(mb),
            rss: Some(peak_rss_mb()),
        });
        Ok(())
    };

    measure("tar + sha256 (diffID only)", &mut rows, &mut || {
        layers::diff_id(&spec).map_err(to_err)?;
        Ok(None)
    })?;
    for c in [Compression::Gzip(1), Compression::Gzip(6), Compression::Zstd(1), Compression::Zstd(3)] {
        let blob = base.path().join("blob");
        measure(&format!("tar + diffID + {c:?} + digest → file"), &mut rows, &mut || {
            let f = BufWriter::new(File::create(&blob)?);
            let info = layers::write_layer(&spec, c, f).map_err(to_err)?;
            Ok(Some(info.size))
        })?;
        if matches!(c, Compression::Gzip(1) | Compression::Zstd(3)) {
            let keep = base.path().join(format!("blob-{c:?}"));
            fs::rename(&blob, &keep)?;
        }
    }
    for (label, file, mt) in [
        ("extract tar (verify diffID)", tar_path.clone(), Compression::None),
        ("extract Gzip(1) (verify both)", base.path().join("blob-Gzip(1)"), Compression::Gzip(1)),
        ("extract Zstd(3) (verify both)", base.path().join("blob-Zstd(3)"), Compression::Zstd(3)),
    ] {
        let mut n = 0;
        measure(label, &mut rows, &mut || {
            // A fresh directory per run; removing the previous one would be timed too.
            n += 1;
            let out = base.path().join(format!("out-{label}-{n}"));
            let opts = ExtractOptions::new(&out, &layers_dir, "bench");
            let r = extract(File::open(&file)?, Some(mt.media_type()), &Expected::default(), &opts)
                .map_err(|e| io::Error::other(e.to_string()))?;
            Ok(Some(r.entries))
        })?;
        for i in 1..=n {
            let _ = fs::remove_dir_all(base.path().join(format!("out-{label}-{i}")));
        }
    }

    // Machine limits on the same tar, as separate processes.
    let mut refs = Vec::new();
    for (label, cmd, args) in [
        ("openssl dgst -sha256", "openssl", vec!["dgst", "-sha256"]),
        ("gzip -1", "gzip", vec!["-1", "-c"]),
        ("gzip -6", "gzip", vec!["-6", "-c"]),
        ("zstd -1 -T1", "zstd", vec!["-1", "-T1", "-c"]),
        ("zstd -3 -T1", "zstd", vec!["-3", "-T1", "-c"]),
        ("zstd -3 -T0 (all cores)", "zstd", vec!["-3", "-T0", "-c"]),
    ] {
        let d = (0..runs).filter_map(|_| tool(cmd, &args, &tar_path)).min();
        refs.push((label.to_string(), d));
    }
    let out = base.path().join("out-tar");
    let d = (0..runs)
        .filter_map(|_| {
            let _ = fs::remove_dir_all(&out);
            fs::create_dir_all(&out).ok()?;
            let t = Instant::now();
            let st = Command::new("tar").args(["-xf"]).arg(&tar_path).arg("-C").arg(&out).stderr(Stdio::null()).status().ok()?;
            st.success().then(|| t.elapsed())
        })
        .min();
    refs.push(("GNU tar -xf".to_string(), d));

    println!(
        "\nLayer engine benchmark: tree {:.0} MB in {} entries (tar {:.1} MB), {} core(s), best of {runs}\n",
        size_mb as f64,
        nfiles,
        mb(tar_size),
        layers::parallel::default_jobs()
    );
    println!("| operation | MB/s of tar | seconds | output MB (or entries) | peak RSS MB |");
    println!("|---|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {} | {:.0} |",
            r.what,
            r.mbps,
            r.secs,
            r.out_mb.map_or("-".into(), |m| if r.what.starts_with("extract") { format!("{:.0} entries", m * 1e6) } else { format!("{m:.1}") }),
            r.rss.unwrap_or(0.0)
        );
    }
    println!("\n| reference process on the same tar | MB/s | seconds |");
    println!("|---|---:|---:|");
    for (label, d) in refs {
        match d {
            Some(d) => println!("| {label} | {:.0} | {:.2} |", mb(tar_size) / d.as_secs_f64(), d.as_secs_f64()),
            None => println!("| {label} | n/a | n/a |"),
        }
    }
    Ok(())
}

fn walk_count(p: &Path) -> usize {
    let mut n = 0;
    let _ = cnb::layers::walk::walk(p, &mut |_, _| {
        n += 1;
        Ok(())
    });
    n
}
