//! The reading half of extraction, on its own thread: read the blob, hash it (digest),
//! decode it (media type or magic bytes decide), hash the decoded tar (diffID), and hand the
//! tar bytes over in chunks through a bounded channel. The thread that writes files then
//! only parses headers and makes syscalls, while sha256 and decompression run beside it.
//! Memory stays bounded: at most `DEPTH + 2` chunks exist at once, and they are recycled.

use crate::archive::compress::Decoder;
use crate::digest::{Digest, Hasher, HashingReader};
use std::io::{self, BufReader, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender};

const CHUNK: usize = 256 * 1024;
const DEPTH: usize = 4;

/// What the reading thread learnt once the blob ended.
pub(super) struct Digests {
    pub digest: Digest,
    pub size: u64,
    pub diff_id: Digest,
}

/// The consumer side: a `Read` over the chunks the producer sends.
pub(super) struct ChunkReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    free: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

/// The producer's ends: chunks (or the error that ended the stream) out, spent buffers back.
pub(super) type ProducerEnds = (SyncSender<io::Result<Vec<u8>>>, Receiver<Vec<u8>>);

/// Creates the channel pair: the reader for the writing thread and the ends the producer
/// ([`produce`]) needs.
pub(super) fn channel() -> (ChunkReader, ProducerEnds) {
    let (tx, rx) = std::sync::mpsc::sync_channel(DEPTH);
    let (free_tx, free_rx) = std::sync::mpsc::channel();
    (
        ChunkReader {
            rx,
            free: free_tx,
            cur: Vec::new(),
            pos: 0,
        },
        (tx, free_rx),
    )
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    let old = std::mem::replace(&mut self.cur, next);
                    self.pos = 0;
                    if old.capacity() == CHUNK {
                        // The producer may be gone already; then the buffer is just dropped.
                        let _ = self.free.send(old);
                    }
                }
                Ok(Err(e)) => return Err(e),
                // The producer is done (EOF) or gone after reporting its error.
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
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
    (tx, free): ProducerEnds,
) -> io::Result<Digests> {
    let fail = |e: io::Error| {
        let msg = io::Error::new(e.kind(), e.to_string());
        let _ = tx.send(Err(e));
        msg
    };
    let raw = BufReader::with_capacity(CHUNK, HashingReader::new(blob));
    let mut dec = Decoder::new(media_type, raw).map_err(fail)?;
    // An uncompressed blob is its own tar: one sha256 pass gives digest and diffID.
    let mut tar_hash = (!matches!(dec, Decoder::Tar(_))).then(Hasher::new);
    loop {
        let mut buf = free.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let n = fill(&mut dec, &mut buf).map_err(fail)?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        if let Some(h) = &mut tar_hash {
            h.update(&buf);
        }
        if tx.send(Ok(buf)).is_err() {
            return Err(io::Error::other("extraction stopped"));
        }
    }
    let mut raw = dec.into_inner();
    // Whatever follows the compressed stream is part of the blob (and of its digest).
    io::copy(&mut raw, &mut io::sink()).map_err(fail)?;
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
