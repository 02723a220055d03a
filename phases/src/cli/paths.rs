//! Path inputs after flag parsing (Go `UpdatePlaceholderPaths`, `ResolveAbsoluteDirPaths`):
//! `<layers>` placeholders are replaced with the final layers directory, the default order
//! falls back to `/cnb/order.toml` when `<layers>/order.toml` does not exist, and directory
//! inputs are made absolute and cleaned like `filepath.Abs`.

use super::inputs::{CNB_ORDER_PATH, LifecycleInputs, PLACEHOLDER_LAYERS};
use std::path::Path;

pub fn update_placeholder_paths(i: &mut LifecycleInputs) {
    let layers = i.layers_dir.clone();
    let default_order = format!("{PLACEHOLDER_LAYERS}/order.toml");
    let mut order_missing = false;
    for path in [
        &mut i.analyzed_path,
        &mut i.extended_dir,
        &mut i.generated_dir,
        &mut i.group_path,
        &mut i.order_path,
        &mut i.plan_path,
        &mut i.project_metadata_path,
        &mut i.report_path,
    ] {
        if path.is_empty() || !path.contains(PLACEHOLDER_LAYERS) {
            continue;
        }
        let was_default_order = *path == default_order;
        let from = if layers.is_empty() {
            format!("{PLACEHOLDER_LAYERS}/")
        } else {
            PLACEHOLDER_LAYERS.into()
        };
        *path = path.replacen(&from, &layers, 1);
        if was_default_order && std::fs::metadata(path.as_str()).is_err() {
            order_missing = true;
        }
    }
    if order_missing {
        i.order_path = CNB_ORDER_PATH.into();
    }
}

pub fn resolve_absolute_dirs(i: &mut LifecycleInputs) -> Result<(), String> {
    let cwd = std::env::current_dir().map_err(|e| format!("getting working directory: {e}"))?;
    for dir in [
        &mut i.app_dir,
        &mut i.build_config_dir,
        &mut i.buildpacks_dir,
        &mut i.cache_dir,
        &mut i.extensions_dir,
        &mut i.generated_dir,
        &mut i.kaniko_dir,
        &mut i.launch_cache_dir,
        &mut i.layers_dir,
        &mut i.platform_dir,
    ] {
        if !dir.is_empty() {
            *dir = absolute(dir, &cwd);
        }
    }
    Ok(())
}

/// Go `filepath.Abs`: join with the working directory if relative, then `Clean`.
pub fn absolute(p: &str, cwd: &Path) -> String {
    if p.starts_with('/') {
        clean(p)
    } else {
        clean(&format!("{}/{p}", cwd.to_string_lossy()))
    }
}

/// Go `filepath.Clean` for Unix paths.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::env::Env;
    use cnb::api::Version;

    #[test]
    fn clean_like_go() {
        let table = [
            ("/a/b/../c/", "/a/c"),
            ("a//b/./c", "a/b/c"),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("a/..", "."),
            ("", "."),
            ("/", "/"),
        ];
        for (input, want) in table {
            assert_eq!(clean(input), want, "{input}");
        }
        assert_eq!(absolute("x/y", Path::new("/w")), "/w/x/y");
        assert_eq!(absolute("/x/../y", Path::new("/w")), "/y");
    }

    #[test]
    fn placeholders_use_final_layers_and_order_falls_back() {
        let tmp = tempfile::tempdir().unwrap();
        let layers = tmp.path().to_string_lossy().into_owned();
        let mut i = LifecycleInputs::from_env(Version::new(0, 12), &Env::from_pairs(&[]));
        i.layers_dir = layers.clone();
        update_placeholder_paths(&mut i);
        assert_eq!(i.group_path, format!("{layers}/group.toml"));
        assert_eq!(i.generated_dir, format!("{layers}/generated"));
        assert_eq!(i.order_path, "/cnb/order.toml");

        std::fs::write(tmp.path().join("order.toml"), "").unwrap();
        let mut i = LifecycleInputs::from_env(Version::new(0, 12), &Env::from_pairs(&[]));
        i.layers_dir = layers.clone();
        update_placeholder_paths(&mut i);
        assert_eq!(i.order_path, format!("{layers}/order.toml"));

        let mut i = LifecycleInputs::from_env(Version::new(0, 12), &Env::from_pairs(&[]));
        i.layers_dir = String::new();
        i.order_path = "/custom/order.toml".into();
        update_placeholder_paths(&mut i);
        assert_eq!(i.order_path, "/custom/order.toml");
        assert_eq!(i.report_path, "report.toml");
    }
}
