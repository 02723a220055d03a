//! The exporter body (Go `exportCmd.Exec` + `Exporter.Export`): layers in Go order, each
//! produced once (tar + diffID), reused by diffID against analyzed.toml `[metadata]`, new ones
//! compressed and uploaded; labels, env, entrypoint; saved under every name; report.toml. The
//! cache is exported concurrently from the same layer tars; its failures are warnings.

use super::Inputs;
use super::appimage::{self, Appended, Dest, LayerBlob};
use super::cache;
use super::candidates::{Candidates, Layer};
use super::layers_dir;
use super::plan::Pending;
use super::produce::{self, Job, Produced, Source};
use super::shared::SharedBlobs;
use crate::common::{self, StoreKind, timer::Measurement};
use cnb::api::Version;
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::metadata::{self as md, Metadata};
use cnb::files::{
    Analyzed, CacheMetadata, ImageReport, LayersMetadata, ProjectMetadata, Report,
    RunImageForRebase, Stack,
};
use cnb::image::{Image, Platform};
use cnb::layers::LayerSpec;
use cnb::registry::{Keychain, RemoteStore};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(super) fn export_err(cause: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::failed(ExitCode::ExportError, "export", cause)
}

pub(super) fn failed(action: &str, cause: impl std::fmt::Display) -> LifecycleError {
    LifecycleError::failed(ExitCode::Failed, action, cause)
}

pub fn run(inputs: &Inputs, keychain: &Keychain) -> Result<(), LifecycleError> {
    let group = cnb::buildpack::group::read_group(&inputs.group_path)
        .map_err(|e| LifecycleError::new(ExitCode::Failed, e.to_string()))?;
    let analyzed = Analyzed::read(&inputs.analyzed_path)
        .map_err(|e| LifecycleError::new(ExitCode::Failed, e.to_string()))?;
    let client = common::client(keychain, &inputs.insecure_registries);
    let rt = common::runtime()?;
    let remote = RemoteStore::new(client);
    let cache = cache::open(inputs, &remote, rt.handle())?;
    // Go reads project metadata first (a missing file is a debug line, an unreadable one fails).
    let project = match ProjectMetadata::read_optional(&inputs.project_metadata_path) {
        Ok(Some(p)) => p,
        Ok(None) => {
            cnb::debug!(
                "No project metadata found at path {:?}, project metadata will not be exported",
                inputs.project_metadata_path.to_string_lossy()
            );
            ProjectMetadata::default()
        }
        Err(e) => return Err(LifecycleError::new(ExitCode::Failed, e.to_string())),
    };
    if analyzed.run_image.as_ref().is_some_and(|r| r.extend) {
        return Err(export_err(
            "the run image was extended by image extensions, which cnb-lifecycle-rs does not support",
        ));
    }
    let kind = common::store_kind(inputs.use_layout, inputs.layout_dir.as_deref());
    // Go `initRemoteAppImage` / `initLayoutAppImage` log before the export starts.
    let previous_ref = analyzed.previous_image_ref().to_string();
    let (name, tags) = match &kind {
        StoreKind::Remote => {
            if !previous_ref.is_empty() {
                cnb::info!("Reusing layers from image '{previous_ref}'");
            }
            (inputs.output_image.clone(), inputs.additional_tags.clone())
        }
        StoreKind::Layout(store) => {
            if !previous_ref.is_empty() {
                let path = store
                    .path_for(&previous_ref)
                    .map_err(|e| failed("parsing previous image reference", e))?;
                cnb::info!("Reusing layers from image '{}'", path.display());
            }
            let path = store
                .path_for(&inputs.output_image)
                .map_err(|e| failed("parsing output image reference", e))?;
            cnb::info!("Using app image: {}\n", path.display());
            // Additional tags are not written into the layout (Go writes them as paths
            // relative to the working directory).
            (path.to_string_lossy().into_owned(), Vec::new())
        }
    };
    // Go's "Exporter" timer covers the image export (SBOM copy to save), not the cache.
    let timer = Measurement::start("Exporter");
    let ctx = Ctx::new(inputs, &group.group, analyzed, project)?;
    // Hash first: a layer whose diffID is reused is never written anywhere.
    let previous_cache = cache.as_ref().map(|c| cache::peek_previous(c.as_ref()));
    let hashed = ctx.hash_all(previous_cache.as_ref()).map_err(export_err)?;
    let job = Job2 {
        ctx: &ctx,
        rt: &rt,
        hashed,
        cache,
        name: &name,
        tags: &tags,
        timer,
    };
    match &kind {
        StoreKind::Remote => job.run(&remote, Platform::current()),
        StoreKind::Layout(store) => job.run(store, Platform::layout_default()),
    }
}

/// One export run over a store: prepare the image (logs in Go order), write what is new, then
/// the cache beside the uploads.
struct Job2<'a> {
    ctx: &'a Ctx<'a>,
    rt: &'a tokio::runtime::Runtime,
    hashed: ProducedSet,
    cache: Option<cache::DynCache>,
    name: &'a str,
    tags: &'a [String],
    timer: Measurement,
}

impl Job2<'_> {
    fn run<S: Dest>(self, store: &S, platform: Platform) -> Result<(), LifecycleError> {
        let Job2 {
            ctx,
            rt,
            hashed,
            cache,
            name,
            tags,
            timer,
        } = self;
        let inputs = ctx.inputs;
        let prepared = rt.block_on(ctx.prepare(store, &platform, &hashed))?;
        // A layer new to the image that the cache can take as the image's blob (a cache image
        // on the same registry, gzip) is compressed and uploaded once, for both.
        let new_ids = prepared.new_ids();
        let shared = SharedBlobs::new(
            name,
            cache
                .as_ref()
                .filter(|c| c.can_add_blob_from(name))
                .map(|_| new_ids.clone())
                .unwrap_or_default(),
        );
        // Nothing new for the image: the cache's layers may take every core.
        if let Some(c) = &cache {
            c.set_alone(new_ids.is_empty());
        }
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<bool>();
        let gate = (!inputs.parallel_export).then_some(gate_rx);
        let hashed = &hashed;
        let shared = &shared;
        std::thread::scope(|s| {
            // Go runs the cache after the image unless -parallel; here it always runs beside
            // the image uploads and its log lines come after the image's, in Go's order.
            let cache_thread = cache.map(|c| {
                s.spawn(move || {
                    let mut log = cache::Log::default();
                    if let Err(e) = cache::export(ctx, hashed, c.as_ref(), &mut log, gate, shared) {
                        log.warn(format!("Failed to export cache: {e}\n"));
                    }
                    log
                })
            });
            let res = rt.block_on(ctx.finish(store, prepared, hashed, name, tags, shared));
            // Whatever happened, the cache side must not wait for more blobs.
            shared.close();
            timer.end();
            let written = res.and_then(|report| {
                report.write(&inputs.report_path).map_err(|e| {
                    LifecycleError::failed(ExitCode::ExportError, "write export report", e)
                })
            });
            let ok = written.is_ok();
            let _ = gate_tx.send(ok);
            if let Some(t) = cache_thread {
                match t.join() {
                    Ok(log) if ok || inputs.parallel_export => log.replay(),
                    Ok(_) => {}
                    Err(_) => cnb::warn!("Failed to export cache: cache export panicked\n"),
                }
            }
            written
        })
    }
}

/// The app image after planning: base and previous images, the layers to append, the label.
pub struct Prepared {
    base: appimage::Read,
    previous: Option<appimage::Read>,
    image: Image,
    base_layers: usize,
    appended: Vec<Appended>,
    meta: LayersMetadata,
    /// The label's diffIDs known only once their layers are written.
    pending: Pending,
    layout: bool,
}

impl Prepared {
    /// Ids of the layers the image adds (not reused).
    fn new_ids(&self) -> Vec<String> {
        self.appended
            .iter()
            .filter_map(|a| match &a.blob {
                LayerBlob::New(id) => Some(id.clone()),
                LayerBlob::Previous => None,
            })
            .collect()
    }
}

/// Inputs of one export, resolved.
pub struct Ctx<'a> {
    pub inputs: &'a Inputs,
    pub api: Version,
    pub group: &'a [cnb::buildpack::GroupElement],
    pub analyzed: Analyzed,
    pub layers_dir: PathBuf,
    pub app_dir: PathBuf,
    pub owner: cnb::archive::Owner,
    pub build_md: Metadata,
    pub project: ProjectMetadata,
}

/// Ids of the produced layers, keyed for lookup.
pub type ProducedSet = BTreeMap<String, Produced>;

pub const SBOM_LAUNCH_ID: &str = "buildpacksio/lifecycle:launch.sbom";
pub const SBOM_CACHE_ID: &str = "buildpacksio/lifecycle:cache.sbom";
pub(super) const SBOM_LAYER_NAME: &str = "Software Bill-of-Materials";
pub(super) const LAUNCHER_ID: &str = "buildpacksio/lifecycle:launcher";
pub(super) const CONFIG_ID: &str = "buildpacksio/lifecycle:config";
pub(super) const PROCESS_TYPES_ID: &str = "buildpacksio/lifecycle:process-types";

pub fn buildpack_created_by(layer: &str, id: &str, version: &str) -> String {
    format!("Layer: '{layer}', Created by buildpack: {id}@{version}")
}

fn go_abs(p: &Path) -> Result<PathBuf, String> {
    std::path::absolute(p).map_err(|e| e.to_string())
}

impl<'a> Ctx<'a> {
    fn new(
        inputs: &'a Inputs,
        group: &'a [cnb::buildpack::GroupElement],
        analyzed: Analyzed,
        project: ProjectMetadata,
    ) -> Result<Ctx<'a>, LifecycleError> {
        let api = inputs.platform_api;
        if api.at_least("0.11") {
            super::sbom::copy_lifecycle_sboms(inputs)
                .map_err(|e| export_err(format!("failed to copy buildpacksio SBOMs: {e}")))?;
        }
        let layers_dir = go_abs(&inputs.layers_dir)
            .map_err(|e| export_err(format!("layers dir absolute path: {e}")))?;
        let app_dir = go_abs(&inputs.app_dir)
            .map_err(|e| export_err(format!("app dir absolute path: {e}")))?;
        let build_md = md::read_build_metadata(&md::metadata_path(&layers_dir), api)
            .map_err(|e| export_err(format!("read build metadata: {e}")))?;
        Ok(Ctx {
            inputs,
            api,
            group,
            analyzed,
            layers_dir,
            app_dir,
            owner: produce::owner(inputs.uid, inputs.gid),
            build_md,
            project,
        })
    }

    pub(super) fn orig(&self) -> &LayersMetadata {
        &self.analyzed.layers_metadata
    }

    /// The jobs of every layer with contents the image or the cache may need, each hashed
    /// first only when something may reuse it (see [`Candidates`]).
    fn jobs(&self, previous_cache: Option<&Option<CacheMetadata>>) -> Result<Vec<Job>, String> {
        let debug = cnb::log::enabled(cnb::log::Level::Debug);
        let candidates = Candidates::new(self.orig(), previous_cache, debug);
        let first = |l: Layer<'_>| candidates.hash_first(l);
        let mut jobs = Vec::new();
        for bp in self.group {
            let dir = layers_dir::read_quiet(&self.layers_dir, &bp.id)
                .map_err(|e| format!("reading layers for buildpack '{}': {e}", bp.id))?;
            for l in &dir.layers {
                let Ok(t) = l.read() else { continue };
                if (t.types.launch || t.types.cache) && l.has_local_contents() {
                    jobs.push(Job {
                        id: l.identifier.clone(),
                        created_by: buildpack_created_by(&l.name, &bp.id, &bp.version),
                        source: Source::Spec(LayerSpec::dir(&l.path, self.owner)),
                        hash_first: first(Layer::Buildpack(&bp.id, &l.name)),
                    });
                }
            }
        }
        let sboms = [
            ("launch", SBOM_LAUNCH_ID, Layer::LaunchSbom),
            ("cache", SBOM_CACHE_ID, Layer::CacheSbom),
        ];
        for (kind, id, layer) in sboms {
            let p = self.layers_dir.join("sbom").join(kind);
            if std::fs::read_dir(&p).is_ok() {
                jobs.push(Job {
                    id: id.into(),
                    created_by: SBOM_LAYER_NAME.into(),
                    source: Source::Spec(LayerSpec::dir(&p, self.owner)),
                    hash_first: first(layer),
                });
            }
        }
        let slices: Vec<cnb::layers::Slice> = self
            .build_md
            .slices
            .iter()
            .map(|s| cnb::layers::Slice {
                paths: s.paths.clone(),
            })
            .collect();
        let specs = cnb::layers::slice_layers(&self.app_dir, &slices, self.owner)
            .map_err(|e| format!("exporting app layers: creating app layers: {e}"))?;
        let n = specs.len();
        for (i, spec) in specs.into_iter().enumerate() {
            let id = i + 1;
            jobs.push(Job {
                id: format!("slice-{id}"),
                created_by: if n == 1 {
                    "Application Layer".into()
                } else {
                    format!("Application Slice: {id}")
                },
                source: Source::Spec(spec),
                hash_first: first(Layer::Slice),
            });
        }
        jobs.push(Job {
            id: LAUNCHER_ID.into(),
            created_by: "Buildpacks Application Launcher".into(),
            source: Source::Launcher(self.inputs.launcher_path.clone()),
            hash_first: first(Layer::Launcher),
        });
        jobs.push(Job {
            id: CONFIG_ID.into(),
            created_by: "Buildpacks Launcher Config".into(),
            source: Source::Spec(LayerSpec::dir(self.layers_dir.join("config"), self.owner)),
            hash_first: first(Layer::Config),
        });
        if !self.build_md.processes.is_empty() {
            let mut types = Vec::new();
            for p in &self.build_md.processes {
                produce::validate_process_type(&p.kind)
                    .map_err(|e| format!("creating layer '{PROCESS_TYPES_ID}': {e}"))?;
                types.push(p.kind.clone());
            }
            jobs.push(Job {
                id: PROCESS_TYPES_ID.into(),
                created_by: "Buildpacks Process Types".into(),
                source: Source::ProcessTypes(types),
                hash_first: first(Layer::ProcessTypes),
            });
        }
        Ok(jobs)
    }

    /// Hashes every layer that may be reused, on all cores, writing nothing.
    fn hash_all(
        &self,
        previous_cache: Option<&Option<CacheMetadata>>,
    ) -> Result<ProducedSet, String> {
        let out = cnb::layers::map_parallel(self.jobs(previous_cache)?, 0, produce::hash);
        let mut set = BTreeMap::new();
        for p in out {
            let p = p?;
            set.insert(p.id.clone(), p);
        }
        Ok(set)
    }

    /// Go's app image set-up and `Exporter.Export` up to the layers: reads the run and
    /// previous images, decides every layer (logging as Go) and fills the metadata label.
    async fn prepare<S: Dest>(
        &self,
        store: &S,
        platform: &Platform,
        produced: &ProducedSet,
    ) -> Result<Prepared, LifecycleError> {
        let i = self.inputs;
        let layout = store.kind() == "layout";
        let base = appimage::read(store, &i.run_image, platform)
            .await
            .map_err(|e| failed("create new app image", e))?
            .ok_or_else(|| {
                failed(
                    "create new app image",
                    format!("image {} not found", i.run_image),
                )
            })?;
        let previous_ref = self.analyzed.previous_image_ref().to_string();
        let previous = if previous_ref.is_empty() {
            None
        } else {
            appimage::read(store, &previous_ref, platform)
                .await
                .ok()
                .flatten()
        };
        let run_image_id = if layout {
            let path = cnb::image::layout_path::parse_identifier(&i.run_image)
                .map(|(p, _)| p.to_string_lossy().into_owned())
                .map_err(|e| failed("parsing run image reference", e))?;
            appimage::go_layout_run_image_id(&path, platform)
                .map_err(|e| failed("get run image reference", e))?
        } else {
            store
                .identifier(&i.run_image, &base.digest)
                .map_err(|e| failed("get run image ID", e))?
        };
        let mut image = base.image.clone();
        image.ggcr_compatible();
        let base_layers = image.layers().len();
        if layout {
            let r = cnb::image::reference::Reference::parse(&i.output_image)
                .map_err(|e| failed("parsing output image reference", e))?;
            image.set_annotation(cnb::image::ANNOTATION_REF_NAME, r.identifier());
        }

        let rie = self.run_image_for_export().map_err(export_err)?;
        let mut meta = LayersMetadata {
            run_image: RunImageForRebase {
                top_layer: image
                    .top_layer_diff_id()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                reference: run_image_id,
                image: rie.image.clone(),
                mirrors: rie.mirrors.clone(),
            },
            stack: Some(Stack { run_image: rie }),
            ..Default::default()
        };

        let (appended, pending) = self.plan_layers(&mut meta, produced).map_err(export_err)?;
        Ok(Prepared {
            base,
            previous,
            image,
            base_layers,
            appended,
            meta,
            pending,
            layout,
        })
    }

    /// The rest of `Exporter.Export`: layers written/compressed as needed, config, save,
    /// report.
    async fn finish<S: Dest>(
        &self,
        store: &S,
        prepared: Prepared,
        produced: &ProducedSet,
        name: &str,
        tags: &[String],
        shared: &SharedBlobs,
    ) -> Result<Report, LifecycleError> {
        let Prepared {
            base,
            previous,
            mut image,
            base_layers,
            appended,
            mut meta,
            pending,
            layout,
        } = prepared;
        let writes =
            appimage::plan_writes(appended, produced, previous.as_ref()).map_err(export_err)?;
        // Labels and config first (their log lines come before "Saving", as in Go); the
        // layers' blobs are only made while saving.
        self.configure(&mut image, &meta).map_err(export_err)?;
        // Go's timer is named after the image; the process exports one image, so leaking
        // the name once is fine.
        let m = Measurement::start(Box::leak(format!("Saving {name}...").into_boxed_str()));
        cnb::info!("Saving {name}...\n");
        let saving = |e: String| export_err(format!("saving image: {e}"));
        let written =
            appimage::write_layers(store, name, &mut image, &base, base_layers, writes, shared)
                .await
                .map_err(saving)?;
        if !pending.is_empty() {
            // The label as Go writes it, with the diffIDs found while writing.
            pending.fill(&mut meta, &written).map_err(export_err)?;
            super::image_config::reset_metadata_label(&mut image, &meta).map_err(export_err)?;
        }
        image.set_created_at_and_history(&self.created_at(), true);
        let built = image.build().map_err(export_err)?;
        appimage::upload_config(store, name, &built)
            .await
            .map_err(saving)?;
        let saved = store.save(name, &built, tags).await;
        let digest = built.manifest.digest().to_string();
        let mut statuses: Vec<(String, Result<(), String>)> = Vec::new();
        match saved {
            Ok(saved_tags) => {
                statuses.push((name.to_string(), Ok(())));
                statuses.extend(saved_tags);
            }
            Err(e) => {
                statuses.push((name.to_string(), Err(e.clone())));
                for t in tags {
                    statuses.push((t.clone(), Err(e.clone())));
                }
            }
        }
        // imgutil's identifier: the digest, or `<path>@<digest>` for a layout.
        let short = if layout {
            format!("{name}@{digest}")
        } else {
            digest.clone()
        };
        cnb::info!("*** Images ({short}):\n");
        let mut saved_names = Vec::new();
        let mut errors = Vec::new();
        for (n, st) in &statuses {
            match st {
                Ok(()) => {
                    cnb::info!("      {n}\n");
                    saved_names.push(n.clone());
                }
                Err(e) => {
                    cnb::info!("      {n} - {e}\n");
                    errors.push(format!("[{n}: {e}]"));
                }
            }
        }
        if !layout {
            cnb::debug!("\n*** Digest: {digest}\n");
        }
        cnb::debug!("\n*** Manifest Size: {}\n", built.manifest.size());
        m.end();
        if !errors.is_empty() {
            return Err(export_err(format!(
                "failed to write image to the following tags: {}",
                errors.join(",")
            )));
        }
        Ok(Report {
            image: ImageReport {
                tags: Some(saved_names),
                digest: if layout { String::new() } else { digest },
                manifest_size: i64::try_from(built.manifest.size()).unwrap_or(0),
                ..Default::default()
            },
            ..Default::default()
        })
    }
}
