//! Blob uploads: skip when the blob exists, cross-repository mount (`?mount=&from=`, falling back
//! to a normal upload when the registry answers 202), then either one `PUT ?digest=` carrying the
//! whole blob (bytes or file; digest known up front) or streamed `PATCH`es — one, or chunks of
//! `chunk_size` honouring `OCI-Chunk-Min-Length`, `Location` and `Range` — hashed on the fly,
//! closed by an empty `PUT ?digest=<computed>`.

use super::blob::read_stream;
use super::client::{Client, Direction, Progress, Req, ReqBody};
use super::error::RegistryError;
use crate::digest::{Digest, Hasher, HashingReader};
use crate::image::reference::Repository;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, LOCATION};
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncRead;

pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// Where the bytes of a blob to push come from.
pub enum BlobSource {
    Bytes(Bytes),
    /// A file, sent with its length; re-read on retries.
    File(PathBuf),
    /// A one-shot stream (not retried).
    Stream(ByteStream),
}

impl BlobSource {
    pub fn stream(s: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> BlobSource {
        BlobSource::Stream(Box::pin(s))
    }

    pub fn reader(r: impl AsyncRead + Send + Unpin + 'static) -> BlobSource {
        BlobSource::Stream(Box::pin(tokio_util_like_reader(r)))
    }
}

fn tokio_util_like_reader(
    r: impl AsyncRead + Send + Unpin + 'static,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some(r), |r| async move {
        use tokio::io::AsyncReadExt;
        let mut r = r?;
        let mut buf = BytesMut::with_capacity(256 * 1024);
        match r.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(r))),
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// What the caller already knows about the blob.
#[derive(Clone, Debug, Default)]
pub struct PushOptions {
    /// The digest, when known: enables the exists check and mounts, and is verified.
    pub digest: Option<Digest>,
    /// Repositories on the same registry that may hold the blob already (tried in order).
    pub mount_from: Vec<Repository>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// The target repository had the blob.
    Existed,
    /// Mounted from another repository.
    Mounted,
    Uploaded,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedBlob {
    pub digest: Digest,
    /// Bytes uploaded (or the size the registry reported for an existing blob).
    pub size: Option<u64>,
    pub outcome: PushOutcome,
}

/// An upload session.
pub(crate) struct Session {
    pub(crate) location: String,
    min_chunk: u64,
}

impl Client {
    /// Pushes a blob to `repo`. See the module docs for the sequence of requests.
    pub async fn push_blob(
        &self,
        repo: &Repository,
        source: BlobSource,
        opts: PushOptions,
    ) -> Result<PushedBlob, RegistryError> {
        let (source, digest, size) = match source {
            BlobSource::Bytes(b) => {
                let d = Digest::of(&b);
                check_known(&opts, &d, repo)?;
                let n = b.len() as u64;
                (Body::Bytes(b), Some(d), Some(n))
            }
            BlobSource::File(path) => {
                let (d, n) = match &opts.digest {
                    Some(d) => {
                        let n = tokio::fs::metadata(&path)
                            .await
                            .map_err(|e| {
                                RegistryError::io(format!("reading {}", path.display()), e)
                            })?
                            .len();
                        (d.clone(), n)
                    }
                    None => hash_file(path.clone()).await?,
                };
                (Body::File(path), Some(d), Some(n))
            }
            BlobSource::Stream(s) => (Body::Stream(s), opts.digest.clone(), None),
        };

        let session = match &digest {
            Some(d) => match self
                .existing_or_mounted(repo, d, size, &opts.mount_from)
                .await?
            {
                Ok(done) => return Ok(done),
                Err(session) => session,
            },
            None => self.start_upload(repo, None).await?,
        };

        let (digest, size) = match source {
            Body::Bytes(b) => {
                let d = digest.unwrap_or_else(|| Digest::of(&b));
                self.finish_upload(repo, &session.location, &d, ReqBody::Bytes(b))
                    .await?;
                (d, size)
            }
            Body::File(path) => {
                let d = digest.unwrap_or_else(|| Digest::of(b""));
                let len = size.unwrap_or(0);
                self.finish_upload(
                    repo,
                    &session.location,
                    &d,
                    ReqBody::File {
                        path,
                        len,
                        progress: Some(d.clone()),
                    },
                )
                .await?;
                (d, size)
            }
            Body::Stream(s) => {
                let (location, actual, n) =
                    self.patch_stream(repo, session, s, digest.clone()).await?;
                if let Some(want) = digest.filter(|w| *w != actual) {
                    return Err(RegistryError::DigestMismatch {
                        what: format!("blob streamed to {repo}"),
                        expected: want,
                        actual,
                    });
                }
                self.finish_upload(repo, &location, &actual, ReqBody::Empty)
                    .await?;
                (actual, Some(n))
            }
        };
        Ok(PushedBlob {
            digest,
            size,
            outcome: PushOutcome::Uploaded,
        })
    }

    /// The steps before an upload of a blob with a known digest: `Ok` when `repo` has it
    /// already or it could be mounted from one of `mount_from` (those on the same registry,
    /// in order), else `Err` with the upload session to send it in (the one the registry
    /// opened for the last mount attempt, or a new one).
    pub(crate) async fn existing_or_mounted(
        &self,
        repo: &Repository,
        digest: &Digest,
        size: Option<u64>,
        mount_from: &[Repository],
    ) -> Result<Result<PushedBlob, Session>, RegistryError> {
        if let Some(info) = self
            .head_blob_scoped(repo, digest, Client::push_scope(repo))
            .await?
        {
            return Ok(Ok(PushedBlob {
                digest: digest.clone(),
                size: info.size.or(size),
                outcome: PushOutcome::Existed,
            }));
        }
        let candidates: Vec<&Repository> = mount_from
            .iter()
            .filter(|f| f.registry() == repo.registry() && *f != repo)
            .collect();
        for (i, from) in candidates.iter().enumerate() {
            match self.mount(repo, from, digest).await? {
                None => {
                    return Ok(Ok(PushedBlob {
                        digest: digest.clone(),
                        size,
                        outcome: PushOutcome::Mounted,
                    }));
                }
                // Not there: keep the session the registry opened for the last candidate,
                // drop it (best effort) when another candidate remains.
                Some(s) if i + 1 == candidates.len() => return Ok(Err(s)),
                Some(s) => {
                    let _ = self
                        .send(
                            repo,
                            Req::new(Method::DELETE, s.location, Client::push_scope(repo)),
                        )
                        .await;
                }
            }
        }
        Ok(Err(self.start_upload(repo, None).await?))
    }

    /// `POST ?mount=<digest>&from=<repo>`: `None` when mounted (201), else the upload session the
    /// registry opened instead (202).
    async fn mount(
        &self,
        repo: &Repository,
        from: &Repository,
        digest: &Digest,
    ) -> Result<Option<Session>, RegistryError> {
        let mut scopes = Client::push_scope(repo);
        scopes.push(from.scope("pull"));
        let s = self
            .start_upload_scoped(repo, Some((digest, from)), scopes)
            .await?;
        Ok(s)
    }

    async fn start_upload(
        &self,
        repo: &Repository,
        mount: Option<(&Digest, &Repository)>,
    ) -> Result<Session, RegistryError> {
        let s = self
            .start_upload_scoped(repo, mount, Client::push_scope(repo))
            .await?;
        s.ok_or_else(|| {
            RegistryError::protocol(
                format!("starting upload to {repo}"),
                "registry answered 201 without a mount",
            )
        })
    }

    pub(crate) async fn start_upload_scoped(
        &self,
        repo: &Repository,
        mount: Option<(&Digest, &Repository)>,
        scopes: Vec<String>,
    ) -> Result<Option<Session>, RegistryError> {
        let mut path = format!("/v2/{}/blobs/uploads/", repo.repository());
        if let Some((d, from)) = mount {
            path.push_str(&format!("?mount={d}&from={}", from.repository()));
        }
        let mut req = Req::new(Method::POST, path, scopes);
        req.idempotent = true; // an abandoned session is harmless
        req.headers
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        let resp = self.send(repo, req).await?;
        let resp = self.check(resp, "POST", &[201, 202]).await?;
        if resp.status().as_u16() == 201 {
            return Ok(None);
        }
        let location = location(&resp, repo)?;
        let min_chunk = resp
            .headers()
            .get("oci-chunk-min-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Some(Session {
            location,
            min_chunk,
        }))
    }

    /// Streams `s` into the session; returns the last location, the digest and size.
    pub(crate) async fn patch_stream(
        &self,
        repo: &Repository,
        session: Session,
        s: ByteStream,
        known: Option<Digest>,
    ) -> Result<(String, Digest, u64), RegistryError> {
        let hasher = Arc::new(Mutex::new(Hasher::new()));
        let transfer = super::client::next_transfer();
        // Once the stream has ended its digest is known: a last event says so (100%).
        let report_end = |d: &Digest, n: u64| {
            self.progress(Progress {
                direction: Direction::Push,
                transfer,
                digest: Some(d.clone()),
                done: n,
                total: Some(n),
            })
        };
        let Some(chunk_size) = self.options().chunk_size else {
            // One PATCH with a chunked (streamed) body.
            let h = hasher.clone();
            let client = self.clone();
            let body = s.map_ok(move |b| {
                let mut h = h.lock().unwrap_or_else(|e| e.into_inner());
                h.update(&b);
                client.progress(Progress {
                    direction: Direction::Push,
                    transfer,
                    digest: known.clone(),
                    done: h.len(),
                    total: None,
                });
                b
            });
            let mut req = Req::new(Method::PATCH, session.location, Client::push_scope(repo));
            req.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            req.body = ReqBody::Stream(Mutex::new(Some(reqwest::Body::wrap_stream(body))));
            let resp = self.send(repo, req).await?;
            let resp = self.check(resp, "PATCH", &[202, 204]).await?;
            let loc = location(&resp, repo)?;
            let (d, n) = take(&hasher);
            report_end(&d, n);
            return Ok((loc, d, n));
        };
        let chunk = chunk_size.max(session.min_chunk).max(1) as usize;
        let mut location = session.location;
        let mut s = s;
        let mut buf = BytesMut::new();
        let mut offset = 0u64;
        let mut ended = false;
        loop {
            while !ended && buf.len() < chunk {
                match s.next().await {
                    Some(b) => {
                        buf.extend_from_slice(&b.map_err(|e| {
                            RegistryError::io(format!("reading blob for {repo}"), e)
                        })?)
                    }
                    None => ended = true,
                }
            }
            if buf.is_empty() {
                break;
            }
            let take_n = buf.len().min(chunk);
            let part = buf.split_to(take_n).freeze();
            hasher
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .update(&part);
            let end = offset + part.len() as u64 - 1;
            let mut req = Req::new(Method::PATCH, location.clone(), Client::push_scope(repo));
            req.headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            let range = HeaderValue::from_str(&format!("{offset}-{end}"))
                .map_err(|e| RegistryError::protocol("Content-Range", e.to_string()))?;
            req.headers.insert("content-range", range);
            req.body = ReqBody::Bytes(part);
            let resp = self.send(repo, req).await?;
            let resp = self.check(resp, "PATCH", &[202, 204]).await?;
            if let Some(r) = resp.headers().get("range").and_then(|v| v.to_str().ok()) {
                let got_end = r
                    .rsplit('-')
                    .next()
                    .and_then(|e| e.trim().parse::<u64>().ok());
                if got_end != Some(end) {
                    return Err(RegistryError::protocol(
                        format!("uploading to {repo}"),
                        format!("registry has range {r}, expected 0-{end}"),
                    ));
                }
            }
            location = location_or(&resp, repo, location)?;
            offset = end + 1;
            self.progress(Progress {
                direction: Direction::Push,
                transfer,
                digest: known.clone(),
                done: offset,
                total: None,
            });
        }
        let (d, n) = take(&hasher);
        report_end(&d, n);
        Ok((location, d, n))
    }

    /// `PUT <location>?digest=<digest>` with the remaining body; expects 201.
    pub(crate) async fn finish_upload(
        &self,
        repo: &Repository,
        location: &str,
        digest: &Digest,
        body: ReqBody,
    ) -> Result<(), RegistryError> {
        let mut url = self.url(repo, location).await?;
        url.query_pairs_mut().append_pair("digest", digest.as_str());
        let mut req = Req::new(Method::PUT, url.to_string(), Client::push_scope(repo));
        req.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        if matches!(body, ReqBody::Empty) {
            req.headers
                .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        }
        req.body = body;
        let resp = self.send(repo, req).await?;
        self.check(resp, "PUT", &[201, 204]).await?;
        Ok(())
    }

    /// Pushes many blobs at most `limit` at a time; results in input order.
    pub async fn push_blobs(
        &self,
        repo: &Repository,
        blobs: Vec<(BlobSource, PushOptions)>,
        limit: usize,
    ) -> Result<Vec<PushedBlob>, RegistryError> {
        futures_util::stream::iter(blobs.into_iter().map(|(s, o)| self.push_blob(repo, s, o)))
            .buffered(limit.max(1))
            .try_collect()
            .await
    }
}

/// Runs `f` over `items` with at most `limit` futures in flight; results in input order.
pub async fn for_each_concurrent<T, R, E, F, Fut>(
    items: Vec<T>,
    limit: usize,
    f: F,
) -> Result<Vec<R>, E>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = Result<R, E>>,
{
    futures_util::stream::iter(items.into_iter().map(f))
        .buffered(limit.max(1))
        .try_collect()
        .await
}

enum Body {
    Bytes(Bytes),
    File(PathBuf),
    Stream(ByteStream),
}

fn check_known(
    opts: &PushOptions,
    actual: &Digest,
    repo: &Repository,
) -> Result<(), RegistryError> {
    match &opts.digest {
        Some(want) if want != actual => Err(RegistryError::DigestMismatch {
            what: format!("blob to push to {repo}"),
            expected: want.clone(),
            actual: actual.clone(),
        }),
        _ => Ok(()),
    }
}

fn take(h: &Mutex<Hasher>) -> (Digest, u64) {
    std::mem::take(&mut *h.lock().unwrap_or_else(|e| e.into_inner())).finish()
}

async fn hash_file(path: PathBuf) -> Result<(Digest, u64), RegistryError> {
    let p = path.clone();
    let r = tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&p)?;
        let mut r = HashingReader::new(std::io::BufReader::with_capacity(1 << 20, f));
        std::io::copy(&mut r, &mut std::io::sink())?;
        let (_, d, n) = r.finish();
        Ok::<_, io::Error>((d, n))
    })
    .await
    .map_err(|e| RegistryError::io(format!("hashing {}", path.display()), io::Error::other(e)))?;
    r.map_err(|e| RegistryError::io(format!("hashing {}", path.display()), e))
}

fn location(resp: &reqwest::Response, repo: &Repository) -> Result<String, RegistryError> {
    resp.headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            RegistryError::protocol(
                format!("uploading to {repo}"),
                "registry sent no Location header",
            )
        })
}

fn location_or(
    resp: &reqwest::Response,
    repo: &Repository,
    previous: String,
) -> Result<String, RegistryError> {
    match resp.headers().get(LOCATION) {
        Some(_) => location(resp, repo),
        None => Ok(previous),
    }
}

#[allow(dead_code)]
fn _assert_send(c: Client, r: Repository) {
    fn is_send<T: Send>(_: T) {}
    is_send(async move {
        c.push_blob(&r, BlobSource::Bytes(Bytes::new()), PushOptions::default())
            .await
    });
    let _ = read_stream::<tokio::fs::File>;
}
