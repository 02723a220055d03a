//! The rebase itself, on images already read: Go `phase.Rebaser.Rebase` up to the save
//! (validation, layer swap, lifecycle label, stack/base labels) as a pure function.
//!
//! The result is built the way imgutil + ggcr `mutate.Rebase` build it, so its config and
//! manifest bytes equal the Go rebaser's: a fresh Docker schema 2 image (ggcr's
//! `empty.Image`) holding only the app's `config` section, the new base's os/architecture/
//! os.version (not its variant), the new base's layer descriptors then the app's layers
//! above `runImage.topLayer` (descriptors kept as the registries serve them), one blank
//! history entry per layer and `created` = 1980-01-01T00:00:01Z.

use cnb::api::Version;
use cnb::digest::Digest;
use cnb::files::layers_metadata::Stack;
use cnb::files::{LayersMetadataCompat, TargetMetadata};
use cnb::image::config::DEFAULT_CREATED;
use cnb::image::reference::Reference;
use cnb::image::{History, Image, ImageConfig, Manifest, MediaType};

pub const LABEL_LIFECYCLE_METADATA: &str = "io.buildpacks.lifecycle.metadata";
pub const LABEL_REBASABLE: &str = "io.buildpacks.rebasable";
pub const LABEL_STACK_ID: &str = "io.buildpacks.stack.id";
pub const LABEL_MIXINS: &str = "io.buildpacks.stack.mixins";

const PROVIDE_FORCE: &str = "please provide -force to override";
const NOT_REBASABLE: &str = "app image is not marked as rebasable";

/// An image as read from its store.
#[derive(Clone, Debug)]
pub struct Read {
    /// The name it was read by (Go `image.Name()`).
    pub name: String,
    pub manifest: Manifest,
    pub config: ImageConfig,
    /// `<repository>@<manifest digest>` (Go `Identifier()`).
    pub identifier: String,
}

impl Read {
    fn label(&self, key: &str) -> &str {
        self.config
            .config
            .labels
            .get(key)
            .map(String::as_str)
            .unwrap_or_default()
    }

    fn target(&self) -> Result<TargetMetadata, cnb::files::target::MissingOs> {
        TargetMetadata::from_image(
            &self.config.os,
            &self.config.architecture,
            &self.config.variant,
            &self.config.config.labels,
        )
    }
}

/// What the rebase produced.
pub struct Rebased {
    pub image: Image,
    /// Warnings to log (Go logs them as it goes; they come before "Saving").
    pub warnings: Vec<String>,
}

/// Go `ParseMaybe`: the normalized name (digest stripped, `:latest` and Docker Hub filled in),
/// or the string itself when it does not parse.
pub fn normalize_name(provided: &str) -> String {
    let trimmed = match provided.find("@sha256:") {
        Some(at) => &provided[..at],
        None => provided,
    };
    Reference::parse(trimmed)
        .map(|r| r.name())
        .unwrap_or_else(|_| provided.to_owned())
}

/// Go `Rebaser.Rebase` minus the save. Errors are the text after "failed to rebase: ".
pub fn rebase(
    platform_api: Version,
    force: bool,
    app: &Read,
    new_base: &Read,
) -> Result<Rebased, String> {
    let mut warnings = Vec::new();
    let app_api = app.config.config.env_var("CNB_PLATFORM_API").unwrap_or("");
    let legacy = if app_api.is_empty() {
        true
    } else {
        let v = Version::parse(app_api)
            .map_err(|e| format!("failed to get app image platform API: {e}"))?;
        v < Version::new(0, 12)
    };
    if legacy {
        validate_stack_id(app, new_base)?;
        validate_mixins(app, new_base)?;
    } else {
        validate_target(force, app, new_base, &mut warnings)?;
    }

    let label = app.label(LABEL_LIFECYCLE_METADATA);
    let mut md = if label.is_empty() {
        LayersMetadataCompat::default()
    } else {
        LayersMetadataCompat::from_label(label).map_err(|e| {
            format!(
                "get image metadata: failed to unmarshal context of label '{LABEL_LIFECYCLE_METADATA}': {e}"
            )
        })?
    };

    let mut image = swap_base(app, new_base, &md.metadata.run_image.top_layer)
        .map_err(|e| format!("rebase app image: {e}"))?;

    let run = &mut md.metadata.run_image;
    run.top_layer = new_base
        .config
        .rootfs
        .diff_ids
        .as_deref()
        .and_then(<[Digest]>::last)
        .map(|d| d.to_string())
        .ok_or_else(|| {
            format!(
                "get rebase run image top layer SHA: image {} has no layers",
                new_base.name
            )
        })?;
    run.reference = new_base.identifier.clone();
    if platform_api >= Version::new(0, 12) && !contains_name(&md, &new_base.name) {
        let existing = if !md.metadata.run_image.image.is_empty() {
            cnb::files::gojson::to_string(&md.metadata.run_image).unwrap_or_default()
        } else if let Some(stack) = &md.metadata.stack {
            cnb::files::gojson::to_string(&stack.run_image).unwrap_or_default()
        } else {
            "not found".to_owned()
        };
        let msg = format!(
            "rebase app image: new base image '{}' not found in existing run image metadata: {existing}",
            new_base.name
        );
        if !force {
            return Err(format!("{msg}; {PROVIDE_FORCE}"));
        }
        warnings.push(msg);
        let run = &mut md.metadata.run_image;
        run.image = new_base.name.clone();
        run.mirrors = Vec::new();
        md.metadata.stack = Some(Stack {
            run_image: run.for_export(),
        });
    }
    let value = md
        .to_label()
        .map_err(|e| format!("marshall metadata: {e}"))?;
    image.set_label(LABEL_LIFECYCLE_METADATA, &value);

    let synced = |k: &str| {
        k.starts_with("io.buildpacks.stack.")
            || (platform_api >= Version::new(0, 12) && k.starts_with("io.buildpacks.base."))
    };
    image.config_mut().config.labels.retain(|k, _| !synced(k));
    for (k, v) in &new_base.config.config.labels {
        if synced(k) {
            image.set_label(k, v);
        }
    }
    image.set_created_at_and_history(DEFAULT_CREATED, false);
    Ok(Rebased { image, warnings })
}

/// imgutil `Rebase` (ggcr `mutate.Rebase` + os/arch/os.version from the new base).
fn swap_base(app: &Read, new_base: &Read, top_layer: &str) -> Result<Image, String> {
    let app_ids = app.config.rootfs.diff_ids.as_deref().unwrap_or_default();
    let split = app_ids
        .iter()
        .position(|d| d.as_str() == top_layer)
        .ok_or("could not find base layer in image")?;
    if app.manifest.layers.len() != app_ids.len() {
        return Err(format!(
            "image {:?} has {} layers but {} diff IDs",
            app.name,
            app.manifest.layers.len(),
            app_ids.len()
        ));
    }
    let base_ids = new_base
        .config
        .rootfs
        .diff_ids
        .as_deref()
        .unwrap_or_default();
    if new_base.manifest.layers.len() != base_ids.len() {
        return Err(format!(
            "image {:?} has {} layers but {} diff IDs",
            new_base.name,
            new_base.manifest.layers.len(),
            base_ids.len()
        ));
    }
    let mut image = Image::empty(MediaType::DOCKER_MANIFEST);
    {
        let c = image.config_mut();
        c.config = app.config.config.clone();
        c.architecture = new_base.config.architecture.clone();
        c.os = new_base.config.os.clone();
        c.os_version = new_base.config.os_version.clone();
        c.rootfs.fs_type = "layers".to_owned();
    }
    let base = new_base.manifest.layers.iter().zip(base_ids);
    let kept = app.manifest.layers.iter().zip(app_ids).skip(split + 1);
    for (desc, diff_id) in base.chain(kept) {
        image.append_layer(desc.clone(), diff_id.clone(), History::default());
    }
    image.ggcr_compatible();
    Ok(image)
}

fn contains_name(md: &LayersMetadataCompat, name: &str) -> bool {
    let m = &md.metadata;
    m.run_image.for_export().contains(name, normalize_name)
        || m.stack
            .as_ref()
            .is_some_and(|s| s.run_image.contains(name, normalize_name))
}

fn validate_stack_id(app: &Read, new_base: &Read) -> Result<(), String> {
    let app_stack = app.label(LABEL_STACK_ID);
    let base_stack = new_base.label(LABEL_STACK_ID);
    if app_stack.is_empty() {
        return Err("stack not defined on app image".into());
    }
    if base_stack.is_empty() {
        return Err("stack not defined on new base image".into());
    }
    if app_stack != base_stack {
        return Err(format!(
            "incompatible stack: '{base_stack}' is not compatible with '{app_stack}'"
        ));
    }
    Ok(())
}

fn mixins(img: &Read, which: &str) -> Result<Vec<String>, String> {
    let v = img.label(LABEL_MIXINS);
    if v.is_empty() {
        return Ok(Vec::new());
    }
    let list: Option<Vec<String>> = serde_json::from_str(v).map_err(|e| {
        format!("get {which} mixins: failed to unmarshal context of label '{LABEL_MIXINS}': {e}")
    })?;
    Ok(list
        .unwrap_or_default()
        .into_iter()
        .map(|m| match m.split_once(':') {
            Some((_, rest)) => rest.to_owned(),
            None => m,
        })
        .collect())
}

fn validate_mixins(app: &Read, new_base: &Read) -> Result<(), String> {
    let have = mixins(new_base, "run image")?;
    let want = mixins(app, "app image")?;
    let mut missing: Vec<String> = want.into_iter().filter(|m| !have.contains(m)).collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        return Err(format!("missing required mixin(s): {}", missing.join(", ")));
    }
    Ok(())
}

fn validate_target(
    force: bool,
    app: &Read,
    new_base: &Read,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    if app.label(LABEL_REBASABLE) == "false" {
        if !force {
            return Err(format!("{NOT_REBASABLE}; {PROVIDE_FORCE}"));
        }
        warnings.push(NOT_REBASABLE.to_owned());
    }
    let app_target = app
        .target()
        .map_err(|e| format!("get app image target: {e}"))?;
    let base_target = new_base
        .target()
        .map_err(|e| format!("get new base image target: {e}"))?;
    if !base_target.satisfied_for_rebase(&app_target) {
        let msg = format!(
            "unable to satisfy target os/arch constraints; new run image: {}, old run image: {}",
            base_target.to_json(),
            app_target.to_json()
        );
        if !force {
            return Err(format!("{msg}; {PROVIDE_FORCE}"));
        }
        warnings.push(msg);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnb::image::Descriptor;

    fn d(n: &str) -> Digest {
        Digest::of(n.as_bytes())
    }

    /// An image named `name` with one layer per entry of `layers` (descriptor digest from
    /// `<layer>-blob`, diffID from `<layer>`), OCI types, and `labels`.
    fn image(name: &str, layers: &[&str], labels: &[(&str, &str)], variant: &str) -> Read {
        let mut manifest = Manifest::new(
            MediaType::OCI_MANIFEST,
            Descriptor::new(MediaType::OCI_CONFIG, d("cfg"), 1),
        );
        let mut config = ImageConfig {
            os: "linux".into(),
            architecture: "arm64".into(),
            variant: variant.into(),
            os_version: "1.0".into(),
            author: "someone".into(),
            ..Default::default()
        };
        for l in layers {
            manifest.layers.push(Descriptor::new(
                MediaType::OCI_LAYER_GZIP,
                d(&format!("{l}-blob")),
                3,
            ));
            config
                .rootfs
                .diff_ids
                .get_or_insert_with(Vec::new)
                .push(d(l));
            config.history.push(History {
                created_by: format!("add {l}"),
                ..Default::default()
            });
        }
        for (k, v) in labels {
            config.config.labels.insert((*k).into(), (*v).into());
        }
        config.config.env = vec!["CNB_PLATFORM_API=0.14".into()];
        Read {
            name: name.into(),
            manifest,
            config,
            identifier: format!("{}@{}", name.split(':').next().unwrap_or(name), d(name)),
        }
    }

    fn label(top: &str, image: &str) -> String {
        format!(
            r#"{{"app":[{{"sha":"{}"}}],"runImage":{{"topLayer":"{}","reference":"r/run@sha256:00","image":"{image}"}},"stack":{{"runImage":{{"image":"{image}"}}}}}}"#,
            d("app1"),
            d(top)
        )
    }

    #[test]
    fn names_normalize_like_go_parse_maybe() {
        assert_eq!(
            normalize_name("busybox"),
            "index.docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_name(&format!("127.0.0.1:5000/run@{}", d("x"))),
            "127.0.0.1:5000/run:latest"
        );
        assert_eq!(normalize_name("h:1/run:v2"), "h:1/run:v2");
        assert_eq!(normalize_name("Not A Ref"), "Not A Ref");
    }

    #[test]
    fn swaps_base_layers_and_rebuilds_the_config_like_ggcr() {
        let app = image(
            "h/app:1",
            &["b1", "b2", "app1", "app2"],
            &[
                (LABEL_LIFECYCLE_METADATA, &label("b2", "h/run:latest")),
                ("io.buildpacks.base.released", "old"),
                ("io.buildpacks.stack.id", "s"),
                ("keep", "me"),
            ],
            "v8",
        );
        let base = image(
            "h/run:latest",
            &["n1"],
            &[
                ("io.buildpacks.base.maintainer", "new"),
                ("io.buildpacks.stack.id", "s"),
            ],
            "",
        );
        let out = rebase(Version::new(0, 14), false, &app, &base).unwrap();
        assert!(out.warnings.is_empty());
        let img = out.image;
        assert_eq!(img.media_type(), &MediaType::DOCKER_MANIFEST);
        let blobs: Vec<_> = img.layers().iter().map(|l| l.digest.clone()).collect();
        assert_eq!(blobs, [d("n1-blob"), d("app1-blob"), d("app2-blob")]);
        assert_eq!(img.diff_ids(), [d("n1"), d("app1"), d("app2")]);
        let c = img.config();
        assert_eq!((c.os.as_str(), c.architecture.as_str()), ("linux", "arm64"));
        assert_eq!(c.os_version, "1.0");
        assert_eq!(
            c.variant, "",
            "ggcr's rebase does not carry the variant over"
        );
        assert_eq!(c.author, "", "only the app's `config` section is kept");
        assert_eq!(c.created.as_deref(), Some(DEFAULT_CREATED));
        assert_eq!(c.history.len(), 3);
        assert!(c.history.iter().all(|h| h.created_by.is_empty()));
        assert_eq!(img.label("keep"), Some("me"));
        assert_eq!(img.label("io.buildpacks.base.released"), None);
        assert_eq!(img.label("io.buildpacks.base.maintainer"), Some("new"));
        let md =
            LayersMetadataCompat::from_label(img.label(LABEL_LIFECYCLE_METADATA).unwrap()).unwrap();
        assert_eq!(md.metadata.run_image.top_layer, d("n1").to_string());
        assert_eq!(md.metadata.run_image.reference, base.identifier);
        assert_eq!(md.app, serde_json::json!([{"sha": d("app1").to_string()}]));
    }

    #[test]
    fn refusals_and_their_go_messages() {
        let lbl = label("b1", "h/run:latest");
        let mk = |extra: &[(&str, &str)]| {
            let mut labels = vec![(LABEL_LIFECYCLE_METADATA, lbl.as_str())];
            labels.extend_from_slice(extra);
            image("h/app:1", &["b1", "app1"], &labels, "")
        };
        let base = image("h/run:latest", &["n1"], &[], "");
        let e = |r: Result<Rebased, String>| r.err().unwrap_or_default();

        let app = mk(&[(LABEL_REBASABLE, "false")]);
        assert_eq!(
            e(rebase(Version::new(0, 14), false, &app, &base)),
            "app image is not marked as rebasable; please provide -force to override"
        );
        let forced = rebase(Version::new(0, 14), true, &app, &base).unwrap();
        assert_eq!(forced.warnings, ["app image is not marked as rebasable"]);

        let other = image("h/elsewhere:1", &["n1"], &[], "");
        let msg = e(rebase(Version::new(0, 14), false, &mk(&[]), &other));
        assert!(
            msg.starts_with("rebase app image: new base image 'h/elsewhere:1' not found in existing run image metadata: {\"topLayer\":")
                && msg.ends_with(r#","image":"h/run:latest"}; please provide -force to override"#),
            "{msg}"
        );

        let mut app = mk(&[]);
        app.config.config.env = vec!["CNB_PLATFORM_API=0.11".into()];
        assert_eq!(
            e(rebase(Version::new(0, 14), false, &app, &base)),
            "stack not defined on app image"
        );
        app.config
            .config
            .labels
            .insert(LABEL_STACK_ID.into(), "s".into());
        app.config
            .config
            .labels
            .insert(LABEL_MIXINS.into(), r#"["run:b","a","build:c"]"#.into());
        let mut base = base.clone();
        base.config
            .config
            .labels
            .insert(LABEL_STACK_ID.into(), "s".into());
        base.config
            .config
            .labels
            .insert(LABEL_MIXINS.into(), r#"["a"]"#.into());
        assert_eq!(
            e(rebase(Version::new(0, 14), true, &app, &base)),
            "missing required mixin(s): b, c"
        );

        let mut app = mk(&[]);
        app.config
            .config
            .labels
            .insert(LABEL_LIFECYCLE_METADATA.into(), label("zz", "h/run:latest"));
        assert_eq!(
            e(rebase(Version::new(0, 14), true, &app, &base)),
            "rebase app image: could not find base layer in image"
        );
    }
}
