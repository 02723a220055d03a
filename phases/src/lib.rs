//! The lifecycle phases. Each phase module has the same shape:
//! flag table → `Inputs` → `run(inputs) -> Result<_, LifecycleError>`.

pub mod launcher;
