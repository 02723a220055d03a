//! HTTP clients and the scheme rules. HTTPS by default; go-containerregistry lets `localhost`,
//! `*.localhost`, loopback, `::1` and RFC 1918 registries, and registries named in the
//! insecure list, fall back to plain HTTP after HTTPS fails. Insecure-list registries also skip
//! TLS verification. Proxies come from `HTTP(S)_PROXY`/`NO_PROXY`, CA roots from the system or
//! `SSL_CERT_FILE`/`SSL_CERT_DIR`. Response bodies are never decompressed (byte-exact blobs).

use super::error::RegistryError;
use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct TransportOptions {
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (not the whole transfer).
    pub read_timeout: Duration,
    /// HTTP/1.1 only (escape hatch for proxies that mishandle HTTP/2).
    pub http1_only: bool,
    pub user_agent: String,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(300),
            http1_only: std::env::var_os("CNB_REGISTRY_HTTP1_ONLY")
                .is_some_and(|v| v == "true" || v == "1"),
            user_agent: format!("cnb-lifecycle-rs/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Lazily built clients: building the verifying one needs CA certificates, which a plain-HTTP
/// registry must not require.
pub(crate) struct Transport {
    opts: TransportOptions,
    verified: OnceLock<Result<reqwest::Client, String>>,
    unverified: OnceLock<Result<reqwest::Client, String>>,
}

impl Transport {
    pub fn new(opts: TransportOptions) -> Self {
        Transport {
            opts,
            verified: OnceLock::new(),
            unverified: OnceLock::new(),
        }
    }

    /// The client for a request: TLS verification off for insecure registries; plain-HTTP
    /// requests work with either, so they fall back to the unverified one if needed.
    pub fn client(
        &self,
        skip_verify: bool,
        plain_http: bool,
    ) -> Result<&reqwest::Client, RegistryError> {
        let build = |skip: bool| {
            let mut b = reqwest::Client::builder()
                .connect_timeout(self.opts.connect_timeout)
                .read_timeout(self.opts.read_timeout)
                .user_agent(self.opts.user_agent.clone())
                .http2_adaptive_window(true)
                .tls_danger_accept_invalid_certs(skip);
            if self.opts.http1_only {
                b = b.http1_only();
            }
            if let Some(p) = env_proxy() {
                b = b.no_proxy().proxy(p);
            }
            b.build().map_err(|e| super::error::error_chain(&e))
        };
        let verified = || self.verified.get_or_init(|| build(false)).as_ref();
        let unverified = || self.unverified.get_or_init(|| build(true)).as_ref();
        let r = if skip_verify {
            unverified()
        } else if plain_http {
            verified().or_else(|_| unverified())
        } else {
            verified()
        };
        r.map_err(|e| {
            RegistryError::Tls(format!(
                "{e} (set SSL_CERT_FILE or SSL_CERT_DIR to a CA bundle)"
            ))
        })
    }
}

/// Proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` (either case) and `NO_PROXY`, with Go's
/// exception that `localhost` and loopback addresses never go through a proxy.
fn env_proxy() -> Option<reqwest::Proxy> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
    };
    let https = var(&["HTTPS_PROXY", "https_proxy"]);
    let http = var(&["HTTP_PROXY", "http_proxy"]);
    let all = var(&["ALL_PROXY", "all_proxy"]);
    if https.is_none() && http.is_none() && all.is_none() {
        return None;
    }
    let proxy = reqwest::Proxy::custom(move |url: &reqwest::Url| {
        let host = url
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let loopback =
            host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if loopback {
            return None;
        }
        let chosen = if url.scheme() == "https" {
            https.as_ref()
        } else {
            http.as_ref()
        };
        chosen.or(all.as_ref()).cloned()
    });
    Some(proxy.no_proxy(reqwest::NoProxy::from_env()))
}

/// Whether go-containerregistry would try plain HTTP for `registry` on its own.
pub fn allows_plain_http(registry: &str) -> bool {
    if registry.starts_with("localhost:") || registry == "localhost" {
        return true;
    }
    let host = host_of(registry);
    if host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private(),
        Ok(IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// `host:port` / `[v6]:port` → host.
fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match registry.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => registry,
    }
}

/// imgutil's rule: an insecure-registry entry applies when the image name starts with it.
pub fn is_insecure(insecure_registries: &[String], image_name: &str) -> bool {
    insecure_registries
        .iter()
        .any(|r| !r.is_empty() && image_name.starts_with(r.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_rules() {
        for r in [
            "localhost",
            "localhost:5000",
            "a.localhost:1",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "10.1.2.3:80",
            "172.16.0.1",
            "192.168.1.1:5000",
        ] {
            assert!(allows_plain_http(r), "{r}");
        }
        for r in [
            "index.docker.io",
            "gcr.io",
            "8.8.8.8:5000",
            "172.32.0.1",
            "[2001:db8::1]:5000",
            "localhostx:5000",
        ] {
            assert!(!allows_plain_http(r), "{r}");
        }
        let list = vec!["my-reg:5000".to_string()];
        assert!(is_insecure(&list, "my-reg:5000/app"));
        assert!(!is_insecure(&list, "other/app"));
    }
}
