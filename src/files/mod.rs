//! (placeholder: filled by the work on this module)
