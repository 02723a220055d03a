//! Layers the app image and the cache image both need, made once: the app side streams the
//! gzip blob into the app image's repository and announces it here; the cache side, on
//! another thread, waits for it and mounts the same blob into the cache image's repository
//! instead of compressing and uploading the layer again. A slot the app side never fills
//! (its export failed or was cut short) is closed, so the cache side never waits forever and
//! falls back to writing the layer itself.

use cnb::digest::Digest;
use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard};

/// A layer's blob as the app side stored it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub diff_id: Digest,
    pub digest: Digest,
    pub size: u64,
}

enum Slot {
    Pending,
    Ready(Blob),
    Gone,
}

pub struct SharedBlobs {
    /// The app image the blobs are stored for.
    image: String,
    slots: Mutex<BTreeMap<String, Slot>>,
    changed: Condvar,
}

impl SharedBlobs {
    /// Slots for the layer ids `ids`, all pending.
    pub fn new(image: &str, ids: impl IntoIterator<Item = String>) -> SharedBlobs {
        SharedBlobs {
            image: image.to_string(),
            slots: Mutex::new(ids.into_iter().map(|id| (id, Slot::Pending)).collect()),
            changed: Condvar::new(),
        }
    }

    pub fn image(&self) -> &str {
        &self.image
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the app side stores a blob for layer `id` (waiting for it may take a while).
    pub fn expects(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Layer `id`'s gzip blob is stored for the app image.
    pub fn ready(&self, id: &str, blob: &Blob) {
        if let Some(s) = self.lock().get_mut(id) {
            *s = Slot::Ready(blob.clone());
        }
        self.changed.notify_all();
    }

    /// No more announcements: every pending slot is given up.
    pub fn close(&self) {
        for s in self.lock().values_mut() {
            if matches!(s, Slot::Pending) {
                *s = Slot::Gone;
            }
        }
        self.changed.notify_all();
    }

    /// Waits for layer `id`: its blob, or `None` when it will not come.
    pub fn wait(&self, id: &str) -> Option<Blob> {
        let mut g = self.lock();
        loop {
            match g.get(id)? {
                Slot::Ready(b) => return Some(b.clone()),
                Slot::Gone => return None,
                Slot::Pending => {
                    g = self.changed.wait(g).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

impl Drop for SharedBlobs {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn waits_for_ready_or_close() {
        let s = Arc::new(SharedBlobs::new(
            "r/app",
            ["a".to_string(), "b".to_string()],
        ));
        assert_eq!(s.wait("c"), None, "unknown id: nothing to wait for");
        let b = Blob {
            diff_id: Digest::of(b"tar"),
            digest: Digest::of(b"x"),
            size: 7,
        };
        let s2 = s.clone();
        let t = std::thread::spawn(move || (s2.wait("a"), s2.wait("b")));
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.ready("a", &b);
        s.close();
        assert_eq!(t.join().unwrap(), (Some(b), None));
    }
}
