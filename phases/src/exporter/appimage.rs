//! The app image's store side: reading the run (base) and previous images, uploading only the
//! blobs the target lacks (new layers streamed from their files into the upload, base and
//! reused layers copied or mounted from their repositories), and saving under every name (Go
//! imgutil `SaveAs`).

use super::produce::{self, Produced};
use super::shared::{Blob, SharedBlobs};
use cnb::digest::Digest;
use cnb::image::{
    BlobSource, Built, Descriptor, History, Image, ImageStore, LayoutStore, Platform,
    builder::imgutil_layer_media_type,
};
use cnb::registry::RemoteStore;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::future::Future;

/// Uploads running at the same time.
const UPLOADS: usize = 4;

/// New layers produced at the same time. Each one already gzips on every core
/// (`cnb::archive::pgzip`), so two keep the cores busy; more would only add their buffers
/// (walk pipe, gzip blocks, upload pipe: a few MiB each) to the peak memory.
const PRODUCERS: usize = 2;

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
    /// `None` for a new layer that was not hashed first: known once it is written.
    pub diff_id: Option<Digest>,
    pub created_by: String,
    pub blob: LayerBlob,
}

/// The layers to append, each with the descriptor of its blob when it is reused or what to
/// produce when it is new. Made before anything is uploaded, so a reused layer the previous
/// image lacks fails the export before "Saving …", as in Go.
pub struct Writes {
    layers: Vec<(Appended, Write)>,
}

// A few per export, moved once: their sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Write {
    Reused { from: String, desc: Descriptor },
    New(Produced),
}

/// Resolves every appended layer (see [`Writes`]).
pub fn plan_writes(
    layers: Vec<Appended>,
    produced: &BTreeMap<String, Produced>,
    previous: Option<&Read>,
) -> Result<Writes, String> {
    let mut out = Vec::with_capacity(layers.len());
    for a in layers {
        let w = match &a.blob {
            LayerBlob::New(id) => Write::New(
                produced
                    .get(id)
                    .cloned()
                    .ok_or_else(|| format!("creating layer '{id}': not produced"))?,
            ),
            LayerBlob::Previous => {
                let prev = previous.ok_or("no previous image to reuse layers from")?;
                let diff_id = a
                    .diff_id
                    .as_ref()
                    .ok_or("reusing a layer without its diffID")?;
                // imgutil + ggcr's words
                let desc = prev
                    .image
                    .layer_by_diff_id(diff_id)
                    .cloned()
                    .ok_or_else(|| {
                        format!("failed to get layer by diffID: unknown diffID {diff_id}")
                    })?;
                Write::Reused {
                    from: prev.name.clone(),
                    desc,
                }
            }
        };
        out.push((a, w));
    }
    Ok(Writes { layers: out })
}

/// Stores every layer `name` needs and appends the planned ones to `image`: the run image's
/// layers (copied or mounted from `base`), the previous image's reused layers, and each new
/// layer tarred, gzipped and hashed in one pass straight into its upload (no temp file), up
/// to [`UPLOADS`] transfers at a time. Returns the diffID of each new layer, by id.
pub async fn write_layers<S: Dest>(
    store: &S,
    name: &str,
    image: &mut Image,
    base: &Read,
    base_layers: usize,
    writes: Writes,
    shared: &SharedBlobs,
) -> Result<BTreeMap<String, Digest>, String> {
    #[allow(clippy::large_enum_variant)] // as `Write`
    enum Task {
        Copy(String, Descriptor),
        New(usize, Produced),
    }
    /// A new layer's position, id and blob; `None` for a copied one.
    type Written = Option<(usize, String, Blob)>;
    let mut tasks: Vec<Task> = base
        .image
        .layers()
        .iter()
        .take(base_layers)
        .filter(|d| d.media_type.is_distributable())
        .map(|d| Task::Copy(base.name.clone(), d.clone()))
        .collect();
    let mut descs: Vec<Option<Descriptor>> = Vec::with_capacity(writes.layers.len());
    let mut appended = Vec::with_capacity(writes.layers.len());
    for (n, (a, w)) in writes.layers.into_iter().enumerate() {
        match w {
            Write::New(p) => {
                tasks.push(Task::New(n, p));
                descs.push(None);
            }
            Write::Reused { from, desc } => {
                tasks.push(Task::Copy(from, desc.clone()));
                descs.push(Some(desc));
            }
        }
        appended.push(a);
    }
    let producers = tokio::sync::Semaphore::new(PRODUCERS);
    let producers = &producers;
    let results: Vec<Result<Written, String>> = futures_util::stream::iter(tasks)
        .map(|t| async move {
            match t {
                Task::Copy(from, desc) => store.copy_in(&from, name, &desc).await.map(|()| None),
                Task::New(n, p) => {
                    let id = p.id.clone();
                    let _slot = producers
                        .acquire()
                        .await
                        .map_err(|e| format!("creating layer '{id}': {e}"))?;
                    let b = stream_new(store, name, p).await?;
                    shared.ready(&id, &b);
                    Ok(Some((n, id, b)))
                }
            }
        })
        .buffer_unordered(UPLOADS)
        .collect()
        .await;
    let mut written = BTreeMap::new();
    let mut diff_ids: Vec<Option<Digest>> = appended.iter().map(|a| a.diff_id.clone()).collect();
    for r in results {
        if let Some((n, id, b)) = r? {
            descs[n] = Some(Descriptor::new(
                imgutil_layer_media_type(true),
                b.digest,
                b.size,
            ));
            diff_ids[n] = Some(b.diff_id.clone());
            written.insert(id, b.diff_id);
        }
    }
    for ((a, desc), diff_id) in appended.into_iter().zip(descs).zip(diff_ids) {
        let (Some(desc), Some(diff_id)) = (desc, diff_id) else {
            return Err(format!("layer '{}' was not written", a.created_by));
        };
        image.append_layer(
            desc,
            diff_id,
            History {
                created_by: a.created_by,
                ..Default::default()
            },
        );
    }
    Ok(written)
}

/// One new layer: the producer (walk → tar → diffID → gzip → digest) on a blocking thread,
/// feeding the upload through a bounded pipe. The producer's error wins over the upload's
/// (a failed producer makes the upload fail too).
async fn stream_new<S: Dest>(store: &S, name: &str, p: Produced) -> Result<Blob, String> {
    let (w, r) = cnb::pipe::pipe();
    let id = p.id.clone();
    let producer = tokio::task::spawn_blocking(move || produce::stream_compressed(&p, w));
    let put = store.put_blob(name, BlobSource::Reader(Box::new(r)), None);
    let (put, produced) = tokio::join!(put, producer);
    let (diff_id, digest, size) =
        produced.map_err(|e| format!("creating layer '{id}': producer failed: {e}"))??;
    let (got, got_size) = put.map_err(|e| format!("uploading layer '{id}': {e}"))?;
    if got != digest || got_size != size {
        return Err(format!(
            "uploading layer '{id}': stored {got} ({got_size} bytes), wrote {digest} ({size} bytes)"
        ));
    }
    Ok(Blob {
        diff_id,
        digest,
        size,
    })
}

/// Uploads the image's config blob (after its layers).
pub async fn upload_config<S: Dest>(store: &S, name: &str, built: &Built) -> Result<(), String> {
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
