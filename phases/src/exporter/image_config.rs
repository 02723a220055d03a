//! Go `Exporter.Export`'s image configuration: labels, env, working dir, entrypoint, cmd,
//! created time, and the run image entry of the label (`GetRunImageForExport`).

use super::produce;
use super::run::Ctx;
use cnb::files::metadata as md;
use cnb::files::{LayersMetadata, RunImageForExport};
use cnb::image::Image;
use cnb::image::config::{DEFAULT_CREATED, rfc3339_utc};

/// The lifecycle metadata label's value.
fn metadata_label(meta: &LayersMetadata) -> Result<String, String> {
    meta.to_label()
        .map_err(|e| format!("marshall metadata: {e}"))
}

/// Sets the lifecycle metadata label again, once every layer's diffID is known.
pub(super) fn reset_metadata_label(image: &mut Image, meta: &LayersMetadata) -> Result<(), String> {
    let label = metadata_label(meta)?;
    image.set_label(cnb::files::LIFECYCLE_METADATA_LABEL, &label);
    Ok(())
}

impl Ctx<'_> {
    /// Go `platform.GetRunImageForExport` (Platform API ≥ 0.12).
    pub(super) fn run_image_for_export(&self) -> Result<RunImageForExport, String> {
        let run = cnb::files::Run::read_optional(&self.inputs.run_path)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        if run.images.is_empty() {
            return Ok(RunImageForExport::default());
        }
        let wanted = self.analyzed.run_image_image();
        if let Some(r) = run.find_by_ref(wanted, normalize) {
            return Ok(r.clone());
        }
        if !self.build_md.extensions.is_empty() {
            return Ok(RunImageForExport {
                image: wanted.to_string(),
                mirrors: Vec::new(),
            });
        }
        Ok(run.images[0].clone())
    }

    /// Labels, env, working dir, entrypoint, cmd (Go `setLabels`, `setEnv`, …).
    pub(super) fn configure(&self, image: &mut Image, meta: &LayersMetadata) -> Result<(), String> {
        let label = metadata_label(meta)?;
        cnb::info!("Adding label '{}'", cnb::files::LIFECYCLE_METADATA_LABEL);
        image.set_label(cnb::files::LIFECYCLE_METADATA_LABEL, &label);
        let build = md::build_metadata_label(&self.build_md, &launcher_metadata(), self.api)
            .map_err(|e| format!("parse build metadata: {e}"))?;
        cnb::info!("Adding label 'io.buildpacks.build.metadata'");
        image.set_label("io.buildpacks.build.metadata", &build);
        let project = self
            .project
            .to_label()
            .map_err(|e| format!("parse project metadata: {e}"))?;
        cnb::info!("Adding label '{}'", cnb::files::PROJECT_METADATA_LABEL);
        image.set_label(cnb::files::PROJECT_METADATA_LABEL, &project);
        for l in &self.build_md.labels {
            cnb::info!("Adding label '{}'", l.key);
            image.set_label(&l.key, &l.value);
        }
        if self.api.at_least("0.15") && !self.inputs.exec_env.is_empty() {
            cnb::info!("Adding label 'io.buildpacks.exec-env'");
            image.set_label("io.buildpacks.exec-env", &self.inputs.exec_env);
        }
        let layers = self.layers_dir.to_string_lossy();
        let app = self.app_dir.to_string_lossy();
        let api = self.api.to_string();
        for (k, v) in [
            ("CNB_LAYERS_DIR", layers.as_ref()),
            ("CNB_APP_DIR", app.as_ref()),
            ("CNB_PLATFORM_API", api.as_str()),
            ("CNB_DEPRECATION_MODE", "quiet"),
        ] {
            cnb::debug!("Setting {k}={v}");
            image.set_env(k, v);
        }
        let path = format!(
            "{}:{}:{}",
            produce::PROCESS_DIR,
            produce::LIFECYCLE_DIR,
            image.env("PATH").unwrap_or("")
        );
        cnb::debug!(
            "Prepending {} and {} to PATH",
            produce::PROCESS_DIR,
            produce::LIFECYCLE_DIR
        );
        image.set_env("PATH", &path);
        cnb::debug!("Setting WORKDIR: '{app}'");
        image.set_working_dir(&app);
        let entrypoint = self
            .entrypoint()
            .map_err(|e| format!("determining entrypoint: {e}"))?;
        cnb::debug!("Setting ENTRYPOINT: '{entrypoint}'");
        image.set_entrypoint(vec![entrypoint]);
        image.set_cmd(Vec::new());
        Ok(())
    }

    /// Go `Exporter.entrypoint`.
    pub(super) fn entrypoint(&self) -> Result<String, String> {
        if let Some(t) = self
            .inputs
            .process_type
            .as_deref()
            .filter(|t| !t.is_empty())
        {
            let Some(p) = self.build_md.find_process(t) else {
                return Err(format!("tried to set {t} to default but it doesn't exist"));
            };
            cnb::info!("Setting default process type '{}'", p.kind);
            return Ok(format!("{}/{}", produce::PROCESS_DIR, p.kind));
        }
        let t = &self.build_md.buildpack_default_process_type;
        if t.is_empty() {
            cnb::info!("no default process type");
            return Ok(produce::LAUNCHER_PATH.into());
        }
        cnb::info!("Setting default process type '{t}'");
        Ok(format!("{}/{t}", produce::PROCESS_DIR))
    }

    /// `SOURCE_DATE_EPOCH` or imgutil's normalized time.
    pub(super) fn created_at(&self) -> String {
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(s) if !s.is_empty() => match s.parse::<i64>() {
                Ok(secs) => rfc3339_utc(secs),
                Err(_) => {
                    cnb::warn!("Ignoring invalid SOURCE_DATE_EPOCH");
                    DEFAULT_CREATED.into()
                }
            },
            _ => DEFAULT_CREATED.into(),
        }
    }
}

/// Go `name.ParseMaybe` for run.toml matching: a `@sha256:` digest is cut off, then the
/// name is `registry/repository:tag` (`latest` by default); unparsable names stay as given.
pub(super) fn normalize(s: &str) -> String {
    let to_parse = match s.find("@sha256:") {
        Some(i) => &s[..i],
        None => s,
    };
    match cnb::image::reference::Reference::parse(to_parse) {
        Ok(r) => format!("{}:{}", r.context(), r.tag().unwrap_or("latest")),
        Err(_) => s.to_string(),
    }
}

/// The `launcher` of the build metadata label (Go `cmd.Version`, `cmd.SCMRepository`,
/// `cmd.SCMCommit`).
fn launcher_metadata() -> md::LauncherMetadata {
    md::LauncherMetadata {
        version: env!("CARGO_PKG_VERSION").to_string(),
        source: md::SourceMetadata {
            git: md::GitMetadata {
                repository: option_env!("LIFECYCLE_SCM_REPOSITORY")
                    .unwrap_or(env!("CARGO_PKG_REPOSITORY"))
                    .to_string(),
                commit: option_env!("LIFECYCLE_SCM_COMMIT")
                    .unwrap_or("")
                    .to_string(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn normalize_like_go_parse_maybe() {
        let d = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert_eq!(normalize("127.0.0.1:5000/run"), "127.0.0.1:5000/run:latest");
        assert_eq!(normalize("127.0.0.1:5000/run:v1"), "127.0.0.1:5000/run:v1");
        assert_eq!(
            normalize(&format!("127.0.0.1:5000/run@{d}")),
            "127.0.0.1:5000/run:latest"
        );
        assert_eq!(
            normalize("run"),
            normalize("index.docker.io/library/run:latest")
        );
        assert_eq!(normalize("Not A Ref"), "Not A Ref");
    }
}
