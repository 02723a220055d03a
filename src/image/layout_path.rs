//! Where the Go lifecycle keeps an image inside `-layout-dir`, and how it names a layout image.
//!
//! Facts (imgutil `layout.ParseRefToPath` / `ParseIdentifier`, lifecycle `image.LayoutHandler`):
//! * an image reference maps to `<registry>/<repository>/<tag>`, or for a digest reference to
//!   `<registry>/<repository>/sha256/<hex>`, with ggcr's weak-validation parsing: default
//!   registry `index.docker.io` (`docker.io` rewritten to it), `library/` added to one-element
//!   Docker Hub repositories, default tag `latest`; the joined path is cleaned like Go's
//!   `filepath.Join` (so `a/../b` collapses);
//! * a reference that already starts with the layout dir (plain string prefix) is used as a path;
//! * a layout image is identified as `<path>@sha256:<hex>` (manifest digest), e.g. in
//!   analyzed.toml and report output.

use super::layout::LayoutError;
use crate::digest::Digest;
use std::path::{Path, PathBuf};

/// `<registry>/<repository>/<tag | sha256/<hex>>` for `image_ref` (relative path).
pub fn ref_to_path(image_ref: &str) -> Result<PathBuf, LayoutError> {
    let (registry, repository, identifier) = parse_weak(image_ref).ok_or_else(|| {
        LayoutError::BadReference(format!("could not parse reference: {image_ref}"))
    })?;
    let ident = match identifier.split_once(':') {
        Some((alg, hex)) => format!("{alg}/{hex}"),
        None => identifier,
    };
    Ok(PathBuf::from(go_clean(&format!(
        "{registry}/{repository}/{ident}"
    ))))
}

/// The lifecycle's layout handler: `image_ref` as-is when it starts with `layout_dir`, else
/// `layout_dir` joined with [`ref_to_path`].
pub fn resolve_in(layout_dir: &Path, image_ref: &str) -> Result<PathBuf, LayoutError> {
    if image_ref.starts_with(&*layout_dir.to_string_lossy()) {
        return Ok(PathBuf::from(image_ref));
    }
    Ok(PathBuf::from(go_clean(
        &layout_dir.join(ref_to_path(image_ref)?).to_string_lossy(),
    )))
}

/// `<path>@<digest>`, how the lifecycle names a layout image.
pub fn identifier(path: &Path, digest: &Digest) -> String {
    format!("{}@{digest}", path.display())
}

/// Splits `<path>@sha256:<hex>` (exactly one `@`); the path is cleaned like Go's `path.Clean`.
pub fn parse_identifier(s: &str) -> Result<(PathBuf, Digest), LayoutError> {
    let bad = || {
        LayoutError::BadIdentifier(format!(
            "identifier {s} does not have the format '[path]@[digest]'"
        ))
    };
    let mut parts = s.split('@');
    let (Some(path), Some(digest), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let digest = Digest::parse(digest).map_err(|e| LayoutError::BadIdentifier(e.to_string()))?;
    Ok((PathBuf::from(go_clean(path)), digest))
}

/// (registry, repository, tag-or-digest) like ggcr `name.ParseReference(s, WeakValidation)`.
fn parse_weak(s: &str) -> Option<(String, String, String)> {
    if let Some((reg, repo, tag)) = parse_tag(s) {
        return Some((reg, repo, tag));
    }
    let mut parts = s.split('@');
    let (Some(base), Some(dig), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    Digest::parse(dig).ok()?;
    let (reg, repo) = match parse_tag(base) {
        Some((reg, repo, _)) => (reg, repo),
        None => parse_repository(base)?,
    };
    Some((reg, repo, dig.to_string()))
}

fn parse_tag(s: &str) -> Option<(String, String, String)> {
    let (base, tag) = match s.rsplit_once(':') {
        Some((base, tag)) if !tag.contains('/') => {
            if tag.is_empty()
                || tag.len() > 128
                || !tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
            {
                return None;
            }
            (base, tag)
        }
        _ => (s, "latest"),
    };
    let (reg, repo) = parse_repository(base)?;
    Some((reg, repo, tag.to_string()))
}

fn parse_repository(name: &str) -> Option<(String, String)> {
    let (mut registry, mut repo) = ("", name);
    if let Some((first, rest)) = name.split_once('/')
        && (first == "localhost" || first.contains(['.', ':']))
    {
        (registry, repo) = (first, rest);
    }
    let repo_ok = (2..=255).contains(&repo.chars().count())
        && repo
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-./".contains(&b));
    let registry_ok = !registry
        .bytes()
        .any(|b| b"/@?#%[] \t\\".contains(&b) || b.is_ascii_control());
    if !repo_ok || !registry_ok {
        return None;
    }
    let registry = match registry {
        "" | "docker.io" => "index.docker.io",
        r => r,
    };
    let repo = if registry == "index.docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo.to_string()
    };
    Some((registry.to_string(), repo))
}

/// Go's `path.Clean` for `/`-separated paths.
pub(crate) fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean() {
        assert_eq!(go_clean("/a/./b/../c//"), "/a/c");
        assert_eq!(go_clean("../x/.."), "..");
        assert_eq!(go_clean("/.."), "/");
        assert_eq!(go_clean(""), ".");
    }

    #[test]
    fn identifiers() {
        let d = Digest::of(b"x");
        let (p, got) = parse_identifier(&format!("/layout/./a/b@{d}")).unwrap();
        assert_eq!((p, got), (PathBuf::from("/layout/a/b"), d.clone()));
        assert_eq!(identifier(Path::new("/l/a"), &d), format!("/l/a@{d}"));
        assert!(parse_identifier("/l/a").is_err());
        assert!(parse_identifier("/l/a@sha256:12").is_err());
    }
}
