//! The reading half of extraction, on its own thread: read the blob, hash it (digest),
//! decode it (media type or magic bytes decide), hash the decoded tar (diffID), and hand the
//! tar bytes over in chunks through a bounded channel. The thread that writes files then
//! only parses headers and makes syscalls, while sha256 and decompression run beside it.
//! Memory stays bounded: at most `DEPTH + 2` chunks exist at once, and they are recycled
//! (`crate::pipe`).

use crate::archive::compress::Decoder;
use crate::digest::{Digest, Hasher, HashingReader};
use crate::pipe::{PipeReader, PipeWriter};
use std::io::{self, BufReader, Read};

const CHUNK: usize = 256 * 1024;
const DEPTH: usize = 4;

/// What the reading thread learnt once the blob ended.
pub(super) struct Digests {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
}

/// Creates the pipe: the reader for the writing thread, the writer for [`produce`].
pub(super) fn channel() -> (PipeReader, PipeWriter) {
    let (w, r) = crate::pipe::pipe_sized(CHUNK, DEPTH);
    (r, w)
}

/// Reads until `buf` is full or the stream ends.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The producer: runs until the blob ends, an error occurs (sent to the consumer, then
/// returned) or the consumer hangs up.
pub(super) fn produce<R: Read>(
    blob: R,
    media_type: Option<&str>,
    mut out: PipeWriter,
) -> io::Result<Digests> {
    match read_blob(blob, media_type, &mut out) {
        Ok(d) => {
            // A consumer that stopped early reports its own error.
            let _ = out.close();
            Ok(d)
        }
        Err(e) => {
            let copy = io::Error::new(e.kind(), e.to_string());
            out.fail(e);
            Err(copy)
        }
    }
}

fn read_blob<R: Read>(
    blob: R,
    media_type: Option<&str>,
    out: &mut PipeWriter,
) -> io::Result<Digests> {
    let raw = BufReader::with_capacity(CHUNK, HashingReader::new(blob));
    let mut dec = Decoder::new(media_type, raw)?;
    // An uncompressed blob is its own tar: one sha256 pass gives digest and diffID.
    let mut tar_hash = (!matches!(dec, Decoder::Tar(_))).then(Hasher::new);
    loop {
        let mut buf = out.spare();
        buf.resize(CHUNK, 0);
        let n = fill(&mut dec, &mut buf)?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        if let Some(h) = &mut tar_hash {
            h.update(&buf);
        }
        out.send_chunk(buf)
            .map_err(|_| io::Error::other("extraction stopped"))?;
    }
    let mut raw = dec.into_inner();
    // Whatever follows the compressed stream is part of the blob (and of its digest).
    io::copy(&mut raw, &mut io::sink())?;
    let (_, digest, size) = raw.into_inner().finish();
    let diff_id = match tar_hash {
        Some(h) => h.finish().0,
        None => digest.clone(),
    };
    Ok(Digests {
        digest,
        size,
        diff_id,
    })
}
