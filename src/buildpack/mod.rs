//! (placeholder: filled by the buildpack work)
