//! Registry credentials, resolved the Go way (`auth.DefaultKeychain(images…)`: the
//! `CNB_REGISTRY_AUTH` variable, then the docker config and its credential helpers for the
//! registries of the given images) while the phase still runs as the invoking user, i.e. in
//! the phase's `privileges` step before the uid/gid drop (lifecycle-spec §11.1). The
//! [`KeychainSlot`] carries the result from `privileges(&Inputs)` to `run(&Inputs)`.

use cnb::exit::{ExitCode, LifecycleError};
use cnb::registry::Keychain;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A keychain filled once, shared by the clones of a phase's `Inputs`.
#[derive(Clone, Default)]
pub struct KeychainSlot(Arc<OnceLock<Keychain>>);

impl KeychainSlot {
    /// Resolves the keychain for `images` now (Go `DefaultKeychain`) unless it already is.
    /// Invalid `CNB_REGISTRY_AUTH` fails like Go: "failed to resolve keychain: …" (exit 1).
    pub fn resolve<S: AsRef<str>>(&self, images: &[S]) -> Result<&Keychain, LifecycleError> {
        if let Some(k) = self.0.get() {
            return Ok(k);
        }
        let k = Keychain::from_environment(images)
            .map_err(|e| LifecycleError::failed(ExitCode::Failed, "resolve keychain", e))?;
        Ok(self.0.get_or_init(|| k))
    }

    /// The keychain resolved by [`KeychainSlot::resolve`], if it ran.
    pub fn get(&self) -> Option<&Keychain> {
        self.0.get()
    }
}

impl fmt::Debug for KeychainSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.0.get().is_some() {
            "resolved"
        } else {
            "unresolved"
        };
        write!(f, "KeychainSlot({state})")
    }
}

/// Go `LifecycleInputs.RegistryImages`: the images whose registries get credentials — the
/// cache image, plus (unless the daemon is used) every other image the phase names. Empty
/// and repeated names are dropped.
pub fn registry_images<'a>(
    cache_image: Option<&'a str>,
    use_daemon: bool,
    others: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    if let Some(c) = cache_image {
        push(c);
    }
    if !use_daemon {
        others.into_iter().for_each(&mut push);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_images_like_go() {
        let imgs = registry_images(Some("r/cache"), false, ["r/app", "", "r/app", "r/run"]);
        assert_eq!(imgs, ["r/cache", "r/app", "r/run"]);
        assert_eq!(
            registry_images(Some("r/cache"), true, ["r/app"]),
            ["r/cache"]
        );
        assert!(registry_images(None, true, ["r/app"]).is_empty());
    }

    #[test]
    fn slot_resolves_once_and_is_shared_by_clones() {
        let slot = KeychainSlot::default();
        let twin = slot.clone();
        assert!(twin.get().is_none());
        slot.resolve(&["127.0.0.1:5000/app"]).unwrap();
        assert!(twin.get().is_some());
        assert_eq!(format!("{twin:?}"), "KeychainSlot(resolved)");
    }
}
