//! Shared by the creator tests (`creator.rs`, `e2e.rs`): a build workspace whose paths stay
//! the same from build to build (layer tars name their paths, so reuse needs equal paths),
//! creator runs as uid/gid 1000 from a root process, registry log helpers and a static
//! launcher for images that are run with `chroot`.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_lifecycle");
pub const UID: &str = "1000";
pub const GID: &str = "1000";

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

pub fn is_root() -> bool {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() == 0 }
}

/// False (with a note on stderr) unless the test runs as root: the creator must be started
/// as root to chown the volumes and drop to 1000:1000.
pub fn root_or_skip(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {test}: needs root (the creator drops from root to 1000:1000)");
    }
    is_root()
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn cp_a(from: &Path, to: &Path) {
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("spawn cp");
    assert!(st.success(), "cp -a {} {}", from.display(), to.display());
}

/// A build "machine": app, buildpacks, platform and layers dirs under one temp root that
/// the build user can read.
pub struct Workspace {
    pub root: tempfile::TempDir,
    pub app: PathBuf,
    pub buildpacks: PathBuf,
    pub platform: PathBuf,
    pub layers: PathBuf,
    pub order: PathBuf,
}

impl Workspace {
    /// `app` from testdata/apps, the given buildpacks (`dir/<escaped id>` names) from
    /// testdata, testdata/creator/order.toml unless `order` is given.
    pub fn new(app: &str, buildpacks: &[&str], order: Option<&str>) -> Workspace {
        let root = tempfile::Builder::new()
            .prefix("cnb-creator-")
            .tempdir()
            .expect("temp dir");
        chmod(root.path(), 0o755);
        let app_dir = root.path().join("workspace");
        cp_a(&testdata().join("apps").join(app), &app_dir);
        let bps = root.path().join("buildpacks");
        std::fs::create_dir(&bps).expect("buildpacks dir");
        for bp in buildpacks {
            cp_a(&testdata().join(bp), &bps);
        }
        let platform = root.path().join("platform");
        std::fs::create_dir(&platform).expect("platform dir");
        let order_path = root.path().join("order.toml");
        match order {
            Some(text) => std::fs::write(&order_path, text).expect("write order"),
            None => {
                std::fs::copy(testdata().join("creator/order.toml"), &order_path)
                    .expect("copy order");
            }
        }
        let layers = root.path().join("layers");
        std::fs::create_dir(&layers).expect("layers dir");
        for p in [&app_dir, &bps, &platform, &layers] {
            chmod(p, 0o755);
        }
        Workspace {
            app: app_dir,
            buildpacks: bps,
            platform,
            layers,
            order: order_path,
            root,
        }
    }

    /// A fresh machine: the layers dir emptied (same path, so layer paths stay equal).
    pub fn empty_layers(&self) {
        std::fs::remove_dir_all(&self.layers).expect("remove layers");
        std::fs::create_dir(&self.layers).expect("layers dir");
        chmod(&self.layers, 0o755);
    }

    /// `lifecycle create -uid 1000 -gid 1000 … <extra> <image>` with a clean environment.
    pub fn creator(&self, extra: &[&str], image: &str) -> Run {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("CNB_PLATFORM_API", "0.13")
            .env("CNB_NO_COLOR", "true")
            .arg("create");
        c.args(["-uid", UID, "-gid", GID]);
        c.arg("-app").arg(&self.app);
        c.arg("-buildpacks").arg(&self.buildpacks);
        c.arg("-layers").arg(&self.layers);
        c.arg("-order").arg(&self.order);
        c.arg("-platform").arg(&self.platform);
        c.args(extra).arg(image);
        let out = c.output().expect("spawn lifecycle create");
        let r = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        eprintln!(
            "--- creator {image} exit {}\n{}{}",
            r.code, r.stdout, r.stderr
        );
        r
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// The `===> NAME` banners, in order.
    pub fn banners(&self) -> Vec<String> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("===> "))
            .map(str::to_string)
            .collect()
    }
}

/// The digests of the blob uploads the registry completed (`PUT|POST …/blobs/uploads/…
/// ?digest=…`, 201) for `repo`; mounts and HEAD checks are not uploads.
pub fn uploaded_blobs(requests: &[cnb::testing::LoggedRequest], repo: &str) -> Vec<String> {
    let prefix = format!("/v2/{repo}/blobs/uploads/");
    requests
        .iter()
        .filter(|r| (r.method == "PUT" || r.method == "POST") && r.status == 201)
        .filter(|r| r.path.starts_with(&prefix))
        .filter_map(|r| {
            let q = r.path.split_once('?')?.1;
            q.split('&')
                .find_map(|kv| kv.strip_prefix("digest="))
                .map(|d| d.replace("%3A", ":").replace("%3a", ":"))
        })
        .collect()
}

/// A launcher linked fully static (the run image has only busybox): `CNB_E2E_STATIC_LAUNCHER`
/// when set, else built once like `.ci/static-smoke` into `<target>/e2e-static`.
pub fn static_launcher() -> PathBuf {
    if let Some(p) = std::env::var_os("CNB_E2E_STATIC_LAUNCHER") {
        return PathBuf::from(p);
    }
    let target = Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .expect("target dir above the lifecycle binary")
        .join("e2e-static");
    let triple = "x86_64-unknown-linux-gnu";
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "build",
            "--target",
            triple,
            "-p",
            "lifecycle",
            "--bin",
            "launcher",
        ])
        .status()
        .expect("spawn cargo for the static launcher");
    assert!(st.success(), "building the static launcher failed");
    target.join(triple).join("debug/launcher")
}
