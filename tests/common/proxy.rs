//! A loopback HTTP proxy in front of a test registry that (a) issues bearer tokens at `/token`
//! — on the registry's own host:port, as go-containerregistry's realm rules want for loopback —
//! and (b) injects faults (error statuses, dropped connections) into chosen requests.

use super::jwt::Signer;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use std::sync::{Arc, Mutex};

/// What to do to matching requests.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status (and `Retry-After: <secs>` when given) without forwarding.
    Status(u16, Option<u64>),
    /// Close the connection without answering.
    Drop,
}

#[derive(Clone, Debug)]
pub struct FaultRule {
    pub method: &'static str,
    pub path_contains: String,
    /// How many matching requests get the fault.
    pub times: usize,
    pub fault: Fault,
}

/// Users the token issuer knows, and what it signs tokens for.
pub struct TokenIssuer {
    pub signer: Signer,
    pub issuer: String,
    pub service: String,
    pub user: (String, String),
}

#[derive(Default)]
struct State {
    upstream: u16,
    faults: Vec<FaultRule>,
    /// `(method, path)` of every request seen, faults included.
    seen: Vec<(String, String)>,
    /// The `scope` parameters of every token request, in order.
    token_scopes: Vec<Vec<String>>,
}

pub struct Proxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Proxy {
    /// Starts the proxy on its own thread and runtime (tests may block their own thread on
    /// skopeo while the proxy must keep serving).
    pub fn start(upstream_port: u16, issuer: Option<TokenIssuer>) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            upstream: upstream_port,
            ..Default::default()
        }));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let issuer = issuer.map(Arc::new);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let http = reqwest::Client::builder().build().unwrap();
                loop {
                    let (conn, _) = tokio::select! {
                        c = listener.accept() => match c { Ok(c) => c, Err(_) => continue },
                        _ = &mut rx => break,
                    };
                    let (st, http, issuer) = (st.clone(), http.clone(), issuer.clone());
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(move |req| {
                            handle(req, st.clone(), http.clone(), issuer.clone())
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(conn), svc)
                            .await;
                    });
                }
            });
        });
        Proxy {
            port,
            state,
            _shutdown: tx,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn set_upstream(&self, port: u16) {
        self.state.lock().unwrap().upstream = port;
    }

    pub fn add_fault(&self, rule: FaultRule) {
        self.state.lock().unwrap().faults.push(rule);
    }

    pub fn seen(&self) -> Vec<(String, String)> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn token_scopes(&self) -> Vec<Vec<String>> {
        self.state.lock().unwrap().token_scopes.clone()
    }
}

type Resp = Response<Full<Bytes>>;

fn status(code: u16, body: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
    r
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<Mutex<State>>,
    http: reqwest::Client,
    issuer: Option<Arc<TokenIssuer>>,
) -> Result<Resp, std::io::Error> {
    let method = req.method().to_string();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let fault = {
        let mut s = state.lock().unwrap();
        s.seen.push((method.clone(), path.clone()));
        let rule = s
            .faults
            .iter_mut()
            .find(|r| r.times > 0 && r.method == method && path.contains(&r.path_contains));
        rule.map(|r| {
            r.times -= 1;
            r.fault.clone()
        })
    };
    match fault {
        Some(Fault::Drop) => return Err(std::io::Error::other("injected connection drop")),
        Some(Fault::Status(code, after)) => {
            let _ = req.into_body().collect().await;
            let mut r = status(code, "");
            if let Some(a) = after {
                r.headers_mut()
                    .insert("retry-after", a.to_string().parse().unwrap());
            }
            return Ok(r);
        }
        None => {}
    }
    if let (Some(iss), true) = (&issuer, path.starts_with("/token")) {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        return Ok(issue(iss, &method, auth.as_deref(), &path, &body, &state));
    }
    // Forward, keeping Host so the registry's Location headers point back at the proxy.
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let upstream = state.lock().unwrap().upstream;
    let url = format!("http://127.0.0.1:{upstream}{path}");
    let mut fwd = http.request(parts.method.clone(), url).body(body);
    for (k, v) in parts.headers.iter() {
        if k != "connection" && k != "transfer-encoding" && k != "content-length" {
            fwd = fwd.header(k, v);
        }
    }
    let resp = match fwd.send().await {
        Ok(r) => r,
        Err(e) => return Ok(status(502, &e.to_string())),
    };
    let mut out = Response::builder().status(resp.status().as_u16());
    for (k, v) in resp.headers().iter() {
        if k != "connection" && k != "transfer-encoding" {
            out = out.header(k, v);
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    Ok(out.body(Full::new(bytes)).unwrap())
}

/// The refresh token the issuer accepts for its user (OAuth2 `grant_type=refresh_token`).
pub const REFRESH_TOKEN: &str = "rt-alice";

/// `GET /token?scope=…&service=…`: Basic credentials of the known user get every action asked
/// for; no credentials get a token without access. `POST /token` (form) with
/// `grant_type=refresh_token&refresh_token=rt-alice` is the known user too.
fn issue(
    iss: &TokenIssuer,
    method: &str,
    auth: Option<&str>,
    path: &str,
    body: &[u8],
    state: &Mutex<State>,
) -> Resp {
    let url = reqwest::Url::parse(&format!("http://x{path}")).unwrap();
    let form =
        reqwest::Url::parse(&format!("http://x/?{}", String::from_utf8_lossy(body))).unwrap();
    let params: Vec<(String, String)> = if method == "POST" {
        form.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    } else {
        url.query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    };
    let scopes: Vec<String> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
        .collect();
    state.lock().unwrap().token_scopes.push(scopes.clone());
    use base64::Engine as _;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", iss.user.0, iss.user.1))
    );
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let known = if method == "POST" {
        if param("grant_type") != Some("refresh_token")
            || param("refresh_token") != Some(REFRESH_TOKEN)
        {
            return status(401, r#"{"error":"invalid_grant"}"#);
        }
        true
    } else {
        match auth {
            Some(a) if a == expected => true,
            Some(_) => {
                return status(
                    401,
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}"#,
                );
            }
            None => false,
        }
    };
    let (subject, access) = if known {
        let access = scopes
            .iter()
            .filter_map(|s| {
                let mut p = s.splitn(3, ':');
                let (_ty, name, actions) = (p.next()?, p.next()?, p.next()?);
                Some((
                    name.to_string(),
                    actions.split(',').map(str::to_string).collect(),
                ))
            })
            .collect();
        (iss.user.0.clone(), access)
    } else {
        (String::new(), Vec::new())
    };
    let token = iss
        .signer
        .token(&iss.issuer, &iss.service, &subject, &access);
    let body = if method == "POST" {
        serde_json::json!({"access_token": token, "expires_in": 300, "refresh_token": REFRESH_TOKEN}).to_string()
    } else {
        serde_json::json!({"token": token, "expires_in": 300}).to_string()
    };
    let mut r = status(200, &body);
    r.headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    r
}
