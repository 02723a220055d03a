//! The platform inputs before resolution (Go `platform.LifecycleInputs`): every value starts
//! from its `CNB_*` variable or its default ([`LifecycleInputs::from_env`]), then the parsed
//! flags overwrite it ([`LifecycleInputs::set`]), so the precedence is flag > env > default.
//! Paths under the layers directory hold the `<layers>` placeholder until `paths` resolves them.

use super::env::Env;
use super::flags::Kind;
use crate::common::timer::go_duration;
use cnb::api::{Mode, Version};
use std::time::Duration;

pub const PLACEHOLDER_LAYERS: &str = "<layers>";
pub const CNB_ORDER_PATH: &str = "/cnb/order.toml";
pub const DEFAULT_KANIKO_CACHE_TTL: Duration = Duration::from_secs(14 * 24 * 3600);

/// Which input a flag sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    AnalyzedPath,
    AppDir,
    BuildConfigDir,
    BuildImageRef,
    BuildpacksDir,
    CacheDir,
    CacheImageRef,
    DefaultProcessType,
    DeprecatedRunImageRef,
    ExtendKind,
    ExtendedDir,
    ExtensionsDir,
    GeneratedDir,
    GroupPath,
    LaunchCacheDir,
    LauncherPath,
    LauncherSbomDir,
    LayersDir,
    LayoutDir,
    LogLevel,
    OrderPath,
    PlanPath,
    PlatformDir,
    PreviousImageRef,
    ProjectMetadataPath,
    ReportPath,
    RunImageRef,
    RunPath,
    StackPath,
    SystemPath,
    Uid,
    Gid,
    ForceRebase,
    NoColor,
    ParallelExport,
    SkipLayers,
    UseDaemon,
    UseLayout,
    AdditionalTags,
    InsecureRegistries,
    KanikoCacheTtl,
    PrintVersion,
}

impl Field {
    pub fn kind(self) -> Kind {
        use Field::*;
        match self {
            Uid | Gid => Kind::Int,
            ForceRebase | NoColor | ParallelExport | SkipLayers | UseDaemon | UseLayout
            | PrintVersion => Kind::Bool,
            AdditionalTags | InsecureRegistries => Kind::Repeated,
            KanikoCacheTtl => Kind::Duration,
            _ => Kind::String,
        }
    }
}

/// A parsed flag value, already checked against its kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Bool(bool),
    Str(String),
    Int(i64),
    Duration(Duration),
}

/// All inputs of all phases, as Go keeps them; each phase copies out what it uses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LifecycleInputs {
    pub platform_api: Option<Version>,
    pub analyzed_path: String,
    pub app_dir: String,
    pub build_config_dir: String,
    pub build_image_ref: String,
    pub buildpacks_dir: String,
    pub cache_dir: String,
    pub cache_image_ref: String,
    pub default_process_type: String,
    pub deprecated_run_image_ref: String,
    pub exec_env: String,
    pub extend_kind: String,
    pub extended_dir: String,
    pub extensions_dir: String,
    pub generated_dir: String,
    pub group_path: String,
    pub kaniko_dir: String,
    pub launch_cache_dir: String,
    pub launcher_path: String,
    pub launcher_sbom_dir: String,
    pub layers_dir: String,
    pub layout_dir: String,
    pub log_level: String,
    pub order_path: String,
    pub output_image_ref: String,
    pub plan_path: String,
    pub platform_dir: String,
    pub previous_image_ref: String,
    pub project_metadata_path: String,
    pub report_path: String,
    pub run_image_ref: String,
    pub run_path: String,
    pub stack_path: String,
    pub system_path: String,
    pub uid: i64,
    pub gid: i64,
    pub force_rebase: bool,
    pub no_color: bool,
    pub parallel_export: bool,
    pub skip_layers: bool,
    pub use_daemon: bool,
    pub use_layout: bool,
    pub additional_tags: Vec<String>,
    pub insecure_registries: Vec<String>,
    pub kaniko_cache_ttl: Duration,
    /// `-version` was given.
    pub print_version: bool,
    /// `$CNB_RUN_IMAGE` as read at start (Go compares `-run-image` against it).
    pub env_run_image: String,
    /// `CNB_EXPERIMENTAL_MODE` (default error).
    pub experimental_mode: Option<Mode>,
}

/// Accessors from a [`Field`] to the struct field of one type (Go's flag `Value` pointers).
macro_rules! slots {
    ($name_mut:ident, $name_ref:ident, $ty:ty, { $($variant:ident => $field:ident,)* }) => {
        fn $name_mut(&mut self, f: Field) -> Option<&mut $ty> {
            match f {
                $(Field::$variant => Some(&mut self.$field),)*
                _ => None,
            }
        }

        fn $name_ref(&self, f: Field) -> Option<&$ty> {
            match f {
                $(Field::$variant => Some(&self.$field),)*
                _ => None,
            }
        }
    };
}

fn placeholder(file: &str) -> String {
    format!("{PLACEHOLDER_LAYERS}/{file}")
}

impl LifecycleInputs {
    /// Go `NewLifecycleInputs`: every input from its variable, else its default.
    pub fn from_env(api: Version, env: &Env) -> Self {
        let or = |k: &str, d: &str| env.or_default(k, d);
        Self {
            platform_api: Some(api),
            log_level: or("CNB_LOG_LEVEL", "info"),
            no_color: env.bool("CNB_NO_COLOR"),
            extend_kind: or("CNB_EXTEND_KIND", "build"),
            use_daemon: env.bool("CNB_USE_DAEMON"),
            insecure_registries: env.list("CNB_INSECURE_REGISTRIES"),
            use_layout: env.bool("CNB_USE_LAYOUT"),
            uid: env.int("CNB_USER_ID"),
            gid: env.int("CNB_GROUP_ID"),
            build_config_dir: or("CNB_BUILD_CONFIG_DIR", "/cnb/build-config"),
            buildpacks_dir: or("CNB_BUILDPACKS_DIR", "/cnb/buildpacks"),
            extensions_dir: or("CNB_EXTENSIONS_DIR", "/cnb/extensions"),
            run_path: or("CNB_RUN_PATH", "/cnb/run.toml"),
            stack_path: or("CNB_STACK_PATH", "/cnb/stack.toml"),
            system_path: or("CNB_SYSTEM_PATH", "/cnb/system.toml"),
            app_dir: or("CNB_APP_DIR", "/workspace"),
            exec_env: or("CNB_EXEC_ENV", "production"),
            layers_dir: or("CNB_LAYERS_DIR", "/layers"),
            layout_dir: env.get("CNB_LAYOUT_DIR"),
            order_path: or("CNB_ORDER_PATH", &placeholder("order.toml")),
            platform_dir: or("CNB_PLATFORM_DIR", "/platform"),
            analyzed_path: or("CNB_ANALYZED_PATH", &placeholder("analyzed.toml")),
            extended_dir: or("CNB_EXTENDED_DIR", &placeholder("extended")),
            generated_dir: or("CNB_GENERATED_DIR", &placeholder("generated")),
            group_path: or("CNB_GROUP_PATH", &placeholder("group.toml")),
            plan_path: or("CNB_PLAN_PATH", &placeholder("plan.toml")),
            report_path: or("CNB_REPORT_PATH", &placeholder("report.toml")),
            cache_dir: env.get("CNB_CACHE_DIR"),
            cache_image_ref: env.get("CNB_CACHE_IMAGE"),
            kaniko_cache_ttl: env.duration_or("CNB_KANIKO_CACHE_TTL", DEFAULT_KANIKO_CACHE_TTL),
            kaniko_dir: "/kaniko".into(),
            launch_cache_dir: env.get("CNB_LAUNCH_CACHE_DIR"),
            skip_layers: env.bool("CNB_SKIP_LAYERS") || env.bool("CNB_SKIP_RESTORE"),
            parallel_export: env.bool("CNB_PARALLEL_EXPORT"),
            build_image_ref: env.get("CNB_BUILD_IMAGE"),
            previous_image_ref: env.get("CNB_PREVIOUS_IMAGE"),
            run_image_ref: env.get("CNB_RUN_IMAGE"),
            default_process_type: env.get("CNB_PROCESS_TYPE"),
            launcher_path: "/cnb/lifecycle/launcher".into(),
            launcher_sbom_dir: "/cnb/lifecycle".into(),
            project_metadata_path: or(
                "CNB_PROJECT_METADATA_PATH",
                &placeholder("project-metadata.toml"),
            ),
            force_rebase: env.bool("CNB_FORCE_REBASE"),
            env_run_image: env.get("CNB_RUN_IMAGE"),
            experimental_mode: Some(Mode::from_value(
                env.raw("CNB_EXPERIMENTAL_MODE").as_deref(),
                Mode::Error,
            )),
            ..Self::default()
        }
    }

    slots!(string_mut, string_ref, String, {
        AnalyzedPath => analyzed_path,
        AppDir => app_dir,
        BuildConfigDir => build_config_dir,
        BuildImageRef => build_image_ref,
        BuildpacksDir => buildpacks_dir,
        CacheDir => cache_dir,
        CacheImageRef => cache_image_ref,
        DefaultProcessType => default_process_type,
        DeprecatedRunImageRef => deprecated_run_image_ref,
        ExtendKind => extend_kind,
        ExtendedDir => extended_dir,
        ExtensionsDir => extensions_dir,
        GeneratedDir => generated_dir,
        GroupPath => group_path,
        LaunchCacheDir => launch_cache_dir,
        LauncherPath => launcher_path,
        LauncherSbomDir => launcher_sbom_dir,
        LayersDir => layers_dir,
        LayoutDir => layout_dir,
        LogLevel => log_level,
        OrderPath => order_path,
        PlanPath => plan_path,
        PlatformDir => platform_dir,
        PreviousImageRef => previous_image_ref,
        ProjectMetadataPath => project_metadata_path,
        ReportPath => report_path,
        RunImageRef => run_image_ref,
        RunPath => run_path,
        StackPath => stack_path,
        SystemPath => system_path,
    });

    slots!(bool_mut, bool_ref, bool, {
        ForceRebase => force_rebase,
        NoColor => no_color,
        ParallelExport => parallel_export,
        SkipLayers => skip_layers,
        UseDaemon => use_daemon,
        UseLayout => use_layout,
        PrintVersion => print_version,
    });

    /// Applies one parsed flag (Go `Value.Set`): strings replace, repeated flags append.
    pub fn set(&mut self, f: Field, v: Value) {
        match (f, v) {
            (Field::AdditionalTags, Value::Str(s)) => self.additional_tags.push(s),
            (Field::InsecureRegistries, Value::Str(s)) => self.insecure_registries.push(s),
            (Field::Uid, Value::Int(n)) => self.uid = n,
            (Field::Gid, Value::Int(n)) => self.gid = n,
            (Field::KanikoCacheTtl, Value::Duration(d)) => self.kaniko_cache_ttl = d,
            (f, Value::Bool(b)) => {
                if let Some(slot) = self.bool_mut(f) {
                    *slot = b;
                }
            }
            (f, Value::Str(s)) => {
                if let Some(slot) = self.string_mut(f) {
                    *slot = s;
                }
            }
            _ => {}
        }
    }

    /// The current value as Go's `flag.Value.String()` shows it in usage (`DefValue`).
    pub fn display(&self, f: Field) -> String {
        match f {
            Field::AdditionalTags => go_slice(&self.additional_tags),
            Field::InsecureRegistries => go_slice(&self.insecure_registries),
            Field::Uid => self.uid.to_string(),
            Field::Gid => self.gid.to_string(),
            Field::KanikoCacheTtl => go_duration(self.kaniko_cache_ttl),
            Field::PrintVersion => "false".into(),
            Field::DeprecatedRunImageRef => String::new(), // Go registers `-image` with default ""
            f => match (self.bool_ref(f), self.string_ref(f)) {
                (Some(b), _) => b.to_string(),
                (None, Some(s)) => s.clone(),
                (None, None) => String::new(),
            },
        }
    }
}

/// `fmt.Sprintf("%+v", []string{...})`.
fn go_slice(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    #[test]
    fn defaults_without_env() {
        let i = LifecycleInputs::from_env(Version::new(0, 12), &env(&[]));
        assert_eq!(i.layers_dir, "/layers");
        assert_eq!(i.group_path, "<layers>/group.toml");
        assert_eq!(i.order_path, "<layers>/order.toml");
        assert_eq!(i.log_level, "info");
        assert_eq!(i.kaniko_cache_ttl, DEFAULT_KANIKO_CACHE_TTL);
        assert_eq!((i.uid, i.gid), (0, 0));
        assert!(i.insecure_registries.is_empty());
        assert_eq!(i.experimental_mode, Some(Mode::Error));
    }

    #[test]
    fn env_values_and_go_parsing() {
        let i = LifecycleInputs::from_env(
            Version::new(0, 13),
            &env(&[
                ("CNB_USER_ID", "1000"),
                ("CNB_GROUP_ID", "0x10"),
                ("CNB_USE_DAEMON", "T"),
                ("CNB_NO_COLOR", "yes"),
                ("CNB_SKIP_RESTORE", "1"),
                ("CNB_INSECURE_REGISTRIES", "a:5000,b"),
                ("CNB_KANIKO_CACHE_TTL", "bogus"),
                ("CNB_LAYERS_DIR", ""),
            ]),
        );
        assert_eq!((i.uid, i.gid), (1000, 0));
        assert!(i.use_daemon);
        assert!(!i.no_color);
        assert!(i.skip_layers);
        assert_eq!(i.insecure_registries, ["a:5000", "b"]);
        assert_eq!(i.kaniko_cache_ttl, DEFAULT_KANIKO_CACHE_TTL);
        assert_eq!(i.layers_dir, "/layers");
    }

    #[test]
    fn set_and_display() {
        let mut i = LifecycleInputs::from_env(
            Version::new(0, 13),
            &env(&[("CNB_INSECURE_REGISTRIES", "a")]),
        );
        i.set(Field::InsecureRegistries, Value::Str("b".into()));
        i.set(Field::LayersDir, Value::Str("/l".into()));
        i.set(Field::UseDaemon, Value::Bool(true));
        i.set(Field::Uid, Value::Int(7));
        assert_eq!(i.insecure_registries, ["a", "b"]);
        assert_eq!(i.display(Field::InsecureRegistries), "[a b]");
        assert_eq!(i.display(Field::LayersDir), "/l");
        assert_eq!(i.display(Field::UseDaemon), "true");
        assert_eq!(i.display(Field::Uid), "7");
        assert_eq!(i.display(Field::KanikoCacheTtl), "336h0m0s");
    }
}
