//! Test support shared by the test binaries of both crates: a real CNCF Distribution registry
//! (Debian's `docker-registry`) on loopback, and fixture images built without our own code
//! (`umoci` + `skopeo`). Missing tools are a hard failure naming the Debian package: nothing is
//! skipped silently.

mod fixture;
mod registry;
mod tools;

pub use fixture::{
    BusyboxFixture, FixtureOptions, push_busybox_fixture, push_busybox_fixture_with,
};
pub use registry::{LoggedRequest, Registry, RegistryOptions, TokenAuthConfig, shared_registry};
pub use tools::{require_tool, skopeo, skopeo_copy, skopeo_inspect_config, skopeo_inspect_raw};
