//! `WWW-Authenticate` parsing (RFC 7235): `Bearer realm="…",service="…",scope="…"`, `Basic
//! realm="…"`, several challenges in one header or in several headers.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased scheme: `bearer`, `basic`, ...
    pub scheme: String,
    /// Parameter names lowercased, values unquoted.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// All challenges of all `WWW-Authenticate` headers of a response.
pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Vec<Challenge> {
    headers
        .get_all(reqwest::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse)
        .collect()
}

/// The challenge to answer: the first Basic or Bearer one, like go-containerregistry.
pub fn pick(challenges: &[Challenge]) -> Option<&Challenge> {
    challenges
        .iter()
        .find(|c| c.scheme == "basic" || c.scheme == "bearer")
        .or(challenges.first())
}

/// Parses one header value into its challenges.
pub fn parse(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    loop {
        p.skip(|c| c == b' ' || c == b'\t' || c == b',');
        let Some(tok) = p.token() else { break };
        p.skip_ws();
        if p.peek() == Some(b'=') && out.last().is_some() {
            // `name=value` of the current challenge.
            p.i += 1;
            p.skip_ws();
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.token().unwrap_or_default()
            };
            if let Some(c) = out.last_mut() {
                c.params.insert(tok.to_ascii_lowercase(), value);
            }
        } else {
            out.push(Challenge {
                scheme: tok.to_ascii_lowercase(),
                params: BTreeMap::new(),
            });
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&f) {
            self.i += 1;
        }
    }

    fn skip_ws(&mut self) {
        self.skip(|c| c == b' ' || c == b'\t');
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        self.skip(|c| !matches!(c, b' ' | b'\t' | b',' | b'=' | b'"'));
        // token68 values (`Basic dXNl...==`) may end with '='.
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> String {
        self.i += 1;
        let mut v = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'\\' => {
                    if let Some(n) = self.peek() {
                        v.push(n);
                        self.i += 1;
                    }
                }
                b'"' => break,
                _ => v.push(c),
            }
        }
        String::from_utf8_lossy(&v).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_and_basic() {
        let c = parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c[0].param("service"), Some("registry.docker.io"));
        assert_eq!(
            c[0].param("scope"),
            Some("repository:samalba/my-app:pull,push")
        );

        let c = parse(r#"Negotiate, Basic realm="a \"b\"", Bearer realm=https://x/t,service=s"#);
        assert_eq!(
            c.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["negotiate", "basic", "bearer"]
        );
        assert_eq!(c[1].param("realm"), Some(r#"a "b""#));
        assert_eq!(c[2].param("realm"), Some("https://x/t"));
        assert_eq!(pick(&c).map(|c| c.scheme.as_str()), Some("basic"));
        assert!(parse("").is_empty());
    }
}
