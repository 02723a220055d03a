//! (placeholder: image references, filled by the registry work)
