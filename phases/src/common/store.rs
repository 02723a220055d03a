//! Which image store a phase reads and writes images with (Go `image.NewHandler`), and the
//! registry client all registry work goes through.

use cnb::image::{LayoutError, LayoutStore, Platform};
use cnb::registry::{Client, ClientOptions, Keychain};
use std::path::Path;

/// Go's image handler kinds (the daemon is not supported by cnb-lifecycle-rs).
#[derive(Clone, Debug)]
pub enum StoreKind {
    /// Images in registries.
    Remote,
    /// Images in an OCI layout tree under `-layout-dir`.
    Layout(LayoutStore),
}

impl StoreKind {
    pub fn is_remote(&self) -> bool {
        matches!(self, StoreKind::Remote)
    }

    /// How the store names the image `reference`, which is also the name Go's imgutil image
    /// reports (`Name()`: logs, `run-image.image`): the reference itself for a registry, the
    /// mapped path `<layout-dir>/<registry>/<repo>/<tag>` for a layout.
    pub fn store_name(&self, reference: &str) -> Result<String, LayoutError> {
        match self {
            StoreKind::Remote => Ok(reference.to_string()),
            StoreKind::Layout(store) => {
                Ok(store.path_for(reference)?.to_string_lossy().into_owned())
            }
        }
    }

    /// The platform images are resolved for (and that an image that does not exist gets):
    /// `linux/<this arch>` for a registry (imgutil remote), `linux/amd64` for a layout.
    pub fn platform(&self) -> Platform {
        match self {
            StoreKind::Remote => Platform::current(),
            StoreKind::Layout(_) => Platform::layout_default(),
        }
    }
}

/// Go `image.NewHandler` without the daemon: a layout when `-layout` is set AND a layout
/// directory is given, else the registry.
pub fn store_kind(use_layout: bool, layout_dir: Option<&Path>) -> StoreKind {
    match layout_dir {
        Some(dir) if use_layout && !dir.as_os_str().is_empty() => {
            StoreKind::Layout(LayoutStore::new(dir))
        }
        _ => StoreKind::Remote,
    }
}

/// A registry client with the phase's credentials and `-insecure-registry` prefixes, reporting
/// the progress of long blob transfers at info level (`progress.rs`).
pub fn client(keychain: &Keychain, insecure_registries: &[String]) -> Client {
    Client::new(ClientOptions {
        keychain: keychain.clone(),
        insecure_registries: insecure_registries.to_vec(),
        progress: Some(super::progress::reporter()),
        ..ClientOptions::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_platforms() {
        let remote = store_kind(false, None);
        assert_eq!(
            remote.store_name("127.0.0.1:9/app").unwrap(),
            "127.0.0.1:9/app"
        );
        let layout = store_kind(true, Some(Path::new("/l")));
        assert_eq!(
            layout.store_name("127.0.0.1:9/run:jammy").unwrap(),
            "/l/127.0.0.1:9/run/jammy"
        );
        assert_eq!(
            layout.store_name("busybox").unwrap(),
            "/l/index.docker.io/library/busybox/latest"
        );
        assert_eq!(layout.platform(), Platform::new("linux", "amd64"));
        assert_eq!(remote.platform(), Platform::current());
    }

    #[test]
    fn layout_needs_both_flag_and_dir() {
        assert!(store_kind(false, Some(Path::new("/l"))).is_remote());
        assert!(store_kind(true, None).is_remote());
        assert!(matches!(
            store_kind(true, Some(Path::new("/l"))),
            StoreKind::Layout(s) if s.layout_dir() == Path::new("/l")
        ));
    }
}
