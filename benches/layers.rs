//! Layer engine throughput next to this machine's own limits, measured in the same run.
//!
//! `cargo bench -p cnb --bench layers` (default ~400 MB tree), `CNB_BENCH_MB=40` for a quick
//! run, `CNB_BENCH_DIR=/path` to place the generated tree elsewhere than $TMPDIR.
//! Reference rows run `openssl dgst -sha256`, `gzip -1`, `zstd -3` and GNU `tar -x` on the
//! very same tar file as separate processes.

mod support;

use cnb::archive::{Compression, Expected, ExtractOptions, Owner, extract};
use cnb::layers::{self, LayerSpec};
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{
    bench_dir, bench_layer, cpu_secs, env_num, gnu_tar, loadavg, mb, peak_rss_mb, reset_peak_rss,
    run_child,
};

struct Row {
    what: String,
    mbps: f64,
    secs: f64,
    cpu: f64,
    out_mb: Option<f64>,
    rss: Option<f64>,
}

/// Runs `f`, returning its result, wall time and CPU seconds of this process.
fn time<T>(f: impl FnOnce() -> T) -> (T, Duration, f64) {
    let c = cpu_secs();
    let t = Instant::now();
    let r = f();
    (r, t.elapsed(), cpu_secs() - c)
}

/// Best of `runs` (by wall time).
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration, f64) {
    let mut best: Option<(T, Duration, f64)> = None;
    for _ in 0..runs {
        let (r, d, c) = time(&mut f);
        if best.as_ref().is_none_or(|(_, b, _)| d < *b) {
            best = Some((r, d, c));
        }
    }
    best.expect("runs > 0")
}

/// Runs `cmd args < input > /dev/null`: wall time and the child's CPU seconds.
fn tool(cmd: &str, args: &[&str], input: &Path) -> Option<(Duration, f64)> {
    let inp = File::open(input).ok()?;
    run_child(
        Command::new(cmd)
            .args(args)
            .stdin(inp)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .ok()
}

/// Child mode: write one layer (`CNB_BENCH_RSS_CHILD` = `diffid` or a compression such as
/// `zstd:3`) of the tree at `CNB_BENCH_RSS_DIR` to a sink and print this fresh process's
/// peak RSS in MB, so the figure is one layer write's, not the bench's history.
fn rss_child(what: &str, dir: &str) -> io::Result<()> {
    let spec = LayerSpec::dir(dir, Owner::new(1000, 1000));
    let to_err = |e: layers::LayerError| io::Error::other(e.to_string());
    if what == "diffid" {
        layers::diff_id(&spec).map_err(to_err)?;
    } else {
        let c: Compression = what.parse().map_err(io::Error::other)?;
        layers::write_layer(&spec, c, io::sink()).map_err(to_err)?;
    }
    println!("{:.1}", peak_rss_mb());
    Ok(())
}

/// Peak RSS of a fresh process writing one layer (see [`rss_child`]).
fn fresh_rss(what: &str, dir: &Path) -> Option<f64> {
    let out = Command::new(std::env::current_exe().ok()?)
        .env("CNB_BENCH_RSS_CHILD", what)
        .env("CNB_BENCH_RSS_DIR", dir)
        .stderr(Stdio::inherit())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() -> io::Result<()> {
    if let (Ok(what), Ok(dir)) = (
        std::env::var("CNB_BENCH_RSS_CHILD"),
        std::env::var("CNB_BENCH_RSS_DIR"),
    ) {
        return rss_child(&what, &dir);
    }
    let size_mb = env_num("CNB_BENCH_MB").unwrap_or(400);
    let runs = env_num("CNB_BENCH_RUNS").map_or(2, |n| n as usize);
    let load_start = loadavg();
    let base = bench_dir()?;
    let (layers_dir, layer) = bench_layer(base.path(), size_mb)?;
    let spec = LayerSpec::dir(&layer, Owner::new(1000, 1000));
    let to_err = |e: layers::LayerError| io::Error::other(e.to_string());

    // Warm the page cache and learn the tar size.
    let tar_path = base.path().join("layer.tar");
    layers::write_tar(&spec, BufWriter::new(File::create(&tar_path)?)).map_err(to_err)?;
    let tar_size = fs::metadata(&tar_path)?.len();
    let nfiles = walk_count(&layer);
    let mut rows = Vec::new();

    // CNB_BENCH_ONLY=<text>[,<text>…]: run only the rows whose label contains one of the
    // texts (for profiling or a quick focused run).
    let only: Option<Vec<String>> = std::env::var("CNB_BENCH_ONLY")
        .ok()
        .map(|o| o.split(',').map(|t| t.to_lowercase()).collect());
    let wanted = |what: &str| {
        only.as_ref()
            .is_none_or(|o| o.iter().any(|t| what.to_lowercase().contains(t.as_str())))
    };
    let measure = |what: &str,
                   rows: &mut Vec<Row>,
                   f: &mut dyn FnMut() -> io::Result<Option<u64>>|
     -> io::Result<()> {
        if !wanted(what) {
            return Ok(());
        }
        reset_peak_rss();
        let (out, d, cpu) = best(runs, &mut *f);
        let out = out?;
        rows.push(Row {
            what: what.to_string(),
            mbps: mb(tar_size) / d.as_secs_f64(),
            secs: d.as_secs_f64(),
            cpu,
            out_mb: out.map(mb),
            rss: Some(peak_rss_mb()),
        });
        Ok(())
    };

    measure("tar + sha256 (diffID only)", &mut rows, &mut || {
        layers::diff_id(&spec).map_err(to_err)?;
        Ok(None)
    })?;
    for c in [
        Compression::None,
        Compression::Gzip(1),
        Compression::Gzip(2),
        Compression::Gzip(3),
        Compression::Gzip(6),
        Compression::Zstd(1),
        Compression::Zstd(3),
    ] {
        let blob = base.path().join("blob");
        measure(
            &format!("tar + diffID + {c:?} + digest → file"),
            &mut rows,
            &mut || {
                let f = BufWriter::new(File::create(&blob)?);
                let info = layers::write_layer(&spec, c, f).map_err(to_err)?;
                Ok(Some(info.size))
            },
        )?;
        if matches!(c, Compression::Gzip(1) | Compression::Zstd(3)) && blob.exists() {
            let keep = base.path().join(format!("blob-{c:?}"));
            fs::rename(&blob, &keep)?;
        }
    }
    // Issue #4: "hash first, compress only layers that must be written" — the cost of
    // that order for a layer that does have to be written (diff_id pass, then write_layer).
    for c in [Compression::Gzip(1), Compression::Zstd(3)] {
        let blob = base.path().join("blob");
        measure(
            &format!("diff_id pass, then write_layer {c:?} → file"),
            &mut rows,
            &mut || {
                layers::diff_id(&spec).map_err(to_err)?;
                let f = BufWriter::new(File::create(&blob)?);
                let info = layers::write_layer(&spec, c, f).map_err(to_err)?;
                Ok(Some(info.size))
            },
        )?;
    }
    for (label, file, mt) in [
        (
            "extract tar (verify diffID)",
            tar_path.clone(),
            Compression::None,
        ),
        (
            "extract Gzip(1) (verify both)",
            base.path().join("blob-Gzip(1)"),
            Compression::Gzip(1),
        ),
        (
            "extract Zstd(3) (verify both)",
            base.path().join("blob-Zstd(3)"),
            Compression::Zstd(3),
        ),
    ] {
        let mut n = 0;
        measure(label, &mut rows, &mut || {
            // A fresh directory per run; removing the previous one would be timed too.
            n += 1;
            let out = base.path().join(format!("out-{label}-{n}"));
            let opts = ExtractOptions::new(&out, &layers_dir, "bench");
            let r = extract(
                File::open(&file)?,
                Some(mt.media_type()),
                &Expected::default(),
                &opts,
            )
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
        ("gzip -2", "gzip", vec!["-2", "-c"]),
        ("gzip -3", "gzip", vec!["-3", "-c"]),
        ("gzip -6", "gzip", vec!["-6", "-c"]),
        ("zstd -1 -T1", "zstd", vec!["-1", "-T1", "-c"]),
        ("zstd -3 -T1", "zstd", vec!["-3", "-T1", "-c"]),
        ("zstd -3 -T0 (all cores)", "zstd", vec!["-3", "-T0", "-c"]),
    ] {
        if !wanted(label) {
            continue;
        }
        let d = (0..runs)
            .filter_map(|_| tool(cmd, &args, &tar_path))
            .min_by(|a, b| a.0.cmp(&b.0));
        refs.push((label.to_string(), d));
    }
    let out = base.path().join("out-tar");
    let tar_runs = if wanted("GNU tar -xf") { runs } else { 0 };
    let d = (0..tar_runs)
        .filter_map(|_| {
            let _ = fs::remove_dir_all(&out);
            fs::create_dir_all(&out).ok()?;
            gnu_tar(&["-xf"], &tar_path, &out).ok()
        })
        .min_by(|a, b| a.0.cmp(&b.0));
    refs.push(("GNU tar -xf".to_string(), d));

    let mut fresh = Vec::new();
    for what in ["diffid", "none", "gzip:1", "zstd:1", "zstd:3", "zstd:19"] {
        if wanted(what) || wanted("rss") {
            fresh.push((what, fresh_rss(what, &layer)));
        }
    }

    println!("load average at start: {load_start}, at end: {}", loadavg());
    println!(
        "\nLayer engine benchmark: tree {:.0} MB in {} entries (tar {:.1} MB), {} core(s), best of {runs}\n",
        size_mb as f64,
        nfiles,
        mb(tar_size),
        layers::parallel::default_jobs()
    );
    println!(
        "| operation | MB/s of tar | seconds | CPU seconds | output MB (or entries) | peak RSS MB |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {:.0} |",
            r.what,
            r.mbps,
            r.secs,
            r.cpu,
            r.out_mb
                .map_or("-".into(), |m| if r.what.starts_with("extract") {
                    format!("{:.0} entries", m * 1e6)
                } else {
                    format!("{m:.1}")
                }),
            r.rss.unwrap_or(0.0)
        );
    }
    println!("\n| reference process on the same tar | MB/s | seconds | CPU seconds |");
    println!("|---|---:|---:|---:|");
    for (label, d) in refs {
        match d {
            Some((d, cpu)) => println!(
                "| {label} | {:.0} | {:.2} | {cpu:.2} |",
                mb(tar_size) / d.as_secs_f64(),
                d.as_secs_f64()
            ),
            None => println!("| {label} | n/a | n/a | n/a |"),
        }
    }
    println!("\n| one layer written to a sink by a fresh process | peak RSS MB |");
    println!("|---|---:|");
    for (what, rss) in fresh {
        match rss {
            Some(r) => println!("| {what} | {r:.1} |"),
            None => println!("| {what} | n/a |"),
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
