//! TO BE REPLACED by `cnb::image::reference` (the full go-containerregistry-compatible parser
//! another helper is writing). This is only the part input validation needs now: does a
//! reference parse under ggcr's weak validation (`name.ParseReference(s, name.WeakValidation)`),
//! and which registry does it name (`ref.Context().RegistryStr()`)?

const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
const DEFAULT_REGISTRY: &str = "index.docker.io";

/// The registry of `reference`, or ggcr's "could not parse reference: <s>".
pub fn registry_of(reference: &str) -> Result<String, String> {
    as_tag(reference)
        .or_else(|| as_digest(reference))
        .ok_or_else(|| format!("could not parse reference: {reference}"))
}

fn as_tag(s: &str) -> Option<String> {
    let mut base = s;
    if let Some((b, tag)) = s.rsplit_once(':')
        && !tag.contains('/')
    {
        if tag.is_empty()
            || tag.len() > 128
            || !tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        {
            return None;
        }
        base = b;
    }
    repository_registry(base)
}

fn as_digest(s: &str) -> Option<String> {
    let (base, digest) = s.split_once('@')?;
    if digest.contains('@') {
        return None;
    }
    let hex = digest.strip_prefix("sha256:")?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    // ggcr tries the part before '@' as a tag first and keeps only its repository.
    let base = match base.rsplit_once(':') {
        Some((b, tag)) if !tag.contains('/') && as_tag(base).is_some() => b,
        _ => base,
    };
    repository_registry(base)
}

fn repository_registry(name: &str) -> Option<String> {
    if name.is_empty() {
        return None;
    }
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest)) if first == "localhost" || first.contains(['.', ':']) => (first, rest),
        _ => ("", name),
    };
    let len = repo.chars().count();
    if !(2..=255).contains(&len) || !repo.chars().all(|c| REPOSITORY_CHARS.contains(c)) {
        return None;
    }
    if !registry_ok(registry) {
        return None;
    }
    Some(match registry {
        "" => DEFAULT_REGISTRY.to_string(),
        "docker.io" => DEFAULT_REGISTRY.to_string(),
        r => r.to_string(),
    })
}

/// Approximates ggcr's "valid RFC 3986 authority" check (`url.Parse("//"+r).Host == r`).
fn registry_ok(r: &str) -> bool {
    !r.contains(['/', '?', '#', '@', ' ', '%']) && r.chars().all(|c| c.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries() {
        let d = "sha256:".to_string() + &"a".repeat(64);
        let table: Vec<(String, Result<&str, ()>)> = vec![
            ("busybox".into(), Ok("index.docker.io")),
            ("library/busybox:1.36".into(), Ok("index.docker.io")),
            ("docker.io/foo/bar".into(), Ok("index.docker.io")),
            ("localhost/app".into(), Ok("localhost")),
            (
                "127.0.0.1:5000/team/app:latest".into(),
                Ok("127.0.0.1:5000"),
            ),
            (
                "registry.example.com/team/app".into(),
                Ok("registry.example.com"),
            ),
            (format!("gcr.io/x/y@{d}"), Ok("gcr.io")),
            (format!("gcr.io/x/y:t@{d}"), Ok("gcr.io")),
            ("UPPER/case".into(), Err(())),
            ("app:".into(), Err(())),
            ("a".into(), Err(())),
            ("".into(), Err(())),
            ("gcr.io/x@sha256:abc".into(), Err(())),
        ];
        for (input, want) in table {
            let got = registry_of(&input);
            match want {
                Ok(r) => assert_eq!(got.as_deref(), Ok(r), "{input}"),
                Err(()) => assert_eq!(
                    got,
                    Err(format!("could not parse reference: {input}")),
                    "{input}"
                ),
            }
        }
    }
}
