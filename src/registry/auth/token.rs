//! Bearer tokens from the realm of a `WWW-Authenticate: Bearer` challenge: `GET realm?scope=…&
//! service=…` (with Basic credentials when we have them) or, for identity tokens, the OAuth2
//! `POST grant_type=refresh_token`. Several scopes go into one token so that a cross-repository
//! mount (pull on the source, push on the target) is authorized. Tokens are cached per registry
//! and scope set until they expire, and dropped when the registry answers 401.

use super::challenge::Challenge;
use crate::registry::error::{RegistryError, error_chain};
use crate::registry::keychain::{Credential, Secret};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "cnb-lifecycle-rs";
const MAX_TOKEN_BODY: usize = 1 << 20;

struct Cached {
    scopes: BTreeSet<String>,
    token: Secret,
    expires: Instant,
}

#[derive(Default)]
pub(crate) struct TokenCache {
    tokens: Mutex<HashMap<String, Vec<Cached>>>,
    /// Refresh tokens handed out by token servers (replace the credential, like ggcr).
    refresh: Mutex<HashMap<String, Secret>>,
}

impl TokenCache {
    /// A cached, unexpired token covering all of `scopes`.
    pub fn get(&self, registry: &str, scopes: &[String]) -> Option<Secret> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        tokens
            .get(registry)?
            .iter()
            .find(|c| c.expires > now && scopes.iter().all(|s| c.scopes.contains(s)))
            .map(|c| c.token.clone())
    }

    /// Forgets every token for `registry` (after a 401).
    pub fn invalidate(&self, registry: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(registry);
    }

    /// Gets a token for `scopes` from the challenge's realm.
    pub async fn fetch(
        &self,
        http: &reqwest::Client,
        registry: &str,
        insecure: bool,
        challenge: &Challenge,
        credential: &Credential,
        scopes: &[String],
    ) -> Result<Secret, RegistryError> {
        let realm = challenge.param("realm").ok_or_else(|| {
            RegistryError::Auth(format!(
                "malformed www-authenticate from {registry}, missing realm"
            ))
        })?;
        validate_realm(realm, registry, insecure).map_err(|e| {
            RegistryError::Auth(format!(
                "invalid realm in www-authenticate from {registry}: {e}"
            ))
        })?;
        let service = challenge.param("service").unwrap_or_default();
        let refresh = self
            .refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(registry)
            .cloned();
        let credential = match refresh {
            Some(r) => Credential::IdentityToken(r),
            None => credential.clone(),
        };
        let body = match &credential {
            Credential::IdentityToken(rt) => match oauth(http, realm, service, rt, scopes).await {
                Err((Some(404), _)) => basic_get(http, realm, service, None, scopes).await,
                r => r,
            },
            Credential::Basic(b) => basic_get(http, realm, service, Some(b), scopes).await,
            _ => basic_get(http, realm, service, None, scopes).await,
        }
        .map_err(|(_, m)| {
            RegistryError::Auth(format!(
                "getting a token for {registry} ({}): {m}",
                scopes.join(" ")
            ))
        })?;

        #[derive(serde::Deserialize)]
        struct TokenJson {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
            #[serde(default)]
            expires_in: u64,
            #[serde(default)]
            refresh_token: String,
        }
        let t: TokenJson = serde_json::from_slice(&body).map_err(|e| {
            RegistryError::Auth(format!(
                "token server for {registry} answered invalid JSON: {e}"
            ))
        })?;
        let token = if t.access_token.is_empty() {
            t.token
        } else {
            t.access_token
        };
        if token.is_empty() {
            return Err(RegistryError::Auth(format!(
                "no token in bearer response from the token server for {registry}"
            )));
        }
        if !t.refresh_token.is_empty() {
            self.refresh
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(registry.to_string(), Secret::new(t.refresh_token));
        }
        // Spec default is 60s; renew a little early.
        let lifetime = Duration::from_secs(if t.expires_in == 0 { 60 } else { t.expires_in })
            .saturating_sub(Duration::from_secs(5));
        let token = Secret::new(token);
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(registry.to_string())
            .or_default()
            .push(Cached {
                scopes: scopes.iter().cloned().collect(),
                token: token.clone(),
                expires: Instant::now() + lifetime,
            });
        Ok(token)
    }
}

type FetchResult = Result<Vec<u8>, (Option<u16>, String)>;

async fn basic_get(
    http: &reqwest::Client,
    realm: &str,
    service: &str,
    basic: Option<&Secret>,
    scopes: &[String],
) -> FetchResult {
    let mut url =
        reqwest::Url::parse(realm).map_err(|e| (None, format!("parsing realm {realm:?}: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        for s in scopes {
            q.append_pair("scope", s);
        }
        if !service.is_empty() {
            q.append_pair("service", service);
        }
    }
    let mut req = http.get(url);
    if let Some(b) = basic {
        req = req.header(
            reqwest::header::AUTHORIZATION,
            format!("Basic {}", b.expose()),
        );
    }
    finish(req.send().await).await
}

async fn oauth(
    http: &reqwest::Client,
    realm: &str,
    service: &str,
    refresh: &Secret,
    scopes: &[String],
) -> FetchResult {
    let mut form =
        reqwest::Url::parse("http://form.invalid/").map_err(|e| (None, e.to_string()))?;
    form.query_pairs_mut()
        .append_pair("scope", &scopes.join(" "))
        .append_pair("service", service)
        .append_pair("client_id", CLIENT_ID)
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh.expose());
    let body = form.query().unwrap_or_default().to_string();
    let req = http
        .post(realm)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body);
    finish(req.send().await).await
}

async fn finish(r: Result<reqwest::Response, reqwest::Error>) -> FetchResult {
    let resp = r.map_err(|e| (None, error_chain(&e)))?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| (Some(status), error_chain(&e)))?;
    if body.len() > MAX_TOKEN_BODY {
        return Err((Some(status), "token response too large".into()));
    }
    if status != 200 {
        // Never echo a token server's body: it may carry credentials.
        return Err((Some(status), format!("unexpected status code {status}")));
    }
    Ok(body.to_vec())
}

/// go-containerregistry v0.21.9's realm rules: https (http only for insecure registries), and a
/// loopback/private/link-local realm host only when it is the registry itself.
fn validate_realm(realm: &str, registry: &str, insecure: bool) -> Result<(), String> {
    let u = reqwest::Url::parse(realm).map_err(|e| format!("parsing realm {realm:?}: {e}"))?;
    match u.scheme() {
        "https" => {}
        "http" if insecure => {}
        "http" => {
            return Err(
                "realm scheme \"http\" not allowed for a secure registry; use https".into(),
            );
        }
        s => {
            return Err(format!(
                "realm scheme {s:?} not allowed; must be https (or http for insecure registries)"
            ));
        }
    }
    let host = u.host_str().unwrap_or_default();
    let authority = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    if authority == registry {
        return Ok(());
    }
    if let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        let private = match ip {
            IpAddr::V4(v4) => {
                v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()
            }
            IpAddr::V6(v6) => {
                v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_unicast_link_local()
                    || (v6.segments()[0] & 0xfe00) == 0xfc00
            }
        };
        if private {
            return Err(format!(
                "realm host {host:?} is a private or link-local address"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_rules() {
        assert!(validate_realm("https://auth.docker.io/token", "index.docker.io", false).is_ok());
        assert!(validate_realm("http://auth.example.com/token", "r.io", false).is_err());
        assert!(validate_realm("http://127.0.0.1:5000/token", "127.0.0.1:5000", true).is_ok());
        assert!(validate_realm("http://127.0.0.1:6000/token", "127.0.0.1:5000", true).is_err());
        assert!(validate_realm("ftp://x/token", "r.io", true).is_err());
    }
}
