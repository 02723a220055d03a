//! Registry client (OCI Distribution) on reqwest + tokio: transport and scheme rules, the
//! `WWW-Authenticate` challenge flow with multi-scope bearer tokens, the Go lifecycle's keychain
//! (`CNB_REGISTRY_AUTH`, docker config, credential helpers), manifests and blobs as raw bytes
//! with digest verification, streaming uploads with mounts, access checks, retries.
//!
//! Manifests, media types and platforms are `cnb::image`'s ([`RawManifest`](crate::image::RawManifest),
//! [`MediaType`](crate::image::MediaType), [`Platform`](crate::image::Platform),
//! [`select_manifest`](crate::image::select_manifest)): this module depends on `image`, never the
//! reverse. [`RemoteStore`] is the [`ImageStore`](crate::image::ImageStore) over a [`Client`].

mod access;
mod auth;
mod blob;
mod client;
mod copy;
mod docker_config;
mod error;
mod keychain;
mod manifest;
mod retry;
mod store;
mod transport;
mod upload;

pub use blob::{BlobInfo, BlobReader, into_registry_error};
pub use client::{Client, ClientOptions, Direction, Progress, ProgressFn};
pub use docker_config::DockerConfig;
pub use error::RegistryError;
pub use keychain::{Credential, ENV_REGISTRY_AUTH, Keychain, KeychainError, Secret};
pub use manifest::ManifestInfo;
pub use retry::RetryPolicy;
pub use store::{RemoteStore, registry_error};
pub use transport::{TransportOptions, allows_plain_http, is_insecure};
pub use upload::{
    BlobSource, ByteStream, PushOptions, PushOutcome, PushedBlob, for_each_concurrent,
};
