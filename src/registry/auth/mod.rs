//! The `WWW-Authenticate` challenge flow: parsing challenges and getting bearer tokens.

pub(crate) mod challenge;
pub(crate) mod token;
