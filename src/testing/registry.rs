//! A throwaway CNCF Distribution registry (`/usr/bin/docker-registry serve`) on 127.0.0.1.

use super::tools::{require_tool, run};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// Options for a non-shared registry.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// Require HTTP basic auth with this user and password (htpasswd file made with
    /// `htpasswd -Bbn`).
    pub htpasswd: Option<(String, String)>,
    /// Require bearer tokens from an external token issuer.
    pub token_auth: Option<TokenAuthConfig>,
    /// Allow `DELETE` of manifests and blobs (on by default in the shared registry too).
    pub disable_delete: bool,
    /// Serve HTTPS with a fresh self-signed certificate for `IP:127.0.0.1` (made with
    /// `openssl`); see [`Registry::ca_cert_path`].
    pub tls: bool,
}

/// Distribution's `auth.token` section: the registry answers 401 with
/// `Bearer realm=<realm>,service=<service>,scope=…` and accepts JWTs signed by a key whose
/// certificate is in `root_cert_bundle` and whose `iss` is `issuer`.
#[derive(Clone, Debug)]
pub struct TokenAuthConfig {
    pub realm: String,
    pub service: String,
    pub issuer: String,
    pub root_cert_bundle: PathBuf,
}

/// One line of the registry's access log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query, as requested.
    pub path: String,
    pub status: u16,
}

/// A running registry. Killed on drop; also killed by the kernel when the test process dies
/// (`PR_SET_PDEATHSIG`), so no registry outlives its tests.
pub struct Registry {
    child: Mutex<Child>,
    port: u16,
    dir: tempfile::TempDir,
    options: RegistryOptions,
}

/// The registry shared by all tests of this test binary (no auth), started on first use.
pub fn shared_registry() -> &'static Registry {
    static SHARED: OnceLock<Registry> = OnceLock::new();
    SHARED.get_or_init(|| Registry::start(RegistryOptions::default()))
}

impl Registry {
    /// Starts a registry and waits until `/v2/` answers. Panics (naming the Debian package)
    /// when `docker-registry` is missing, and with the registry log when it does not come up.
    pub fn start(options: RegistryOptions) -> Registry {
        require_tool(REGISTRY_BIN, "docker-registry");
        remove_stale_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("cnb-registry-{}-", std::process::id()))
            .tempdir()
            .expect("temp dir for the registry");
        std::fs::create_dir_all(dir.path().join("storage")).expect("registry storage dir");
        if let Some((user, pass)) = &options.htpasswd {
            require_tool("htpasswd", "apache2-utils");
            let line = run(Command::new("htpasswd").args(["-Bbn", user, pass]));
            std::fs::write(dir.path().join("htpasswd"), line).expect("write htpasswd");
        }
        if options.tls {
            make_tls_files(dir.path());
        }
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(&config, config_yaml(dir.path(), port, &options))
                .expect("write registry config");
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path).expect("registry log file");
            let err = log.try_clone().expect("dup log file");
            let mut cmd = Command::new(REGISTRY_BIN);
            cmd.arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(err);
            let parent = std::process::id() as libc::pid_t;
            // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    if libc::getppid() != parent {
                        return Err(std::io::Error::other("test process already gone"));
                    }
                    Ok(())
                });
            }
            let mut child = spawn_on_keeper(cmd);
            if wait_ready(port, &mut child) {
                return Registry {
                    child: Mutex::new(child),
                    port,
                    dir,
                    options,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("docker-registry did not come up on 127.0.0.1; last log:\n{last_log}");
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn options(&self) -> &RegistryOptions {
        &self.options
    }

    /// The registry's storage root (`<root>/docker/registry/v2/...`).
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// Where the registry keeps the bytes of a blob (`sha256:<hex>`), for tampering tests.
    pub fn blob_data_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        let prefix = hex.get(..2).unwrap_or(hex);
        self.storage_dir().join(format!(
            "docker/registry/v2/blobs/sha256/{prefix}/{hex}/data"
        ))
    }

    /// The full log (stdout and stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The access-log entries so far, in order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log().lines().filter_map(parse_access_line).collect()
    }

    /// The CA certificate that signed a TLS registry's certificate (to trust via
    /// `SSL_CERT_FILE`).
    pub fn ca_cert_path(&self) -> Option<PathBuf> {
        self.options.tls.then(|| self.dir.path().join("ca.crt"))
    }

    /// `user:pass` for skopeo when the registry uses htpasswd.
    pub fn creds(&self) -> Option<String> {
        self.options
            .htpasswd
            .as_ref()
            .map(|(u, p)| format!("{u}:{p}"))
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("host", &self.host())
            .field("dir", &self.dir.path())
            .finish()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `... "PATCH /v2/x/blobs/uploads/ID?_state=… HTTP/1.1" 202 0 "" "ua"` → request.
fn parse_access_line(line: &str) -> Option<LoggedRequest> {
    let start = line.find('"')?;
    let rest = &line[start + 1..];
    let end = rest.find('"')?;
    let mut req = rest[..end].split(' ');
    let method = req.next()?.to_string();
    let path = req.next()?.to_string();
    if !req.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = rest[end + 1..].split_whitespace().next()?.parse().ok()?;
    Some(LoggedRequest {
        method,
        path,
        status,
    })
}

fn config_yaml(dir: &Path, port: u16, o: &RegistryOptions) -> String {
    let mut y = format!(
        "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {}\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: cnb-test-secret\n",
        dir.join("storage").display(),
        !o.disable_delete
    );
    if o.tls {
        y.push_str(&format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            dir.join("tls.crt").display(),
            dir.join("tls.key").display()
        ));
    }
    if o.htpasswd.is_some() {
        y.push_str(&format!(
            "auth:\n  htpasswd:\n    realm: cnb-test\n    path: {}\n",
            dir.join("htpasswd").display()
        ));
    } else if let Some(t) = &o.token_auth {
        y.push_str(&format!(
            "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
            t.realm,
            t.service,
            t.issuer,
            t.root_cert_bundle.display()
        ));
    }
    y
}

/// A throwaway CA (`ca.crt`) and a server certificate for 127.0.0.1/localhost signed by it
/// (`tls.crt`, `tls.key`) in `dir`.
fn make_tls_files(dir: &Path) {
    require_tool("openssl", "openssl");
    let p = |name: &str| dir.join(name);
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=cnb-test-ca",
        ])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.crt")));
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(p("tls.key"))
        .arg("-out")
        .arg(p("tls.csr")));
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write openssl extensions");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("tls.csr"))
        .arg("-CA")
        .arg(p("ca.crt"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-extfile")
        .arg(p("ext.cnf"))
        .arg("-out")
        .arg(p("tls.crt")));
}

/// The shared registry lives in a static that is never dropped, so its directory outlives the
/// test process: remove directories left by test processes that are gone.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("cnb-registry-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    l.local_addr().expect("local addr").port()
}

/// True once `GET /v2/` gets any HTTP answer (200, or 401 with auth).
fn wait_ready(port: u16, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req =
                format!("GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
            let mut buf = [0u8; 12];
            if s.write_all(req.as_bytes()).is_ok()
                && s.read_exact(&mut buf).is_ok()
                && buf.starts_with(b"HTTP/1.")
            {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Spawns `cmd` from a thread that lives as long as the process: `PR_SET_PDEATHSIG` fires when
/// the *thread* that forked exits, and test threads end with their test.
fn spawn_on_keeper(cmd: Command) -> Child {
    type Job = (Command, mpsc::Sender<std::io::Result<Child>>);
    static KEEPER: OnceLock<Mutex<mpsc::Sender<Job>>> = OnceLock::new();
    let keeper = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("cnb-testing-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
                // The sender lives in a static, so this loop only ends at process exit.
            })
            .expect("spawn keeper thread");
        Mutex::new(tx)
    });
    let (reply_tx, reply_rx) = mpsc::channel();
    let program = format!("{cmd:?}");
    keeper
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send((cmd, reply_tx))
        .expect("keeper thread alive");
    reply_rx
        .recv()
        .expect("keeper reply")
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_access_log_line() {
        let line = r#"127.0.0.1 - - [27/Nov/2026:10:00:00 +0000] "PATCH /v2/a/b/blobs/uploads/x?_state=y HTTP/1.1" 202 0 "" "cnb""#;
        assert_eq!(
            parse_access_line(line),
            Some(LoggedRequest {
                method: "PATCH".into(),
                path: "/v2/a/b/blobs/uploads/x?_state=y".into(),
                status: 202
            })
        );
        assert_eq!(
            parse_access_line("time=\"x\" level=info msg=\"hello\""),
            None
        );
    }
}
