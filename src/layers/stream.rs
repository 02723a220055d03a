//! An async face for the synchronous layer pipeline: the pipeline runs on a blocking thread
//! and sends fixed-size chunks through a bounded channel, so an async consumer (a registry
//! upload) reads the compressed layer with at most `depth × chunk` bytes in flight.

use super::{LayerError, LayerInfo, LayerSpec, write_layer};
use crate::archive::Compression;
use bytes::Bytes;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Default chunk size sent through the channel.
pub const CHUNK: usize = 1024 * 1024;
/// Default channel depth (chunks in flight).
pub const DEPTH: usize = 4;

/// The compressed layer bytes as a `Stream<Item = io::Result<Bytes>>`.
pub struct ByteStream {
    rx: mpsc::Receiver<io::Result<Bytes>>,
}

impl futures_util::Stream for ByteStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

/// A running layer pipeline: read `stream` to the end, then await `info` for the digests.
pub struct LayerStream {
    pub stream: ByteStream,
    pub info: tokio::task::JoinHandle<Result<LayerInfo, LayerError>>,
}

impl LayerStream {
    /// Waits for the pipeline's result (after the stream has been consumed or dropped).
    pub async fn finish(self) -> Result<LayerInfo, LayerError> {
        drop(self.stream);
        self.info.await.map_err(|e| LayerError::Task(e.to_string()))?
    }
}

struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    chunk: usize,
}

impl ChannelWriter {
    fn send_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let full = std::mem::replace(&mut self.buf, Vec::with_capacity(self.chunk));
        self.tx
            .blocking_send(Ok(Bytes::from(full)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "layer stream consumer went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.chunk - self.buf.len();
        let n = room.min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= self.chunk {
            self.send_buf()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buf()
    }
}

/// Starts writing `spec` compressed with `compression` on a blocking thread (must be called
/// inside a tokio runtime). Memory in flight is bounded by `DEPTH × CHUNK` plus the
/// compressor's window.
pub fn layer_stream(spec: LayerSpec, compression: Compression) -> LayerStream {
    layer_stream_sized(spec, compression, CHUNK, DEPTH)
}

/// [`layer_stream`] with an explicit chunk size and channel depth.
pub fn layer_stream_sized(spec: LayerSpec, compression: Compression, chunk: usize, depth: usize) -> LayerStream {
    let chunk = chunk.max(1);
    let (tx, rx) = mpsc::channel(depth.max(1));
    let info = tokio::task::spawn_blocking(move || {
        let err_tx = tx.clone();
        let w = ChannelWriter { tx, buf: Vec::with_capacity(chunk), chunk };
        let res = write_layer(&spec, compression, w);
        if let Err(e) = &res {
            let _ = err_tx.blocking_send(Err(io::Error::other(e.to_string())));
        }
        res
    });
    LayerStream { stream: ByteStream { rx }, info }
}
