//! (placeholder: filled by the work on this module)
pub mod metadata;
