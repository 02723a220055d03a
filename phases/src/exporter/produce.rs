//! Producing layers: first every layer that may be reused is only hashed (its diffID, nothing
//! written), then only what is not reused is written, straight from its files: a layer new
//! to the app image is tarred, hashed, gzipped and hashed again in one pass into its upload; a
//! layer new to the cache is streamed into the cache. A layer nothing can reuse (no previous
//! image or cache entry of its name) skips the first pass: its diffID comes from the write.
//! Nothing is written to a temporary file (Go's `layers.Factory` writes every layer as a tar
//! file first).

use cnb::archive::compress::DEFAULT_GZIP_LEVEL;
use cnb::archive::pgzip::ParallelGzip;
use cnb::archive::{EntryKind, Owner, TarHeader, TarWriter};
use cnb::digest::{Digest, HashingWriter};
use cnb::layers::{LayerError, LayerSpec, write_tar, write_tar_with};
use cnb::pipe::PipeWriter;
use std::fs::File;
use std::io::{self, Write};
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
    /// Whether to hash it before deciding (a previous image or cache may have it).
    pub hash_first: bool,
}

/// A layer ready to be decided on.
#[derive(Clone, Debug)]
pub struct Produced {
    pub id: String,
    pub created_by: String,
    pub source: Source,
    /// From the first pass; `None` when it was skipped (then the layer is new everywhere and
    /// its diffID is known once it is written).
    pub diff_id: Option<Digest>,
}

/// Writes the tar of `source` to `w` (entries + end marker).
pub fn write_source<W: Write>(source: &Source, w: W) -> Result<W, LayerError> {
    match source {
        Source::Spec(spec) => write_tar(spec, w),
        Source::Launcher(path) => write_tar_with(w, |tw| launcher_entries(tw, path)),
        Source::ProcessTypes(types) => write_tar_with(w, |tw| process_entries(tw, types)),
    }
}

/// Hashes the tar of `job` without writing it anywhere, when it asks for it.
pub fn hash(job: Job) -> Result<Produced, String> {
    let diff_id = if job.hash_first {
        let w = write_source(&job.source, HashingWriter::new(io::sink()))
            .map_err(|e| format!("creating layer '{}': {e}", job.id))?;
        Some(w.finish().1)
    } else {
        None
    };
    Ok(Produced {
        id: job.id,
        created_by: job.created_by,
        source: job.source,
        diff_id,
    })
}

/// A layer's files changed between hashing and writing: refuse to export a lie.
pub fn check_same(p: &Produced, found: &Digest) -> Result<(), String> {
    match &p.diff_id {
        Some(d) if d != found => Err(format!(
            "creating layer '{}': contents changed while exporting (diffID {d} then {found})",
            p.id
        )),
        _ => Ok(()),
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

/// Tars, hashes, gzips and hashes `p` again in one pass into `out` (the pipe to its upload)
/// and closes it; returns the layer's diffID and the blob's digest and size. The gzip runs on all cores
/// (`cnb::archive::pgzip`: independent 1 MiB blocks, so a big layer does not wait on one
/// core; the bytes do not depend on the core count). The tar must still hash to the diffID
/// found before, if any; on any error `out` is dropped unclosed, so the upload fails instead of
/// storing a partial blob.
pub fn stream_compressed(p: &Produced, out: PipeWriter) -> Result<(Digest, Digest, u64), String> {
    let err = |e: &dyn std::fmt::Display| format!("creating layer '{}': {e}", p.id);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let enc = ParallelGzip::new(HashingWriter::new(out), DEFAULT_GZIP_LEVEL, workers);
    let w = write_source(&p.source, HashingWriter::new(enc)).map_err(|e| err(&e))?;
    let (enc, diff_id, _) = w.finish();
    check_same(p, &diff_id)?;
    let sink = enc.finish().map_err(|e| err(&e))?;
    let (pipe, digest, size) = sink.finish();
    pipe.close().map_err(|e| err(&e))?;
    Ok((diff_id, digest, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &Path) -> Job {
        Job {
            id: "bp:layer".into(),
            created_by: "test".into(),
            source: Source::Spec(LayerSpec::dir(dir, Owner::new(1, 2))),
            hash_first: true,
        }
    }

    type Streamed = Result<(Digest, Digest, u64), String>;

    /// Runs `stream_compressed` with a reader collecting the blob.
    fn blob_of(p: &Produced) -> (Streamed, std::io::Result<Vec<u8>>) {
        let (w, mut r) = cnb::pipe::pipe_sized(4096, 2);
        let reader = std::thread::spawn(move || {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut v).map(|_| v)
        });
        let res = stream_compressed(p, w);
        (res, reader.join().unwrap())
    }

    #[test]
    fn streamed_blob_is_whole_gzip_and_reproducible() {
        let t = tempfile::tempdir().unwrap();
        let layer = t.path().join("layer");
        std::fs::create_dir_all(layer.join("sub")).unwrap();
        std::fs::write(layer.join("sub/f"), vec![7u8; 300_000]).unwrap();
        let p = hash(job(&layer)).unwrap();
        let expected = cnb::layers::diff_id(&LayerSpec::dir(&layer, Owner::new(1, 2))).unwrap();
        assert_eq!(p.diff_id.as_ref(), Some(&expected));
        let (res, bytes) = blob_of(&p);
        let (diff_id, digest, size) = res.unwrap();
        assert_eq!(diff_id, expected);
        let bytes = bytes.unwrap();
        assert_eq!(
            (Digest::of(&bytes), bytes.len() as u64),
            (digest.clone(), size)
        );
        let mut tar = Vec::new();
        let mut dec = cnb::archive::Decoder::new(None, &bytes[..]).unwrap();
        assert!(matches!(dec, cnb::archive::Decoder::Gzip(_)));
        std::io::Read::read_to_end(&mut dec, &mut tar).unwrap();
        assert_eq!(Digest::of(&tar), expected);
        assert_eq!(blob_of(&p).0.unwrap().1, digest, "same files, same blob");
        // Without the first pass: no diffID up front, the same one from the write.
        let unhashed = hash(Job {
            hash_first: false,
            ..job(&layer)
        })
        .unwrap();
        assert_eq!(unhashed.diff_id, None);
        assert_eq!(
            blob_of(&unhashed).0.unwrap(),
            (expected, digest, size),
            "same layer, same blob, diffID from the write"
        );
    }

    #[test]
    fn contents_changed_after_hashing_fails_the_stream() {
        let t = tempfile::tempdir().unwrap();
        let layer = t.path().join("layer");
        std::fs::create_dir_all(&layer).unwrap();
        std::fs::write(layer.join("f"), "a").unwrap();
        let p = hash(job(&layer)).unwrap();
        std::fs::write(layer.join("f"), "b").unwrap();
        let (res, read) = blob_of(&p);
        let e = res.unwrap_err();
        assert!(e.contains("contents changed while exporting"), "{e}");
        assert!(
            read.is_err(),
            "the upload side sees an error, not a clean end"
        );
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
