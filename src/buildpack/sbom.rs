//! SBOM files a buildpack writes next to its layers (`<layer>.sbom.<ext>`,
//! `launch.sbom.<ext>`, `build.sbom.<ext>`), their validation against `sbom-formats`, the
//! `<layers>/sbom/{launch,build,cache}/<bp>/…` tree the builder assembles, and the legacy
//! `[[bom]]` tables (Go `buildpack/bomfile.go`, `buildpack/bom.go`, `phase/builder.go`).

use super::launch_out::BuildLayer;
use super::lookup::escape_id;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const MEDIA_TYPE_CYCLONEDX: &str = "application/vnd.cyclonedx+json";
pub const MEDIA_TYPE_SPDX: &str = "application/spdx+json";
pub const MEDIA_TYPE_SYFT: &str = "application/vnd.syft+json";

/// Which part of the SBOM tree a file goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbomKind {
    Build,
    Cache,
    Launch,
}

impl SbomKind {
    fn dir(self) -> &'static str {
        match self {
            SbomKind::Build => "build",
            SbomKind::Cache => "cache",
            SbomKind::Launch => "launch",
        }
    }
}

/// One SBOM file found after `bin/build`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BomFile {
    pub buildpack_id: String,
    /// Empty for `launch.sbom.*` / `build.sbom.*`.
    pub layer_name: String,
    pub kind: SbomKind,
    pub path: PathBuf,
}

impl BomFile {
    fn media_type(&self) -> Option<&'static str> {
        let name = self.path.file_name()?.to_string_lossy().into_owned();
        if name.ends_with(".sbom.cdx.json") {
            Some(MEDIA_TYPE_CYCLONEDX)
        } else if name.ends_with(".sbom.spdx.json") {
            Some(MEDIA_TYPE_SPDX)
        } else if name.ends_with(".sbom.syft.json") {
            Some(MEDIA_TYPE_SYFT)
        } else {
            None
        }
    }

    /// The file name in the SBOM tree: `sbom.cdx.json`, `sbom.spdx.json` or `sbom.syft.json`.
    pub fn dest_name(&self) -> Result<&'static str, String> {
        match self.media_type() {
            Some(MEDIA_TYPE_CYCLONEDX) => Ok("sbom.cdx.json"),
            Some(MEDIA_TYPE_SPDX) => Ok("sbom.spdx.json"),
            Some(MEDIA_TYPE_SYFT) => Ok("sbom.syft.json"),
            _ => Err(format!(
                "unsupported SBOM format: '{}'",
                self.path.display()
            )),
        }
    }
}

/// `*.sbom.*.json` in a buildpack's layers dir, name-sorted (like Go's filepath.Glob).
fn sbom_glob(bp_layers_dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(bp_layers_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            // `*.sbom.*.json`: both stars may be empty, ".sbom." and ".json" may not overlap
            n.ends_with(".json") && n.find(".sbom.").is_some_and(|i| i + 6 + 5 <= n.len())
        })
        .collect();
    names.sort();
    names.into_iter().map(|n| bp_layers_dir.join(n)).collect()
}

/// Collects the SBOM files of one buildpack (Go processSBOMFiles) and validates their media
/// types against the descriptor's `sbom-formats`. `bp` is `id@version` for messages.
pub fn collect_sbom_files(
    bp_layers_dir: &Path,
    bp_id: &str,
    bp: &str,
    layers: &[BuildLayer],
    declared: &[String],
) -> Result<Vec<BomFile>, String> {
    let mut files = Vec::new();
    for path in sbom_glob(bp_layers_dir) {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let layer = file.split('.').next().unwrap_or("").to_string();
        let mk = |layer_name: &str, kind| BomFile {
            buildpack_id: bp_id.to_string(),
            layer_name: layer_name.to_string(),
            kind,
            path: path.clone(),
        };
        if layer == "launch" {
            files.push(mk("", SbomKind::Launch));
            continue;
        }
        if layer == "build" {
            files.push(mk("", SbomKind::Build));
            continue;
        }
        let Some(meta) = layers.iter().find(|l| l.name == layer) else {
            continue;
        };
        files.push(mk(
            &layer,
            if meta.types.launch {
                SbomKind::Launch
            } else {
                SbomKind::Build
            },
        ));
        if meta.types.cache {
            files.push(mk(&layer, SbomKind::Cache));
        }
    }
    for f in &files {
        let Some(found) = f.media_type() else {
            return Err(format!(
                "unsupported SBOM file format: '{}'",
                f.path.display()
            ));
        };
        let mut ok = false;
        for d in declared {
            let base = d
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if base.is_empty() {
                return Err(format!(
                    "validating SBOM file '{}' for buildpack: '{bp}': parsing declared media type: mime: no media type",
                    f.path.display()
                ));
            }
            if base == found {
                ok = true;
                break;
            }
        }
        if !ok {
            return Err(format!(
                "validating SBOM file '{}' for buildpack: '{bp}': undeclared SBOM media type: '{found}'",
                f.path.display()
            ));
        }
    }
    Ok(files)
}

/// Copies SBOM files into `<layers>/sbom/<kind>/<escaped bp id>[/<layer>]/sbom.<ext>`.
pub fn copy_sbom_files(layers_dir: &Path, files: &[BomFile]) -> Result<(), String> {
    for f in files {
        let mut dir = layers_dir
            .join("sbom")
            .join(f.kind.dir())
            .join(escape_id(&f.buildpack_id));
        if !f.layer_name.is_empty() {
            dir = dir.join(&f.layer_name);
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let dest = dir.join(f.dest_name()?);
        std::fs::copy(&f.path, &dest)
            .map_err(|e| format!("copying {} to {}: {e}", f.path.display(), dest.display()))?;
    }
    Ok(())
}

/// A legacy `[[bom]]` entry of launch.toml / build.toml.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct RawBomEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub metadata: Option<toml::Table>,
}

/// A legacy BOM entry with its buildpack, as written to `sbom.legacy.json` (Go field order).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BomEntry {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    pub metadata: Option<toml::Table>,
    pub buildpack: BomBuildpack,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BomBuildpack {
    pub id: String,
    pub version: String,
}

pub const BOM_DEPRECATED: &str = "BOM table is deprecated in this buildpack api version, though it remains supported for backwards compatibility. Buildpack authors should write BOM information to <layer>.sbom.<ext>, launch.sbom.<ext>, or build.sbom.<ext>.";

/// Go's legacy-BOM validation: a deprecation warning unless SBOM files exist too, and no
/// top-level `version`.
pub fn validate_bom(
    bom: &[RawBomEntry],
    bp_layers_dir: &Path,
    bp_id: &str,
    bp_version: &str,
) -> Result<Vec<BomEntry>, String> {
    if !bom.is_empty() && sbom_glob(bp_layers_dir).is_empty() {
        crate::warn!("{BOM_DEPRECATED}");
    }
    let mut out = Vec::with_capacity(bom.len());
    for e in bom {
        if !e.version.is_empty() {
            return Err(format!(
                "bom entry '{}' has a top level version which is not allowed. The buildpack should instead set metadata.version",
                e.name
            ));
        }
        out.push(BomEntry {
            name: e.name.clone(),
            version: String::new(),
            metadata: e.metadata.clone(),
            buildpack: BomBuildpack {
                id: bp_id.into(),
                version: bp_version.into(),
            },
        });
    }
    Ok(out)
}

/// Writes `<layers>/sbom/launch/sbom.legacy.json` and `<layers>/sbom/build/sbom.legacy.json`
/// (Go json.Encoder: compact, trailing newline, `null` when empty).
pub fn write_legacy_bom(
    layers_dir: &Path,
    launch: &[BomEntry],
    build: &[BomEntry],
) -> Result<(), String> {
    for (kind, bom) in [("launch", launch), ("build", build)] {
        let dir = layers_dir.join("sbom").join(kind);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut text = if bom.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(bom).map_err(|e| format!("encoding {kind} bom: {e}"))?
        };
        text.push('\n');
        let p = dir.join("sbom.legacy.json");
        std::fs::write(&p, text)
            .map_err(|e| format!("encoding {kind} bom: {}: {e}", p.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::LayerTypes;

    fn layer(name: &str, launch: bool, cache: bool) -> BuildLayer {
        BuildLayer {
            name: name.into(),
            dir: PathBuf::from(name),
            types: LayerTypes {
                launch,
                cache,
                build: false,
            },
            metadata: None,
        }
    }

    #[test]
    fn classifies_validates_and_copies() {
        let dir = tempfile::tempdir().unwrap();
        let bp = dir.path().join("layers/ex_bp");
        std::fs::create_dir_all(&bp).unwrap();
        for f in [
            "launch.sbom.cdx.json",
            "build.sbom.cdx.json",
            "jdk.sbom.cdx.json",
            "gone.sbom.cdx.json",
        ] {
            std::fs::write(bp.join(f), f).unwrap();
        }
        let layers = [layer("jdk", true, true)];
        let declared = vec!["application/vnd.cyclonedx+json".to_string()];
        let files = collect_sbom_files(&bp, "ex/bp", "ex/bp@1", &layers, &declared).unwrap();
        let kinds: Vec<(String, SbomKind)> = files
            .iter()
            .map(|f| (f.layer_name.clone(), f.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                (String::new(), SbomKind::Build),
                ("jdk".into(), SbomKind::Launch),
                ("jdk".into(), SbomKind::Cache),
                (String::new(), SbomKind::Launch),
            ]
        );
        let root = dir.path().join("layers");
        copy_sbom_files(&root, &files).unwrap();
        assert!(root.join("sbom/launch/ex_bp/jdk/sbom.cdx.json").is_file());
        assert!(root.join("sbom/cache/ex_bp/jdk/sbom.cdx.json").is_file());
        assert!(root.join("sbom/build/ex_bp/sbom.cdx.json").is_file());
        assert_eq!(
            std::fs::read_to_string(root.join("sbom/launch/ex_bp/sbom.cdx.json")).unwrap(),
            "launch.sbom.cdx.json"
        );

        let e = collect_sbom_files(&bp, "ex/bp", "ex/bp@1", &layers, &[]).unwrap_err();
        assert!(
            e.ends_with("undeclared SBOM media type: 'application/vnd.cyclonedx+json'"),
            "{e}"
        );
        std::fs::write(bp.join("launch.sbom.xml.json"), "").unwrap();
        let e = collect_sbom_files(&bp, "ex/bp", "ex/bp@1", &layers, &declared).unwrap_err();
        assert!(e.starts_with("unsupported SBOM file format: "), "{e}");
    }

    #[test]
    fn legacy_bom_json() {
        let dir = tempfile::tempdir().unwrap();
        write_legacy_bom(dir.path(), &[], &[]).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sbom/launch/sbom.legacy.json")).unwrap(),
            "null\n"
        );
        let raw: Vec<RawBomEntry> =
            vec![toml::from_str("name = \"dep\"\n[metadata]\nz = 1\na = \"x\"\n").unwrap()];
        let bom = validate_bom(&raw, dir.path(), "ex/bp", "1.0").unwrap();
        write_legacy_bom(dir.path(), &bom, &[]).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sbom/launch/sbom.legacy.json")).unwrap(),
            "[{\"name\":\"dep\",\"metadata\":{\"a\":\"x\",\"z\":1},\"buildpack\":{\"id\":\"ex/bp\",\"version\":\"1.0\"}}]\n"
        );
        let bad: Vec<RawBomEntry> =
            vec![toml::from_str("name = \"dep\"\nversion = \"1\"\n").unwrap()];
        assert!(validate_bom(&bad, dir.path(), "ex/bp", "1.0").is_err());
    }
}
