//! (placeholder: filled by the privileges work)
