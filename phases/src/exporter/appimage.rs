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
use std::future::Future;

/// Uploads running at the same time.
const UPLOADS: usize = 4;

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
    ) -> impl Future<Output = Result<Vec<(String, Result<(), String>)>, String>> + Send;
}

impl Dest for RemoteStore {
    async fn copy_in(&self, from: &str, to: &str, desc: &Descriptor) -> Result<(), String> {
        let parse = |s: &str| {
            cnb::image::reference::Reference::parse(s).map_err(|e| e.to_string())
        };
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
    ) -> Result<Vec<(String, Result<(), String>)>, String> {
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
        let reader = self
            .open_blob(from, desc)
            .await
            .map_err(|e| e.to_string())?;
        self.put_blob(to, BlobSource::Reader(reader), Some(desc))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn save(
        &self,
        name: &str,
        built: &Built,
        _tags: &[String],
    ) -> Result<Vec<(String, Result<(), String>)>, String> {
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
    let image = Image::from_raw(&raw, &config).map_err(|e| e.to_string())?;
    Ok(Some(Read {
        name: name.to_string(),
        image,
        digest: raw.digest().clone(),
    }))
}

/// Where an appended layer's blob comes from.
pub enum LayerBlob {
    /// Produced here: compress and upload unless the target has it.
    New(Produced),
    /// A layer of the previous image with this descriptor.
    Previous(Descriptor),
}

/// One layer on top of the run image.
pub struct Appended {
    pub diff_id: Digest,
    pub created_by: String,
    pub blob: LayerBlob,
}

/// Appends the layers to `image` (compressing the new ones, in parallel) and returns, per
/// layer, the blob to upload (`None` = copy from the previous image).
pub fn append_layers(
    image: &mut Image,
    layers: Vec<Appended>,
) -> Result<Vec<(Descriptor, Option<produce::Blob>)>, String> {
    let media_type = imgutil_layer_media_type(true);
    let jobs: Vec<_> = layers.into_iter().collect();
    let blobs = cnb::layers::map_parallel(
        jobs.iter().collect::<Vec<_>>(),
        0,
        |a: &Appended| match &a.blob {
            LayerBlob::New(p) => produce::compress(&p.tar).map(Some),
            LayerBlob::Previous(_) => Ok(None),
        },
    );
    let mut out = Vec::new();
    for (a, blob) in jobs.into_iter().zip(blobs) {
        let blob = blob?;
        let desc = match (&a.blob, &blob) {
            (_, Some(b)) => Descriptor::new(media_type.clone(), b.digest.clone(), b.size),
            (LayerBlob::Previous(d), None) => d.clone(),
            (LayerBlob::New(_), None) => return Err("layer not compressed".into()),
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
        .put_blob(name, BlobSource::Bytes(built.config.bytes().clone()), Some(&cfg))
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}
