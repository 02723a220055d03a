//! Image model (manifests, indexes, configs, descriptors, digests), references and the
//! image stores (remote registry, OCI layout, in-memory for tests).

pub mod reference;
