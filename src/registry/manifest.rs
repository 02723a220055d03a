//! Manifests and indexes as raw bytes: GET/HEAD/PUT/DELETE by tag or digest. Bytes are kept
//! verbatim; the digest is computed over exactly those bytes and checked against the digest asked
//! for and against `Docker-Content-Digest`.

use super::client::{Client, Req, ReqBody, content_length};
use super::error::RegistryError;
use crate::digest::Digest;
use crate::image::reference::{Reference, Repository};
use crate::image::{ImageError, MediaType, Platform, RawManifest, select_manifest};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};

/// What `GET`/`HEAD` accept: OCI and Docker v2 manifests and indexes.
static ACCEPT_ALL: [MediaType; 4] = [
    MediaType::OCI_MANIFEST,
    MediaType::OCI_INDEX,
    MediaType::DOCKER_MANIFEST,
    MediaType::DOCKER_MANIFEST_LIST,
];
const DIGEST_HEADER: &str = "docker-content-digest";

/// What a manifest HEAD tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestInfo {
    /// The `Content-Type` without parameters (empty when the registry sent none).
    pub media_type: MediaType,
    pub digest: Option<Digest>,
    pub size: Option<u64>,
}

fn accept() -> HeaderValue {
    let all: Vec<&str> = ACCEPT_ALL.iter().map(MediaType::as_str).collect();
    HeaderValue::from_str(&all.join(", ")).unwrap_or_else(|_| HeaderValue::from_static("*/*"))
}

fn manifest_path(r: &Reference) -> String {
    format!("/v2/{}/manifests/{}", r.repository(), r.identifier())
}

fn header_digest(resp: &reqwest::Response) -> Option<Digest> {
    resp.headers()
        .get(DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| Digest::parse(s.trim()).ok())
}

/// The `Content-Type` without parameters (`; charset=…`).
fn media_type_of(resp: &reqwest::Response) -> MediaType {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| MediaType::new(s.split(';').next().unwrap_or(s).trim()))
        .unwrap_or_default()
}

impl Client {
    /// `GET` a manifest or index by tag or digest, verified against the digest asked for and
    /// `Docker-Content-Digest`. The media type is the `Content-Type` when it names a manifest
    /// or index, else the document's own (see [`RawManifest::new`]).
    pub async fn get_manifest(&self, r: &Reference) -> Result<RawManifest, RegistryError> {
        let repo = r.context();
        let mut req = Req::new(Method::GET, manifest_path(r), Client::pull_scope(repo));
        req.headers.insert(ACCEPT, accept());
        let resp = self.send(repo, req).await?;
        let resp = self.check(resp, "GET", &[200]).await?;
        let announced = header_digest(&resp);
        let media_type = media_type_of(&resp);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RegistryError::transport("GET", &r.name(), &e))?;
        let raw = RawManifest::new(bytes, Some(media_type).filter(|m| !m.is_empty()));
        let what = format!("manifest {}", r.name());
        if let Some(want) = r.digest().filter(|w| *w != raw.digest()) {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: want.clone(),
                actual: raw.digest().clone(),
            });
        }
        if let Some(want) = announced.filter(|w| w != raw.digest()) {
            return Err(RegistryError::DigestMismatch {
                what: format!("{what} (Docker-Content-Digest)"),
                expected: want,
                actual: raw.digest().clone(),
            });
        }
        Ok(raw)
    }

    /// `HEAD` a manifest: `None` on 404.
    pub async fn head_manifest(
        &self,
        r: &Reference,
    ) -> Result<Option<ManifestInfo>, RegistryError> {
        let repo = r.context();
        let mut req = Req::new(Method::HEAD, manifest_path(r), Client::pull_scope(repo));
        req.headers.insert(ACCEPT, accept());
        let resp = self.send(repo, req).await?;
        if resp.status().as_u16() == 404 {
            return Ok(None);
        }
        let resp = self.check(resp, "HEAD", &[200]).await?;
        Ok(Some(ManifestInfo {
            media_type: media_type_of(&resp),
            digest: header_digest(&resp),
            size: content_length(&resp),
        }))
    }

    /// `PUT` a manifest or index under `r`'s tag or digest (with its media type as
    /// `Content-Type`); returns its digest.
    pub async fn put_manifest(
        &self,
        r: &Reference,
        manifest: &RawManifest,
    ) -> Result<Digest, RegistryError> {
        let digest = manifest.digest().clone();
        if let Some(want) = r.digest().filter(|w| **w != digest) {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest to push to {}", r.name()),
                expected: want.clone(),
                actual: digest,
            });
        }
        let repo = r.context();
        let mut req = Req::new(Method::PUT, manifest_path(r), Client::push_scope(repo));
        let ct = HeaderValue::from_str(manifest.media_type().as_str())
            .map_err(|e| RegistryError::protocol("manifest media type", e.to_string()))?;
        req.headers.insert(CONTENT_TYPE, ct);
        req.body = ReqBody::Bytes(manifest.bytes().clone());
        let resp = self.send(repo, req).await?;
        let resp = self.check(resp, "PUT", &[200, 201, 202]).await?;
        if let Some(got) = header_digest(&resp).filter(|g| *g != digest) {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest pushed to {} (Docker-Content-Digest)", r.name()),
                expected: digest,
                actual: got,
            });
        }
        Ok(digest)
    }

    /// `DELETE` a manifest by digest (tags cannot be deleted on Distribution).
    pub async fn delete_manifest(
        &self,
        repo: &Repository,
        digest: &Digest,
    ) -> Result<(), RegistryError> {
        let path = format!("/v2/{}/manifests/{digest}", repo.repository());
        let resp = self
            .send(
                repo,
                Req::new(
                    Method::DELETE,
                    path,
                    vec![repo.scope("delete"), repo.scope("pull,push")],
                ),
            )
            .await?;
        self.check(resp, "DELETE", &[200, 202]).await?;
        Ok(())
    }

    /// The image manifest for `platform`: the manifest itself, or — for an index — the child
    /// for `platform` (chosen by [`select_manifest`]), fetched by digest. Returns the index too
    /// when there was one.
    pub async fn get_image_manifest(
        &self,
        r: &Reference,
        platform: &Platform,
    ) -> Result<(RawManifest, Option<RawManifest>), RegistryError> {
        let top = self.get_manifest(r).await?;
        if !top.is_index() {
            return Ok((top, None));
        }
        let index = top.index()?;
        let Some(child) = select_manifest(&index, platform) else {
            return Err(RegistryError::Image(ImageError::NoMatchingPlatform {
                index: top.digest().clone(),
                platform: platform.to_string(),
            }));
        };
        let m = self
            .get_manifest(&r.with_digest(child.digest.clone()))
            .await?;
        Ok((m, Some(top)))
    }
}
