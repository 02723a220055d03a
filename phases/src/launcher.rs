//! The launcher (placeholder: filled by the launcher work).
