//! (placeholder: owned by the launcher work)
