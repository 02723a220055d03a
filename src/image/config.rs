//! Image configuration (OCI image-spec `config.md`, Docker's container image JSON).
//!
//! Field order, names and `omitempty` behaviour follow go-containerregistry v0.21.9's
//! `v1.ConfigFile`, so a config we serialize is byte-identical to what ggcr (and so the Go
//! lifecycle) writes for the same content. Differences from ggcr, on purpose: fields we do not
//! model are kept in `extra` at every level (ggcr drops them), and time strings are kept as read
//! (ggcr re-formats them through Go's `time.Time`).

use super::json::go;
use crate::digest::Digest;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// What Go's `encoding/json` writes for a zero `time.Time` (ggcr never omits `created`).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// The lifecycle's default image creation time.
pub const DEFAULT_CREATED: &str = "1980-01-01T00:00:01Z";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    #[serde(default, deserialize_with = "go::null_default")]
    pub architecture: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub author: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub container: String,
    /// RFC 3339; `None` is written as [`ZERO_TIME`], as ggcr does.
    #[serde(default, serialize_with = "ser_time")]
    pub created: Option<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub docker_version: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub history: Vec<History>,
    #[serde(default, deserialize_with = "go::null_default")]
    pub os: String,
    #[serde(default)]
    pub rootfs: RootFs,
    #[serde(default, deserialize_with = "go::null_default")]
    pub config: ContainerConfig,
    #[serde(
        rename = "os.version",
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub variant: String,
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    #[serde(rename = "type", default, deserialize_with = "go::null_default")]
    pub fs_type: String,
    /// `None` is written as `null` (Go's nil slice), `Some(vec![])` as `[]`.
    #[serde(default)]
    pub diff_ids: Option<Vec<Digest>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Default for RootFs {
    fn default() -> Self {
        RootFs {
            fs_type: "layers".to_string(),
            diff_ids: None,
            extra: BTreeMap::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub author: String,
    /// `None` is written as [`ZERO_TIME`].
    #[serde(default, serialize_with = "ser_time")]
    pub created: Option<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub created_by: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub comment: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub empty_layer: bool,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The `config` section: how a container runs (ggcr `v1.Config`; Go field names and order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub attach_stderr: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub attach_stdin: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub attach_stdout: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub cmd: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub domainname: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub entrypoint: Vec<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub hostname: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub image: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub on_build: Vec<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub open_stdin: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub stdin_once: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub tty: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// Written as `{"<path>":{}}`.
    #[serde(
        default,
        with = "set_as_map",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub volumes: BTreeSet<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    /// Written as `{"8080/tcp":{}}`.
    #[serde(
        default,
        with = "set_as_map",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub exposed_ports: BTreeSet<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub args_escaped: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_false"
    )]
    pub network_disabled: bool,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub mac_address: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub shell: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Docker's `Healthcheck` (durations in integer nanoseconds).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub test: Vec<String>,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_zero"
    )]
    pub interval: i64,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_zero"
    )]
    pub timeout: i64,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_zero"
    )]
    pub start_period: i64,
    #[serde(
        default,
        deserialize_with = "go::null_default",
        skip_serializing_if = "go::is_zero"
    )]
    pub retries: i64,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ContainerConfig {
    /// The value of `key` in `Env` (last `KEY=` entry wins, like a process environment).
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
    }

    /// Replaces the first `KEY=` entry of `Env`, or appends one (imgutil's `SetEnv`).
    pub fn set_env_var(&mut self, key: &str, value: &str) {
        let entry = format!("{key}={value}");
        match self
            .env
            .iter_mut()
            .find(|e| e.strip_prefix(key).is_some_and(|r| r.starts_with('=')))
        {
            Some(e) => *e = entry,
            None => self.env.push(entry),
        }
    }
}

impl ImageConfig {
    /// Makes this config what go-containerregistry would write after reading it: fields ggcr
    /// does not model dropped at every level, times re-formatted like Go's `time.Time`.
    pub fn make_ggcr_compatible(&mut self) {
        self.extra.clear();
        self.rootfs.extra.clear();
        self.config.extra.clear();
        if let Some(h) = &mut self.config.healthcheck {
            h.extra.clear();
        }
        normalize_time(&mut self.created);
        for h in &mut self.history {
            h.extra.clear();
            normalize_time(&mut h.created);
        }
    }
}

fn normalize_time(t: &mut Option<String>) {
    if let Some(norm) = t.as_deref().and_then(go_time) {
        *t = Some(norm);
    }
}

/// An RFC 3339 time re-formatted the way Go marshals the parsed `time.Time` (RFC 3339 with
/// nanoseconds, trailing zeros trimmed; zero offset written `Z`). `None` if it does not parse.
pub fn go_time(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let ok = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !ok {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = "";
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 || n > 9 {
            return None;
        }
        frac = r[..n].trim_end_matches('0');
        rest = &r[n..];
    }
    let zone = match rest {
        "Z" => "Z".to_string(),
        z if z.len() == 6 && (z.starts_with('+') || z.starts_with('-')) && &z[3..4] == ":" => {
            let (h, m) = (&z[1..3], &z[4..6]);
            if !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
                return None;
            }
            if h == "00" && m == "00" {
                "Z".to_string()
            } else {
                z.to_string()
            }
        }
        _ => return None,
    };
    let dot = if frac.is_empty() { "" } else { "." };
    Some(format!("{}{dot}{frac}{zone}", &s[..19]))
}

fn ser_time<S: Serializer>(t: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(t.as_deref().unwrap_or(ZERO_TIME))
}

mod set_as_map {
    use super::*;
    use serde::ser::SerializeMap;

    pub fn serialize<S: Serializer>(set: &BTreeSet<String>, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(set.len()))?;
        for k in set {
            m.serialize_entry(k, &BTreeMap::<String, Value>::new())?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeSet<String>, D::Error> {
        let m = Option::<BTreeMap<String, serde::de::IgnoredAny>>::deserialize(d)?;
        Ok(m.map(|m| m.into_keys().collect()).unwrap_or_default())
    }
}

/// RFC 3339 UTC text for Unix seconds, as Go's `time.Time` marshals a whole-second UTC time
/// (e.g. `SOURCE_DATE_EPOCH`): `2026-01-02T03:04:05Z`.
pub fn rfc3339_utc(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs = unix_secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_utc(315_532_801), DEFAULT_CREATED);
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_767_323_045), "2026-01-02T03:04:05Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn go_times() {
        assert_eq!(
            go_time("2024-05-06T07:08:09.123456700Z").as_deref(),
            Some("2024-05-06T07:08:09.1234567Z")
        );
        assert_eq!(
            go_time("2024-05-06T07:08:09.000Z").as_deref(),
            Some("2024-05-06T07:08:09Z")
        );
        assert_eq!(
            go_time("2024-05-06T07:08:09.1-00:00").as_deref(),
            Some("2024-05-06T07:08:09.1Z")
        );
        assert_eq!(
            go_time("2024-05-06T09:08:09+02:00").as_deref(),
            Some("2024-05-06T09:08:09+02:00")
        );
        assert_eq!(go_time("yesterday"), None);
    }

    #[test]
    fn env_set_or_replace() {
        let mut c = ContainerConfig {
            env: vec!["PATH=/bin".into(), "PATHX=1".into()],
            ..Default::default()
        };
        c.set_env_var("PATH", "/cnb/process:/bin");
        c.set_env_var("NEW", "v");
        assert_eq!(c.env, ["PATH=/cnb/process:/bin", "PATHX=1", "NEW=v"]);
        assert_eq!(c.env_var("PATHX"), Some("1"));
        assert_eq!(c.env_var("PAT"), None);
    }

    #[test]
    fn nulls_read_like_go() {
        let c: ImageConfig =
            serde_json::from_str(r#"{"architecture":"amd64","os":"linux","config":{"Env":null,"Labels":null,"Cmd":null,"ExposedPorts":null},"rootfs":{"type":"layers","diff_ids":null},"history":null}"#)
                .unwrap();
        assert!(c.config.env.is_empty() && c.config.labels.is_empty() && c.history.is_empty());
        assert_eq!(c.rootfs.diff_ids, None);
    }
}
