//! The input checks of Go `platform/resolve_inputs.go` that need no registry, plus
//! `GuardExperimental`. Each returns the bare cause; phases wrap it as
//! "failed to resolve inputs: <cause>" (exit 3) where Go does.

use super::inputs::LifecycleInputs;
use cnb::api::Mode;
use cnb::exit::{ExitCode, LifecycleError};
use cnb::files::{Run, RunImageForExport, Stack};
use cnb::image::reference::Reference;

/// The registry of `reference` as ggcr prints it, or "could not parse reference: <s>".
fn registry_of(reference: &str) -> Result<String, String> {
    Reference::parse(reference)
        .map(|r| r.registry().to_string())
        .map_err(|e| e.to_string())
}

/// run.toml `images` (Platform API ≥ 0.12). A missing file logs like Go and reads as empty.
fn read_run_images(path: &str) -> Result<Vec<RunImageForExport>, String> {
    match Run::read_optional(path.as_ref()).map_err(|e| e.to_string())? {
        Some(run) => Ok(run.images),
        None => {
            cnb::info!("No run metadata found at path {path:?}");
            Ok(Vec::new())
        }
    }
}

/// stack.toml `[run-image]` (Platform API < 0.12).
fn read_stack_run_image(path: &str) -> Result<RunImageForExport, String> {
    match Stack::read_optional(path.as_ref()).map_err(|e| e.to_string())? {
        Some(stack) => Ok(stack.run_image),
        None => {
            cnb::info!("No stack metadata found at path {path:?}");
            Ok(RunImageForExport::default())
        }
    }
}

pub const LAYOUT_FORMAT: &str = "export to OCI layout format";
const NO_RUN_METADATA: &str = "-run-image is required when there is no run metadata available";

fn push_once(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for s in items {
        if !s.is_empty() && !list.contains(&s) {
            list.push(s);
        }
    }
}

/// Go `DestinationImages`: the output image and the additional tags, without repeats.
pub fn destination_images(i: &LifecycleInputs) -> Vec<String> {
    let mut out = Vec::new();
    push_once(&mut out, [i.output_image_ref.clone()]);
    push_once(&mut out, i.additional_tags.iter().cloned());
    out
}

/// Go `Images`: destinations, then previous, build, run, deprecated run and cache images.
pub fn images(i: &LifecycleInputs) -> Vec<String> {
    let mut out = destination_images(i);
    push_once(
        &mut out,
        [
            i.previous_image_ref.clone(),
            i.build_image_ref.clone(),
            i.run_image_ref.clone(),
            i.deprecated_run_image_ref.clone(),
            i.cache_image_ref.clone(),
        ],
    );
    out
}

pub fn validate_output_image(i: &LifecycleInputs) -> Result<(), String> {
    if i.output_image_ref.is_empty() {
        Err("image argument is required".into())
    } else {
        Ok(())
    }
}

pub fn check_cache(i: &LifecycleInputs) {
    if i.cache_image_ref.is_empty() && i.cache_dir.is_empty() {
        cnb::warn!("No cached data will be used, no cache specified.");
    }
}

pub fn check_launch_cache(i: &LifecycleInputs) {
    if !i.use_daemon && !i.launch_cache_dir.is_empty() {
        cnb::warn!("Ignoring -launch-cache, only intended for use with -daemon");
    }
}

pub fn check_parallel_export(i: &LifecycleInputs) {
    if i.parallel_export && i.cache_image_ref.is_empty() && i.cache_dir.is_empty() {
        cnb::warn!(
            "Parallel export has been enabled, but it has not taken effect because no cache has been specified."
        );
    }
}

pub fn validate_image_refs(i: &LifecycleInputs) -> Result<(), String> {
    images(i)
        .iter()
        .try_for_each(|r| registry_of(r).map(|_| ()))
}

/// Go `ValidateTargetsAreSameRegistry` (skipped for the daemon).
pub fn validate_targets_same_registry(i: &LifecycleInputs) -> Result<(), String> {
    if i.use_daemon {
        return Ok(());
    }
    let mut registries = Vec::new();
    for r in destination_images(i) {
        push_once(&mut registries, [registry_of(&r)?]);
    }
    if registries.len() > 1 {
        return Err("writing to multiple registries is unsupported".into());
    }
    Ok(())
}

/// `-image` (deprecated) given: it becomes the run image, unless `-run-image` was also given
/// with a value other than `$CNB_RUN_IMAGE` (Go `FillCreateImages`/`ValidateRebaseRunImage`).
/// Returns true when `-image` was used.
pub fn take_deprecated_run_image(i: &mut LifecycleInputs) -> Result<bool, String> {
    if i.deprecated_run_image_ref.is_empty() {
        return Ok(false);
    }
    if i.run_image_ref != i.env_run_image {
        return Err("supply only one of -run-image or (deprecated) -image".into());
    }
    i.run_image_ref = i.deprecated_run_image_ref.clone();
    Ok(true)
}

/// Run-image selection from run.toml (≥0.12) or stack.toml (<0.12) when no run image was given.
/// Go picks the first mirror on the output image's registry that is readable, else the first
/// readable one. Readability needs the registry, so unless the daemon or a layout is used
/// (where Go's access check always passes) this returns the candidates in Go's preference
/// order and leaves `run_image_ref` empty for the phase to choose.
pub fn fill_run_image(i: &mut LifecycleInputs, below_0_12: bool) -> Result<Vec<String>, String> {
    if !i.run_image_ref.is_empty() {
        return Ok(Vec::new());
    }
    let target_registry = registry_of(&i.output_image_ref)?;
    let md: RunImageForExport = if below_0_12 {
        read_stack_run_image(&i.stack_path)?
    } else {
        let images = read_run_images(&i.run_path)?;
        images
            .into_iter()
            .next()
            .ok_or_else(|| NO_RUN_METADATA.to_string())?
    };
    if md.image.is_empty() {
        return Err("missing run image metadata (-run-image)".into());
    }
    let mut all = vec![md.image];
    all.extend(md.mirrors);
    let (mut same, other): (Vec<String>, Vec<String>) = all
        .iter()
        .cloned()
        .partition(|r| registry_of(r).is_ok_and(|reg| reg == target_registry));
    if i.use_daemon || i.use_layout {
        i.run_image_ref = same.first().cloned().unwrap_or_else(|| all[0].clone());
        return Ok(Vec::new());
    }
    push_once(&mut same, other);
    Ok(same)
}

/// Go `GuardExperimental`: quiet passes, warn logs, error logs and fails (exit 1).
pub fn guard_experimental(feature: &str, mode: Mode) -> Result<(), LifecycleError> {
    match mode {
        Mode::Quiet => Ok(()),
        Mode::Warn => {
            cnb::warn!("Platform requested experimental feature '{feature}'");
            Ok(())
        }
        Mode::Error => {
            cnb::error!("Platform requested experimental feature '{feature}'");
            Err(LifecycleError::new(
                ExitCode::Failed,
                "experimental features are disabled by CNB_EXPERIMENTAL_MODE=error",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::env::Env;
    use cnb::api::Version;

    fn inputs() -> LifecycleInputs {
        let mut i = LifecycleInputs::from_env(Version::new(0, 12), &Env::from_pairs(&[]));
        i.output_image_ref = "reg.io/app".into();
        i
    }

    #[test]
    fn same_registry_rule() {
        let mut i = inputs();
        i.additional_tags = vec!["reg.io/app:v1".into()];
        assert_eq!(validate_targets_same_registry(&i), Ok(()));
        i.additional_tags.push("other.io/app".into());
        assert_eq!(
            validate_targets_same_registry(&i).unwrap_err(),
            "writing to multiple registries is unsupported"
        );
        i.use_daemon = true;
        assert_eq!(validate_targets_same_registry(&i), Ok(()));
    }

    #[test]
    fn image_refs_include_every_image() {
        let mut i = inputs();
        i.cache_image_ref = "Bad:Ref".into();
        assert_eq!(
            validate_image_refs(&i).unwrap_err(),
            "could not parse reference: Bad:Ref"
        );
    }

    #[test]
    fn run_image_candidates_prefer_the_output_registry() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run.toml");
        std::fs::write(
            &run,
            "[[images]]\nimage = \"a.io/run\"\nmirrors = [\"reg.io/run\", \"b.io/run\"]\n",
        )
        .unwrap();
        let mut i = inputs();
        i.run_path = run.to_string_lossy().into_owned();
        assert_eq!(
            fill_run_image(&mut i, false).unwrap(),
            ["reg.io/run", "a.io/run", "b.io/run"]
        );
        assert_eq!(i.run_image_ref, "");
        i.use_layout = true;
        assert!(fill_run_image(&mut i, false).unwrap().is_empty());
        assert_eq!(i.run_image_ref, "reg.io/run");
        let mut i = inputs();
        i.run_path = d.path().join("none.toml").to_string_lossy().into_owned();
        assert_eq!(
            fill_run_image(&mut i, false).unwrap_err(),
            "-run-image is required when there is no run metadata available"
        );
    }

    #[test]
    fn deprecated_image_flag() {
        let mut i = inputs();
        i.deprecated_run_image_ref = "r/old".into();
        assert_eq!(take_deprecated_run_image(&mut i), Ok(true));
        assert_eq!(i.run_image_ref, "r/old");
        i.run_image_ref = "r/new".into();
        assert!(take_deprecated_run_image(&mut i).is_err());
    }
}
