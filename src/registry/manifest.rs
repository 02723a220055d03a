//! Manifests and indexes as raw bytes: GET/HEAD/PUT/DELETE by tag or digest. Bytes are kept
//! verbatim; the digest is computed over exactly those bytes and checked against the digest asked
//! for and against `Docker-Content-Digest`.

use super::client::{Client, Req, ReqBody, content_length};
use super::error::RegistryError;
use super::platform::{Platform, select_platform};
use crate::digest::Digest;
use crate::image::reference::{Reference, Repository};
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

const ACCEPT_ALL: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
const DIGEST_HEADER: &str = "docker-content-digest";

/// Whether `media_type` is an index / manifest list.
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// A manifest or index exactly as the registry stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawManifest {
    pub bytes: Bytes,
    pub media_type: String,
    pub digest: Digest,
}

/// What a manifest HEAD tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestInfo {
    pub media_type: String,
    pub digest: Option<Digest>,
    pub size: Option<u64>,
}

fn accept() -> HeaderValue {
    HeaderValue::from_static(ACCEPT_ALL)
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

fn media_type_of(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or(s).trim().to_string())
        .unwrap_or_default()
}

impl Client {
    /// `GET` a manifest or index by tag or digest.
    pub async fn get_manifest(&self, r: &Reference) -> Result<RawManifest, RegistryError> {
        let repo = r.context();
        let mut req = Req::new(Method::GET, manifest_path(r), Client::pull_scope(repo));
        req.headers.insert(ACCEPT, accept());
        let resp = self.send(repo, req).await?;
        let resp = self.check(resp, "GET", &[200]).await?;
        let announced = header_digest(&resp);
        let mut media_type = media_type_of(&resp);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| RegistryError::transport("GET", &r.name(), &e))?;
        let digest = Digest::of(&bytes);
        let what = format!("manifest {}", r.name());
        if let Some(want) = r.digest().filter(|w| **w != digest) {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: want.clone(),
                actual: digest,
            });
        }
        if let Some(want) = announced.filter(|w| *w != digest) {
            return Err(RegistryError::DigestMismatch {
                what: format!("{what} (Docker-Content-Digest)"),
                expected: want,
                actual: digest,
            });
        }
        if media_type.is_empty() || media_type == "application/json" || media_type == "text/plain" {
            media_type = sniff_media_type(&bytes);
        }
        Ok(RawManifest {
            bytes,
            media_type,
            digest,
        })
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

    /// `PUT` manifest bytes under `r`'s tag or digest; returns their digest.
    pub async fn put_manifest(
        &self,
        r: &Reference,
        bytes: Bytes,
        media_type: &str,
    ) -> Result<Digest, RegistryError> {
        let digest = Digest::of(&bytes);
        if let Some(want) = r.digest().filter(|w| **w != digest) {
            return Err(RegistryError::DigestMismatch {
                what: format!("manifest to push to {}", r.name()),
                expected: want.clone(),
                actual: digest,
            });
        }
        let repo = r.context();
        let mut req = Req::new(Method::PUT, manifest_path(r), Client::push_scope(repo));
        let ct = HeaderValue::from_str(media_type)
            .map_err(|e| RegistryError::protocol("manifest media type", e.to_string()))?;
        req.headers.insert(CONTENT_TYPE, ct);
        req.body = ReqBody::Bytes(bytes);
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
    /// for `platform`, fetched by digest. Returns the index too when there was one.
    pub async fn get_image_manifest(
        &self,
        r: &Reference,
        platform: &Platform,
    ) -> Result<(RawManifest, Option<RawManifest>), RegistryError> {
        let top = self.get_manifest(r).await?;
        if !is_index(&top.media_type) {
            return Ok((top, None));
        }
        let child = select_platform(&top.bytes, platform, &r.name())?;
        let m = self.get_manifest(&r.with_digest(child.digest)).await?;
        Ok((m, Some(top)))
    }
}

/// `mediaType` from the JSON when the server did not say (or said `application/json`).
fn sniff_media_type(bytes: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct M {
        #[serde(rename = "mediaType", default)]
        media_type: String,
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<M>(bytes) {
        Ok(m) if !m.media_type.is_empty() => m.media_type,
        Ok(m) if m.manifests.is_some() => OCI_INDEX.into(),
        _ => OCI_MANIFEST.into(),
    }
}
