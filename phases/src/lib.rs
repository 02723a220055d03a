//! The lifecycle phases. Each phase module has the same shape:
//! flag table → `Inputs` → `run(inputs) -> Result<_, LifecycleError>`.
//! [`cli`] holds what they share: the Go-`flag` parser, flag definitions, env fallbacks,
//! path resolution, validations and the multi-call dispatch.

pub mod analyzer;
pub mod builder;
pub mod cli;
pub mod common;
pub mod creator;
pub mod detector;
pub mod exporter;
pub mod launcher;
pub mod rebaser;
pub mod restorer;
