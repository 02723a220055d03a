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

/// A place in the metadata label for the diffID of a layer that was not hashed first.
#[derive(Debug)]
enum Slot {
    /// `buildpacks[i].layers[name]`
    Buildpack(usize, String),
    /// `app[i]`
    App(usize),
    Sbom,
    Launcher,
    Config,
    ProcessTypes,
}

/// The label's diffIDs still to fill in once their layers are written (by layer id).
#[derive(Debug, Default)]
pub struct Pending(Vec<(Slot, String)>);

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Fills in each slot with the diffID its layer was written with.
    pub fn fill(
        &self,
        meta: &mut LayersMetadata,
        written: &BTreeMap<String, Digest>,
    ) -> Result<(), String> {
        for (slot, id) in &self.0 {
            let sha = written
                .get(id)
                .ok_or_else(|| format!("layer '{id}' was not written"))?
                .to_string();
            let field = match slot {
                Slot::Buildpack(i, name) => meta
                    .buildpacks
                    .get_mut(*i)
                    .and_then(|b| b.layers.get_mut(name))
                    .map(|l| &mut l.sha),
                Slot::App(i) => meta.app.get_mut(*i).map(|l| &mut l.sha),
                Slot::Sbom => meta.sbom.as_mut().map(|l| &mut l.sha),
                Slot::Launcher => Some(&mut meta.launcher.sha),
                Slot::Config => Some(&mut meta.config.sha),
                Slot::ProcessTypes => Some(&mut meta.process_types.sha),
            };
            *field.ok_or_else(|| format!("no label entry for layer '{id}'"))? = sha;
        }
        Ok(())
    }
}

impl Ctx<'_> {
    /// The image layers above the run image, in Go order, with the metadata label filled in
    /// but for the diffIDs of layers not hashed first (the [`Pending`] ones).
    pub(super) fn plan_layers(
        &self,
        meta: &mut LayersMetadata,
        produced: &ProducedSet,
    ) -> Result<(Vec<Appended>, Pending), String> {
        let orig = self.orig().clone();
        let mut out = Vec::new();
        let mut pending = Pending::default();
        let reuse = |diff: &Digest, created_by: &str| -> Result<Appended, String> {
            Ok(Appended {
                diff_id: Some(diff.clone()),
                created_by: created_by.to_string(),
                blob: LayerBlob::Previous,
            })
        };
        // addOrReuseBuildpackLayer; the label's sha (`None`: known once written)
        let add_or_reuse =
            |id: &str, previous_sha: &str| -> Result<(Appended, Option<String>), String> {
                let p = produced
                    .get(id)
                    .ok_or_else(|| format!("creating layer '{id}': not produced"))?;
                let new = || Appended {
                    diff_id: p.diff_id.clone(),
                    created_by: p.created_by.clone(),
                    blob: LayerBlob::New(p.id.clone()),
                };
                // Not hashed first: nothing of that name to reuse (and not at debug level).
                let Some(diff_id) = &p.diff_id else {
                    cnb::info!("Adding layer '{id}'\n");
                    return Ok((new(), None));
                };
                let sha = diff_id.to_string();
                // Go's factory makes the layer twice and says so the second time.
                cnb::debug!("Reusing tarball for layer {id:?} with SHA: {sha}");
                if sha == previous_sha {
                    cnb::info!("Reusing layer '{id}'\n");
                    cnb::debug!("Layer '{id}' SHA: {sha}\n");
                    Ok((reuse(diff_id, &p.created_by)?, Some(sha)))
                } else {
                    cnb::info!("Adding layer '{id}'\n");
                    cnb::debug!("Layer '{id}' SHA: {sha}\n");
                    Ok((new(), Some(sha)))
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
                    let slot = Slot::Buildpack(meta.buildpacks.len(), l.name.clone());
                    pending.or_later(sha, slot, &l.identifier)
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
            meta.sbom = Some(LayerMetadata::new(pending.or_later(
                sha,
                Slot::Sbom,
                SBOM_LAUNCH_ID,
            )));
        }
        // app slices: reused when any previous app layer has the diffID
        cnb::debug!("Adding app layers");
        let slices: Vec<&Produced> = (1..)
            .map_while(|n| produced.get(&format!("slice-{n}")))
            .collect();
        let mut reused = 0;
        for p in &slices {
            let sha = p.diff_id.as_ref().map(Digest::to_string);
            if let Some(sha) = &sha {
                cnb::debug!("Layer '{}' SHA: {sha}\n", p.id);
            }
            match &p.diff_id {
                Some(d) if orig.app.iter().any(|a| a.sha == d.as_str()) => {
                    out.push(reuse(d, &p.created_by)?);
                    reused += 1;
                }
                _ => out.push(Appended {
                    diff_id: p.diff_id.clone(),
                    created_by: p.created_by.clone(),
                    blob: LayerBlob::New(p.id.clone()),
                }),
            }
            let slot = Slot::App(meta.app.len());
            meta.app
                .push(LayerMetadata::new(pending.or_later(sha, slot, &p.id)));
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
        meta.launcher.sha = pending.or_later(sha, Slot::Launcher, LAUNCHER_ID);
        let (a, sha) = add_or_reuse(CONFIG_ID, &orig.config.sha)
            .map_err(|e| format!("exporting config layer: {e}"))?;
        out.push(a);
        meta.config.sha = pending.or_later(sha, Slot::Config, CONFIG_ID);
        if produced.contains_key(PROCESS_TYPES_ID) {
            let (a, sha) = add_or_reuse(PROCESS_TYPES_ID, &orig.process_types.sha)
                .map_err(|e| format!("exporting layer '{PROCESS_TYPES_ID}': {e}"))?;
            out.push(a);
            meta.process_types.sha = pending.or_later(sha, Slot::ProcessTypes, PROCESS_TYPES_ID);
        }
        Ok((out, pending))
    }
}

impl Pending {
    /// `sha`, or an empty one to fill in at `slot` once layer `id` is written.
    fn or_later(&mut self, sha: Option<String>, slot: Slot, id: &str) -> String {
        sha.unwrap_or_else(|| {
            self.0.push((slot, id.to_string()));
            String::new()
        })
    }
}
