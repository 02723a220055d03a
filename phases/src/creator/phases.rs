//! The creator's inputs mapped onto each phase's `Inputs` (Go hands every phase the same
//! `LifecycleInputs`; here each phase takes the fields it reads, plus the shared keychain).

use super::Inputs;
use crate::common::keychain;
use crate::{analyzer, builder, detector, exporter, restorer};
use std::path::PathBuf;

/// Go `LifecycleInputs.RegistryImages` for the creator: the cache image, then (without the
/// daemon) output image, tags, previous image and the run image or its run.toml candidates.
pub fn registry_images(i: &Inputs) -> Vec<String> {
    let others = [i.output_image.as_str()]
        .into_iter()
        .chain(i.additional_tags.iter().map(String::as_str))
        .chain([i.previous_image.as_str()])
        .chain(i.run_image.as_deref())
        .chain(i.run_image_candidates.iter().map(String::as_str));
    keychain::registry_images(i.cache_image.as_deref(), i.use_daemon, others)
}

pub fn analyzer(i: &Inputs) -> analyzer::Inputs {
    analyzer::Inputs {
        platform_api: i.platform_api,
        output_image: i.output_image.clone(),
        additional_tags: i.additional_tags.clone(),
        previous_image: i.previous_image.clone(),
        run_image: i.run_image.clone(),
        run_image_candidates: i.run_image_candidates.clone(),
        cache_image: i.cache_image.clone(),
        cache_dir: i.cache_dir.clone(),
        launch_cache_dir: i.launch_cache_dir.clone(),
        analyzed_path: i.analyzed_path.clone(),
        layers_dir: i.layers_dir.clone(),
        run_path: i.run_path.clone(),
        stack_path: i.stack_path.clone(),
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: i.layout_dir.clone(),
        skip_layers: i.skip_restore,
        insecure_registries: i.insecure_registries.clone(),
        uid: i.uid,
        gid: i.gid,
        keychain: i.keychain.clone(),
    }
}

pub fn detector(i: &Inputs) -> detector::Inputs {
    detector::Inputs {
        platform_api: i.platform_api,
        app_dir: i.app_dir.clone(),
        build_config_dir: i.build_config_dir.clone(),
        buildpacks_dir: i.buildpacks_dir.clone(),
        extensions_dir: i.extensions_dir.clone(),
        generated_dir: i.generated_dir.clone(),
        layers_dir: i.layers_dir.clone(),
        platform_dir: i.platform_dir.clone(),
        analyzed_path: i.analyzed_path.clone(),
        group_path: i.group_path.clone(),
        order_path: i.order_path.clone(),
        plan_path: i.plan_path.clone(),
        run_path: i.run_path.clone(),
        system_path: i.system_path.clone(),
        exec_env: i.exec_env.clone(),
    }
}

/// Go's creator restores with `skip-layers` as given (the restore step itself always runs at
/// Platform ≥ 0.10, for store.toml) and never with a build image (no extensions).
pub fn restorer(i: &Inputs) -> restorer::Inputs {
    restorer::Inputs {
        platform_api: i.platform_api,
        analyzed_path: i.analyzed_path.clone(),
        group_path: i.group_path.clone(),
        layers_dir: i.layers_dir.clone(),
        generated_dir: i.generated_dir.clone(),
        run_path: i.run_path.clone(),
        cache_dir: i.cache_dir.clone(),
        cache_image: i.cache_image.clone(),
        build_image: None,
        skip_layers: i.skip_restore,
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: i.layout_dir.clone(),
        insecure_registries: i.insecure_registries.clone(),
        kaniko_dir: PathBuf::from("/kaniko"),
        uid: i.uid,
        gid: i.gid,
        keychain: i.keychain.clone(),
    }
}

pub fn builder(i: &Inputs) -> builder::Inputs {
    builder::Inputs {
        platform_api: i.platform_api,
        app_dir: i.app_dir.clone(),
        build_config_dir: i.build_config_dir.clone(),
        buildpacks_dir: i.buildpacks_dir.clone(),
        layers_dir: i.layers_dir.clone(),
        platform_dir: i.platform_dir.clone(),
        analyzed_path: i.analyzed_path.clone(),
        group_path: i.group_path.clone(),
        plan_path: i.plan_path.clone(),
        exec_env: i.exec_env.clone(),
    }
}

/// `run_image` is analyzed.toml's `run-image.reference`, read after the analyze step.
pub fn exporter(i: &Inputs, run_image: String) -> exporter::Inputs {
    exporter::Inputs {
        platform_api: i.platform_api,
        output_image: i.output_image.clone(),
        additional_tags: i.additional_tags.clone(),
        run_image,
        analyzed_path: i.analyzed_path.clone(),
        app_dir: i.app_dir.clone(),
        group_path: i.group_path.clone(),
        layers_dir: i.layers_dir.clone(),
        extended_dir: i.extended_dir.clone(),
        launcher_path: i.launcher_path.clone(),
        launcher_sbom_dir: i.launcher_sbom_dir.clone(),
        project_metadata_path: i.project_metadata_path.clone(),
        report_path: i.report_path.clone(),
        run_path: i.run_path.clone(),
        stack_path: i.stack_path.clone(),
        cache_dir: i.cache_dir.clone(),
        cache_image: i.cache_image.clone(),
        launch_cache_dir: i.launch_cache_dir.clone(),
        process_type: i.process_type.clone(),
        parallel_export: i.parallel_export,
        use_daemon: i.use_daemon,
        use_layout: i.use_layout,
        layout_dir: i.layout_dir.clone(),
        insecure_registries: i.insecure_registries.clone(),
        uid: i.uid,
        gid: i.gid,
        exec_env: i.exec_env.clone(),
        keychain: i.keychain.clone(),
    }
}
