//! `<layers>/config/metadata.toml`: the builder's record of the build (Go lifecycle
//! `platform/files/metadata.go` `BuildMetadata`, `launch/launch.go` `Process`), read by the
//! exporter and the launcher, and its JSON form, the `io.buildpacks.build.metadata` label.
//!
//! Field order follows the Go structs. Reading is tolerant (unknown keys ignored, every field
//! optional, `command` as a string or an array). Whether `command` is written as an array
//! (Platform API ≥ 0.10) or a string depends on the Platform API, so a [`RawCommand`] carries
//! it, as in Go (`Process::with_platform_api`).

use crate::api::Version;
use crate::env::go_io_error;
use serde::de::Deserializer;
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The path of metadata.toml under a layers directory.
pub fn metadata_path(layers_dir: &Path) -> PathBuf {
    layers_dir.join("config").join("metadata.toml")
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("open {}: {}", path.display(), go_io_error(source))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Shaped like BurntSushi's `toml: line N: …` (the path is not part of Go's text).
    #[error("toml: {}", toml_error_text(text, source))]
    Decode {
        path: PathBuf,
        text: String,
        source: Box<toml::de::Error>,
    },
    #[error("encode metadata for {}: {source}", path.display())]
    Encode { path: PathBuf, source: EncodeError },
    #[error("write {}: {}", path.display(), go_io_error(source))]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("encode build metadata label: {0}")]
    Json(#[from] serde_json::Error),
}

/// `line N: <message>` for a TOML decode error (one line, no source excerpt).
pub fn toml_error_text(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let line = text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            format!("line {line}: {msg}")
        }
        None => msg.to_string(),
    }
}

/// `BuildMetadata` as written to metadata.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Metadata {
    /// Deprecated bill of materials (omitted when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bom: Vec<BomEntry>,
    /// Go decodes an empty group as a nil slice, which BurntSushi omits.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buildpacks: Vec<GroupElement>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<GroupElement>,
    /// Go keeps a nil slice when no buildpack declared labels; nil is not written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
    /// Always written by the builder (sorted by type, `default` cleared).
    pub processes: Vec<Process>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<Slice>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub buildpack_default_process_type: String,
}

/// A buildpack or extension of the group (`buildpack.GroupElement`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupElement {
    pub id: String,
    pub version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub homepage: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub extension: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// `[[labels]]` and `[[slices]]` have the same shape here as in launch.toml.
pub use super::launch::{Label, Slice};

/// A legacy BOM entry (`buildpack.BOMEntry`: the embedded `Require` fields, then `buildpack`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BomEntry {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<toml::Table>,
    pub buildpack: GroupElement,
}

/// A process (`launch.Process`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Process {
    #[serde(rename = "type")]
    pub kind: String,
    pub command: RawCommand,
    /// `None` is Go's nil slice: not written to TOML, `null` in the label JSON.
    pub args: Option<Vec<String>>,
    pub direct: bool,
    pub default: bool,
    pub buildpack_id: String,
    pub working_dir: String,
    pub exec_env: Vec<String>,
}

/// A process command: one or more entries, written as an array at Platform API ≥ 0.10 and as
/// the single first entry below (Go `launch.RawCommand`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawCommand {
    pub entries: Vec<String>,
    /// The Platform API the command is written for; `None` writes an array.
    pub platform_api: Option<Version>,
}

impl RawCommand {
    pub fn new(entries: Vec<String>) -> Self {
        Self {
            entries,
            platform_api: None,
        }
    }

    fn as_array(&self) -> bool {
        self.platform_api.is_none_or(|v| v.at_least("0.10"))
    }
}

impl Serialize for RawCommand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.as_array() {
            self.entries.serialize(s)
        } else {
            self.entries
                .first()
                .map(String::as_str)
                .unwrap_or("")
                .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<toml::Value>),
        }
        let entries = match Raw::deserialize(d)? {
            Raw::One(s) => vec![s],
            Raw::Many(v) => v
                .into_iter()
                .map(|e| match e {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect(),
        };
        Ok(RawCommand::new(entries))
    }
}

impl Process {
    /// Go `Process.WithPlatformAPI`: below Platform 0.10 only the first command entry is kept
    /// and the others are moved to the front of `args`.
    pub fn with_platform_api(mut self, api: Version) -> Self {
        self.command.platform_api = Some(api);
        if api.less_than("0.10") && !self.command.entries.is_empty() {
            let mut args: Vec<String> = self.command.entries.split_off(1);
            args.extend(self.args.take().unwrap_or_default());
            self.args = Some(args);
        }
        self
    }

    /// Go `Process.NoDefault`.
    pub fn no_default(mut self) -> Self {
        self.default = false;
        self
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Process", 8)?;
        st.serialize_field("type", &self.kind)?;
        st.serialize_field("command", &self.command)?;
        match &self.args {
            Some(a) => st.serialize_field("args", a)?,
            None => st.skip_field("args")?,
        }
        st.serialize_field("direct", &self.direct)?;
        if self.default {
            st.serialize_field("default", &true)?;
        } else {
            st.skip_field("default")?;
        }
        st.serialize_field("buildpack-id", &self.buildpack_id)?;
        if !self.working_dir.is_empty() {
            st.serialize_field("working-dir", &self.working_dir)?;
        }
        if !self.exec_env.is_empty() {
            st.serialize_field("exec-env", &self.exec_env)?;
        }
        st.end()
    }
}

impl Metadata {
    /// Sets the Platform API on every process (see [`Process::with_platform_api`]).
    pub fn with_platform_api(mut self, api: Version) -> Self {
        self.processes = self
            .processes
            .into_iter()
            .map(|p| p.with_platform_api(api))
            .collect();
        self
    }

    pub fn find_process(&self, kind: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.kind == kind)
    }
}

/// Reads metadata.toml (tolerant: missing keys default, unknown keys ignored).
pub fn read_metadata(path: &Path) -> Result<Metadata, MetadataError> {
    let text = std::fs::read_to_string(path).map_err(|source| MetadataError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_metadata(&text).map_err(|e| MetadataError::Decode {
        path: path.to_path_buf(),
        text: text.clone(),
        source: Box::new(e),
    })
}

pub fn parse_metadata(text: &str) -> Result<Metadata, toml::de::Error> {
    toml::from_str(text)
}

/// Go `ReadBuildMetadata`: reads metadata.toml and sets `platform_api` on every process so that
/// re-encoding (TOML or the label JSON) writes `command` in that API's shape.
pub fn read_build_metadata(path: &Path, platform_api: Version) -> Result<Metadata, MetadataError> {
    Ok(read_metadata(path)?.with_platform_api(platform_api))
}

/// The text written to metadata.toml. The one place that picks the TOML encoder.
/// (To become `cnb::files::gotoml::to_string(md).map_err(Into::into)`: BurntSushi's layout.)
pub fn encode_metadata(md: &Metadata) -> Result<String, EncodeError> {
    crate::files::gotoml::to_string(md).map_err(Into::into)
}

/// Whatever error the TOML encoder gives.
pub type EncodeError = Box<dyn std::error::Error + Send + Sync>;

/// Writes metadata.toml (creating its parent directory).
pub fn write_metadata(path: &Path, md: &Metadata) -> Result<(), MetadataError> {
    let text = encode_metadata(md).map_err(|source| MetadataError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| MetadataError::Write {
            path: path.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, text).map_err(|source| MetadataError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `launcher` in the build metadata label (Go `LauncherMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LauncherMetadata {
    pub version: String,
    pub source: SourceMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceMetadata {
    pub git: GitMetadata,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitMetadata {
    pub repository: String,
    pub commit: String,
}

/// JSON views with Go's `json` tags (they differ from the TOML ones).
mod json_view {
    use super::*;

    #[derive(Serialize)]
    pub(super) struct Group<'a> {
        pub id: &'a str,
        pub version: &'a str,
        #[serde(skip_serializing_if = "str::is_empty")]
        pub homepage: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub optional: bool,
    }

    impl<'a> From<&'a GroupElement> for Group<'a> {
        fn from(g: &'a GroupElement) -> Self {
            Group {
                id: &g.id,
                version: &g.version,
                homepage: &g.homepage,
                optional: g.optional,
            }
        }
    }

    #[derive(Serialize)]
    pub(super) struct Bom<'a> {
        pub name: &'a str,
        #[serde(skip_serializing_if = "str::is_empty")]
        pub version: &'a str,
        pub metadata: &'a Option<toml::Table>,
        pub buildpack: Group<'a>,
    }

    #[derive(Serialize)]
    pub(super) struct Proc<'a> {
        #[serde(rename = "type")]
        pub kind: &'a str,
        pub command: RawCommand,
        pub args: &'a Option<Vec<String>>,
        pub direct: bool,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub default: bool,
        #[serde(rename = "buildpackID")]
        pub buildpack_id: &'a str,
        #[serde(rename = "working-dir", skip_serializing_if = "str::is_empty")]
        pub working_dir: &'a str,
        #[serde(rename = "exec-env", skip_serializing_if = "<[String]>::is_empty")]
        pub exec_env: &'a [String],
    }

    #[derive(Serialize)]
    pub(super) struct Build<'a> {
        /// Below Platform 0.9 always present (`null` when empty); from 0.9 never.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub bom: Option<Option<Vec<Bom<'a>>>>,
        pub buildpacks: Vec<Group<'a>>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub extensions: Vec<Group<'a>>,
        pub launcher: &'a LauncherMetadata,
        pub processes: Vec<Proc<'a>>,
        #[serde(
            rename = "buildpack-default-process-type",
            skip_serializing_if = "str::is_empty"
        )]
        pub default_type: &'a str,
    }
}

/// The `io.buildpacks.build.metadata` label value: compact JSON in Go `encoding/json` shape
/// (struct field order, omitempty as in Go, `<`, `>`, `&`, U+2028, U+2029 escaped). Labels and
/// slices are not part of it; `api` of buildpacks is not either. `command` is written as an
/// array at Platform API ≥ 0.10, else as its first entry.
pub fn build_metadata_label(
    md: &Metadata,
    launcher: &LauncherMetadata,
    platform_api: Version,
) -> Result<String, MetadataError> {
    use json_view::*;
    let bom = if platform_api.less_than("0.9") {
        Some(if md.bom.is_empty() {
            None
        } else {
            Some(
                md.bom
                    .iter()
                    .map(|b| Bom {
                        name: &b.name,
                        version: &b.version,
                        metadata: &b.metadata,
                        buildpack: (&b.buildpack).into(),
                    })
                    .collect(),
            )
        })
    } else {
        None
    };
    let view = Build {
        bom,
        buildpacks: md.buildpacks.iter().map(Group::from).collect(),
        extensions: md.extensions.iter().map(Group::from).collect(),
        launcher,
        processes: md
            .processes
            .iter()
            .map(|p| Proc {
                kind: &p.kind,
                command: RawCommand {
                    entries: p.command.entries.clone(),
                    platform_api: Some(platform_api),
                },
                args: &p.args,
                direct: p.direct,
                default: p.default,
                buildpack_id: &p.buildpack_id,
                working_dir: &p.working_dir,
                exec_env: &p.exec_env,
            })
            .collect(),
        default_type: &md.buildpack_default_process_type,
    };
    Ok(go_json_escape(&serde_json::to_string(&view)?))
}

/// Go's `encoding/json` HTML-safe escaping applied to serde_json output. The replaced characters
/// can only occur inside JSON strings, so a textual pass is exact.
pub fn go_json_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden(name: &str) -> String {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/launcher/metadata")
            .join(name);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// The value the Go program in testdata/launcher/metadata/README.md encoded.
    fn sample(api: Version) -> Metadata {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Metadata {
            buildpacks: vec![
                GroupElement {
                    id: "samples/java-maven".into(),
                    version: "0.0.2".into(),
                    api: "0.10".into(),
                    homepage: "https://x.example/a?b=1&c=<d>".into(),
                    ..Default::default()
                },
                GroupElement {
                    id: "b".into(),
                    version: "1".into(),
                    api: "0.8".into(),
                    ..Default::default()
                },
            ],
            labels: vec![Label {
                key: "k".into(),
                value: "v".into(),
            }],
            processes: vec![
                Process {
                    kind: "web".into(),
                    command: RawCommand::new(s(&["java", "-jar", "a b.jar"])),
                    args: Some(s(&["--x"])),
                    direct: true,
                    buildpack_id: "samples/java-maven".into(),
                    ..Default::default()
                },
                Process {
                    kind: "worker".into(),
                    command: RawCommand::new(s(&["echo hi"])),
                    buildpack_id: "b".into(),
                    working_dir: "/w".into(),
                    exec_env: s(&["production"]),
                    ..Default::default()
                },
            ],
            slices: vec![Slice {
                paths: s(&["*.jar"]),
            }],
            buildpack_default_process_type: "web".into(),
            ..Default::default()
        }
        .with_platform_api(api)
    }

    fn launcher() -> LauncherMetadata {
        LauncherMetadata {
            version: "0.21.17".into(),
            source: SourceMetadata {
                git: GitMetadata {
                    repository: "github.com/buildpacks/lifecycle".into(),
                    commit: "abc".into(),
                },
            },
        }
    }

    #[test]
    fn label_json_matches_go_byte_for_byte() {
        for api in ["0.12", "0.9"] {
            let v = Version::parse(api).unwrap();
            let got = build_metadata_label(&sample(v), &launcher(), v).unwrap();
            assert_eq!(
                got,
                golden(&format!("go-{api}.json")).trim_end(),
                "api {api}"
            );
        }
        let empty = Metadata {
            buildpacks: vec![GroupElement {
                id: "a".into(),
                version: "1".into(),
                api: "0.9".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let got = build_metadata_label(&empty, &LauncherMetadata::default(), Version::new(0, 12))
            .unwrap();
        assert_eq!(got, golden("empty.json").trim_end());
    }

    #[test]
    fn go_written_toml_reads_back_to_the_same_value() {
        for api in ["0.12", "0.9"] {
            let v = Version::parse(api).unwrap();
            let read = parse_metadata(&golden(&format!("go-{api}.toml")))
                .unwrap()
                .with_platform_api(v);
            assert_eq!(read, sample(v), "api {api}");
        }
        // Below 0.10 the extra command entries moved to args and a string command was read.
        let old = parse_metadata(&golden("go-0.9.toml")).unwrap();
        assert_eq!(old.processes[0].command.entries, vec!["java"]);
        assert_eq!(old.processes[1].args, Some(vec![]));
    }

    #[test]
    fn written_toml_matches_go_byte_for_byte() {
        for api in ["0.12", "0.9"] {
            let v = Version::parse(api).unwrap();
            let got = encode_metadata(&sample(v)).unwrap();
            // The capture normalised the final newline; compare the body exactly.
            assert_eq!(
                got.trim_end(),
                golden(&format!("go-{api}.toml")).trim_end(),
                "api {api}"
            );
        }
        let empty = Metadata {
            buildpacks: vec![GroupElement {
                id: "a".into(),
                version: "1".into(),
                api: "0.9".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            encode_metadata(&empty).unwrap().trim_end(),
            golden("empty.toml").trim_end()
        );
    }

    #[test]
    fn written_toml_round_trips_and_uses_arrays_of_tables() {
        let dir = tempfile::tempdir().unwrap();
        let path = metadata_path(dir.path());
        let md = sample(Version::new(0, 12));
        write_metadata(&path, &md).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("processes ="), "{text}");
        assert!(
            text.contains("command = [\"java\", \"-jar\", \"a b.jar\"]"),
            "{text}"
        );
        assert!(!text.contains("default ="), "{text}");
        let back = read_build_metadata(&path, Version::new(0, 12)).unwrap();
        assert_eq!(back, md);
        // The worker process had nil args: not written.
        assert!(!text.contains("args = []"), "{text}");
    }

    #[test]
    fn tolerant_reading() {
        let md = parse_metadata(
            "unknown = 1\n[[processes]]\ntype = \"web\"\ncommand = \"echo hi\"\nextra = true\n",
        )
        .unwrap();
        assert_eq!(md.processes[0].command.entries, vec!["echo hi"]);
        assert!(md.buildpacks.is_empty());
        assert!(parse_metadata("[[processes]]\ncommand = 3\n").is_err());
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("m.toml"),
            "[[processes]]\ntype = 'web'\ncommand = 3\n",
        )
        .unwrap();
        let e = read_metadata(&t.path().join("m.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("toml: line 3: "), "{e}");
        let e = read_metadata(Path::new("/nonexistent/metadata.toml")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "open /nonexistent/metadata.toml: no such file or directory"
        );
    }

    #[test]
    fn control_and_html_characters_encode_like_go() {
        // Go 1.26 `json.Marshal([]string{"\x01\b\f\n\r\t\x7f\u2028<>&'\"\\é"})`.
        let go = "[\"\\u0001\\b\\f\\n\\r\\t\u{7f}\\u2028\\u003c\\u003e\\u0026'\\\"\\\\é\"]";
        let v = vec!["\u{1}\u{8}\u{c}\n\r\t\u{7f}\u{2028}<>&'\"\\é".to_string()];
        assert_eq!(go_json_escape(&serde_json::to_string(&v).unwrap()), go);
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(
            go_json_escape("\"<a>&\u{2028}\""),
            "\"\\u003ca\\u003e\\u0026\\u2028\""
        );
    }
}
