//! Tar archives as the Go lifecycle writes and reads them: byte-identical layer tars
//! (`header`, `writer`), compression choices and streaming codecs (`compress`), and safe
//! extraction for the restorer (`extract`).

pub mod compress;
pub mod extract;
pub mod header;
pub mod pgzip;
pub mod writer;

pub use compress::{Compression, Decoder, Encoder};
pub use extract::{Expected, ExtractError, ExtractOptions, Extracted, extract};
pub use header::{EntryKind, NORMALIZED_MTIME, TarHeader};
pub use writer::{Owner, TarWriter, header_from_metadata};
