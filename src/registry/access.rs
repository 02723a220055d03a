//! Registry access checks as the analyzer runs them (lifecycle-spec §8.1): a read check is a
//! manifest HEAD where any HTTP answer but 401/403 counts as readable (404 included: the image
//! may not exist yet) and only auth refusals and transport failures fail; a write check adds an
//! upload session opened with push scope and then deleted.

use super::client::{Client, Req};
use super::error::RegistryError;
use crate::image::reference::Reference;
use reqwest::Method;

impl Client {
    /// Can we read `r`?
    pub async fn check_read_access(&self, r: &Reference) -> Result<(), RegistryError> {
        match self.head_manifest(r).await {
            Ok(_) => Ok(()),
            Err(e) if e.status().is_some() && !e.is_unauthorized() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Can we read and push to `r`? Opens an upload session and deletes it again.
    pub async fn check_write_access(&self, r: &Reference) -> Result<(), RegistryError> {
        self.check_read_access(r).await?;
        let repo = r.context();
        let session = self
            .start_upload_scoped(repo, None, Client::push_scope(repo))
            .await?;
        if let Some(s) = session {
            // Best effort, like ggcr's CheckPushPermission: the check already succeeded.
            let req = Req::new(Method::DELETE, s.location, Client::push_scope(repo));
            let _ = self.send(repo, req).await;
        }
        Ok(())
    }
}
