//! Group elements and `group.toml`, the detector's output (Go `buildpack.Group`,
//! `platform/files/handle_toml.go` ReadGroup/WriteGroup).

use super::{FileError, read_toml, write_text};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// A buildpack (or extension) reference as it appears in order.toml, a composite
/// buildpack's `[[order.group]]`, or group.toml. Field order is the Go struct's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupElement {
    pub id: String,
    #[serde(default)]
    pub version: String,
    /// group.toml only: the Buildpack API.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api: String,
    /// group.toml only.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub homepage: String,
    /// Set on extensions while resolving; never written to group.toml.
    #[serde(default, skip_serializing_if = "is_false")]
    pub extension: bool,
    /// order.toml only.
    #[serde(default, skip_serializing_if = "is_false")]
    pub optional: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl GroupElement {
    pub fn new(id: &str, version: &str) -> Self {
        Self {
            id: id.into(),
            version: version.into(),
            ..Default::default()
        }
    }

    /// `Buildpack` or `Extension` (the Go kind names, used in memo keys and messages).
    pub fn kind(&self) -> &'static str {
        if self.extension {
            "Extension"
        } else {
            "Buildpack"
        }
    }

    pub fn no_opt(mut self) -> Self {
        self.optional = false;
        self
    }

    pub fn no_extension(mut self) -> Self {
        self.extension = false;
        self
    }

    /// The provider form used in plan.toml: only id, version and extension.
    pub fn as_provider(&self) -> Self {
        Self {
            id: self.id.clone(),
            version: self.version.clone(),
            extension: self.extension,
            ..Default::default()
        }
    }
}

impl fmt::Display for GroupElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.version)
    }
}

/// One group: the `[[group]]` list of group.toml, or one `[[order]]` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group: Vec<GroupElement>,
    #[serde(
        default,
        rename = "group-extensions",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub group_extensions: Vec<GroupElement>,
}

/// Reads group.toml; group-extensions are forced to `extension = true, optional = true`.
pub fn read_group(path: &Path) -> Result<Group, FileError> {
    let mut g: Group = read_toml("group", path)?;
    for e in &mut g.group_extensions {
        e.extension = true;
        e.optional = true;
    }
    Ok(g)
}

/// The group.toml text (optional/extension flags stripped). The one place group.toml is
/// serialized: switch to the BurntSushi-compatible writer here.
pub fn group_to_toml(group: &Group) -> Result<String, String> {
    let clean = Group {
        group: group
            .group
            .iter()
            .cloned()
            .map(|e| e.no_opt().no_extension())
            .collect(),
        group_extensions: group
            .group_extensions
            .iter()
            .cloned()
            .map(|e| e.no_opt().no_extension())
            .collect(),
    };
    crate::files::gotoml::to_string(&clean).map_err(|e| e.to_string())
}

pub fn write_group(path: &Path, group: &Group) -> Result<(), FileError> {
    let text = group_to_toml(group).map_err(|message| FileError::Write {
        what: "group",
        path: path.to_path_buf(),
        message,
    })?;
    write_text("group", path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_without_flags_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("group.toml");
        let mut e = GroupElement::new("samples/a", "1.0");
        e.api = "0.10".into();
        e.optional = true;
        let g = Group {
            group: vec![e],
            group_extensions: vec![],
        };
        write_group(&p, &g).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains("optional"), "{text}");
        assert!(text.contains("[[group]]"), "{text}");
        let back = read_group(&p).unwrap();
        assert_eq!(back.group[0].api, "0.10");
        assert!(!back.group[0].optional);
    }

    #[test]
    fn read_errors_are_go_shaped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("group.toml");
        let e = read_group(&p).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "failed to read group file: open {}: no such file or directory",
                p.display()
            )
        );
        assert!(e.is_not_found());
        std::fs::write(&p, "[[group]]\nid = \"a\"\nbad line\n").unwrap();
        let e = read_group(&p).unwrap_err().to_string();
        assert!(
            e.starts_with("failed to read group file: toml: line 3: "),
            "{e}"
        );
    }
}
