//! Go `image.RegistryHandler`: registry read and read/write checks with the Go lifecycle's
//! messages. A read check passes on any HTTP answer but 401/403 (a missing image is fine); a
//! write check also opens (and cancels) an upload session with push scope.

use cnb::image::reference::Reference;
use cnb::registry::Client;

/// Every non-empty ref must be readable; the first failure is
/// "failed to ensure registry read access to <ref>: <cause>".
pub async fn ensure_read_access<S: AsRef<str>>(client: &Client, refs: &[S]) -> Result<(), String> {
    for r in refs.iter().map(AsRef::as_ref).filter(|r| !r.is_empty()) {
        check(client, r, false)
            .await
            .map_err(|e| format!("failed to ensure registry read access to {r}: {e}"))?;
    }
    Ok(())
}

/// Every non-empty ref must be readable and writable; the first failure is
/// "failed to ensure registry read/write access to <ref>: <cause>".
pub async fn ensure_write_access<S: AsRef<str>>(client: &Client, refs: &[S]) -> Result<(), String> {
    for r in refs.iter().map(AsRef::as_ref).filter(|r| !r.is_empty()) {
        check(client, r, true)
            .await
            .map_err(|e| format!("failed to ensure registry read/write access to {r}: {e}"))?;
    }
    Ok(())
}

/// Go's run-image mirror check (`CheckReadAccess`): true when `r` is readable.
pub async fn can_read(client: &Client, r: &str) -> bool {
    check(client, r, false).await.is_ok()
}

async fn check(client: &Client, r: &str, write: bool) -> Result<(), String> {
    let reference = Reference::parse(r).map_err(|e| e.to_string())?;
    let res = if write {
        client.check_write_access(&reference).await
    } else {
        client.check_read_access(&reference).await
    };
    res.map_err(|e| e.to_string())
}
