//! Registry tokens for Distribution's `auth.token`: RS256 JWTs signed with `openssl dgst`,
//! carrying the signing certificate in `x5c` (Distribution checks it against `rootcertbundle`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Signer {
    pub dir: tempfile::TempDir,
    cert_der_b64: String,
}

impl Signer {
    /// A fresh RSA key and self-signed certificate (the registry's root bundle).
    pub fn new() -> Signer {
        cnb::testing::require_tool("openssl", "openssl");
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=cnb-test-token-issuer",
            ])
            .arg("-keyout")
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(dir.path().join("cert.pem"))
            .output()
            .unwrap();
        assert!(der.status.success());
        Signer {
            cert_der_b64: STANDARD.encode(&der.stdout),
            dir,
        }
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// A token for `subject` with `access` = [(repository, actions)].
    pub fn token(
        &self,
        issuer: &str,
        service: &str,
        subject: &str,
        access: &[(String, Vec<String>)],
    ) -> String {
        let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [self.cert_der_b64]});
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let access: Vec<_> = access
            .iter()
            .map(|(name, actions)| serde_json::json!({"type": "repository", "name": name, "actions": actions}))
            .collect();
        let claims = serde_json::json!({
            "iss": issuer, "sub": subject, "aud": service, "exp": now + 600, "nbf": now - 60, "iat": now,
            "jti": format!("{}", rand::random::<u64>()), "access": access,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = sign(&self.key_path(), input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

fn sign(key: &Path, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}
