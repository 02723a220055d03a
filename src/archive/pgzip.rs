//! gzip compressed on several threads, for big layers on an otherwise idle core.
//!
//! The input is cut into fixed blocks of [`BLOCK`] bytes. Each block is deflated on its own
//! (raw deflate, the same level, an empty dictionary) and ended with a sync flush — an empty
//! stored block that byte-aligns the output — so the compressed blocks concatenate into one
//! valid deflate stream; the last block ends the stream. The gzip header and trailer (CRC-32
//! and length of the whole input) go around them. This is the format `pigz` writes; any gzip
//! reader decodes it as one member.
//!
//! A block whose samples do not compress (already compressed files) is stored rather than
//! deflated: a copy instead of a slow pass that would not shrink it.
//!
//! The bytes depend only on the input and the level: not on the number of threads, nor on how
//! the input was cut into writes. Starting every block without the previous 32 KiB as
//! dictionary costs a little ratio (well under 1% at 1 MiB blocks on layer data).
//!
//! Memory: at most `workers` blocks are being compressed at once, each holding its input
//! and its output (about 2 × [`BLOCK`]), plus the block being filled.

use flate2::{Compress, Crc, FlushCompress, Status};
use std::collections::VecDeque;
use std::io::{self, Write};
use std::thread::JoinHandle;

/// Input bytes per independently compressed block.
pub const BLOCK: usize = 1024 * 1024;

/// The gzip header written: no name, mtime 0, no extra flags, OS "unknown".
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A gzip writer that compresses blocks on up to `workers` threads; call
/// [`finish`](ParallelGzip::finish) to write the last block and the trailer.
pub struct ParallelGzip<W: Write> {
    out: W,
    level: u32,
    workers: usize,
    buf: Vec<u8>,
    crc: Crc,
    running: VecDeque<JoinHandle<io::Result<Vec<u8>>>>,
    header_written: bool,
}

impl<W: Write> ParallelGzip<W> {
    /// `level` 0–9 (as gzip); `workers` ≥ 1 (1 compresses on the calling thread's behalf in
    /// one helper thread at a time — the same bytes).
    pub fn new(out: W, level: u32, workers: usize) -> ParallelGzip<W> {
        ParallelGzip {
            out,
            level: level.min(9),
            workers: workers.max(1),
            buf: Vec::with_capacity(BLOCK),
            crc: Crc::new(),
            running: VecDeque::new(),
            header_written: false,
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out.write_all(&HEADER)?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Writes out the oldest running block.
    fn drain_one(&mut self) -> io::Result<()> {
        if let Some(h) = self.running.pop_front() {
            let bytes = h
                .join()
                .map_err(|_| io::Error::other("gzip block thread panicked"))??;
            self.header()?;
            self.out.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Starts compressing the filled block (`last`: it ends the stream).
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        while self.running.len() >= self.workers {
            self.drain_one()?;
        }
        let input = std::mem::replace(&mut self.buf, Vec::with_capacity(BLOCK));
        self.crc.update(&input);
        let level = self.level;
        let h = std::thread::Builder::new()
            .name("gzip-block".into())
            .spawn(move || deflate_block(&input, level, last))?;
        self.running.push_back(h);
        Ok(())
    }

    /// Compresses what is left as the last block, then writes the trailer; returns the
    /// inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.dispatch(true)?;
        while !self.running.is_empty() {
            self.drain_one()?;
        }
        self.header()?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        self.out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = (BLOCK - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == BLOCK {
            self.dispatch(false)?;
        }
        Ok(n)
    }

    /// Block boundaries never depend on flushes: only finished blocks are passed on.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Bytes of each sample [`incompressible`] compresses.
const SAMPLE: usize = 8 * 1024;
/// Samples taken across a block.
const SAMPLES: usize = 4;

/// Whether `input` looks not worth deflating: each of [`SAMPLES`] slices spread over it
/// deflates to more than 95% of its size (already compressed data: jars, zips, images; fast
/// deflate even makes it bigger). Such a block is stored instead: it costs a copy rather than
/// a deflate pass, and comes out no bigger. A block with any compressible sample is deflated.
/// `c` is the block's compressor at `level`, reset after each sample.
fn incompressible(input: &[u8], c: &mut Compress, level: u32) -> io::Result<bool> {
    if level == 0 || input.len() < SAMPLES * SAMPLE * 2 {
        return Ok(false);
    }
    let mut out = Vec::with_capacity(SAMPLE * 2);
    for k in 0..SAMPLES {
        let start = k * (input.len() - SAMPLE) / (SAMPLES - 1);
        let sample = &input[start..start + SAMPLE];
        out.clear();
        let status = c
            .compress_vec(sample, &mut out, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        // Out of room (it grew past twice the sample) counts as incompressible too.
        let done = matches!(status, Status::StreamEnd);
        c.reset();
        if done && out.len() * 20 <= sample.len() * 19 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `input` as raw deflate stored blocks (at most 65,535 bytes each; byte-aligned, so no sync
/// flush is needed after them), the last one final when `last`.
fn stored_blocks(input: &[u8], last: bool) -> Vec<u8> {
    const MAX: usize = 65_535;
    let mut out = Vec::with_capacity(input.len() + (input.len() / MAX + 1) * 5);
    let mut chunks = input.chunks(MAX).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[u8::from(last), 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let fin = last && chunks.peek().is_none();
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        out.push(u8::from(fin));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// Raw deflate of one block, ended by a sync flush (or the end of the stream for the last);
/// stored as is when it looks incompressible.
fn deflate_block(input: &[u8], level: u32, last: bool) -> io::Result<Vec<u8>> {
    // One compressor per block, for the samples and then the block (reset in between).
    let mut c = Compress::new(flate2::Compression::new(level), false);
    if incompressible(input, &mut c, level)? {
        return Ok(stored_blocks(input, last));
    }
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    loop {
        let consumed = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
        if out.capacity() - out.len() < 64 * 1024 {
            out.reserve(256 * 1024);
        }
        let status = c
            .compress_vec(&input[consumed.min(input.len())..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = usize::try_from(c.total_in()).unwrap_or(usize::MAX) >= input.len();
        let room_left = out.len() < out.capacity();
        match status {
            Status::StreamEnd => return Ok(out),
            // A sync flush is complete once all input is in and the output did not fill up.
            _ if !last && all_in && room_left => return Ok(out),
            Status::Ok | Status::BufError => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn data(n: usize) -> Vec<u8> {
        // half compressible text, half noise
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..n)
            .map(|i| {
                if (i / 5000) % 2 == 0 {
                    b"layer data, repeated often; "[i % 28]
                } else {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                }
            })
            .collect()
    }

    fn gz(input: &[u8], workers: usize, write: usize) -> Vec<u8> {
        let mut g = ParallelGzip::new(Vec::new(), 1, workers);
        for part in input.chunks(write.max(1)) {
            g.write_all(part).unwrap();
        }
        g.finish().unwrap()
    }

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn round_trips_and_ignores_threads_and_write_sizes() {
        for n in [0, 1, 1000, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 12_345] {
            let input = data(n);
            let one = gz(&input, 1, 7919);
            assert_eq!(gunzip(&one), input, "n={n}");
            assert_eq!(
                gz(&input, 4, n.max(1)),
                one,
                "n={n}: threads/writes change nothing"
            );
            assert_eq!(gz(&input, 2, 65_536), one, "n={n}");
        }
    }

    #[test]
    fn gnu_gzip_reads_it() {
        // deflated blocks, then a stored one
        let mut input = data(2 * BLOCK + 999);
        input.extend_from_slice(&noise(2 * BLOCK, 9));
        assert!(judged_incompressible(&input[3 * BLOCK..4 * BLOCK]));
        let bytes = gz(&input, 2, 100_000);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.gz");
        std::fs::write(&p, &bytes).unwrap();
        let Ok(out) = std::process::Command::new("gzip")
            .arg("-dc")
            .arg(&p)
            .output()
        else {
            eprintln!("skipped: no gzip");
            return;
        };
        assert!(out.status.success());
        assert_eq!(out.stdout, input);
        let t = std::process::Command::new("gzip")
            .arg("-t")
            .arg(&p)
            .status()
            .unwrap();
        assert!(t.success(), "gzip -t accepts it");
    }

    /// [`incompressible`] at level 1 with a fresh compressor, as `deflate_block` calls it.
    fn judged_incompressible(block: &[u8]) -> bool {
        let mut c = Compress::new(flate2::Compression::new(1), false);
        incompressible(block, &mut c, 1).unwrap()
    }

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn incompressible_blocks_are_stored_and_read_back() {
        // noise (stored), text (deflated), noise with some text inside (deflated), a short
        // noise tail (too short to sample: deflated)
        let mut input = noise(BLOCK, 1);
        input.extend(
            data(BLOCK)
                .iter()
                .enumerate()
                .map(|(i, b)| if i % 2 == 0 { b'a' } else { *b }),
        );
        let mut mixed = noise(BLOCK, 2);
        // over the second of the samples (spread evenly; text between samples is not seen)
        let second = (BLOCK - SAMPLE) / (SAMPLES - 1);
        mixed[second - SAMPLE..second + 2 * SAMPLE].fill(b'x');
        input.extend_from_slice(&mixed);
        input.extend_from_slice(&noise(10_000, 3));
        assert!(judged_incompressible(&input[..BLOCK]));
        assert!(!judged_incompressible(&input[BLOCK..2 * BLOCK]));
        assert!(
            !judged_incompressible(&mixed),
            "one compressible sample suffices"
        );
        let bytes = gz(&input, 2, 65_536);
        assert_eq!(gunzip(&bytes), input);
        assert_eq!(gz(&input, 1, 7919), bytes, "threads/writes change nothing");
        // the stored block is the input plus 5 bytes per 64 KiB
        let stored = stored_blocks(&input[..BLOCK], false);
        assert_eq!(stored.len(), BLOCK + 17 * 5);
        assert_eq!(&bytes[10..10 + stored.len()], &stored[..]);
        // a stored last block ends the stream
        let all_noise = noise(3 * BLOCK / 2, 4);
        let bytes = gz(&all_noise, 2, BLOCK);
        assert_eq!(gunzip(&bytes), all_noise);
        assert!(bytes.len() < all_noise.len() + 200, "{}", bytes.len());
        // pinned: changing how blocks are judged or stored changes every layer blob
        assert_eq!(
            crate::digest::Digest::of(&gz(&input, 2, BLOCK)).as_str(),
            "sha256:100c090012d4e18f20eef8c7b86e1ff5ed61976c2f1f2bcb67de971a86f7f7ef"
        );
    }

    #[test]
    fn ratio_close_to_one_stream() {
        let input = data(4 * BLOCK);
        let ours = gz(&input, 2, BLOCK).len();
        let mut single = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
        single.write_all(&input).unwrap();
        let single = single.finish().unwrap().len();
        assert!(
            (ours as f64) < single as f64 * 1.01,
            "{ours} vs one stream {single}"
        );
    }
}
