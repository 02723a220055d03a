//! Measurement helpers shared by the benches (`mod support;` in each; a subdirectory so Cargo
//! does not take it for a bench target). Not every bench uses every helper.
#![allow(dead_code)]

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A numeric knob from the environment (`CNB_BENCH_MB`, `CNB_BENCH_RUNS`, …).
pub fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The scratch directory: below `CNB_BENCH_DIR` if set, else below $TMPDIR.
pub fn bench_dir() -> io::Result<tempfile::TempDir> {
    match std::env::var_os("CNB_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d),
        None => tempfile::tempdir(),
    }
}

/// Bytes in (decimal) MB.
pub fn mb(n: u64) -> f64 {
    n as f64 / 1e6
}

/// The three load averages from /proc/loadavg.
pub fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resets this process's peak RSS (VmHWM) so the next reading covers what follows.
pub fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0).
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak RSS (VmHWM) in MB (MiB-based, as the kernel counts kB).
pub fn peak_rss_mb() -> f64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rusage_secs(who: libc::c_int) -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// CPU seconds (user + system) used so far by all threads of this process.
pub fn cpu_secs() -> f64 {
    rusage_secs(libc::RUSAGE_SELF)
}

/// CPU seconds (user + system) used so far by waited-for child processes.
pub fn child_cpu_secs() -> f64 {
    rusage_secs(libc::RUSAGE_CHILDREN)
}

/// Runs `cmd` to completion: its wall time and CPU seconds, or an error naming it if it
/// could not start or failed.
pub fn run_child(cmd: &mut Command) -> io::Result<(Duration, f64)> {
    let c = child_cpu_secs();
    let t = Instant::now();
    let st = cmd.status()?;
    let d = t.elapsed();
    if !st.success() {
        return Err(io::Error::other(format!("{cmd:?} failed: {st}")));
    }
    Ok((d, child_cpu_secs() - c))
}

/// GNU `tar <args> <archive> -C <out>` (stderr dropped): wall time and CPU seconds of tar and
/// its decompressor.
pub fn gnu_tar(args: &[&str], archive: &Path, out: &Path) -> io::Result<(Duration, f64)> {
    run_child(
        Command::new("tar")
            .args(args)
            .arg(archive)
            .arg("-C")
            .arg(out)
            .stderr(Stdio::null()),
    )
}

/// The bench layer `<base>/layers/bp/layer`, filled by `testtree::build_bench_tree` with
/// about `size_mb` MB: (layers dir, layer dir).
pub fn bench_layer(base: &Path, size_mb: u64) -> io::Result<(PathBuf, PathBuf)> {
    let layers_dir = base.join("layers");
    let layer = layers_dir.join("bp/layer");
    fs::create_dir_all(layers_dir.join("bp"))?;
    cnb::layers::testtree::build_bench_tree(&layer, size_mb * 1_000_000)?;
    Ok((layers_dir, layer))
}
