//! Blob reads: HEAD, and GET as a stream whose bytes are hashed as they arrive. A digest or size
//! mismatch is the stream's last item (an `io::Error` wrapping [`RegistryError::DigestMismatch`]),
//! so a consumer that writes while reading never mistakes bad content for good.

use super::client::{Client, Direction, Progress, Req, content_length};
use super::error::RegistryError;
use crate::digest::{Digest, Hasher};
use crate::image::reference::Repository;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

/// A blob being downloaded: a `Stream` of verified-so-far chunks and an `AsyncRead`.
pub struct BlobReader {
    inner: Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>,
    buf: Bytes,
    size: Option<u64>,
}

impl BlobReader {
    /// `Content-Length` of the response, when the registry sent one.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Reads the whole blob into memory (verified).
    pub async fn bytes(mut self) -> io::Result<Bytes> {
        let mut out = BytesMut::with_capacity(self.size.unwrap_or(0).min(64 << 20) as usize);
        while let Some(chunk) = self.inner.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.freeze())
    }
}

impl Stream for BlobReader {
    type Item = io::Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.buf.is_empty() {
            let b = std::mem::take(&mut self.buf);
            return Poll::Ready(Some(Ok(b)));
        }
        self.inner.as_mut().poll_next(cx)
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.buf.is_empty() {
            match self.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(b))) => self.buf = b,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = self.buf.len().min(out.remaining());
        let chunk = self.buf.split_to(n);
        out.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

/// Size and media type of an existing blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: Option<u64>,
}

impl Client {
    /// `HEAD /v2/<repo>/blobs/<digest>`: `Some` if the blob exists, `None` on 404.
    pub async fn head_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>, RegistryError> {
        self.head_blob_scoped(repo, digest, Client::pull_scope(repo))
            .await
    }

    pub(crate) async fn head_blob_scoped(
        &self,
        repo: &Repository,
        digest: &Digest,
        scopes: Vec<String>,
    ) -> Result<Option<BlobInfo>, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repo.repository());
        let resp = self
            .send(repo, Req::new(Method::HEAD, path, scopes))
            .await?;
        if resp.status().as_u16() == 404 {
            return Ok(None);
        }
        let resp = self.check(resp, "HEAD", &[200]).await?;
        Ok(Some(BlobInfo {
            digest: digest.clone(),
            size: content_length(&resp),
        }))
    }

    /// `GET /v2/<repo>/blobs/<digest>` as a verifying stream. `expected_size` (from the
    /// descriptor) is checked too when given.
    pub async fn get_blob(
        &self,
        repo: &Repository,
        digest: &Digest,
        expected_size: Option<u64>,
    ) -> Result<BlobReader, RegistryError> {
        let path = format!("/v2/{}/blobs/{digest}", repo.repository());
        let resp = self
            .send(repo, Req::new(Method::GET, path, Client::pull_scope(repo)))
            .await?;
        let resp = self.check(resp, "GET", &[200]).await?;
        let size = content_length(&resp).or(expected_size);
        let what = format!("blob {digest} of {repo}");
        let state = Verify {
            hasher: Some(Hasher::new()),
            expected: digest.clone(),
            expected_size,
            what,
            client: self.clone(),
            total: size,
            transfer: super::client::next_transfer(),
        };
        let body = resp.bytes_stream();
        let stream = futures_util::stream::unfold((body, state), |(mut body, mut st)| async move {
            let hasher = st.hasher.as_mut()?;
            match body.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    let done = hasher.len();
                    st.client.progress(Progress {
                        direction: Direction::Pull,
                        transfer: st.transfer,
                        digest: Some(st.expected.clone()),
                        done,
                        total: st.total,
                    });
                    Some((Ok(chunk), (body, st)))
                }
                Some(Err(e)) => {
                    st.hasher = None;
                    let msg = super::error::error_chain(&e);
                    Some((
                        Err(io::Error::other(format!("reading {}: {msg}", st.what))),
                        (body, st),
                    ))
                }
                None => {
                    let (actual, n) = st.hasher.take()?.finish();
                    let err = if st.expected_size.is_some_and(|s| s != n) {
                        Some(RegistryError::SizeMismatch {
                            what: st.what.clone(),
                            expected: st.expected_size.unwrap_or(0),
                            actual: n,
                        })
                    } else if actual != st.expected {
                        Some(RegistryError::DigestMismatch {
                            what: st.what.clone(),
                            expected: st.expected.clone(),
                            actual,
                        })
                    } else {
                        None
                    };
                    err.map(|e| {
                        (
                            Err(io::Error::new(io::ErrorKind::InvalidData, e)),
                            (body, st),
                        )
                    })
                }
            }
        });
        Ok(BlobReader {
            inner: Box::pin(stream),
            buf: Bytes::new(),
            size,
        })
    }

    /// A whole (small) blob in memory, verified — e.g. an image config.
    pub async fn get_blob_bytes(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<Bytes, RegistryError> {
        let r = self.get_blob(repo, digest, None).await?;
        r.bytes().await.map_err(into_registry_error)
    }
}

struct Verify {
    hasher: Option<Hasher>,
    expected: Digest,
    expected_size: Option<u64>,
    what: String,
    client: Client,
    total: Option<u64>,
    transfer: u64,
}

/// Recovers the [`RegistryError`] from an `io::Error` produced by a [`BlobReader`].
pub fn into_registry_error(e: io::Error) -> RegistryError {
    if !e.get_ref().is_some_and(|i| i.is::<RegistryError>()) {
        return RegistryError::io("reading blob", e);
    }
    match e.into_inner().map(|i| i.downcast::<RegistryError>()) {
        Some(Ok(r)) => *r,
        Some(Err(other)) => RegistryError::io("reading blob", io::Error::other(other)),
        None => RegistryError::protocol("reading blob", "error without detail"),
    }
}

/// An `AsyncRead` as a stream of chunks, reporting progress.
pub(crate) fn read_stream<R: AsyncRead + Send + Unpin + 'static>(
    reader: R,
    client: Client,
    direction: Direction,
    digest: Option<Digest>,
    total: Option<u64>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let transfer = super::client::next_transfer();
    futures_util::stream::unfold((reader, 0u64, false), move |(mut r, done, finished)| {
        let client = client.clone();
        let digest = digest.clone();
        async move {
            if finished {
                return None;
            }
            let mut buf = BytesMut::with_capacity(256 * 1024);
            match r.read_buf(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    let done = done + n as u64;
                    client.progress(Progress {
                        direction,
                        transfer,
                        digest,
                        done,
                        total,
                    });
                    Some((Ok(buf.freeze()), (r, done, false)))
                }
                Err(e) => Some((Err(e), (r, done, true))),
            }
        }
    })
}
