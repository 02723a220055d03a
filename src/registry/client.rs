//! The registry client: endpoints (scheme + auth challenge per registry, found by pinging
//! `/v2/`), credentials, tokens, retries. The operations live in `manifest.rs`, `blob.rs`,
//! `upload.rs` and `access.rs`; they deal in raw bytes + media type + [`Digest`].

use super::auth::challenge::{self, Challenge};
use super::auth::token::TokenCache;
use super::error::RegistryError;
use super::keychain::{Credential, Keychain};
use super::retry::{RetryPolicy, retry_after, retryable_status};
use super::transport::{Transport, TransportOptions, allows_plain_http, is_insecure};
use crate::digest::Digest;
use crate::image::reference::Repository;
use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderMap};
use reqwest::{Method, Response, Url};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Bytes moved for one blob so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// `Pull` or `Push`.
    pub direction: Direction,
    /// Which transfer this is (unique in the process): tells apart concurrent transfers of
    /// blobs whose digest is not known until they end.
    pub transfer: u64,
    /// The blob's digest when known before the transfer ends.
    pub digest: Option<Digest>,
    pub done: u64,
    pub total: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Pull,
    Push,
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A new [`Progress::transfer`] id.
pub(crate) fn next_transfer() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

#[derive(Clone)]
pub struct ClientOptions {
    pub keychain: Keychain,
    /// `-insecure-registry` / `CNB_INSECURE_REGISTRIES`: prefixes of image names for which TLS is
    /// not verified and plain HTTP is allowed.
    pub insecure_registries: Vec<String>,
    pub transport: TransportOptions,
    pub retry: RetryPolicy,
    /// Upload streamed blobs in PATCH chunks of this size (at least the registry's
    /// `OCI-Chunk-Min-Length`); `None` = one streamed PATCH.
    pub chunk_size: Option<u64>,
    pub progress: Option<ProgressFn>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            keychain: Keychain::anonymous(),
            insecure_registries: Vec::new(),
            transport: TransportOptions::default(),
            retry: RetryPolicy::default(),
            chunk_size: None,
            progress: None,
        }
    }
}

/// A registry client; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub opts: ClientOptions,
    transport: Transport,
    endpoints: tokio::sync::Mutex<HashMap<(String, bool), Endpoint>>,
    tokens: TokenCache,
}

#[derive(Clone, Debug)]
struct Endpoint {
    /// `https://host` or `http://host`.
    base: String,
    insecure: bool,
    challenge: Option<Challenge>,
}

/// How a request body is produced (again, for retries, when possible).
pub(crate) enum ReqBody {
    Empty,
    Bytes(Bytes),
    /// A file sent with a known length; reopened for each attempt.
    File {
        path: PathBuf,
        len: u64,
        progress: Option<Digest>,
    },
    /// A one-shot stream: never retried.
    Stream(std::sync::Mutex<Option<reqwest::Body>>),
}

impl ReqBody {
    fn replayable(&self) -> bool {
        !matches!(self, ReqBody::Stream(_))
    }
}

pub(crate) struct Req {
    pub method: Method,
    /// `/v2/...` on the registry, or an absolute URL (upload `Location`).
    pub url: String,
    pub headers: HeaderMap,
    pub body: ReqBody,
    /// Token scopes, e.g. `repository:app:pull,push`.
    pub scopes: Vec<String>,
    pub idempotent: bool,
}

impl Req {
    pub fn new(method: Method, url: impl Into<String>, scopes: Vec<String>) -> Req {
        let idempotent = method != Method::POST && method != Method::PATCH;
        Req {
            method,
            url: url.into(),
            headers: HeaderMap::new(),
            body: ReqBody::Empty,
            scopes,
            idempotent,
        }
    }
}

impl Client {
    pub fn new(opts: ClientOptions) -> Client {
        let transport = Transport::new(opts.transport.clone());
        Client {
            inner: Arc::new(Inner {
                opts,
                transport,
                endpoints: Default::default(),
                tokens: TokenCache::default(),
            }),
        }
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.opts
    }

    pub(crate) fn progress(&self, p: Progress) {
        if let Some(f) = &self.inner.opts.progress {
            f(&p);
        }
    }

    fn insecure(&self, repo: &Repository) -> bool {
        is_insecure(&self.inner.opts.insecure_registries, &repo.to_string())
    }

    /// Finds (once per registry) the scheme and the auth challenge by `GET /v2/`: HTTPS first,
    /// then plain HTTP for registries that allow it.
    async fn endpoint(&self, repo: &Repository) -> Result<Endpoint, RegistryError> {
        let registry = repo.registry();
        let insecure = self.insecure(repo);
        let key = (registry.to_string(), insecure);
        let mut endpoints = self.inner.endpoints.lock().await;
        if let Some(e) = endpoints.get(&key) {
            return Ok(e.clone());
        }
        let mut schemes = vec!["https"];
        if insecure || allows_plain_http(registry) {
            schemes.push("http");
        }
        let mut errors = Vec::new();
        for scheme in schemes {
            let base = format!("{scheme}://{registry}");
            let url = format!("{base}/v2/");
            let http = self.inner.transport.client(insecure, scheme == "http")?;
            let resp = match http.get(&url).send().await {
                Ok(r) => r,
                Err(e) => {
                    errors.push(RegistryError::transport("GET", &url, &e).to_string());
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let challenge = match status {
                200 => None,
                401 => {
                    let all = challenge::from_headers(resp.headers());
                    challenge::pick(&all).cloned()
                }
                _ => {
                    let body = resp.bytes().await.unwrap_or_default();
                    let err = RegistryError::from_response("GET", &url, status, &body);
                    if errors.is_empty() && !(insecure || allows_plain_http(registry)) {
                        return Err(err);
                    }
                    errors.push(err.to_string());
                    continue;
                }
            };
            let e = Endpoint {
                base,
                insecure,
                challenge,
            };
            endpoints.insert(key, e.clone());
            return Ok(e);
        }
        Err(RegistryError::Transport {
            method: "GET".into(),
            url: format!("{registry}/v2/"),
            message: errors.join("; "),
            retryable: false,
        })
    }

    fn credential(&self, registry: &str) -> Result<Credential, RegistryError> {
        self.inner
            .opts
            .keychain
            .resolve(registry)
            .map_err(|e| RegistryError::Auth(e.to_string()))
    }

    async fn authorization(
        &self,
        ep: &Endpoint,
        registry: &str,
        scopes: &[String],
    ) -> Result<Option<String>, RegistryError> {
        let Some(ch) = &ep.challenge else {
            return Ok(None);
        };
        let cred = self.credential(registry)?;
        Ok(match (ch.scheme.as_str(), &cred) {
            (_, Credential::RegistryToken(t)) => Some(format!("Bearer {}", t.expose())),
            ("basic", Credential::Basic(b)) => Some(format!("Basic {}", b.expose())),
            ("bearer", _) => {
                let token = match self.inner.tokens.get(registry, scopes) {
                    Some(t) => t,
                    None => {
                        let http = self
                            .inner
                            .transport
                            .client(ep.insecure, ep.base.starts_with("http:"))?;
                        self.inner
                            .tokens
                            .fetch(
                                http,
                                registry,
                                ep.insecure || ep.base.starts_with("http:"),
                                ch,
                                &cred,
                                scopes,
                            )
                            .await?
                    }
                };
                Some(format!("Bearer {}", token.expose()))
            }
            _ => None,
        })
    }

    /// The absolute URL of `path` on `repo`'s registry.
    pub(crate) async fn url(&self, repo: &Repository, path: &str) -> Result<Url, RegistryError> {
        let ep = self.endpoint(repo).await?;
        resolve(&ep.base, path)
    }

    /// Sends `req`, answering auth challenges and retrying transient failures. Any HTTP status
    /// is returned as a response; see [`check`].
    pub(crate) async fn send(
        &self,
        repo: &Repository,
        mut req: Req,
    ) -> Result<Response, RegistryError> {
        let registry = repo.registry();
        let mut ep = self.endpoint(repo).await?;
        let url = resolve(&ep.base, &req.url)?;
        let url_s = url.to_string();
        let method_s = req.method.to_string();
        let http = self
            .inner
            .transport
            .client(ep.insecure, url.scheme() == "http")?;
        let retry = &self.inner.opts.retry;
        let (mut attempt, mut reauthed) = (0u32, false);
        loop {
            let auth = self.authorization(&ep, registry, &req.scopes).await?;
            let mut rb = http
                .request(req.method.clone(), url.clone())
                .headers(req.headers.clone());
            if let Some(a) = auth {
                rb = rb.header(AUTHORIZATION, a);
            }
            rb = match &req.body {
                ReqBody::Empty => rb,
                ReqBody::Bytes(b) => rb.header(CONTENT_LENGTH, b.len()).body(b.clone()),
                ReqBody::File {
                    path,
                    len,
                    progress,
                } => {
                    let f = tokio::fs::File::open(path)
                        .await
                        .map_err(|e| RegistryError::io(format!("opening {}", path.display()), e))?;
                    let stream = super::blob::read_stream(
                        f,
                        self.clone(),
                        Direction::Push,
                        progress.clone(),
                        Some(*len),
                    );
                    rb.header(CONTENT_LENGTH, *len)
                        .body(reqwest::Body::wrap_stream(stream))
                }
                ReqBody::Stream(m) => {
                    let body = m.lock().unwrap_or_else(|e| e.into_inner()).take();
                    rb.body(body.ok_or_else(|| {
                        RegistryError::protocol(
                            format!("{method_s} {url_s}"),
                            "stream body already sent",
                        )
                    })?)
                }
            };
            let can_retry =
                req.idempotent && req.body.replayable() && attempt + 1 < retry.max_attempts;
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) => {
                    let err = RegistryError::transport(&method_s, &url_s, &e);
                    if can_retry
                        && matches!(
                            err,
                            RegistryError::Transport {
                                retryable: true,
                                ..
                            }
                        )
                    {
                        tokio::time::sleep(retry.delay(attempt, None)).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(err);
                }
            };
            let status = resp.status().as_u16();
            if status == 401 && !reauthed && req.body.replayable() {
                let all = challenge::from_headers(resp.headers());
                if let Some(ch) = challenge::pick(&all) {
                    reauthed = true;
                    if ch.scheme == "bearer" {
                        if let Some(scope) = ch.param("scope") {
                            for s in scope.split(' ') {
                                if !req.scopes.iter().any(|x| x == s) {
                                    req.scopes.push(s.to_string());
                                }
                            }
                        }
                        self.inner.tokens.invalidate(registry);
                    }
                    if ep.challenge.as_ref().map(|c| &c.scheme) != Some(&ch.scheme) {
                        ep.challenge = Some(ch.clone());
                        self.inner
                            .endpoints
                            .lock()
                            .await
                            .insert((registry.to_string(), ep.insecure), ep.clone());
                    }
                    continue;
                }
            }
            if retryable_status(status) && can_retry {
                let after = retry_after(resp.headers());
                drop(resp);
                tokio::time::sleep(retry.delay(attempt, after)).await;
                attempt += 1;
                continue;
            }
            return Ok(resp);
        }
    }

    /// Turns an unexpected status into an error (reading the error body), naming what failed.
    pub(crate) async fn check(
        &self,
        resp: Response,
        method: &str,
        ok: &[u16],
    ) -> Result<Response, RegistryError> {
        let status = resp.status().as_u16();
        if ok.contains(&status) {
            return Ok(resp);
        }
        let url = resp.url().to_string();
        let body = resp.bytes().await.unwrap_or_default();
        let body = &body[..body.len().min(64 * 1024)];
        let mut err = RegistryError::from_response(method, &url, status, body);
        if matches!(status, 401 | 403)
            && let Some(reg) = reqwest::Url::parse(&url).ok().and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            && let Some(f) = self.inner.opts.keychain.failure(&reg)
            && let RegistryError::Status { message, .. } = &mut err
        {
            message.push_str(&format!(" (no credentials were used: {f})"));
        }
        Err(err)
    }

    /// Scope strings for pulling from / pushing to `repo`.
    pub(crate) fn pull_scope(repo: &Repository) -> Vec<String> {
        vec![repo.scope("pull")]
    }

    pub(crate) fn push_scope(repo: &Repository) -> Vec<String> {
        vec![repo.scope("pull,push")]
    }
}

fn resolve(base: &str, path: &str) -> Result<Url, RegistryError> {
    let joined = if path.starts_with("http://") || path.starts_with("https://") {
        Url::parse(path)
    } else {
        Url::parse(base).and_then(|b| b.join(path))
    };
    joined
        .map_err(|e| RegistryError::protocol(format!("building URL from {path:?}"), e.to_string()))
}

/// The `Content-Length` header (reqwest's `content_length()` is the body size, 0 for HEAD).
pub(crate) fn content_length(resp: &Response) -> Option<u64> {
    resp.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}
