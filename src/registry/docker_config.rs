//! Docker `config.json` credentials with docker/cli semantics, as go-containerregistry's
//! default keychain reads them: `credHelpers[<host>]`, else `credsStore`, else `auths`
//! (keys may be URLs; Docker Hub is `https://index.docker.io/v1/`), fields `auth`,
//! `username`/`password`, `identitytoken`, `registrytoken`. Helpers are the
//! `docker-credential-<name>` executables (`get`, server URL on stdin).

use super::keychain::{Credential, KeychainError, Secret, strip_to_host};
use crate::image::reference::DEFAULT_REGISTRY;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Clone, Debug, Default, serde::Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    identitytoken: String,
    #[serde(default)]
    registrytoken: String,
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
struct File {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: String,
}

/// A loaded docker config (possibly empty).
#[derive(Clone, Debug, Default)]
pub struct DockerConfig {
    file: File,
    path: Option<PathBuf>,
    /// Where to look for `docker-credential-*` (default: `PATH`).
    helper_dir: Option<PathBuf>,
}

impl DockerConfig {
    /// ggcr's choice of file: `$HOME/.docker/config.json` or `$DOCKER_CONFIG/config.json` if
    /// either exists (then read from `$DOCKER_CONFIG`, else `$HOME/.docker`), else
    /// `$REGISTRY_AUTH_FILE`, else podman's `containers/auth.json`; none → empty.
    pub fn load_default() -> Result<DockerConfig, KeychainError> {
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from);
        let docker_config = std::env::var_os("DOCKER_CONFIG")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let home_file = home.as_ref().map(|h| h.join(".docker/config.json"));
        let found = home_file.as_ref().is_some_and(|f| f.is_file())
            || docker_config
                .as_ref()
                .is_some_and(|d| d.join("config.json").is_file());
        if found {
            let dir = docker_config.or_else(|| home.as_ref().map(|h| h.join(".docker")));
            return match dir {
                Some(d) => DockerConfig::load_dir(&d),
                None => Ok(DockerConfig::default()),
            };
        }
        if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE")
            .map(PathBuf::from)
            .filter(|f| f.is_file())
        {
            return DockerConfig::load_file(&f);
        }
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(|d| PathBuf::from(d).join("containers/auth.json"));
        let config_home = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.map(|h| h.join(".config")))
            .map(|d| d.join("containers/auth.json"));
        match runtime
            .filter(|f| f.is_file())
            .or(config_home.filter(|f| f.is_file()))
        {
            Some(f) => DockerConfig::load_file(&f),
            None => Ok(DockerConfig::default()),
        }
    }

    /// `<dir>/config.json`; a missing file is an empty config.
    pub fn load_dir(dir: &Path) -> Result<DockerConfig, KeychainError> {
        let path = dir.join("config.json");
        if !path.exists() {
            return Ok(DockerConfig {
                path: Some(path),
                ..Default::default()
            });
        }
        DockerConfig::load_file(&path)
    }

    pub fn load_file(path: &Path) -> Result<DockerConfig, KeychainError> {
        let err = |message: String| KeychainError::DockerConfig {
            path: path.display().to_string(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let file: File = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
        Ok(DockerConfig {
            file,
            path: Some(path.to_path_buf()),
            helper_dir: None,
        })
    }

    /// The file this config was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Look for `docker-credential-*` in `dir` instead of `PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> DockerConfig {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The credential for a ggcr registry string (`index.docker.io`, `host:port`).
    pub fn credential(&self, registry: &str) -> Result<Credential, KeychainError> {
        let key = if registry == DEFAULT_REGISTRY {
            DOCKER_HUB_KEY
        } else {
            registry
        };
        let host = strip_to_host(key);
        if let Some(helper) = self.file.cred_helpers.get(host).filter(|h| !h.is_empty()) {
            return self.run_helper(helper, key, registry);
        }
        if !self.file.creds_store.is_empty() {
            return self.run_helper(&self.file.creds_store, key, registry);
        }
        let entry = self.file.auths.get(key).or_else(|| {
            self.file
                .auths
                .iter()
                .find(|(k, _)| strip_to_host(k) == host)
                .map(|(_, e)| e)
        });
        Ok(entry.map(entry_credential).unwrap_or_default())
    }

    fn run_helper(
        &self,
        helper: &str,
        server: &str,
        registry: &str,
    ) -> Result<Credential, KeychainError> {
        let fail = |message: String| KeychainError::Helper {
            helper: helper.into(),
            registry: registry.into(),
            message,
        };
        let program = match &self.helper_dir {
            Some(d) => d.join(format!("docker-credential-{helper}")),
            None => PathBuf::from(format!("docker-credential-{helper}")),
        };
        let mut child = Command::new(&program)
            .arg("get")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run {}: {e}", program.display())))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading stdin is judged by its exit status below.
            let _ = stdin.write_all(server.as_bytes());
        }
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            if stdout.contains("credentials not found") {
                return Ok(Credential::Anonymous);
            }
            let stderr = String::from_utf8_lossy(&out.stderr);
            let said = [stdout.trim(), stderr.trim()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("; ");
            return Err(fail(format!("{}: {said}", out.status)));
        }
        #[derive(serde::Deserialize)]
        struct HelperCreds {
            #[serde(rename = "Username", default)]
            username: String,
            #[serde(rename = "Secret", default)]
            secret: String,
        }
        let c: HelperCreds = serde_json::from_slice(&out.stdout)
            .map_err(|e| fail(format!("invalid JSON on stdout: {e}")))?;
        Ok(match (c.username.as_str(), c.secret.is_empty()) {
            (_, true) => Credential::Anonymous,
            ("<token>", false) => Credential::IdentityToken(Secret::new(c.secret)),
            (user, false) => Credential::basic(user, &c.secret),
        })
    }
}

fn entry_credential(e: &AuthEntry) -> Credential {
    if !e.auth.is_empty() {
        Credential::Basic(Secret::new(e.auth.clone()))
    } else if !e.username.is_empty() && !e.password.is_empty() {
        Credential::basic(&e.username, &e.password)
    } else if !e.registrytoken.is_empty() {
        Credential::RegistryToken(Secret::new(e.registrytoken.clone()))
    } else if !e.identitytoken.is_empty() {
        Credential::IdentityToken(Secret::new(e.identitytoken.clone()))
    } else {
        Credential::Anonymous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> (tempfile::TempDir, DockerConfig) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("config.json"), json).unwrap();
        let c = DockerConfig::load_dir(d.path()).unwrap();
        (d, c)
    }

    #[test]
    fn auths_lookup() {
        let (_d, c) = config(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"},"http://r.io:5000/v2/":{"username":"u","password":"p"},
                "id.io":{"identitytoken":"rt"},"tok.io":{"registrytoken":"bt"}}}"#,
        );
        assert_eq!(
            c.credential("index.docker.io").unwrap(),
            Credential::Basic(Secret::new("aHViOnB3"))
        );
        assert_eq!(
            c.credential("r.io:5000").unwrap(),
            Credential::basic("u", "p")
        );
        assert_eq!(
            c.credential("id.io").unwrap(),
            Credential::IdentityToken(Secret::new("rt"))
        );
        assert_eq!(
            c.credential("tok.io").unwrap(),
            Credential::RegistryToken(Secret::new("bt"))
        );
        assert_eq!(c.credential("other.io").unwrap(), Credential::Anonymous);
        assert!(
            DockerConfig::load_dir(Path::new("/nonexistent"))
                .unwrap()
                .credential("x.io")
                .unwrap()
                .is_anonymous()
        );
    }

    #[test]
    fn helpers() {
        use std::os::unix::fs::PermissionsExt;
        let (d, c) = config(
            r#"{"credHelpers":{"good.io":"good","broken.io":"broken"},"auths":{"good.io":{"auth":"eA=="}}}"#,
        );
        let script = |name: &str, body: &str| {
            let p = d.path().join(format!("docker-credential-{name}"));
            std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        script(
            "good",
            r#"read url; [ "$1" = get ] && printf '{"ServerURL":"%s","Username":"alice","Secret":"pw"}' "$url""#,
        );
        script("broken", "echo 'helper exploded' >&2; exit 3");
        let c = c.with_helper_dir(d.path());
        assert_eq!(
            c.credential("good.io").unwrap(),
            Credential::basic("alice", "pw")
        );
        let e = c.credential("broken.io").unwrap_err().to_string();
        assert!(
            e.contains("docker-credential-broken failed for broken.io")
                && e.contains("helper exploded"),
            "{e}"
        );
        assert!(c.credential("none.io").unwrap().is_anonymous());
    }
}
