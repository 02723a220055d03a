//! Image references, parsed with go-containerregistry's `name` rules (v0.21.9) so that the same
//! strings mean the same images as in the Go lifecycle: default registry `index.docker.io`,
//! `docker.io` rewritten to it, `library/` for one-component Docker Hub names, tag `latest` by
//! default, `name@sha256:…` and `name:tag@sha256:…` (the digest wins), lowercase repositories.
//!
//! [`Reference::parse`] is ggcr's default ("weak") validation, the one the lifecycle uses;
//! [`Reference::parse_strict`] additionally wants an explicit registry, tag and full path.

use crate::digest::Digest;
use std::fmt;

pub const DEFAULT_REGISTRY: &str = "index.docker.io";
const DOCKER_HUB_ALIAS: &str = "docker.io";
pub const DEFAULT_TAG: &str = "latest";
const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
const TAG_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// A reference that could not be parsed. Displays like ggcr (`could not parse reference: X`);
/// [`ReferenceError::reason`] says what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not parse reference: {reference}")]
pub struct ReferenceError {
    pub reference: String,
    reason: String,
}

impl ReferenceError {
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A registry host and a repository path in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Repository {
    registry: String,
    repository: String,
}

impl Repository {
    /// A repository name without tag or digest (ggcr `name.NewRepository`, weak validation):
    /// `busybox` → `index.docker.io/library/busybox`.
    pub fn parse(s: &str) -> Result<Repository, ReferenceError> {
        parse_repository(s, false).map_err(|reason| ReferenceError {
            reference: s.to_string(),
            reason,
        })
    }

    /// `index.docker.io`, `gcr.io`, `localhost:5000`, `127.0.0.1:5000`...
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The path, with `library/` for official Docker Hub images.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// Token scope, e.g. `repository:library/busybox:pull`.
    pub fn scope(&self, actions: &str) -> String {
        format!("repository:{}:{}", self.repository, actions)
    }

    pub fn tag(&self, tag: &str) -> Reference {
        let mut r = Reference {
            repo: self.clone(),
            tag: Some(tag.to_string()),
            digest: None,
            original: String::new(),
        };
        r.original = r.name();
        r
    }

    pub fn digest(&self, digest: Digest) -> Reference {
        let mut r = Reference {
            repo: self.clone(),
            tag: None,
            digest: Some(digest),
            original: String::new(),
        };
        r.original = r.name();
        r
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// A tag or digest reference to an image.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    repo: Repository,
    tag: Option<String>,
    digest: Option<Digest>,
    original: String,
}

impl Reference {
    /// ggcr `name.ParseReference(s, name.WeakValidation)`.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        Self::parse_with(s, false)
    }

    /// ggcr `name.ParseReference(s, name.StrictValidation)`.
    pub fn parse_strict(s: &str) -> Result<Reference, ReferenceError> {
        Self::parse_with(s, true)
    }

    fn parse_with(s: &str, strict: bool) -> Result<Reference, ReferenceError> {
        let tag_err = match parse_tag(s, strict) {
            Ok((repo, tag)) => {
                return Ok(Reference {
                    repo,
                    tag: Some(tag),
                    digest: None,
                    original: s.to_string(),
                });
            }
            Err(e) => e,
        };
        match parse_digest(s, strict) {
            Ok((repo, tag, digest)) => Ok(Reference {
                repo,
                tag,
                digest: Some(digest),
                original: s.to_string(),
            }),
            // Report the digest problem when the string is clearly meant as a digest reference.
            Err(e) => Err(ReferenceError {
                reference: s.to_string(),
                reason: if s.contains('@') { e } else { tag_err },
            }),
        }
    }

    pub fn registry(&self) -> &str {
        &self.repo.registry
    }

    pub fn repository(&self) -> &str {
        &self.repo.repository
    }

    /// The tag, when the reference has one (`latest` when neither tag nor digest was given).
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The repository (ggcr `Context()`).
    pub fn context(&self) -> &Repository {
        &self.repo
    }

    /// What to ask the registry for: the digest if any, else the tag.
    pub fn identifier(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            (None, None) => DEFAULT_TAG,
        }
    }

    /// Fully qualified: `registry/repository:tag` or `registry/repository@digest` (ggcr `Name()`).
    pub fn name(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}@{}", self.repo, d),
            None => format!("{}:{}", self.repo, self.identifier()),
        }
    }

    /// The same repository at `digest` (`registry/repository@digest`).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        self.repo.digest(digest)
    }

    /// The string as given by the user (ggcr `String()`).
    pub fn as_str(&self) -> &str {
        &self.original
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

fn check_element(
    what: &str,
    element: &str,
    allowed: &str,
    min: usize,
    max: usize,
) -> Result<(), String> {
    let n = element.chars().count();
    if n < min || n > max {
        return Err(format!(
            "{what} must be between {min} and {max} characters in length: {element}"
        ));
    }
    if element.chars().any(|c| !allowed.contains(c)) {
        return Err(format!(
            "{what} can only contain the characters `{allowed}`: {element}"
        ));
    }
    Ok(())
}

fn parse_tag(s: &str, strict: bool) -> Result<(Repository, String), String> {
    let (base, tag) = match s.rsplit_once(':') {
        Some((base, tag)) if !tag.contains('/') => {
            if tag.is_empty() {
                return Err(format!("{s} must specify a tag name after the colon"));
            }
            (base, tag)
        }
        _ => (s, ""),
    };
    if !tag.is_empty() || strict {
        check_element("tag", tag, TAG_CHARS, 1, 128)?;
    }
    let tag = if tag.is_empty() { DEFAULT_TAG } else { tag };
    Ok((parse_repository(base, strict)?, tag.to_string()))
}

fn parse_digest(s: &str, strict: bool) -> Result<(Repository, Option<String>, Digest), String> {
    let parts: Vec<&str> = s.split('@').collect();
    let [base, dig] = parts[..] else {
        return Err(format!(
            "a digest must contain exactly one '@' separator (e.g. registry/repository@digest) saw: {s}"
        ));
    };
    if !dig.starts_with("sha256:") {
        return Err(format!("unsupported digest algorithm: {dig}"));
    }
    let digest = Digest::parse(dig).map_err(|e| e.to_string())?;
    match parse_tag(base, strict) {
        Ok((repo, tag)) => {
            let explicit = base.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/'));
            Ok((repo, explicit.then_some(tag), digest))
        }
        Err(_) => Ok((parse_repository(base, strict)?, None, digest)),
    }
}

fn parse_repository(name: &str, strict: bool) -> Result<Repository, String> {
    if name.is_empty() {
        return Err("a repository name must be specified".into());
    }
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest)) if first == "localhost" || first.contains(['.', ':']) => (first, rest),
        _ => ("", name),
    };
    check_element("repository", repo, REPOSITORY_CHARS, 2, 255)?;
    if strict && registry.is_empty() {
        return Err("strict validation requires the registry to be explicitly defined".into());
    }
    check_registry(registry)?;
    let registry = match registry {
        "" | DOCKER_HUB_ALIAS => DEFAULT_REGISTRY,
        r => r,
    };
    let implicit = registry == DEFAULT_REGISTRY && !repo.contains('/');
    if implicit && strict {
        return Err(
            "strict validation requires the full repository path (missing 'library')".into(),
        );
    }
    let repository = if implicit {
        format!("library/{repo}")
    } else {
        repo.to_string()
    };
    Ok(Repository {
        registry: registry.to_string(),
        repository,
    })
}

/// A registry must be a plain URI authority (`host[:port]`, IPv6 in brackets).
fn check_registry(name: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "registries must be valid RFC 3986 URI authorities: {name}"
        ))
    };
    let (host, port) = if let Some(rest) = name.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, p))
                if h.chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') =>
            {
                (h, p.strip_prefix(':'))
            }
            _ => return bad(),
        }
    } else {
        match name.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (name, None),
        }
    };
    let host_ok = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~%!$&'()*+,;=:".contains(c));
    let port_ok = port.is_none_or(|p| p.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok && !(name.starts_with('[') && host.is_empty()) {
        Ok(())
    } else {
        bad()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    type Case<'a> = (&'a str, &'a str, &'a str, Option<&'a str>, bool, &'a str);

    #[test]
    fn parses_like_ggcr() {
        // (input, registry, repository, tag, digest?, name())
        let cases: &[Case] = &[
            (
                "busybox",
                "index.docker.io",
                "library/busybox",
                Some("latest"),
                false,
                "index.docker.io/library/busybox:latest",
            ),
            (
                "busybox:1.36",
                "index.docker.io",
                "library/busybox",
                Some("1.36"),
                false,
                "index.docker.io/library/busybox:1.36",
            ),
            (
                "docker.io/busybox",
                "index.docker.io",
                "library/busybox",
                Some("latest"),
                false,
                "index.docker.io/library/busybox:latest",
            ),
            (
                "docker.io/paketo/run:base",
                "index.docker.io",
                "paketo/run",
                Some("base"),
                false,
                "index.docker.io/paketo/run:base",
            ),
            (
                "gcr.io/a/b/c:v1",
                "gcr.io",
                "a/b/c",
                Some("v1"),
                false,
                "gcr.io/a/b/c:v1",
            ),
            (
                "localhost/app",
                "localhost",
                "app",
                Some("latest"),
                false,
                "localhost/app:latest",
            ),
            (
                "localhost:5000/app:Tag_1",
                "localhost:5000",
                "app",
                Some("Tag_1"),
                false,
                "localhost:5000/app:Tag_1",
            ),
            (
                "127.0.0.1:5000/ns/app",
                "127.0.0.1:5000",
                "ns/app",
                Some("latest"),
                false,
                "127.0.0.1:5000/ns/app:latest",
            ),
            (
                "[::1]:5000/app",
                "[::1]:5000",
                "app",
                Some("latest"),
                false,
                "[::1]:5000/app:latest",
            ),
            (
                "my-reg:5000/app",
                "my-reg:5000",
                "app",
                Some("latest"),
                false,
                "my-reg:5000/app:latest",
            ),
            (
                "app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "index.docker.io",
                "library/app",
                None,
                true,
                "index.docker.io/library/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                "r.io:443/app:v2@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "r.io:443",
                "app",
                Some("v2"),
                true,
                "r.io:443/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                "user/app",
                "index.docker.io",
                "user/app",
                Some("latest"),
                false,
                "index.docker.io/user/app:latest",
            ),
        ];
        for (input, registry, repository, tag, has_digest, name) in cases {
            let r =
                Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e} ({})", e.reason()));
            assert_eq!(r.registry(), *registry, "{input}");
            assert_eq!(r.repository(), *repository, "{input}");
            assert_eq!(r.tag(), *tag, "{input}");
            assert_eq!(r.digest().is_some(), *has_digest, "{input}");
            assert_eq!(r.name(), *name, "{input}");
            assert_eq!(r.to_string(), *input, "Display keeps the original");
        }
    }

    /// `testdata/registry/reference-golden.tsv`: go-containerregistry's own answers.
    #[test]
    fn matches_go_golden() {
        let golden = include_str!("../../testdata/registry/reference-golden.tsv");
        let mut n = 0;
        for line in golden.lines().filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('\t').collect();
            let input: String = serde_json::from_str(cols[0]).expect("quoted input");
            match (Reference::parse(&input), cols[1]) {
                (Err(e), "ERR") => assert_eq!(e.to_string(), cols[2], "{input}"),
                (Ok(r), _) if cols[1] != "ERR" => {
                    assert_eq!(
                        [r.registry(), r.repository(), r.identifier(), &r.name()],
                        [cols[1], cols[2], cols[3], cols[4]],
                        "{input}"
                    );
                }
                (got, _) => panic!("{input}: we say {got:?}, Go says {line}"),
            }
            n += 1;
        }
        assert!(n >= 30, "golden file has {n} cases");
    }

    #[test]
    fn rejects_bad_references() {
        let cases: &[(&str, &str)] = &[
            ("", "repository name must be specified"),
            ("Busybox", "repository can only contain"),
            ("gcr.io/Org/app", "repository can only contain"),
            ("a", "between 2 and 255"),
            ("app:", "must specify a tag name after the colon"),
            ("app:bad/tag!", "repository can only contain"),
            ("app:t@g", "unsupported digest algorithm"),
            ("app@sha256:abc", "invalid digest"),
            ("app@md5:abc", "unsupported digest algorithm"),
            ("a@b@c", "exactly one '@'"),
            ("app:tag with space", "tag can only contain"),
        ];
        for (input, reason) in cases {
            let e = Reference::parse(input).expect_err(input);
            assert_eq!(e.to_string(), format!("could not parse reference: {input}"));
            assert!(e.reason().contains(reason), "{input}: {}", e.reason());
        }
    }

    #[test]
    fn strict_wants_everything_explicit() {
        assert!(Reference::parse_strict("index.docker.io/library/busybox:1").is_ok());
        let e = Reference::parse_strict("busybox:1").unwrap_err();
        assert!(
            e.reason().contains("registry to be explicitly defined"),
            "{}",
            e.reason()
        );
        let e = Reference::parse_strict("index.docker.io/busybox:1").unwrap_err();
        assert!(e.reason().contains("missing 'library'"), "{}", e.reason());
        assert!(Reference::parse_strict("gcr.io/a/b").is_err(), "no tag");
    }

    #[test]
    fn repository_parse() {
        let r = Repository::parse("busybox").unwrap();
        assert_eq!(r.to_string(), "index.docker.io/library/busybox");
        assert_eq!(
            Repository::parse("127.0.0.1:5000/a/b")
                .unwrap()
                .repository(),
            "a/b"
        );
        assert!(Repository::parse("app:tag").is_err());
    }

    #[test]
    fn digest_and_context() {
        let r = Reference::parse("localhost:5000/app:v1").unwrap();
        assert_eq!(r.identifier(), "v1");
        assert_eq!(r.context().to_string(), "localhost:5000/app");
        assert_eq!(r.context().scope("pull,push"), "repository:app:pull,push");
        let d = Digest::parse(D).unwrap();
        let rd = r.with_digest(d.clone());
        assert_eq!(rd.to_string(), format!("localhost:5000/app@{D}"));
        assert_eq!(rd.identifier(), D);
        assert_eq!(rd.tag(), None);
        assert_eq!(Reference::parse(&rd.to_string()).unwrap(), rd);
    }
}
