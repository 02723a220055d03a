//! Go `Exporter.Export`'s layer decisions: every layer above the run image in Go order
//! (buildpack launch layers by name, launch SBOM, app slices, launcher, config, process
//! types), added or reused by diffID against analyzed.toml `[metadata]`, with Go's log lines,
//! filling in the lifecycle metadata label.

use super::appimage::{Appended, LayerBlob};
use super::layers_dir;
use super::produce::Produced;
use super::run::{
    CONFIG_ID, Ctx, LAUNCHER_ID, PROCESS_TYPES_ID, ProducedSet, SBOM_LAUNCH_ID,
    buildpack_created_by,
};
use cnb::digest::Digest;
use cnb::files::{BuildpackLayerMetadata, BuildpackLayersMetadata, LayerMetadata, LayersMetadata};
use std::collections::BTreeMap;

impl Ctx<'_> {
    /// The image layers above the run image, in Go order, with the metadata label filled in.
    pub(super) fn plan_layers(
        &self,
        meta: &mut LayersMetadata,
        produced: &ProducedSet,
    ) -> Result<Vec<Appended>, String> {
        let orig = self.orig().clone();
        let mut out = Vec::new();
        let reuse = |diff: &Digest, created_by: &str| -> Result<Appended, String> {
            Ok(Appended {
                diff_id: diff.clone(),
                created_by: created_by.to_string(),
                blob: LayerBlob::Previous,
            })
        };
        // addOrReuseBuildpackLayer
        let add_or_reuse = |id: &str, previous_sha: &str| -> Result<(Appended, String), String> {
            let p = produced
                .get(id)
                .ok_or_else(|| format!("creating layer '{id}': not produced"))?;
            let sha = p.diff_id.to_string();
            // Go's factory makes the layer twice and says so the second time.
            cnb::debug!("Reusing tarball for layer {id:?} with SHA: {sha}");
            if sha == previous_sha {
                cnb::info!("Reusing layer '{id}'\n");
                cnb::debug!("Layer '{id}' SHA: {sha}\n");
                Ok((reuse(&p.diff_id, &p.created_by)?, sha))
            } else {
                cnb::info!("Adding layer '{id}'\n");
                cnb::debug!("Layer '{id}' SHA: {sha}\n");
                Ok((
                    Appended {
                        diff_id: p.diff_id.clone(),
                        created_by: p.created_by.clone(),
                        blob: LayerBlob::New(p.id.clone()),
                    },
                    sha,
                ))
            }
        };
        for bp in self.group {
            let dir = layers_dir::read(&self.layers_dir, &bp.id)
                .map_err(|e| format!("reading layers for buildpack '{}': {e}", bp.id))?;
            cnb::debug!(
                "Processing buildpack directory: {}",
                self.layers_dir
                    .join(cnb::buildpack::escape_id(&bp.id))
                    .display()
            );
            let mut bp_md = BuildpackLayersMetadata {
                id: bp.id.clone(),
                version: bp.version.clone(),
                layers: BTreeMap::new(),
                store: dir.store.clone(),
            };
            let orig_bp = orig.for_buildpack(&bp.id);
            let mut malformed = Vec::new();
            for l in &dir.layers {
                let t = match l.read() {
                    Ok(t) => t,
                    Err(_) => {
                        malformed.push(l.identifier.clone());
                        continue;
                    }
                };
                if !t.types.launch {
                    continue;
                }
                cnb::debug!("Processing launch layer: {}", l.path.display());
                let created_by = buildpack_created_by(&l.name, &bp.id, &bp.version);
                let orig_layer = orig_bp.and_then(|o| o.layers.get(&l.name));
                let sha = if l.has_local_contents() {
                    let prev = orig_layer.map_or("", |o| o.sha.as_str());
                    let (a, sha) = add_or_reuse(&l.identifier, prev)?;
                    out.push(a);
                    sha
                } else {
                    if t.types.cache {
                        return Err(format!(
                            "layer '{}' is cache=true but has no contents",
                            l.identifier
                        ));
                    }
                    let Some(o) = orig_layer else {
                        return Err(format!(
                            "cannot reuse '{0}', previous image has no metadata for layer '{0}'",
                            l.identifier
                        ));
                    };
                    cnb::info!("Reusing layer '{}'\n", l.identifier);
                    cnb::debug!("Layer '{}' SHA: {}\n", l.identifier, o.sha);
                    let diff = Digest::parse(&o.sha)
                        .map_err(|e| format!("reusing layer: '{}': {e}", l.identifier))?;
                    out.push(
                        reuse(&diff, &created_by)
                            .map_err(|e| format!("reusing layer: '{}': {e}", l.identifier))?,
                    );
                    o.sha.clone()
                };
                bp_md.layers.insert(
                    l.name.clone(),
                    BuildpackLayerMetadata {
                        sha,
                        data: t.metadata.clone(),
                        build: t.types.build,
                        launch: t.types.launch,
                        cache: t.types.cache,
                    },
                );
            }
            meta.buildpacks.push(bp_md);
            if !malformed.is_empty() {
                return Err(format!(
                    "failed to parse metadata for layers '[{}]'",
                    malformed.join(" ")
                ));
            }
        }
        if produced.contains_key(SBOM_LAUNCH_ID) {
            cnb::debug!(
                "Found SBOM of type launch for at {}",
                self.layers_dir.join("sbom/launch").display()
            );
            let prev = orig.sbom.as_ref().map_or("", |s| s.sha.as_str());
            let (a, sha) = add_or_reuse(SBOM_LAUNCH_ID, prev)
                .map_err(|e| format!("exporting layer '{SBOM_LAUNCH_ID}': {e}"))?;
            out.push(a);
            meta.sbom = Some(LayerMetadata::new(sha));
        }
        // app slices: reused when any previous app layer has the diffID
        cnb::debug!("Adding app layers");
        let slices: Vec<&Produced> = (1..)
            .map_while(|n| produced.get(&format!("slice-{n}")))
            .collect();
        let mut reused = 0;
        for p in &slices {
            cnb::debug!("Layer '{}' SHA: {}\n", p.id, p.diff_id);
            if orig.app.iter().any(|a| a.sha == p.diff_id.as_str()) {
                out.push(reuse(&p.diff_id, &p.created_by)?);
                reused += 1;
            } else {
                out.push(Appended {
                    diff_id: p.diff_id.clone(),
                    created_by: p.created_by.clone(),
                    blob: LayerBlob::New(p.id.clone()),
                });
            }
            meta.app.push(LayerMetadata::new(p.diff_id.to_string()));
        }
        if reused > 0 {
            cnb::info!("Reused {reused}/{} app layer(s)\n", slices.len());
        }
        if slices.len() > reused {
            cnb::info!(
                "Added {}/{} app layer(s)\n",
                slices.len() - reused,
                slices.len()
            );
        }
        let (a, sha) = add_or_reuse(LAUNCHER_ID, &orig.launcher.sha)
            .map_err(|e| format!("exporting launcher configLayer: {e}"))?;
        out.push(a);
        meta.launcher.sha = sha;
        let (a, sha) = add_or_reuse(CONFIG_ID, &orig.config.sha)
            .map_err(|e| format!("exporting config layer: {e}"))?;
        out.push(a);
        meta.config.sha = sha;
        if produced.contains_key(PROCESS_TYPES_ID) {
            let (a, sha) = add_or_reuse(PROCESS_TYPES_ID, &orig.process_types.sha)
                .map_err(|e| format!("exporting layer '{PROCESS_TYPES_ID}': {e}"))?;
            out.push(a);
            meta.process_types.sha = sha;
        }
        Ok(out)
    }
}
