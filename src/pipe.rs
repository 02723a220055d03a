//! A bounded in-memory byte pipe between two threads: a producer writing a layer (walk → tar →
//! compress) and a consumer sending it somewhere (a registry upload reading a `BlobReader`).
//! At most `depth` chunks of `chunk` bytes are in flight, so a layer of any size moves through
//! a few MiB of memory and no temporary file.
//!
//! A producer that fails calls [`PipeWriter::fail`] (or is dropped without
//! [`PipeWriter::close`]): the reader then returns an error instead of a clean end, so a
//! consumer never mistakes a half-written layer for a whole one.

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Default chunk size.
pub const CHUNK: usize = 256 * 1024;
/// Default number of chunks in flight.
pub const DEPTH: usize = 8;

enum Msg {
    Data(Vec<u8>),
    End,
    Failed(String),
}

/// The writing end.
pub struct PipeWriter {
    tx: Option<SyncSender<Msg>>,
    buf: Vec<u8>,
    chunk: usize,
}

/// The reading end.
pub struct PipeReader {
    rx: Receiver<Msg>,
    cur: Vec<u8>,
    pos: usize,
    state: ReadState,
}

#[derive(Clone, PartialEq, Eq)]
enum ReadState {
    Open,
    Ended,
    Failed(String),
}

/// A pipe with the default sizes.
pub fn pipe() -> (PipeWriter, PipeReader) {
    pipe_sized(CHUNK, DEPTH)
}

/// A pipe passing chunks of `chunk` bytes, `depth` of them in flight at most.
pub fn pipe_sized(chunk: usize, depth: usize) -> (PipeWriter, PipeReader) {
    let chunk = chunk.max(1);
    let (tx, rx) = sync_channel(depth.max(1));
    (
        PipeWriter {
            tx: Some(tx),
            buf: Vec::with_capacity(chunk),
            chunk,
        },
        PipeReader {
            rx,
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
    fn send(&mut self, msg: Msg) -> io::Result<()> {
        match &self.tx {
            Some(tx) => tx.send(msg).map_err(|_| gone()),
            None => Err(io::Error::other("pipe already closed")),
        }
    }

    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        self.send(Msg::Data(full))
    }

    /// Ends the stream cleanly: the reader sees EOF after the last byte.
    pub fn close(mut self) -> io::Result<()> {
        self.send_buf()?;
        self.send(Msg::End)?;
        self.tx = None;
        Ok(())
    }

    /// Ends the stream with an error the reader returns instead of EOF.
    pub fn fail(mut self, why: impl Into<String>) {
        let _ = self.send(Msg::Failed(why.into()));
        self.tx = None;
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.is_empty() && data.len() >= self.chunk {
            // Whole chunks go as they are, without a copy into the buffer.
            self.send(Msg::Data(data[..self.chunk].to_vec()))?;
            return Ok(self.chunk);
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
            let _ = tx.send(Msg::Failed(
                "the producer stopped before the end of the stream".into(),
            ));
        }
    }
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.cur.len() {
                let n = (self.cur.len() - self.pos).min(out.len());
                out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            match &self.state {
                ReadState::Ended => return Ok(0),
                ReadState::Failed(why) => return Err(io::Error::other(why.clone())),
                ReadState::Open => {}
            }
            match self.rx.recv() {
                Ok(Msg::Data(d)) => {
                    self.cur = d;
                    self.pos = 0;
                }
                Ok(Msg::End) => self.state = ReadState::Ended,
                Ok(Msg::Failed(why)) => self.state = ReadState::Failed(why),
                Err(_) => {
                    self.state =
                        ReadState::Failed("the producer went away without ending the stream".into())
                }
            }
        }
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
            w.write_all(&d[..20]).unwrap();
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
    fn failure_or_drop_is_an_error_not_an_eof() {
        let (mut w, mut r) = pipe_sized(4, 4);
        w.write_all(b"abcdefgh").unwrap();
        w.fail("walking /layers/x: permission denied");
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).unwrap_err();
        assert!(e.to_string().contains("permission denied"), "{e}");
        assert_eq!(got, b"abcdefgh");

        let (mut w, mut r) = pipe_sized(4, 4);
        w.write_all(b"ab").unwrap();
        drop(w);
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("stopped before the end"), "{e}");
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
