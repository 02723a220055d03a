//! Registry client errors: HTTP answers in go-containerregistry's shape
//! (`GET <url>: MANIFEST_UNKNOWN: manifest unknown; …`), transport failures, digest mismatches.

use crate::digest::Digest;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry answered with an unexpected status.
    #[error("{method} {url}: {message}")]
    Status {
        method: String,
        url: String,
        status: u16,
        codes: Vec<String>,
        message: String,
    },
    /// No HTTP answer: DNS, connection refused, TLS, timeouts, broken bodies.
    #[error("{method} {url}: {message}")]
    Transport {
        method: String,
        url: String,
        message: String,
        retryable: bool,
    },
    /// Content did not hash to the digest it was asked for or announced with.
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    /// Content length differs from the size in the descriptor.
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    /// Getting a bearer token or applying credentials failed.
    #[error("{0}")]
    Auth(String),
    /// The registry broke the protocol (missing Location header, bad JSON…).
    #[error("{context}: {message}")]
    Protocol { context: String, message: String },
    /// A local file or stream failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A manifest or config the registry returned could not be used (bad JSON, wrong type).
    #[error(transparent)]
    Image(#[from] crate::image::ImageError),
    /// The HTTPS client could not be built (e.g. no CA certificates; see SSL_CERT_FILE).
    #[error("creating HTTPS client: {0}")]
    Tls(String),
}

impl RegistryError {
    /// The HTTP status, when the registry answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RegistryError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// 404 (manifest/blob/repository unknown).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 401 or 403.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// No HTTP answer at all.
    pub fn is_transport(&self) -> bool {
        matches!(self, RegistryError::Transport { .. })
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RegistryError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn protocol(context: impl Into<String>, message: impl Into<String>) -> Self {
        RegistryError::Protocol {
            context: context.into(),
            message: message.into(),
        }
    }

    pub(crate) fn transport(method: &str, url: &str, e: &reqwest::Error) -> Self {
        let retryable = e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
        let redacted = redact_url(url);
        RegistryError::Transport {
            method: method.into(),
            url: redacted.clone(),
            message: error_chain(e).replace(url, &redacted),
            retryable,
        }
    }

    /// Builds the error for an unexpected answer from its status and (error) body.
    pub(crate) fn from_response(method: &str, url: &str, status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default)]
            errors: Vec<Diag>,
        }
        #[derive(serde::Deserialize)]
        struct Diag {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
            #[serde(default)]
            detail: Option<serde_json::Value>,
        }
        let diags = serde_json::from_slice::<Body>(body)
            .map(|b| b.errors)
            .unwrap_or_default();
        let text = status_text(status);
        let message = match diags.len() {
            0 if body.is_empty() && method == "HEAD" => {
                format!(
                    "unexpected status code {status} {text} (HEAD responses have no body, use GET for details)"
                )
            }
            0 if body.is_empty() => format!("unexpected status code {status} {text}"),
            0 => format!(
                "unexpected status code {status} {text}: {}",
                String::from_utf8_lossy(body).trim_end()
            ),
            _ => {
                let parts: Vec<String> = diags
                    .iter()
                    .map(|d| match &d.detail {
                        Some(det) if !det.is_null() => {
                            format!("{}: {}; {}", d.code, d.message, det)
                        }
                        _ => format!("{}: {}", d.code, d.message),
                    })
                    .collect();
                if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("multiple errors returned: {}", parts.join("; "))
                }
            }
        };
        RegistryError::Status {
            method: method.into(),
            url: redact_url(url),
            status,
            codes: diags.into_iter().map(|d| d.code).collect(),
            message,
        }
    }
}

/// `e` and its causes, joined with `: ` (reqwest hides the interesting part in sources).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// Drops query values that may carry secrets (upload state, signed URLs) from URLs in messages.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, q)) => {
            let keys: Vec<String> = q
                .split('&')
                .map(|kv| {
                    kv.split_once('=')
                        .map_or(kv.to_string(), |(k, _)| format!("{k}=REDACTED"))
                })
                .collect();
            format!("{base}?{}", keys.join("&"))
        }
        None => url.to_string(),
    }
}

fn status_text(code: u16) -> &'static str {
    reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_ggcr() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}"#;
        let e = RegistryError::from_response("GET", "http://r/v2/a/manifests/x", 404, body);
        assert_eq!(
            e.to_string(),
            r#"GET http://r/v2/a/manifests/x: MANIFEST_UNKNOWN: manifest unknown; {"Tag":"x"}"#
        );
        assert!(e.is_not_found());
        let e = RegistryError::from_response("HEAD", "http://r/v2/a/manifests/x", 401, b"");
        assert_eq!(
            e.to_string(),
            "HEAD http://r/v2/a/manifests/x: unexpected status code 401 Unauthorized (HEAD responses have no body, use GET for details)"
        );
        assert!(e.is_unauthorized());
        let e = RegistryError::from_response(
            "PUT",
            "http://r/u?_state=abc&digest=sha256:1",
            500,
            b"oops\n",
        );
        assert_eq!(
            e.to_string(),
            "PUT http://r/u?_state=REDACTED&digest=REDACTED: unexpected status code 500 Internal Server Error: oops"
        );
    }
}
