//! Credentials per registry, found in the Go lifecycle's order (`auth.DefaultKeychain`):
//! 1. `CNB_REGISTRY_AUTH` (JSON: registry → `Authorization` header value), looked up at use;
//! 2. the docker config (`credHelpers`/`credsStore` helpers, `auths`), resolved eagerly for
//!    the registries of the images given, before any privilege drop;
//! 3. anonymous.
//!
//! Secrets never appear in `Debug` output or logs.

use super::docker_config::DockerConfig;
use crate::image::reference::Reference;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt;

pub const ENV_REGISTRY_AUTH: &str = "CNB_REGISTRY_AUTH";

/// A secret string whose `Debug`/`Display` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What to authenticate with at one registry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Credential {
    #[default]
    Anonymous,
    /// base64 of `user:password` (docker config `auth`, `Basic …` header value).
    Basic(Secret),
    /// A registry token sent as `Authorization: Bearer` as-is (`registrytoken`, `Bearer …`).
    RegistryToken(Secret),
    /// An OAuth2 refresh token exchanged at the token realm (`identitytoken`, `X-Identity …`).
    IdentityToken(Secret),
}

impl Credential {
    pub fn basic(username: &str, password: &str) -> Credential {
        Credential::Basic(Secret(
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")),
        ))
    }

    /// The credential for an `Authorization` header value, as in `CNB_REGISTRY_AUTH`.
    pub fn from_header(header: &str) -> Result<Credential, KeychainError> {
        let (scheme, value) = header.split_once(' ').ok_or(KeychainError::UnknownHeader)?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Ok(Credential::Basic(Secret(value.to_string()))),
            "bearer" => Ok(Credential::RegistryToken(Secret(value.to_string()))),
            "x-identity" => Ok(Credential::IdentityToken(Secret(value.to_string()))),
            _ => Err(KeychainError::UnknownHeader),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self, Credential::Anonymous)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    /// Same words as the Go lifecycle (which adds "failed to resolve keychain: ").
    #[error("reading auth env var: failed to parse {var} value: {message}")]
    EnvJson { var: String, message: String },
    #[error("parsing auth header: unknown auth type from header")]
    UnknownHeader,
    #[error("reading docker config {path}: {message}")]
    DockerConfig { path: String, message: String },
    #[error("credential helper docker-credential-{helper} failed for {registry}: {message}")]
    Helper {
        helper: String,
        registry: String,
        message: String,
    },
}

/// Credentials for registries. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Keychain {
    /// From `CNB_REGISTRY_AUTH`, keys reduced to `host[:port]`, values unparsed.
    env_headers: BTreeMap<String, Secret>,
    /// Resolved eagerly from the docker config (or set explicitly).
    resolved: BTreeMap<String, Credential>,
    /// Why eager resolution failed for a registry (used to explain a later 401).
    failures: BTreeMap<String, KeychainError>,
}

impl Keychain {
    /// No credentials anywhere.
    pub fn anonymous() -> Keychain {
        Keychain::default()
    }

    /// The Go lifecycle's `DefaultKeychain(images...)`: `CNB_REGISTRY_AUTH` from the process
    /// environment, then the docker config resolved for the registries of `images`.
    /// Only invalid `CNB_REGISTRY_AUTH` JSON is an error; a broken credential helper leaves
    /// that registry anonymous and is reported by [`Keychain::failure`] and in auth errors.
    pub fn from_environment<S: AsRef<str>>(images: &[S]) -> Result<Keychain, KeychainError> {
        let env = std::env::var(ENV_REGISTRY_AUTH).unwrap_or_default();
        Keychain::from_sources(&env, DockerConfig::load_default(), images)
    }

    /// [`Keychain::from_environment`] with its inputs given explicitly (tests, or a platform
    /// that reads them elsewhere).
    pub fn from_sources<S: AsRef<str>>(
        env_value: &str,
        config: Result<DockerConfig, KeychainError>,
        images: &[S],
    ) -> Result<Keychain, KeychainError> {
        let mut k = Keychain::from_env_value(env_value)?;
        for image in images {
            let Ok(reference) = Reference::parse(image.as_ref()) else {
                continue;
            };
            let registry = reference.registry().to_string();
            if k.resolved.contains_key(&registry) || k.failures.contains_key(&registry) {
                continue;
            }
            match config
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|c| c.credential(&registry))
            {
                Ok(Credential::Anonymous) => {}
                Ok(c) => {
                    k.resolved.insert(registry, c);
                }
                Err(e) => {
                    k.failures.insert(registry, e);
                }
            }
        }
        Ok(k)
    }

    /// A keychain from a `CNB_REGISTRY_AUTH` value only (`""` = none).
    pub fn from_env_value(value: &str) -> Result<Keychain, KeychainError> {
        let mut k = Keychain::default();
        if value.is_empty() {
            return Ok(k);
        }
        let map: BTreeMap<String, String> =
            serde_json::from_str(value).map_err(|e| KeychainError::EnvJson {
                var: ENV_REGISTRY_AUTH.into(),
                message: e.to_string(),
            })?;
        for (registry, header) in map {
            k.env_headers
                .insert(strip_to_host(&registry).to_string(), Secret(header));
        }
        Ok(k)
    }

    /// Sets the credential for `registry` (ggcr registry string, e.g. `index.docker.io`).
    pub fn with(mut self, registry: &str, credential: Credential) -> Keychain {
        self.resolved.insert(registry.to_string(), credential);
        self
    }

    /// The credential for `registry`: `CNB_REGISTRY_AUTH` first, then resolved ones.
    pub fn resolve(&self, registry: &str) -> Result<Credential, KeychainError> {
        if let Some(h) = self.env_headers.get(registry) {
            return Credential::from_header(h.expose());
        }
        Ok(self.resolved.get(registry).cloned().unwrap_or_default())
    }

    /// Why the docker config gave nothing for `registry`, if it failed.
    pub fn failure(&self, registry: &str) -> Option<&KeychainError> {
        self.failures.get(registry)
    }
}

/// `https://host:port/path` → `host:port`.
pub(crate) fn strip_to_host(url: &str) -> &str {
    let s = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    s.split('/').next().unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `testdata/registry/keychain`: what the Go lifecycle's keychain resolves.
    #[test]
    fn matches_go_keychain() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/registry/keychain");
        let images = [
            "busybox",
            "url-form.example.com:5000/app",
            "userpass.example.com/a/b",
            "identity.example.com/x/y",
            "regtoken.example.com/r/s",
            "env.example.com/e/f",
            "none.example.com/n/m",
            "docker.io/library/busybox",
        ];
        let env = r#"{"https://env.example.com/v2/":"Basic ZW52OmVudnB3","userpass.example.com":"Bearer from-env"}"#;
        let k = Keychain::from_sources(env, DockerConfig::load_dir(&dir), &images).unwrap();
        let golden = std::fs::read_to_string(dir.join("go-resolved.tsv")).unwrap();
        let mut n = 0;
        for line in golden.lines() {
            let (registry, rest) = line.split_once('\t').unwrap();
            let field = |name: &str| {
                rest.split(' ')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .unwrap_or_default()
                    .to_string()
            };
            let want = if rest == "anonymous" {
                Credential::Anonymous
            } else if !field("registrytoken").is_empty() {
                Credential::RegistryToken(Secret::new(field("registrytoken")))
            } else if !field("auth").is_empty() {
                Credential::Basic(Secret::new(field("auth")))
            } else if !field("username").is_empty() {
                Credential::basic(&field("username"), &field("password"))
            } else {
                Credential::IdentityToken(Secret::new(field("identitytoken")))
            };
            assert_eq!(k.resolve(registry).unwrap(), want, "{line}");
            n += 1;
        }
        assert_eq!(n, images.len());
    }

    #[test]
    fn env_value_like_go() {
        let k = Keychain::from_env_value(
            r#"{"https://r.example.com/v1/":"Basic dXNlcjpwYXNz","index.docker.io":"bearer tok","id.io":"X-Identity rt","odd.io":"Digest x"}"#,
        )
        .unwrap();
        assert_eq!(
            k.resolve("r.example.com").unwrap(),
            Credential::Basic(Secret::new("dXNlcjpwYXNz"))
        );
        assert_eq!(
            k.resolve("index.docker.io").unwrap(),
            Credential::RegistryToken(Secret::new("tok"))
        );
        assert_eq!(
            k.resolve("id.io").unwrap(),
            Credential::IdentityToken(Secret::new("rt"))
        );
        assert_eq!(
            k.resolve("docker.io").unwrap(),
            Credential::Anonymous,
            "docker.io keys do not match"
        );
        assert_eq!(
            k.resolve("odd.io").unwrap_err().to_string(),
            "parsing auth header: unknown auth type from header"
        );
        let e = Keychain::from_env_value("{not json").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("reading auth env var: failed to parse CNB_REGISTRY_AUTH value: "),
            "{e}"
        );
        assert_eq!(
            format!("{:?}", Credential::basic("u", "p")),
            "Basic(<redacted>)"
        );
    }
}
