//! Build plans: what `bin/detect` writes (`[[provides]]`, `[[requires]]`, `[[or]]`), the
//! resolved `plan.toml` the detector writes (Go `platform/files/plan.go`), and the
//! per-buildpack Buildpack Plan given to `bin/build` (Go `buildpack.Plan`).

use super::group::GroupElement;
use super::{FileError, read_toml, write_text};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One required dependency: `name`, deprecated top-level `version`, free-form `metadata`.
/// `metadata` keeps the difference between absent (not written) and an empty table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Require {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<toml::Table>,
}

impl Require {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }

    fn has_metadata_version(&self) -> bool {
        self.metadata
            .as_ref()
            .is_some_and(|m| m.contains_key("version"))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provide {
    pub name: String,
}

/// `requires` + `provides` of one alternative.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSections {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Require>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provides: Vec<Provide>,
}

/// The Build Plan a buildpack's `bin/detect` writes to `CNB_BUILD_PLAN_PATH`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectPlan {
    #[serde(flatten)]
    pub sections: PlanSections,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub or: Vec<PlanSections>,
}

impl DetectPlan {
    fn all_requires(&self) -> impl Iterator<Item = &Require> {
        self.sections
            .requires
            .iter()
            .chain(self.or.iter().flat_map(|s| s.requires.iter()))
    }

    /// The Go lifecycle's validation of a passing buildpack's plan; `Some(message)` makes the
    /// buildpack's detect an error.
    pub fn validate(&self, bp_id: &str) -> Option<String> {
        let top_level = self.all_requires().any(|r| !r.version.is_empty());
        if top_level {
            // Checked second in Go, so this message wins when both apply.
            return Some(format!(
                "buildpack {bp_id} has a \"version\" key which is not supported. \"metadata.version\" should be used instead"
            ));
        }
        let doubly = self
            .all_requires()
            .any(|r| !r.version.is_empty() && r.has_metadata_version());
        if doubly {
            return Some(format!(
                "buildpack {bp_id} has a \"version\" key and a \"metadata.version\" which cannot be specified together. \"metadata.version\" should be used instead"
            ));
        }
        None
    }
}

/// One plan.toml entry: who provides a dependency and every requirement for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildPlanEntry {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<GroupElement>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Require>,
}

/// plan.toml.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<BuildPlanEntry>,
}

impl Plan {
    /// The Buildpack Plan of buildpack `id`: all requires of entries it provides (not as an
    /// extension).
    pub fn find(&self, id: &str) -> BuildpackPlan {
        let entries = self
            .entries
            .iter()
            .filter(|e| e.providers.iter().any(|p| p.id == id && !p.extension))
            .flat_map(|e| e.requires.iter().cloned())
            .collect();
        BuildpackPlan { entries }
    }

    /// Drops every entry one of whose requires is named in `met`.
    pub fn filter(&self, met: &[String]) -> Plan {
        let entries = self
            .entries
            .iter()
            .filter(|e| !e.requires.iter().any(|r| met.contains(&r.name)))
            .cloned()
            .collect();
        Plan { entries }
    }
}

/// The Buildpack Plan given to one `bin/build` (`[[entries]] name, [entries.metadata]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildpackPlan {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<Require>,
}

pub fn read_plan(path: &Path) -> Result<Plan, FileError> {
    read_toml("plan", path)
}

/// The plan.toml text. The one place plan.toml is serialized.
pub fn plan_to_toml(plan: &Plan) -> Result<String, String> {
    crate::files::gotoml::to_string(plan).map_err(|e| e.to_string())
}

pub fn write_plan(path: &Path, plan: &Plan) -> Result<(), FileError> {
    let text = plan_to_toml(plan).map_err(|message| FileError::Write {
        what: "plan",
        path: path.to_path_buf(),
        message,
    })?;
    write_text("plan", path, &text)
}

/// The Buildpack Plan text given to `bin/build`. The one place it is serialized.
pub fn buildpack_plan_to_toml(plan: &BuildpackPlan) -> Result<String, String> {
    crate::files::gotoml::to_string(plan).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_plan_with_or_and_validation() {
        let p: DetectPlan = toml::from_str(
            "[[provides]]\nname = \"jdk\"\n[[requires]]\nname = \"jdk\"\n[requires.metadata]\nversion = \"17\"\n[[or]]\n[[or.requires]]\nname = \"jre\"\n",
        )
        .unwrap();
        assert_eq!(p.sections.provides[0].name, "jdk");
        assert_eq!(p.or[0].requires[0].name, "jre");
        assert!(p.validate("x").is_none());
        let bad: DetectPlan =
            toml::from_str("[[requires]]\nname = \"r\"\nversion = \"3\"\n").unwrap();
        assert!(
            bad.validate("x")
                .unwrap()
                .contains("has a \"version\" key which is not supported")
        );
    }

    #[test]
    fn find_and_filter() {
        let mut a = GroupElement::new("a", "1");
        let plan = Plan {
            entries: vec![
                BuildPlanEntry {
                    providers: vec![a.clone()],
                    requires: vec![Require::new("x")],
                },
                BuildPlanEntry {
                    providers: vec![GroupElement::new("b", "1")],
                    requires: vec![Require::new("y")],
                },
            ],
        };
        assert_eq!(plan.find("a").entries, vec![Require::new("x")]);
        assert_eq!(plan.filter(&["x".to_string()]).entries.len(), 1);
        a.extension = true;
        let ext = Plan {
            entries: vec![BuildPlanEntry {
                providers: vec![a],
                requires: vec![Require::new("x")],
            }],
        };
        assert!(ext.find("a").entries.is_empty());
        assert_eq!(plan_to_toml(&Plan::default()).unwrap(), "");
    }
}
