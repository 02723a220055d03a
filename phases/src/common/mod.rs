//! Plumbing every image-handling phase shares (analyzer now; restorer, exporter, rebaser and
//! creator later): the tokio runtime, registry credentials resolved before the privilege
//! drop and handed to the phase body, the registry client, Go's registry access checks and
//! the choice of image store (registry or OCI layout).

pub mod access;
pub mod keychain;
pub mod progress;
pub mod runtime;
pub mod store;
pub mod timer;

pub use access::{ensure_read_access, ensure_write_access};
pub use keychain::KeychainSlot;
pub use runtime::{block_on, runtime, shared_runtime};
pub use store::{StoreKind, client, store_kind};
