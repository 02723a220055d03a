//! Tar archives as the Go lifecycle writes and reads them: byte-identical layer tars
//! (`header`, `writer`), compression choices and streaming codecs (`compress`), and safe
//! extraction for the restorer (`extract`).

pub mod compress;
pub mod extract;
pub mod header;
pub mod writer;

pub use compress::{Compression, Decoder, Encoder};
pub use extract::{ExtractError, ExtractOptions, Expected, Extracted, extract};
pub use header::{EntryKind, NORMALIZED_MTIME, TarHeader};
pub use writer::{Owner, TarWriter, header_from_metadata};
