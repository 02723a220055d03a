//! Two threads per layer: a producer thread walks, reads and formats the tar into fixed-size
//! chunks; the calling thread consumes them (hashes, compresses, writes the sink). The sink
//! stays on the calling thread, so it need not be `Send`.
//!
//! Memory is bounded: at most [`DEPTH`] chunks wait in the [`crate::pipe`], plus the one each
//! side holds; used chunks go back to the producer to be refilled instead of being reallocated.
//! The consumer always sees blocks of exactly [`CHUNK`] bytes (the last one shorter), so
//! whatever it feeds (a gzip encoder's output depends on how its input is cut into writes)
//! does not depend on file boundaries.

use super::LayerError;
use crate::pipe::PipeWriter;
use std::io::{self, Write};

/// Size of the blocks handed from the producer to the consumer.
pub const CHUNK: usize = 1024 * 1024;
/// Chunks that may wait in the channel: two keep both sides busy (each side also holds
/// one); more only add 1 MiB each to every layer in flight (the exporter has up to three).
pub const DEPTH: usize = 2;

/// The single-threaded equivalent of the chunking: passes bytes on to `inner` in blocks of
/// exactly [`CHUNK`] bytes (the last one, written by [`Blocks::finish`], shorter), so a
/// layer written on one thread feeds its encoder exactly as [`pipe`] does.
pub struct Blocks<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> Blocks<W> {
    pub fn new(inner: W) -> Blocks<W> {
        Blocks {
            inner,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    /// Writes the last, partial block and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for Blocks<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = (CHUNK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
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

/// Runs `produce` on a new thread, writing into a [`crate::pipe`] of [`CHUNK`]-byte chunks,
/// and calls `consume` with every chunk, in order, on the calling thread. A consumer error
/// stops the producer (its next send fails) and is returned as [`LayerError::Write`];
/// otherwise the producer's result is returned.
pub fn pipe<T: Send>(
    produce: impl FnOnce(&mut PipeWriter) -> Result<T, LayerError> + Send,
    mut consume: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<T, LayerError> {
    let (w, mut r) = crate::pipe::pipe_sized(CHUNK, DEPTH);
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut w = w;
            let out = produce(&mut w)?;
            w.close().map_err(LayerError::Write)?;
            Ok(out)
        });
        let mut failed = None;
        while let Some(chunk) = r.recv_chunk() {
            // A failed producer ends the stream with an error; its own error is returned below.
            let Ok(chunk) = chunk else { break };
            if let Err(e) = consume(&chunk) {
                failed = Some(e);
                break;
            }
            r.recycle(chunk);
        }
        // Unblocks a producer waiting to send after a consumer error.
        drop(r);
        let produced = producer
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        match failed {
            Some(e) => Err(LayerError::Write(e)),
            None => produced,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_sees_fixed_blocks_in_order() {
        let data: Vec<u8> = (0..(3 * CHUNK + 123)).map(|i| (i % 251) as u8).collect();
        let mut got = Vec::new();
        let mut sizes = Vec::new();
        pipe(
            |w| {
                // Uneven writes, like a tar writer's headers and file bodies.
                for part in data.chunks(7919) {
                    w.write_all(part).map_err(LayerError::Write)?;
                }
                Ok(())
            },
            |c| {
                sizes.push(c.len());
                got.extend_from_slice(c);
                Ok(())
            },
        )
        .expect("pipe");
        assert_eq!(got, data);
        assert_eq!(sizes, vec![CHUNK, CHUNK, CHUNK, 123]);
    }

    #[test]
    fn consumer_error_stops_the_producer() {
        let err = pipe(
            |w| -> Result<(), LayerError> {
                loop {
                    w.write_all(&[1u8; 4096]).map_err(LayerError::Write)?;
                }
            },
            |_| -> io::Result<()> { Err(io::Error::other("sink full")) },
        )
        .expect_err("must fail");
        assert!(err.to_string().contains("sink full"), "{err}");
    }

    #[test]
    fn producer_error_is_returned() {
        let err = pipe(
            |w| -> Result<(), LayerError> {
                w.write_all(&[0u8; 10]).map_err(LayerError::Write)?;
                Err(LayerError::Task("walk failed".into()))
            },
            |_| Ok(()),
        )
        .expect_err("must fail");
        assert!(err.to_string().contains("walk failed"), "{err}");
    }
}
