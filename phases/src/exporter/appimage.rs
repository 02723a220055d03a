//! The app image's store side: reading the run (base) and previous images, uploading only the
//! blobs the target lacks (new layers compressed here, base and reused layers copied or
//! mounted from their repositories), and saving under every name (Go imgutil `SaveAs`).

use super::produce::{self, Produced};
use cnb::digest::Digest;
use cnb::image::{
    BlobSource, Built, Descriptor, History, Image, ImageStore, LayoutStore, Platform,
    builder::imgutil_layer_media_type,
};
use cnb::registry::RemoteStore;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

/// Uploads running at the same time.
const UPLOADS: usize = 4;

/// Each extra name with its own outcome.
pub type TagOutcomes = Vec<(String, Result<(), String>)>;

/// An image store the exporter writes to, able to bring a blob of another image over.
pub trait Dest: ImageStore + Clone + 'static {
    /// Makes blob `desc` of image `from` available to image `to` (skip, mount or copy).
    fn copy_in(
        &self,
        from: &str,
        to: &str,
        desc: &Descriptor,
    ) -> impl Future<Output = Result<(), String>> + Send;

    /// Saves `built` as `name` and as each of `tags`; `Err` = `name` failed; the tags' own
    /// outcomes otherwise.
    fn save(
        &self,
        name: &str,
        built: &Built,
        tags: &[String],
    ) -> impl Future<Output = Result<TagOutcomes, String>> + Send;
}

impl Dest for RemoteStore {
    async fn copy_in(&self, from: &str, to: &str, desc: &Descriptor) -> Result<(), String> {
        let parse = |s: &str| cnb::image::reference::Reference::parse(s).map_err(|e| e.to_string());
        let (from, to) = (parse(from)?, parse(to)?);
        if from.context() == to.context() {
            return Ok(());
        }
        self.client()
            .copy_blob(from.context(), to.context(), &desc.digest, Some(desc.size))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn save(
        &self,
        name: &str,
        built: &Built,
        tags: &[String],
    ) -> Result<TagOutcomes, String> {
        let res = self
            .put_manifest_tagged(name, &built.manifest, tags)
            .await
            .map_err(|e| e.to_string())?;
        Ok(res
            .into_iter()
            .map(|(t, r)| (t, r.map_err(|e| e.to_string())))
            .collect())
    }
}

impl Dest for LayoutStore {
    async fn copy_in(&self, from: &str, to: &str, desc: &Descriptor) -> Result<(), String> {
        cnb::image::store::copy_blob(self, from, self, to, desc)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn save(
        &self,
        name: &str,
        built: &Built,
        _tags: &[String],
    ) -> Result<TagOutcomes, String> {
        self.put_manifest(name, &built.manifest)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Vec::new())
    }
}

/// An image read from a store: its name there, the working copy and its manifest digest.
pub struct Read {
    pub name: String,
    pub image: Image,
    pub digest: Digest,
}

/// Whether the manifest document names its own `mediaType` (umoci's, for one, does not).
fn names_media_type(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("mediaType").is_some())
}

/// Reads image `name` (`Ok(None)` when it does not exist).
pub async fn read<S: ImageStore>(
    store: &S,
    name: &str,
    platform: &Platform,
) -> Result<Option<Read>, String> {
    let Some(raw) = store
        .manifest(name, platform)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let manifest = raw.manifest().map_err(|e| e.to_string())?;
    let config = store
        .config(name, &manifest)
        .await
        .map_err(|e| e.to_string())?;
    let mut image = Image::from_raw(&raw, &config).map_err(|e| e.to_string())?;
    if !names_media_type(raw.bytes()) {
        // ggcr keeps the base manifest's fields: no `mediaType` in, none out (the upload's
        // Content-Type still is the manifest's type).
        image.manifest_mut().media_type = cnb::image::MediaType::new("");
    }
    Ok(Some(Read {
        name: name.to_string(),
        image,
        digest: raw.digest().clone(),
    }))
}

/// The run image identifier Go's layout exporter records: `layout.NewImage(<run path>)`
/// without a base image is an *empty* image, so the digest is that of an empty image of the
/// layout platform, not the run image's (kept for byte-identical labels).
pub fn go_layout_run_image_id(path: &str, platform: &Platform) -> Result<String, String> {
    let empty = Image::new(platform, cnb::image::MediaType::OCI_MANIFEST)
        .build()
        .map_err(|e| e.to_string())?;
    Ok(format!("{path}@{}", empty.manifest.digest()))
}

/// Where an appended layer's blob comes from.
pub enum LayerBlob {
    /// The produced layer with this id: compress and upload unless the target has it.
    New(String),
    /// The previous image's layer with the same diffID.
    Previous,
}

/// One layer on top of the run image.
pub struct Appended {
    pub diff_id: Digest,
    pub created_by: String,
    pub blob: LayerBlob,
}

/// Appends the layers to `image` (compressing the new ones, in parallel; reused ones point
/// at the previous image's blobs) and returns, per layer, the blob to upload (`None` = copy
/// from the previous image).
pub fn append_layers(
    image: &mut Image,
    layers: Vec<Appended>,
    produced: &BTreeMap<String, Produced>,
    previous: Option<&Image>,
    dir: &Path,
) -> Result<Vec<(Descriptor, Option<produce::Blob>)>, String> {
    let media_type = imgutil_layer_media_type(true);
    let jobs: Vec<(usize, &Appended)> = layers.iter().enumerate().collect();
    let blobs = cnb::layers::map_parallel(jobs, 0, |(n, a): (usize, &Appended)| match &a.blob {
        LayerBlob::New(id) => produced
            .get(id)
            .ok_or_else(|| format!("creating layer '{id}': not produced"))
            .and_then(|p| produce::compressed(p, dir, n))
            .map(Some),
        LayerBlob::Previous => Ok(None),
    });
    let mut out = Vec::new();
    for (a, blob) in layers.into_iter().zip(blobs) {
        let blob = blob?;
        let desc = match &blob {
            Some(b) => Descriptor::new(media_type.clone(), b.digest.clone(), b.size),
            None => previous
                .and_then(|p| p.layer_by_diff_id(&a.diff_id))
                .cloned()
                // imgutil + ggcr's words
                .ok_or_else(|| {
                    format!(
                        "failed to get layer by diffID: unknown diffID {}",
                        a.diff_id
                    )
                })?,
        };
        image.append_layer(
            desc.clone(),
            a.diff_id,
            History {
                created_by: a.created_by,
                ..Default::default()
            },
        );
        out.push((desc, blob));
    }
    Ok(out)
}

/// Uploads what `name` needs: the run image's layers (from `base`), the previous image's
/// reused layers (from `previous`), the new blobs, then the config.
pub async fn upload<S: Dest>(
    store: &S,
    name: &str,
    base: &Read,
    base_layers: usize,
    previous: Option<&str>,
    appended: Vec<(Descriptor, Option<produce::Blob>)>,
    built: &Built,
) -> Result<(), String> {
    enum Task {
        Copy(String, Descriptor),
        Put(produce::Blob, Descriptor),
    }
    let mut tasks: Vec<Task> = base
        .image
        .layers()
        .iter()
        .take(base_layers)
        .filter(|d| d.media_type.is_distributable())
        .map(|d| Task::Copy(base.name.clone(), d.clone()))
        .collect();
    for (desc, blob) in appended {
        match blob {
            Some(b) => tasks.push(Task::Put(b, desc)),
            None => {
                let from = previous.ok_or("no previous image to reuse layers from")?;
                tasks.push(Task::Copy(from.to_string(), desc));
            }
        }
    }
    let results: Vec<Result<(), String>> = futures_util::stream::iter(tasks)
        .map(|t| async move {
            match t {
                Task::Copy(from, desc) => store.copy_in(&from, name, &desc).await,
                Task::Put(blob, desc) => store
                    .put_blob(name, BlobSource::Path(blob.path.clone()), Some(&desc))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            }
        })
        .buffer_unordered(UPLOADS)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<()>, String>>()?;
    let cfg = built.manifest.manifest().map_err(|e| e.to_string())?.config;
    store
        .put_blob(
            name,
            BlobSource::Bytes(built.config.bytes().clone()),
            Some(&cfg),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest Go v0.21.17's layout exporter wrote into `runImage.reference` for a
    /// linux/amd64 layout (recorded from the live comparison in `phases/tests/exporter.rs`).
    #[test]
    fn layout_run_image_id_is_gos() {
        assert_eq!(
            go_layout_run_image_id("/l/run", &Platform::layout_default()).unwrap(),
            "/l/run@sha256:9bff545fd88403019875bc484da593c84761e6c89bae9058b76d1054d54548d0"
        );
    }
}
