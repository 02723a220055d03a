//! Progress of long blob transfers at info level, so a long export or restore never looks hung
//! (issue #7). Only transfers that are still running after an interval (5 s; override with
//! `CNB_RS_PROGRESS_INTERVAL_MS`) print anything: short exports keep Go's log output line for
//! line. After that, one line per blob at most once per interval, and a final `(100%)` line.
//!
//! The reporter is called from concurrent transfers for every chunk: per call it takes a short
//! map lock to find the blob's state, then decides with atomics whether a line is due; no lock is
//! held while a line is formatted or printed.

use cnb::registry::{Direction, Progress, ProgressFn};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The environment variable overriding the interval (milliseconds; `0` = every chunk).
pub const INTERVAL_ENV: &str = "CNB_RS_PROGRESS_INTERVAL_MS";
/// The default: the first line after 5 s of a blob's transfer, then at most every 5 s.
pub const DEFAULT_INTERVAL_MS: u64 = 5_000;
/// Blobs of unknown size never report completion; forget them after this long without news.
const FORGET_AFTER_MS: u64 = 10 * 60 * 1000;
/// Look for forgotten blobs only when this many are tracked.
const PRUNE_ABOVE: usize = 64;

/// A monotonic clock in milliseconds (injectable for tests).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
}

/// Milliseconds since the reporter was made.
pub struct MonotonicClock(Instant);

impl Default for MonotonicClock {
    fn default() -> Self {
        MonotonicClock(Instant::now())
    }
}

impl Clock for MonotonicClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// (is a push, transfer id): `Direction` is not `Hash`. Keyed by transfer, not digest, so
/// concurrent streamed uploads (digest unknown until they end) are told apart.
type Key = (bool, u64);
type Sink = Box<dyn Fn(&str) + Send + Sync>;

struct Blob {
    /// When the next line is due (clock milliseconds).
    next_due: AtomicU64,
    printed: AtomicBool,
    last_seen: AtomicU64,
}

/// Throttles per-blob progress lines; see the module comment.
pub struct Reporter<C: Clock = MonotonicClock> {
    interval_ms: u64,
    clock: C,
    blobs: Mutex<HashMap<Key, Arc<Blob>>>,
    sink: Sink,
}

impl<C: Clock> Reporter<C> {
    /// A reporter writing each line with `sink`.
    pub fn new(interval_ms: u64, clock: C, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Reporter {
            interval_ms,
            clock,
            blobs: Mutex::new(HashMap::new()),
            sink: Box::new(sink),
        }
    }

    /// Called for every chunk of every transfer.
    pub fn observe(&self, p: &Progress) {
        let now = self.clock.now_ms();
        let key: Key = (p.direction == Direction::Push, p.transfer);
        let complete = p.total.is_some_and(|t| p.done >= t);
        let blob = {
            let mut blobs = self.blobs.lock().unwrap_or_else(|e| e.into_inner());
            let blob = match blobs.get(&key) {
                Some(b) => b.clone(),
                None => {
                    if blobs.len() >= PRUNE_ABOVE {
                        blobs.retain(|_, b| {
                            now.saturating_sub(b.last_seen.load(Ordering::Relaxed))
                                < FORGET_AFTER_MS
                        });
                    }
                    let b = Arc::new(Blob {
                        next_due: AtomicU64::new(now.saturating_add(self.interval_ms)),
                        printed: AtomicBool::new(false),
                        last_seen: AtomicU64::new(now),
                    });
                    blobs.insert(key, b.clone());
                    b
                }
            };
            if complete {
                blobs.remove(&key);
            }
            blob
        };
        blob.last_seen.store(now, Ordering::Relaxed);
        let due = blob.next_due.load(Ordering::Acquire);
        if complete {
            // The final line only for a blob that already reported (or is due now).
            if blob.printed.load(Ordering::Acquire) || now >= due {
                (self.sink)(&line(p));
            }
            return;
        }
        if now < due {
            return;
        }
        let next = now.saturating_add(self.interval_ms);
        if blob
            .next_due
            .compare_exchange(due, next, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return; // another transfer thread printed this blob's line just now
        }
        blob.printed.store(true, Ordering::Release);
        (self.sink)(&line(p));
    }
}

/// The interval from `CNB_RS_PROGRESS_INTERVAL_MS` (unset or not a number: 5 s).
pub fn interval_from_env() -> u64 {
    std::env::var(INTERVAL_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_INTERVAL_MS)
}

/// The registry client's progress callback: prints through `cnb::info!`.
pub fn reporter() -> ProgressFn {
    let r = Reporter::new(interval_from_env(), MonotonicClock::default(), |l: &str| {
        cnb::info!("{l}")
    });
    Arc::new(move |p: &Progress| r.observe(p))
}

/// `Uploading sha256:0123456789ab…: 120.0 MB / 600.0 MB (20%)`.
pub fn line(p: &Progress) -> String {
    let verb = match p.direction {
        Direction::Push => "Uploading",
        Direction::Pull => "Downloading",
    };
    let what = match &p.digest {
        Some(d) => {
            let hex = d.hex();
            let short = hex.get(..12).unwrap_or(hex);
            format!("sha256:{short}…")
        }
        None => "a blob".to_string(),
    };
    match p.total {
        Some(total) if total > 0 => {
            let pct = (u128::from(p.done.min(total)) * 100 / u128::from(total)) as u64;
            format!(
                "{verb} {what}: {} / {} ({pct}%)",
                bytes(p.done),
                bytes(total)
            )
        }
        _ => format!("{verb} {what}: {}", bytes(p.done)),
    }
}

/// Decimal units, one decimal place: `999 B`, `1.5 kB`, `120.0 MB`, `1.2 GB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [(&str, f64); 4] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    let f = n as f64;
    for (unit, size) in UNITS {
        if f >= size {
            return format!("{:.1} {unit}", f / size);
        }
    }
    format!("{n} B")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cnb::digest::Digest;
    use std::sync::atomic::AtomicU64;

    #[derive(Clone, Default)]
    struct FakeClock(Arc<AtomicU64>);
    impl FakeClock {
        fn set(&self, ms: u64) {
            self.0.store(ms, Ordering::SeqCst);
        }
    }
    impl Clock for FakeClock {
        fn now_ms(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn setup(interval: u64) -> (Reporter<FakeClock>, FakeClock, Arc<Mutex<Vec<String>>>) {
        let clock = FakeClock::default();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        let r = Reporter::new(interval, clock.clone(), move |s: &str| {
            l.lock().unwrap().push(s.to_string())
        });
        (r, clock, lines)
    }

    fn d(c: char) -> Digest {
        Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
    }

    fn push(digest: &Digest, done: u64, total: u64) -> Progress {
        Progress {
            direction: Direction::Push,
            // one transfer per blob in these tests
            transfer: digest
                .hex()
                .bytes()
                .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b))),
            digest: Some(digest.clone()),
            done,
            total: Some(total),
        }
    }

    #[test]
    fn fast_transfer_prints_nothing() {
        let (r, clock, lines) = setup(5000);
        let a = d('a');
        for (t, done) in [(0, 100), (1000, 500), (4999, 1000)] {
            clock.set(t);
            r.observe(&push(&a, done, 1000));
        }
        assert!(lines.lock().unwrap().is_empty());
    }

    #[test]
    fn slow_transfer_prints_once_per_interval_and_a_final_line() {
        let (r, clock, lines) = setup(5000);
        let a = d('a');
        let total = 600_000_000;
        for (t, done) in [
            (0, 1_000_000),
            (4_000, 60_000_000),
            (5_000, 120_000_000), // first line: 5 s in
            (6_000, 130_000_000), // throttled
            (9_999, 200_000_000), // throttled
            (10_000, 300_000_000),
            (12_000, 600_000_000), // done: final line although not due
        ] {
            clock.set(t);
            r.observe(&push(&a, done, total));
        }
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "Uploading sha256:aaaaaaaaaaaa…: 120.0 MB / 600.0 MB (20%)",
                "Uploading sha256:aaaaaaaaaaaa…: 300.0 MB / 600.0 MB (50%)",
                "Uploading sha256:aaaaaaaaaaaa…: 600.0 MB / 600.0 MB (100%)",
            ]
        );
        // the finished blob is forgotten: a new transfer of it starts its own interval
        clock.set(20_000);
        r.observe(&push(&a, 1, total));
        assert_eq!(lines.lock().unwrap().len(), 3);
    }

    #[test]
    fn blobs_are_throttled_independently() {
        let (r, clock, lines) = setup(5000);
        let (a, b) = (d('a'), d('b'));
        clock.set(0);
        r.observe(&push(&a, 1, 10));
        clock.set(3000);
        r.observe(&push(&b, 1, 10));
        clock.set(5000);
        r.observe(&push(&a, 2, 10)); // a due
        r.observe(&push(&b, 2, 10)); // b not yet
        clock.set(8000);
        r.observe(&push(&b, 3, 10)); // b due
        r.observe(&push(&a, 3, 10)); // a not yet
        r.observe(&push(&b, 10, 10)); // b final
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "Uploading sha256:aaaaaaaaaaaa…: 2 B / 10 B (20%)",
                "Uploading sha256:bbbbbbbbbbbb…: 3 B / 10 B (30%)",
                "Uploading sha256:bbbbbbbbbbbb…: 10 B / 10 B (100%)",
            ]
        );
    }

    #[test]
    fn zero_interval_prints_every_chunk_and_downloads_and_unknown_sizes_read_well() {
        let (r, _clock, lines) = setup(0);
        r.observe(&Progress {
            direction: Direction::Pull,
            transfer: 3,
            digest: Some(d('c')),
            done: 1_500,
            total: Some(3_000),
        });
        r.observe(&Progress {
            direction: Direction::Pull,
            transfer: 3,
            digest: Some(d('c')),
            done: 3_000,
            total: Some(3_000),
        });
        r.observe(&Progress {
            direction: Direction::Push,
            transfer: 99,
            digest: None,
            done: 2_500_000_000,
            total: None,
        });
        assert_eq!(
            *lines.lock().unwrap(),
            [
                "Downloading sha256:cccccccccccc…: 1.5 kB / 3.0 kB (50%)",
                "Downloading sha256:cccccccccccc…: 3.0 kB / 3.0 kB (100%)",
                "Uploading a blob: 2.5 GB",
            ]
        );
    }

    #[test]
    fn concurrent_callers_print_one_line_per_due_time() {
        let (r, clock, lines) = setup(5000);
        let r = Arc::new(r);
        let a = d('a');
        clock.set(0);
        r.observe(&push(&a, 1, 1000));
        clock.set(5000);
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (r, a) = (r.clone(), a.clone());
                std::thread::spawn(move || {
                    for j in 0..100 {
                        r.observe(&push(&a, 2 + i * 100 + j, 1000));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(lines.lock().unwrap().len(), 1);
    }

    #[test]
    fn forgets_stale_unknown_size_blobs() {
        let (r, clock, _lines) = setup(5000);
        for i in 0..PRUNE_ABOVE as u64 {
            clock.set(i);
            r.observe(&Progress {
                direction: Direction::Push,
                transfer: i,
                digest: Some(Digest::of(&i.to_le_bytes())),
                done: 1,
                total: None,
            });
        }
        clock.set(FORGET_AFTER_MS + 1_000);
        r.observe(&push(&d('a'), 1, 2));
        assert_eq!(r.blobs.lock().unwrap().len(), 1);
    }

    #[test]
    fn byte_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_000), "1.0 kB");
        assert_eq!(bytes(120_000_000), "120.0 MB");
        assert_eq!(bytes(1_240_000_000), "1.2 GB");
    }
}
