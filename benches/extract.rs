//! Extraction throughput next to GNU tar extracting the very same blobs in the same run.
//!
//! `cargo bench -p cnb --bench extract` (default ~400 MB tree: `testtree::build_bench_tree`,
//! ~50k small files + 4 large binaries). Knobs: `CNB_BENCH_MB` (tree size), `CNB_BENCH_RUNS`
//! (runs per row, default 3; rows are interleaved run by run so load changes hit all rows
//! alike), `CNB_BENCH_DIR` (where tree, blobs and output go; use tmpfs to take the disk
//! out), `CNB_BENCH_ONLY=tar` (only the uncompressed rows).
//!
//! Each row reports the best wall time (MB/s of uncompressed tar) and the CPU seconds
//! (user + system, whole process incl. helper threads; `RUSAGE_CHILDREN` for GNU tar and
//! its decompressor) of that best run. As root both sides restore ownership and modes.

mod support;

use cnb::archive::{Compression, Expected, ExtractOptions, Owner, extract};
use cnb::layers::{self, LayerSpec};
use std::fs::{self, File};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;
use support::{bench_dir, bench_layer, cpu_secs, env_num, gnu_tar, loadavg};

struct Row {
    what: String,
    blob: PathBuf,
    media_type: &'static str,
    gnu: Option<Vec<&'static str>>,
    best: Option<(f64, f64)>,
}

fn run_once(row: &Row, out: &Path, layers_dir: &Path) -> io::Result<(f64, f64)> {
    fs::create_dir_all(out)?;
    match &row.gnu {
        None => {
            let c0 = cpu_secs();
            let t = Instant::now();
            let opts = ExtractOptions::new(out, layers_dir, "bench");
            let expect = Expected::default();
            extract(File::open(&row.blob)?, Some(row.media_type), &expect, &opts)
                .map_err(|e| io::Error::other(e.to_string()))?;
            Ok((t.elapsed().as_secs_f64(), cpu_secs() - c0))
        }
        Some(args) => {
            let (d, cpu) = gnu_tar(args, &row.blob, out)?;
            Ok((d.as_secs_f64(), cpu))
        }
    }
}

fn main() -> io::Result<()> {
    let size_mb = env_num("CNB_BENCH_MB").unwrap_or(400);
    let runs = env_num("CNB_BENCH_RUNS").unwrap_or(3);
    let only_tar = std::env::var("CNB_BENCH_ONLY").is_ok_and(|v| v == "tar");
    let base = bench_dir()?;
    let (layers_dir, layer) = bench_layer(base.path(), size_mb)?;
    let spec = LayerSpec::dir(&layer, Owner::new(1000, 1000));
    let to_err = |e: layers::LayerError| io::Error::other(e.to_string());

    let mut rows = Vec::new();
    let mut tar_size = 0;
    let mut entries = 0;
    for c in [
        Compression::None,
        Compression::Zstd(3),
        Compression::Gzip(1),
    ] {
        if only_tar && c != Compression::None {
            continue;
        }
        let blob = base.path().join(format!("blob-{c:?}"));
        let info =
            layers::write_layer(&spec, c, BufWriter::new(File::create(&blob)?)).map_err(to_err)?;
        if c == Compression::None {
            tar_size = info.tar_size;
            let out = base.path().join("count");
            let opts = ExtractOptions::new(&out, &layers_dir, "bench");
            entries = extract(File::open(&blob)?, None, &Expected::default(), &opts)
                .map_err(|e| io::Error::other(e.to_string()))?
                .entries;
            fs::remove_dir_all(&out)?;
        }
        let gnu: Vec<&'static str> = match c {
            Compression::None => vec!["-xf"],
            Compression::Zstd(_) => vec!["--zstd", "-xf"],
            Compression::Gzip(_) => vec!["-xzf"],
        };
        rows.push(Row {
            what: format!("cnb extract, {c:?} (digest + diffID verified)"),
            blob: blob.clone(),
            media_type: c.media_type(),
            gnu: None,
            best: None,
        });
        rows.push(Row {
            what: format!("GNU tar {}", gnu.join(" ")),
            blob,
            media_type: c.media_type(),
            gnu: Some(gnu),
            best: None,
        });
    }

    let load_before = loadavg();
    for run in 0..runs {
        for (i, row) in rows.iter_mut().enumerate() {
            let out = base.path().join(format!("out-{i}-{run}"));
            let r = run_once(row, &out, &layers_dir)?;
            fs::remove_dir_all(&out)?;
            if row.best.is_none_or(|b| r.0 < b.0) {
                row.best = Some(r);
            }
        }
    }
    let load_after = loadavg();

    println!(
        "\nExtraction benchmark: tar {:.1} MB, {entries} entries, best of {runs}, \
         load average before {load_before}, after {load_after}\n",
        tar_size as f64 / 1e6
    );
    println!("| operation | MB/s of tar | seconds | CPU s | ratio to GNU tar (wall) |");
    println!("|---|---:|---:|---:|---:|");
    for pair in rows.chunks(2) {
        let gnu = pair[1].best.map_or(f64::NAN, |b| b.0);
        for row in pair {
            let (secs, cpu) = row.best.unwrap_or((f64::NAN, f64::NAN));
            println!(
                "| {} | {:.0} | {secs:.2} | {cpu:.2} | {:.2} |",
                row.what,
                tar_size as f64 / 1e6 / secs,
                gnu / secs
            );
        }
    }
    Ok(())
}
