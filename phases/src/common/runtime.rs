//! The tokio runtime a phase body runs its registry and store work on.

use cnb::exit::{ExitCode, LifecycleError};
use std::future::Future;
use std::sync::OnceLock;

/// A multi-threaded runtime with IO and timers (blob transfers run concurrently; blocking
/// work such as tar extraction goes to `spawn_blocking`).
pub fn runtime() -> Result<tokio::runtime::Runtime, LifecycleError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lifecycle")
        .build()
        .map_err(|e| LifecycleError::failed(ExitCode::Failed, "start async runtime", e))
}

/// Runs `fut` to completion on a fresh [`runtime`].
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, LifecycleError> {
    Ok(runtime()?.block_on(fut))
}

/// One process-wide runtime, for a phase whose registry client must outlive a single
/// `block_on` (the rebaser reads the app image before the privilege drop and writes after it;
/// a client's pooled connections belong to the runtime that opened them).
pub fn shared_runtime() -> Result<&'static tokio::runtime::Runtime, LifecycleError> {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RT.get() {
        return Ok(rt);
    }
    let rt = runtime()?;
    Ok(RT.get_or_init(|| rt))
}
