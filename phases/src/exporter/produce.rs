//! Producing layers once: each layer's uncompressed tar is written to the artifacts dir while
//! its diffID is hashed (Go `layers.Factory` writes the same tar file). The app image then
//! compresses only the layers it does not reuse; the cache reads the same tar file.

use cnb::archive::{EntryKind, Owner, TarHeader, TarWriter};
use cnb::digest::{Digest, HashingWriter};
use cnb::layers::{LayerError, LayerSpec, write_tar, write_tar_with};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// `/cnb/lifecycle/launcher` and friends (Go `launch` constants).
pub const CNB_DIR: &str = "/cnb";
pub const LIFECYCLE_DIR: &str = "/cnb/lifecycle";
pub const LAUNCHER_PATH: &str = "/cnb/lifecycle/launcher";
pub const PROCESS_DIR: &str = "/cnb/process";

/// What a layer is made of.
pub enum Source {
    Spec(LayerSpec),
    /// The launcher binary at `/cnb/lifecycle/launcher` (root, 0755) under `/cnb`, `/cnb/lifecycle`.
    Launcher(PathBuf),
    /// `/cnb/process/<type>` symlinks to the launcher.
    ProcessTypes(Vec<String>),
}

/// A layer to produce: Go's `layers.Layer` before it is written.
pub struct Job {
    /// `<bp>:<layer>`, `buildpacksio/lifecycle:launcher`, `slice-1`, …
    pub id: String,
    pub created_by: String,
    pub source: Source,
}

/// A written layer tar.
#[derive(Clone, Debug)]
pub struct Produced {
    pub id: String,
    pub created_by: String,
    pub tar: PathBuf,
    pub diff_id: Digest,
}

/// Writes the tar of `job` as `<dir>/<n>.tar` and hashes it.
pub fn produce(job: Job, dir: &Path, n: usize) -> Result<Produced, String> {
    let tar = dir.join(format!("{n}.tar"));
    let file = File::create(&tar).map_err(|e| format!("create {}: {e}", tar.display()))?;
    let w = HashingWriter::new(BufWriter::new(file));
    let res: Result<HashingWriter<BufWriter<File>>, LayerError> = match &job.source {
        Source::Spec(spec) => write_tar(spec, w),
        Source::Launcher(path) => write_tar_with(w, |tw| launcher_entries(tw, path)),
        Source::ProcessTypes(types) => write_tar_with(w, |tw| process_entries(tw, types)),
    };
    let w = res.map_err(|e| format!("creating layer '{}': {e}", job.id))?;
    let (mut buf, diff_id, _) = w.finish();
    buf.flush()
        .map_err(|e| format!("creating layer '{}': {e}", job.id))?;
    Ok(Produced {
        id: job.id,
        created_by: job.created_by,
        tar,
        diff_id,
    })
}

fn dir_header(name: &str) -> TarHeader {
    TarHeader::new(name.as_bytes().to_vec(), EntryKind::Directory, 0o755)
}

fn launcher_entries<W: Write>(tw: &mut TarWriter<W>, path: &Path) -> Result<(), LayerError> {
    let wrap = |e: io::Error| LayerError::io(path, e);
    let meta = std::fs::metadata(path).map_err(|e| {
        LayerError::Task(format!(
            "failed to stat launcher at path '{}': {e}",
            path.display()
        ))
    })?;
    tw.append_header(&dir_header(CNB_DIR)).map_err(wrap)?;
    tw.append_header(&dir_header(LIFECYCLE_DIR)).map_err(wrap)?;
    let mut h = TarHeader::new(LAUNCHER_PATH.as_bytes().to_vec(), EntryKind::Regular, 0o755);
    h.size = meta.len();
    let mut f = File::open(path).map_err(|e| {
        LayerError::Task(format!(
            "failed to open launcher at path '{}': {e}",
            path.display()
        ))
    })?;
    tw.append(&h, &mut f).map_err(wrap)
}

fn process_entries<W: Write>(tw: &mut TarWriter<W>, types: &[String]) -> Result<(), LayerError> {
    let wrap = |e: io::Error| LayerError::Write(e);
    tw.append_header(&dir_header(CNB_DIR)).map_err(wrap)?;
    tw.append_header(&dir_header(PROCESS_DIR)).map_err(wrap)?;
    for t in types {
        let mut h = TarHeader::new(
            format!("{PROCESS_DIR}/{t}").into_bytes(),
            EntryKind::Symlink,
            0o755,
        );
        h.link_name = LAUNCHER_PATH.as_bytes().to_vec();
        tw.append_header(&h).map_err(wrap)?;
    }
    Ok(())
}

/// Go `validateProcessType`.
pub fn validate_process_type(t: &str) -> Result<(), String> {
    if t.is_empty() {
        return Err("type is required for all processes".into());
    }
    let forbidden = r"/><:|&\";
    if t.chars().any(|c| forbidden.contains(c)) {
        return Err(format!(
            "invalid process type '{t}': type may not contain characters '{forbidden}'"
        ));
    }
    Ok(())
}

/// The layer owner Go's factory forces (`-uid`/`-gid`; negative values never reach here).
pub fn owner(uid: i64, gid: i64) -> Owner {
    Owner::new(u64::try_from(uid).unwrap_or(0), u64::try_from(gid).unwrap_or(0))
}

/// A compressed blob of a produced layer.
pub struct Blob {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

/// Compresses `tar` into `<tar>.gz` (gzip, the default level), hashing the blob.
pub fn compress(tar: &Path) -> Result<Blob, String> {
    let mut out = tar.as_os_str().to_owned();
    out.push(".gz");
    let out = PathBuf::from(out);
    let err = |e: io::Error| format!("compress {}: {e}", tar.display());
    let mut src = File::open(tar).map_err(err)?;
    let dst = HashingWriter::new(BufWriter::new(File::create(&out).map_err(err)?));
    let mut enc = cnb::archive::Compression::default()
        .encoder(dst)
        .map_err(err)?;
    io::copy(&mut src, &mut enc).map_err(err)?;
    let dst = enc.finish().map_err(err)?;
    let (mut buf, digest, size) = dst.finish();
    buf.flush().map_err(err)?;
    Ok(Blob {
        path: out,
        digest,
        size,
    })
}
