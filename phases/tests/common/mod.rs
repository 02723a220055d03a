//! Helpers for black-box tests of the `lifecycle` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_lifecycle");

/// The repository's `testdata/` directory.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// `lifecycle` with an empty environment (host `CNB_*` variables must not leak in) plus `env`.
pub fn lifecycle(env: &[(&str, &str)]) -> Command {
    command(Path::new(BIN), env)
}

/// `program` (e.g. a symlink to the binary) with an empty environment plus `env`.
pub fn command(program: &Path, env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(program);
    c.env_clear();
    c.env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

pub struct Run {
    pub code: i32,
    /// stdout without ANSI colour sequences (errors before flag parsing are always coloured).
    pub stdout: String,
    pub raw_stdout: String,
    pub stderr: String,
}

/// Removes `ESC [ ... m` sequences.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn finish(out: Output) -> Run {
    let raw_stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: strip_ansi(&raw_stdout),
        raw_stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `lifecycle <args>` with `env`.
pub fn run(env: &[(&str, &str)], args: &[&str]) -> Run {
    finish(lifecycle(env).args(args).output().expect("spawn lifecycle"))
}

/// Runs with `CNB_RS_PRINT_INPUTS=1` and returns the printed inputs (log lines before the JSON
/// are skipped) together with the whole stdout.
pub fn inputs(env: &[(&str, &str)], args: &[&str]) -> (serde_json::Value, String) {
    let mut env = env.to_vec();
    env.push(("CNB_RS_PRINT_INPUTS", "1"));
    let r = run(&env, args);
    assert_eq!(
        r.code, 0,
        "args {args:?}\nstdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    let start = r.stdout.find("\n{").map(|p| p + 1).unwrap_or(0);
    let json = serde_json::from_str(&r.stdout[start..])
        .unwrap_or_else(|e| panic!("no JSON inputs in stdout ({e}):\n{}", r.stdout));
    (json, r.stdout)
}

/// A `docker-registry` of its own on 127.0.0.1 that needs `user`/`pass` (basic auth).
pub fn basic_auth_registry(user: &str, pass: &str) -> cnb::testing::Registry {
    cnb::testing::Registry::start(cnb::testing::RegistryOptions {
        htpasswd: Some((user.into(), pass.into())),
        ..Default::default()
    })
}

/// A `CNB_REGISTRY_AUTH` value giving `host` the basic credentials `user`/`pass`.
pub fn registry_auth_env(host: &str, user: &str, pass: &str) -> String {
    format!(
        r#"{{"{host}":"Basic {}"}}"#,
        base64(format!("{user}:{pass}").as_bytes())
    )
}

/// Standard base64 with padding (the test crate has no base64 dependency of its own).
pub fn base64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
