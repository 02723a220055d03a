//! `order.toml` (platform input) and `system.toml` (Platform ≥ 0.15): which groups of
//! buildpacks detection tries (Go `platform/files/handle_toml.go` readOrder,
//! `platform/files/system.go`, `phase/hermetic_factory.go` mergeSystemBuildpacks).

use super::group::{Group, GroupElement};
use super::{FileError, read_toml};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// An order: groups tried in turn.
pub type Order = Vec<Group>;

/// The whole order.toml.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderFile {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Order,
    #[serde(
        default,
        rename = "order-extensions",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub order_extensions: Order,
}

/// Reads order.toml; elements of `order-extensions` are marked extension + optional.
pub fn read_order(path: &Path) -> Result<OrderFile, FileError> {
    let mut o: OrderFile = read_toml("order", path)?;
    for g in &mut o.order_extensions {
        for e in &mut g.group {
            e.extension = true;
            e.optional = true;
        }
    }
    Ok(o)
}

/// system.toml: `[[system.pre.buildpacks]]` and `[[system.post.buildpacks]]` (id, version).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct System {
    #[serde(default)]
    pub pre: SystemBuildpacks,
    #[serde(default)]
    pub post: SystemBuildpacks,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemBuildpacks {
    #[serde(default)]
    pub buildpacks: Vec<SystemBuildpack>,
}

/// A system buildpack reference. Go has no `optional` here, so system buildpacks are required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemBuildpack {
    pub id: String,
    #[serde(default)]
    pub version: String,
}

#[derive(Deserialize)]
struct SystemFile {
    #[serde(default)]
    system: System,
}

/// Reads system.toml. A missing file is not an error: `Ok(None)` (the caller logs at debug
/// `No system buildpacks found at path "<path>"`).
pub fn read_system(path: &Path) -> Result<Option<System>, FileError> {
    match read_toml::<SystemFile>("system", path) {
        Ok(f) => Ok(Some(f.system)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Prepends `system.pre` and appends `system.post` buildpacks to every group, leaving out
/// any whose id is already in that group. Returns the new order and the debug lines the Go
/// lifecycle logs ("Prepending N system buildpack(s) to group", "Appending …").
pub fn merge_system(order: &Order, system: &System) -> (Order, Vec<String>) {
    let mut logs = Vec::new();
    if system.pre.buildpacks.is_empty() && system.post.buildpacks.is_empty() {
        return (order.clone(), logs);
    }
    let pick = |list: &[SystemBuildpack], group: &[GroupElement]| -> Vec<GroupElement> {
        list.iter()
            .filter(|s| !group.iter().any(|e| e.id == s.id))
            .map(|s| GroupElement::new(&s.id, &s.version))
            .collect()
    };
    let mut merged = Vec::with_capacity(order.len());
    for g in order {
        let pre = pick(&system.pre.buildpacks, &g.group);
        let post = pick(&system.post.buildpacks, &g.group);
        if !pre.is_empty() {
            logs.push(format!(
                "Prepending {} system buildpack(s) to group",
                pre.len()
            ));
        }
        if !post.is_empty() {
            logs.push(format!(
                "Appending {} system buildpack(s) to group",
                post.len()
            ));
        }
        let mut elems = pre;
        elems.extend(g.group.iter().cloned());
        elems.extend(post);
        merged.push(Group {
            group: elems,
            group_extensions: g.group_extensions.clone(),
        });
    }
    (merged, logs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_order_and_merges_system() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("order.toml");
        std::fs::write(
            &p,
            "[[order]]\n[[order.group]]\nid = \"a\"\nversion = \"1\"\n[[order.group]]\nid = \"pre\"\nversion = \"9\"\noptional = true\n[[order-extensions]]\n[[order-extensions.group]]\nid = \"x\"\nversion = \"1\"\n",
        )
        .unwrap();
        let o = read_order(&p).unwrap();
        assert_eq!(o.order[0].group.len(), 2);
        assert!(o.order[0].group[1].optional);
        assert!(o.order_extensions[0].group[0].extension);

        let sp = dir.path().join("system.toml");
        assert!(read_system(&sp).unwrap().is_none());
        std::fs::write(
            &sp,
            "[[system.pre.buildpacks]]\nid = \"pre\"\nversion = \"1\"\n[[system.pre.buildpacks]]\nid = \"ca\"\nversion = \"1\"\n[[system.post.buildpacks]]\nid = \"post\"\nversion = \"2\"\n",
        )
        .unwrap();
        let sys = read_system(&sp).unwrap().unwrap();
        let (m, logs) = merge_system(&o.order, &sys);
        let ids: Vec<&str> = m[0].group.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["ca", "a", "pre", "post"]);
        assert_eq!(
            logs,
            [
                "Prepending 1 system buildpack(s) to group",
                "Appending 1 system buildpack(s) to group"
            ]
        );
    }
}
