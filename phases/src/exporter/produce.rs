//! Producing layers: first every layer is only hashed (its diffID, nothing written), then
//! only what is not reused is written. A layer new to the app image only is tarred, hashed and
//! gzipped in one pass into a compressed spool file; a layer new to the cache only is streamed
//! into the cache; a layer new to both is written once as an uncompressed tar in the artifacts
//! dir (as Go's `layers.Factory` does for every layer) that both read.

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
#[derive(Clone, Debug)]
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

/// A hashed layer; `tar` is set once its uncompressed tar was written to disk.
#[derive(Clone, Debug)]
pub struct Produced {
    pub id: String,
    pub created_by: String,
    pub source: Source,
    pub diff_id: Digest,
    pub tar: Option<PathBuf>,
}

/// Writes the tar of `source` to `w` (entries + end marker).
pub fn write_source<W: Write>(source: &Source, w: W) -> Result<W, LayerError> {
    match source {
        Source::Spec(spec) => write_tar(spec, w),
        Source::Launcher(path) => write_tar_with(w, |tw| launcher_entries(tw, path)),
        Source::ProcessTypes(types) => write_tar_with(w, |tw| process_entries(tw, types)),
    }
}

/// Hashes the tar of `job` without writing it anywhere.
pub fn hash(job: Job) -> Result<Produced, String> {
    let w = write_source(&job.source, HashingWriter::new(io::sink()))
        .map_err(|e| format!("creating layer '{}': {e}", job.id))?;
    let (_, diff_id, _) = w.finish();
    Ok(Produced {
        id: job.id,
        created_by: job.created_by,
        source: job.source,
        diff_id,
        tar: None,
    })
}

/// Writes the uncompressed tar of `p` as `<dir>/<n>.tar`; the content must still hash to the
/// diffID found before.
pub fn write_tar_file(p: &mut Produced, dir: &Path, n: usize) -> Result<(), String> {
    let tar = dir.join(format!("{n}.tar"));
    let err = |e: &dyn std::fmt::Display| format!("creating layer '{}': {e}", p.id);
    let file = File::create(&tar).map_err(|e| err(&e))?;
    let w =
        write_source(&p.source, HashingWriter::new(BufWriter::new(file))).map_err(|e| err(&e))?;
    let (mut buf, diff_id, _) = w.finish();
    buf.flush().map_err(|e| err(&e))?;
    check_same(p, &diff_id)?;
    p.tar = Some(tar);
    Ok(())
}

/// A layer's files changed between hashing and writing: refuse to export a lie.
pub fn check_same(p: &Produced, found: &Digest) -> Result<(), String> {
    if *found == p.diff_id {
        Ok(())
    } else {
        Err(format!(
            "creating layer '{}': contents changed while exporting (diffID {} then {found})",
            p.id, p.diff_id
        ))
    }
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
    Owner::new(
        u64::try_from(uid).unwrap_or(0),
        u64::try_from(gid).unwrap_or(0),
    )
}

/// A compressed blob of a produced layer.
pub struct Blob {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

/// Size of the blocks the gzip encoder is fed. The encoder's output depends on how its input
/// is cut into writes, so both ways of making a blob (from a tar file, or tarring straight
/// into it) cut it the same way: a layer gets the same blob digest either way.
const ENCODER_BLOCK: usize = 64 * 1024;

/// Passes bytes on in blocks of exactly `ENCODER_BLOCK` (the last one shorter).
struct Rechunk<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Rechunk<W> {
    fn new(inner: W) -> Self {
        Rechunk {
            inner,
            buf: Vec::with_capacity(ENCODER_BLOCK),
        }
    }

    fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Rechunk<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = (ENCODER_BLOCK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == ENCODER_BLOCK {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(n)
    }

    /// Block boundaries must not depend on flushes: nothing is passed on here.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

type Sink = HashingWriter<BufWriter<File>>;

fn encoder(out: &Path) -> io::Result<Rechunk<cnb::archive::Encoder<Sink>>> {
    let sink = HashingWriter::new(BufWriter::new(File::create(out)?));
    Ok(Rechunk::new(
        cnb::archive::Compression::default().encoder(sink)?,
    ))
}

fn finish_blob(enc: Rechunk<cnb::archive::Encoder<Sink>>, out: PathBuf) -> io::Result<Blob> {
    let sink = enc.finish()?.finish()?;
    let (mut buf, digest, size) = sink.finish();
    buf.flush()?;
    Ok(Blob {
        path: out,
        digest,
        size,
    })
}

/// The gzip blob of `p` as `<dir>/<n>.gz`: compressed from its tar file when there is one,
/// else tarred, hashed and compressed in one pass (no uncompressed bytes on disk).
pub fn compressed(p: &Produced, dir: &Path, n: usize) -> Result<Blob, String> {
    let out = dir.join(format!("{n}.gz"));
    let err = |e: &dyn std::fmt::Display| format!("creating layer '{}': {e}", p.id);
    let enc = encoder(&out).map_err(|e| err(&e))?;
    let enc = match &p.tar {
        Some(tar) => {
            let mut enc = enc;
            let mut src = File::open(tar).map_err(|e| err(&e))?;
            io::copy(&mut src, &mut enc).map_err(|e| err(&e))?;
            enc
        }
        None => {
            let w = write_source(&p.source, HashingWriter::new(enc)).map_err(|e| err(&e))?;
            let (enc, diff_id, _) = w.finish();
            check_same(p, &diff_id)?;
            enc
        }
    };
    finish_blob(enc, out).map_err(|e| err(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &Path) -> Job {
        Job {
            id: "bp:layer".into(),
            created_by: "test".into(),
            source: Source::Spec(LayerSpec::dir(dir, Owner::new(1, 2))),
        }
    }

    #[test]
    fn streamed_and_spooled_paths_give_the_same_blob() {
        let t = tempfile::tempdir().unwrap();
        let layer = t.path().join("layer");
        std::fs::create_dir_all(layer.join("sub")).unwrap();
        std::fs::write(layer.join("sub/f"), vec![7u8; 100_000]).unwrap();
        let out = t.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let p = hash(job(&layer)).unwrap();
        assert_eq!(
            p.diff_id,
            cnb::layers::diff_id(&LayerSpec::dir(&layer, Owner::new(1, 2))).unwrap()
        );
        let streamed = compressed(&p, &out, 0).unwrap();
        let mut q = p.clone();
        write_tar_file(&mut q, &out, 1).unwrap();
        let tar = q.tar.clone().unwrap();
        assert_eq!(Digest::of(&std::fs::read(&tar).unwrap()), p.diff_id);
        let spooled = compressed(&q, &out, 2).unwrap();
        assert_eq!(
            (streamed.digest, streamed.size),
            (spooled.digest.clone(), spooled.size)
        );
        assert_eq!(
            Digest::of(&std::fs::read(&spooled.path).unwrap()),
            spooled.digest
        );
    }

    #[test]
    fn contents_changed_after_hashing_is_an_error() {
        let t = tempfile::tempdir().unwrap();
        let layer = t.path().join("layer");
        std::fs::create_dir_all(&layer).unwrap();
        std::fs::write(layer.join("f"), "a").unwrap();
        let mut p = hash(job(&layer)).unwrap();
        std::fs::write(layer.join("f"), "b").unwrap();
        let e = write_tar_file(&mut p, t.path(), 0).unwrap_err();
        assert!(e.contains("contents changed while exporting"), "{e}");
        assert!(compressed(&p, t.path(), 1).is_err());
    }

    #[test]
    fn process_types_are_validated_like_go() {
        assert!(validate_process_type("web").is_ok());
        assert_eq!(
            validate_process_type("a/b").unwrap_err(),
            r"invalid process type 'a/b': type may not contain characters '/><:|&\'"
        );
        assert!(validate_process_type("").is_err());
    }
}
