//! Which image store a phase reads and writes images with (Go `image.NewHandler`), and the
//! registry client all registry work goes through.

use cnb::image::LayoutStore;
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

/// A registry client with the phase's credentials and `-insecure-registry` prefixes.
pub fn client(keychain: &Keychain, insecure_registries: &[String]) -> Client {
    Client::new(ClientOptions {
        keychain: keychain.clone(),
        insecure_registries: insecure_registries.to_vec(),
        ..ClientOptions::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
