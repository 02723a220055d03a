//! Go `DefaultMetadataRestorer`: `store.toml` from the app image label, then the layer
//! `<layer>.toml` files (only `[metadata]`) per the restore matrix (lifecycle-spec §8.2 step 3,
//! §14 item 5). The sha each restored layer is expected to have is remembered in memory.

use cnb::api::Version;
use cnb::buildpack::{GroupElement, escape_id};
use cnb::files::{CacheMetadata, LayerToml, LayersMetadata};
use std::collections::BTreeMap;
use std::path::Path;

/// (buildpack id, layer name) → sha remembered for the data step (Go `SHAStore`).
pub type ShaStore = BTreeMap<(String, String), String>;

pub fn restore(
    layers_dir: &Path,
    buildpacks: &[GroupElement],
    app: &LayersMetadata,
    cache: &CacheMetadata,
    skip_layers: bool,
    api: Version,
) -> Result<ShaStore, String> {
    for bp in buildpacks {
        if let Some(store) = app.for_buildpack(&bp.id).and_then(|b| b.store.as_ref()) {
            let path = layers_dir.join(escape_id(&bp.id)).join("store.toml");
            store.write(&path).map_err(|e| e.to_string())?;
        }
    }
    let mut shas = ShaStore::new();
    if skip_layers {
        cnb::info!("Skipping buildpack layer analysis");
        return Ok(shas);
    }
    let empty = BTreeMap::new();
    for bp in buildpacks {
        let bp_dir = layers_dir.join(escape_id(&bp.id));
        // Go reads the directory here (a read failure fails the restore); only for the log.
        super::data::layer_names(&bp_dir)
            .map_err(|e| format!("reading buildpack layer directory: {e}"))?;
        let app_layers = app.for_buildpack(&bp.id).map_or(&empty, |b| &b.layers);
        let cached = cache.for_buildpack(&bp.id).map_or(&empty, |b| &b.layers);
        for (name, layer) in app_layers {
            let id = format!("{}:{name}", bp.id);
            if !layer.launch {
                cnb::debug!("Not restoring metadata for {id:?}, marked as launch=false");
                continue;
            }
            if layer.build && !layer.cache {
                cnb::debug!("Not restoring metadata for {id:?}, marked as build=true, cache=false");
                continue;
            }
            if layer.cache && !cached.get(name).is_some_and(|c| c.cache) {
                cnb::debug!(
                    "Not restoring metadata for {id:?}, marked as cache=true, but not found in cache"
                );
                continue;
            }
            cnb::info!("Restoring metadata for {id:?} from app image");
            write(&bp_dir, &id, name, &layer.data)?;
            shas.insert((bp.id.clone(), name.clone()), layer.sha.clone());
        }
        for (name, layer) in cached {
            let id = format!("{}:{name}", bp.id);
            if !layer.cache {
                cnb::debug!("Not restoring {id:?} from cache, marked as cache=false");
                continue;
            }
            if layer.launch && (app_layers.contains_key(name) || api.less_than("0.14")) {
                cnb::debug!("Not restoring {id:?} from cache, marked as launch=true");
                continue;
            }
            cnb::info!("Restoring metadata for {id:?} from cache");
            write(&bp_dir, &id, name, &layer.data)?;
            shas.insert((bp.id.clone(), name.clone()), layer.sha.clone());
        }
    }
    Ok(shas)
}

fn write(
    bp_dir: &Path,
    id: &str,
    name: &str,
    data: &Option<cnb::files::Table>,
) -> Result<(), String> {
    let path = bp_dir.join(format!("{name}.toml"));
    cnb::debug!("Writing layer metadata for {id:?}");
    LayerToml::write_metadata_only(&path, data).map_err(|e| e.to_string())
}
