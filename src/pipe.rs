//! A bounded in-memory byte pipe between two threads — the one used wherever a layer moves
//! from a producer to a consumer: a layer writer (walk → tar → compress) feeding a registry
//! upload, or a blob reader (download → hash → decompress) feeding the extractor. At most
//! `depth` chunks of `chunk` bytes are in flight, and spent chunks go back to the producer to
//! be refilled, so a layer of any size moves through a few MiB and no temporary file.
//!
//! The producer either writes (`io::Write`, cut into chunks here) or fills chunks itself
//! ([`PipeWriter::spare`] + [`PipeWriter::send_chunk`]); the consumer either reads
//! (`io::Read`) or takes whole chunks ([`PipeReader::recv_chunk`] + [`PipeReader::recycle`]).
//!
//! A producer that fails calls [`PipeWriter::fail`] with its error, which the reader returns
//! as is (so an error type wrapped in it can still be recovered); a producer dropped without
//! [`PipeWriter::close`] is a failure too. A consumer never mistakes a half-written stream for
//! a whole one.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Default chunk size.
pub const CHUNK: usize = 256 * 1024;
/// Default number of chunks in flight.
pub const DEPTH: usize = 8;

enum Msg {
    Data(Vec<u8>),
    End,
    Failed(io::Error),
}

/// The producing end.
pub struct PipeWriter {
    tx: Option<SyncSender<Msg>>,
    free: Receiver<Vec<u8>>,
    buf: Vec<u8>,
    chunk: usize,
}

/// The consuming end.
pub struct PipeReader {
    rx: Receiver<Msg>,
    free: Sender<Vec<u8>>,
    chunk: usize,
    cur: Vec<u8>,
    pos: usize,
    state: ReadState,
}

enum ReadState {
    Open,
    Ended,
    /// The producer's error, returned once; later reads get a copy.
    Failed(Option<io::Error>, io::ErrorKind, String),
}

/// A pipe with the default sizes.
pub fn pipe() -> (PipeWriter, PipeReader) {
    pipe_sized(CHUNK, DEPTH)
}

/// A pipe passing chunks of `chunk` bytes, `depth` of them in flight at most.
pub fn pipe_sized(chunk: usize, depth: usize) -> (PipeWriter, PipeReader) {
    let chunk = chunk.max(1);
    let (tx, rx) = sync_channel(depth.max(1));
    let (free_tx, free_rx) = channel();
    (
        PipeWriter {
            tx: Some(tx),
            free: free_rx,
            buf: Vec::new(),
            chunk,
        },
        PipeReader {
            rx,
            free: free_tx,
            chunk,
            cur: Vec::new(),
            pos: 0,
            state: ReadState::Open,
        },
    )
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe's reader went away")
}

impl PipeWriter {
    /// The chunk size.
    pub fn chunk(&self) -> usize {
        self.chunk
    }

    /// An empty buffer with room for a chunk: a spent one sent back by the reader when there
    /// is one.
    pub fn spare(&mut self) -> Vec<u8> {
        match self.free.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Vec::with_capacity(self.chunk),
        }
    }

    fn send(&mut self, msg: Msg) -> io::Result<()> {
        match &self.tx {
            Some(tx) => tx.send(msg).map_err(|_| gone()),
            None => Err(io::Error::other("pipe already closed")),
        }
    }

    /// Sends a chunk the producer filled itself (after what `write` buffered).
    pub fn send_chunk(&mut self, data: Vec<u8>) -> io::Result<()> {
        self.send_buf()?;
        if data.is_empty() {
            return Ok(());
        }
        self.send(Msg::Data(data))
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next = self.spare();
        let full = std::mem::replace(&mut self.buf, next);
        self.send(Msg::Data(full))
    }

    /// Ends the stream cleanly: the reader sees EOF after the last byte.
    pub fn close(mut self) -> io::Result<()> {
        self.send_buf()?;
        self.send(Msg::End)?;
        self.tx = None;
        Ok(())
    }

    /// Ends the stream with `error`, which the reader returns instead of EOF.
    pub fn fail(mut self, error: io::Error) {
        let _ = self.send(Msg::Failed(error));
        self.tx = None;
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf = self.spare();
        }
        let n = (self.chunk - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.chunk {
            self.send_buf()?;
        }
        Ok(n)
    }

    /// Passes on what is buffered (the stream stays open).
    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Failed(io::Error::other(
                "the producer stopped before the end of the stream",
            )));
        }
    }
}

impl PipeReader {
    /// The next chunk; `None` at the clean end. Give it back with [`recycle`](Self::recycle)
    /// once used. Bytes already taken through `Read` are not returned again.
    pub fn recv_chunk(&mut self) -> Option<io::Result<Vec<u8>>> {
        if self.pos < self.cur.len() {
            let rest = self.cur.split_off(self.pos);
            self.pos = 0;
            self.cur.clear();
            return Some(Ok(rest));
        }
        loop {
            match &mut self.state {
                ReadState::Ended => return None,
                ReadState::Failed(first, kind, msg) => {
                    return Some(Err(first
                        .take()
                        .unwrap_or_else(|| io::Error::new(*kind, msg.clone()))));
                }
                ReadState::Open => {}
            }
            match self.rx.recv() {
                Ok(Msg::Data(d)) => return Some(Ok(d)),
                Ok(Msg::End) => self.state = ReadState::Ended,
                Ok(Msg::Failed(e)) => {
                    self.state = ReadState::Failed(None, e.kind(), e.to_string());
                    return Some(Err(e));
                }
                Err(_) => {
                    let e = io::Error::other("the producer went away without ending the stream");
                    self.state = ReadState::Failed(None, e.kind(), e.to_string());
                    return Some(Err(e));
                }
            }
        }
    }

    /// Hands a spent chunk back to the producer for refilling.
    pub fn recycle(&self, buf: Vec<u8>) {
        if buf.capacity() >= self.chunk {
            // The producer may be gone already; then the buffer is just dropped.
            let _ = self.free.send(buf);
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.recv_chunk() {
                None => return Ok(0),
                Some(Err(e)) => return Err(e),
                Some(Ok(next)) => {
                    let old = std::mem::replace(&mut self.cur, next);
                    self.pos = 0;
                    self.recycle(old);
                }
            }
        }
        let n = (self.cur.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_and_end_cleanly() {
        let (mut w, mut r) = pipe_sized(7, 2);
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let d = data.clone();
        let t = std::thread::spawn(move || {
            for part in d.chunks(13) {
                w.write_all(part).unwrap();
            }
            let mut own = w.spare();
            own.extend_from_slice(&d[..20]);
            w.send_chunk(own).unwrap();
            w.close().unwrap();
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        t.join().unwrap();
        let mut want = data.clone();
        want.extend_from_slice(&data[..20]);
        assert_eq!(got, want);
        assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 0, "stays at EOF");
    }

    #[test]
    fn chunks_are_recycled() {
        let (mut w, mut r) = pipe_sized(4, 4);
        let mut c = w.spare();
        c.extend_from_slice(b"abcd");
        w.send_chunk(c).unwrap();
        let first = r.recv_chunk().unwrap().unwrap();
        assert_eq!(first, b"abcd");
        let ptr = first.as_ptr();
        r.recycle(first);
        let again = w.spare();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), ptr, "the same allocation comes back");
        w.close().unwrap();
        assert!(r.recv_chunk().is_none());
    }

    #[test]
    fn failure_or_drop_is_an_error_not_an_eof() {
        let (mut w, mut r) = pipe_sized(4, 4);
        w.write_all(b"abcdefgh").unwrap();
        w.fail(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "walking /layers/x: permission denied",
        ));
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("permission denied"), "{e}");
        assert_eq!(got, b"abcdefgh");
        let again = r.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::PermissionDenied);

        let (mut w, mut r) = pipe_sized(4, 4);
        w.write_all(b"ab").unwrap();
        drop(w);
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("stopped before the end"), "{e}");
    }

    #[test]
    fn the_producers_error_value_passes_through() {
        #[derive(Debug)]
        struct Marker;
        impl std::fmt::Display for Marker {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("marker")
            }
        }
        impl std::error::Error for Marker {}
        let (w, mut r) = pipe();
        w.fail(io::Error::other(Marker));
        let e = r.read(&mut [0u8; 1]).unwrap_err();
        assert!(e.into_inner().unwrap().downcast::<Marker>().is_ok());
    }

    #[test]
    fn writer_learns_the_reader_is_gone() {
        let (mut w, r) = pipe_sized(4, 1);
        drop(r);
        let mut err = None;
        for _ in 0..4 {
            if let Err(e) = w.write_all(b"0123456789") {
                err = Some(e);
                break;
            }
        }
        assert_eq!(err.unwrap().kind(), io::ErrorKind::BrokenPipe);
    }
}
