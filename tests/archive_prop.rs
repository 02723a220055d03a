//! Property tests of the layer engine (issue #4):
//! - writer round trip: generated trees → `layers::write_layer` → `archive::extract` into a
//!   fresh root → same names, types, modes, contents, link targets; every mtime the
//!   normalized one; ownership the forced owner (when running as root);
//! - hostile archives: generated tar streams (raw header bytes, so anything a hostile writer
//!   could produce) mixing `..`, absolute paths, symlink-then-write-through-it, pre-existing
//!   symlinks on disk, hard links out of the root and to links, device nodes, PAX records with
//!   odd paths and sizes, GNU long names, garbage and truncated headers, huge sizes. Whatever
//!   happens: no panic, an error names the layer, nothing outside the destination changes,
//!   no temporary file is left, no device node appears unless allowed, and no symlink made
//!   by the archive points outside unless allowed.
//!
//! `PROPTEST_CASES=N` overrides the number of cases of each property.

mod common;

use cnb::archive::{Compression, Expected, ExtractOptions, Owner, extract};
use cnb::layers::{self, LayerSpec};
use common::tree::{Node, describe, stays_inside};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn is_root() -> bool {
    // SAFETY: no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    ProptestConfig::with_cases(n)
}

// ---------------------------------------------------------------------------------------
// Writer round trip
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Kind {
    Dir {
        mode: u32,
    },
    File {
        mode: u32,
        data: Vec<u8>,
    },
    /// A symlink to an earlier node (index into the nodes made so far) or dangling.
    Symlink {
        to: prop::sample::Index,
        dangling: bool,
    },
    /// A hard link to an earlier regular file (the Go writer stores it as a second file).
    HardLink {
        to: prop::sample::Index,
    },
}

#[derive(Clone, Debug)]
struct Op {
    parent: prop::sample::Index,
    name: Vec<u8>,
    kind: Kind,
}

fn name_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => "[a-zA-Z0-9._-]{1,12}".prop_map(String::into_bytes),
        2 => "[a-zé日本語\u{1F600} ]{1,8}".prop_map(String::into_bytes),
        1 => "[a-z]{95,160}".prop_map(String::into_bytes),
        // Not UTF-8 at all: any byte but '/', NUL and newline (a newline in a name that
        // needs a PAX record is refused on extraction: tar-rs cannot read such a record;
        // see `pax_value_with_a_newline_is_refused` in archive_extract.rs).
        1 => prop::collection::vec(1u8..=255, 1..16).prop_map(|v| {
            v.into_iter().filter(|&b| b != b'/' && b != b'\n').collect::<Vec<u8>>()
        }),
    ]
}

fn data_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => prop::collection::vec(any::<u8>(), 0..2048),
        1 => (0usize..300_000, any::<u64>())
            .prop_map(|(n, seed)| cnb::layers::testtree::pseudo_random(seed | 1, n)),
    ]
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    prop_oneof![
        3 => (0u32..0o1000).prop_map(|m| Kind::Dir { mode: m | 0o700 }),
        5 => (0u32..0o10000, data_strategy())
            .prop_map(|(m, data)| Kind::File { mode: m | 0o400, data }),
        2 => (any::<prop::sample::Index>(), prop::bool::weighted(0.2))
            .prop_map(|(to, dangling)| Kind::Symlink { to, dangling }),
        1 => any::<prop::sample::Index>().prop_map(|to| Kind::HardLink { to }),
    ]
}

fn ops_strategy() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            name_strategy(),
            kind_strategy(),
        )
            .prop_map(|(parent, name, kind)| Op { parent, name, kind }),
        0..30,
    )
}

/// Builds the tree under `layer`; returns the paths (relative, bytes) of what was made.
fn build_tree(layer: &Path, ops: &[Op]) {
    // (relative path, is_dir, is_file)
    let mut nodes: Vec<(Vec<u8>, bool, bool)> = vec![(Vec::new(), true, false)];
    let mut dir_modes: Vec<(PathBuf, u32)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let dirs: Vec<&(Vec<u8>, bool, bool)> = nodes.iter().filter(|n| n.1).collect();
        let parent = dirs[op.parent.index(dirs.len())].0.clone();
        let mut name = format!("{i}-").into_bytes();
        name.extend_from_slice(&op.name);
        name.truncate(200);
        if name.starts_with(b".wh.") {
            name.insert(0, b'x');
        }
        if parent.len() + name.len() > 2500 {
            continue;
        }
        let rel = if parent.is_empty() {
            name.clone()
        } else {
            [&parent[..], b"/", &name[..]].concat()
        };
        let path = layer.join(OsString::from_vec(rel.clone()));
        match &op.kind {
            Kind::Dir { mode } => {
                fs::create_dir(&path).expect("mkdir");
                dir_modes.push((path, *mode));
                nodes.push((rel, true, false));
            }
            Kind::File { mode, data } => {
                fs::write(&path, data).expect("write");
                fs::set_permissions(&path, fs::Permissions::from_mode(*mode)).expect("chmod");
                nodes.push((rel, false, true));
            }
            Kind::Symlink { to, dangling } => {
                // A relative target that stays inside the layer: up to the layer root, then
                // down to the chosen node (or to a name that does not exist).
                let depth = parent
                    .split(|&b| b == b'/')
                    .filter(|c| !c.is_empty())
                    .count();
                let mut target = b"../".repeat(depth);
                if *dangling {
                    target.extend_from_slice("nowhere-é".as_bytes());
                } else {
                    let t = &nodes[to.index(nodes.len())].0;
                    if t.is_empty() {
                        target.push(b'.');
                    } else {
                        target.extend_from_slice(t);
                    }
                }
                std::os::unix::fs::symlink(OsString::from_vec(target), &path).expect("symlink");
                nodes.push((rel, false, false));
            }
            Kind::HardLink { to } => {
                let files: Vec<&(Vec<u8>, bool, bool)> = nodes.iter().filter(|n| n.2).collect();
                if files.is_empty() {
                    continue;
                }
                let t = layer.join(OsString::from_vec(files[to.index(files.len())].0.clone()));
                fs::hard_link(&t, &path).expect("link");
                nodes.push((rel, false, true));
            }
        }
    }
    for (p, mode) in dir_modes {
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod dir");
    }
}

fn round_trip(ops: &[Op], compression: Compression, owner_pick: (u32, u32)) {
    let src = tempfile::tempdir().expect("src");
    let layers_dir = src.path().join("layers");
    let layer = layers_dir.join("bp/layer");
    fs::create_dir_all(&layer).expect("mkdir");
    build_tree(&layer, ops);
    let owner = if is_root() {
        // Includes ids too big for USTAR octal (PAX uid/gid records).
        Owner::new(u64::from(owner_pick.0), u64::from(owner_pick.1))
    } else {
        // SAFETY: no preconditions.
        Owner::new(
            u64::from(unsafe { libc::geteuid() }),
            u64::from(unsafe { libc::getegid() }),
        )
    };
    let mut blob = Vec::new();
    let info = layers::write_layer(&LayerSpec::dir(&layer, owner), compression, &mut blob)
        .expect("write layer");
    let out = tempfile::tempdir().expect("out");
    let opts = ExtractOptions::new(out.path(), &layers_dir, "bp:layer");
    let got = extract(
        &blob[..],
        Some(compression.media_type()),
        &Expected {
            digest: Some(info.digest.clone()),
            diff_id: Some(info.diff_id.clone()),
        },
        &opts,
    )
    .expect("extract what we wrote");
    assert_eq!(got.diff_id, info.diff_id);

    let want = describe(&layer);
    let restored = describe(&out.path().join("bp/layer"));
    let keys = |m: &BTreeMap<Vec<u8>, Node>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&restored), keys(&want), "same names");
    for (k, w) in &want {
        let r = &restored[k];
        let name = String::from_utf8_lossy(k);
        assert_eq!(r.what, w.what, "{name}: kind/content/target");
        assert_eq!(r.mode, w.mode, "{name}: mode");
        assert_eq!(r.mtime, cnb::archive::NORMALIZED_MTIME, "{name}: mtime");
        if is_root() {
            assert_eq!(
                (u64::from(r.uid), u64::from(r.gid)),
                (owner.uid, owner.gid),
                "{name}: owner"
            );
        }
    }
    // Parent of the layer: real mode of the source `bp` dir.
    let bp_src = fs::metadata(layers_dir.join("bp")).expect("bp");
    let bp_out = fs::metadata(out.path().join("bp")).expect("bp out");
    assert_eq!(bp_out.mode() & 0o7777, bp_src.mode() & 0o7777);
}

fn compression_strategy() -> impl Strategy<Value = Compression> {
    prop_oneof![
        Just(Compression::None),
        Just(Compression::Gzip(1)),
        Just(Compression::Zstd(3)),
    ]
}

proptest! {
    #![proptest_config(cases(32))]

    #[test]
    fn written_trees_extract_to_the_same_tree(
        ops in ops_strategy(),
        compression in compression_strategy(),
        owner in (prop_oneof![Just(0u32), 1u32..70_000, 2_097_152u32..4_000_000],
                  prop_oneof![Just(0u32), 1u32..70_000, 2_097_152u32..4_000_000]),
    ) {
        round_trip(&ops, compression, owner);
    }
}

// ---------------------------------------------------------------------------------------
// Hostile archives
// ---------------------------------------------------------------------------------------

/// Path pieces; `@OUT` / `@DEST` / `@TMP` are replaced by the sandbox's absolute paths.
const PARTS: &[&str] = &[
    "..",
    ".",
    "",
    "layers",
    "bp",
    "a",
    "b",
    "esc",
    "outside",
    "keep",
    "etc",
    ".wh.x",
    ".wh..wh..opq",
    "dest",
    "é",
    "@OUT",
    "@DEST",
    "@TMP",
];

#[derive(Clone, Debug)]
enum Piece {
    Entry {
        name: Vec<u8>,
        typeflag: u8,
        link: Vec<u8>,
        mode: u32,
        size: Size,
        data_len: usize,
        pax: Vec<(String, Vec<u8>)>,
        gnu_long_name: Option<Vec<u8>>,
        bad_checksum: bool,
    },
    /// A symlink to somewhere, then a file written below it.
    SymlinkThenWrite { link: Vec<u8>, target: Vec<u8> },
    /// Random bytes (a partial or garbage header).
    Garbage(Vec<u8>),
    /// Two zero blocks in the middle: the end of the archive for readers.
    EndMarker,
}

#[derive(Clone, Debug)]
enum Size {
    Exact,
    Huge,
    Base256(u64),
}

fn path_strategy() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just(""),
            Just("/"),
            Just("/layers/"),
            Just("/layers/bp/"),
            Just("./")
        ],
        prop::collection::vec(prop::sample::select(PARTS), 0..5),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(lead, parts, slash)| {
            let mut s = lead.to_string();
            s.push_str(&parts.join("/"));
            if slash {
                s.push('/');
            }
            s.into_bytes()
        })
}

fn typeflag_strategy() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(b'0'),
        1 => Just(0u8),
        2 => Just(b'1'),
        3 => Just(b'2'),
        1 => Just(b'3'),
        1 => Just(b'4'),
        2 => Just(b'5'),
        1 => Just(b'6'),
        1 => Just(b'7'),
        1 => prop::sample::select(&[b'x', b'g', b'L', b'K', b'S', b'V', b'D', b'M', b'N', b'?'][..]),
    ]
}

fn pax_strategy() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    prop::collection::vec(
        (
            prop::sample::select(
                &[
                    "path",
                    "linkpath",
                    "size",
                    "uid",
                    "gid",
                    "mtime",
                    "GNU.sparse.size",
                    "x",
                ][..],
            ),
            prop_oneof![
                path_strategy(),
                Just(b"99999999999999999999".to_vec()),
                Just(b"-1".to_vec()),
                Just(b"18446744073709551615".to_vec()),
                Just(Vec::new()),
                prop::collection::vec(any::<u8>(), 0..40),
            ],
        )
            .prop_map(|(k, v)| (k.to_string(), v)),
        0..3,
    )
}

fn piece_strategy() -> impl Strategy<Value = Piece> {
    let entry = (
        path_strategy(),
        typeflag_strategy(),
        path_strategy(),
        prop_oneof![Just(0o644u32), Just(0o755), Just(0o4755), 0u32..0o10000],
        prop_oneof![8 => Just(Size::Exact), 1 => Just(Size::Huge),
                    1 => any::<u64>().prop_map(Size::Base256)],
        prop_oneof![Just(0usize), 1usize..2000],
        prop_oneof![4 => Just(Vec::new()), 1 => pax_strategy()],
        prop::option::weighted(0.1, path_strategy()),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(name, typeflag, link, mode, size, data_len, pax, gnu_long_name, bad_checksum)| {
                Piece::Entry {
                    name,
                    typeflag,
                    link,
                    mode,
                    size,
                    data_len,
                    pax,
                    gnu_long_name,
                    bad_checksum,
                }
            },
        );
    prop_oneof![
        10 => entry,
        2 => (path_strategy(), path_strategy())
            .prop_map(|(link, target)| Piece::SymlinkThenWrite { link, target }),
        1 => prop::collection::vec(any::<u8>(), 1..700).prop_map(Piece::Garbage),
        1 => Just(Piece::EndMarker),
    ]
}

fn subst(p: &[u8], sb: &Sandbox) -> Vec<u8> {
    let s = String::from_utf8_lossy(p).into_owned();
    if !s.contains('@') {
        return p.to_vec();
    }
    let root = sb.tmp.path();
    s.replace("@OUT", &root.join("outside").to_string_lossy())
        .replace("@DEST", &root.join("dest").to_string_lossy())
        .replace("@TMP", &root.to_string_lossy())
        .into_bytes()
}

fn put(blk: &mut [u8], s: &[u8]) {
    let n = s.len().min(blk.len());
    blk[..n].copy_from_slice(&s[..n]);
}

fn put_octal(blk: &mut [u8], v: u64) {
    let s = format!("{v:0w$o}", w = blk.len() - 1);
    let b = s.as_bytes();
    let n = b.len().min(blk.len() - 1);
    blk[..n].copy_from_slice(&b[b.len() - n..]);
    blk[blk.len() - 1] = 0;
}

/// One raw USTAR header block (checksum right unless `bad_checksum`).
fn raw_header(
    name: &[u8],
    typeflag: u8,
    link: &[u8],
    mode: u32,
    size: &Size,
    data_len: usize,
    bad_checksum: bool,
) -> [u8; 512] {
    let mut b = [0u8; 512];
    put(&mut b[0..100], name);
    put_octal(&mut b[100..108], u64::from(mode));
    put_octal(&mut b[108..116], 0);
    put_octal(&mut b[116..124], 0);
    match size {
        Size::Exact => put_octal(&mut b[124..136], data_len as u64),
        Size::Huge => put_octal(&mut b[124..136], 0o77777777777),
        Size::Base256(v) => {
            b[124] = 0x80;
            b[128..136].copy_from_slice(&v.to_be_bytes());
        }
    }
    put_octal(&mut b[136..148], 315_532_801);
    b[156] = typeflag;
    put(&mut b[157..257], link);
    put(&mut b[257..263], b"ustar\0");
    put(&mut b[263..265], b"00");
    put_octal(&mut b[329..337], 1);
    put_octal(&mut b[337..345], 3);
    if name.len() > 100 {
        put(&mut b[345..500], &name[100..]);
    }
    b[148..156].fill(b' ');
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let sum = if bad_checksum { sum + 1 } else { sum };
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

fn pad(out: &mut Vec<u8>) {
    let rem = out.len() % 512;
    if rem != 0 {
        out.resize(out.len() + 512 - rem, 0);
    }
}

fn pax_record(k: &str, v: &[u8]) -> Vec<u8> {
    let body = [b" ", k.as_bytes(), b"=", v, b"\n"].concat();
    let mut len = body.len() + 1;
    loop {
        let l = len.to_string();
        if l.len() + body.len() == len {
            return [l.as_bytes(), &body[..]].concat();
        }
        len = l.len() + body.len();
    }
}

fn emit(piece: &Piece, sb: &Sandbox, out: &mut Vec<u8>) {
    match piece {
        Piece::Entry {
            name,
            typeflag,
            link,
            mode,
            size,
            data_len,
            pax,
            gnu_long_name,
            bad_checksum,
        } => {
            let name = subst(name, sb);
            let link = subst(link, sb);
            if !pax.is_empty() {
                let recs: Vec<u8> = pax
                    .iter()
                    .flat_map(|(k, v)| pax_record(k, &subst(v, sb)))
                    .collect();
                out.extend_from_slice(&raw_header(
                    b"PaxHeaders.0/x",
                    b'x',
                    b"",
                    0o644,
                    &Size::Exact,
                    recs.len(),
                    false,
                ));
                out.extend_from_slice(&recs);
                pad(out);
            }
            if let Some(long) = gnu_long_name {
                let mut long = subst(long, sb);
                long.push(0);
                out.extend_from_slice(&raw_header(
                    b"././@LongLink",
                    b'L',
                    b"",
                    0o644,
                    &Size::Exact,
                    long.len(),
                    false,
                ));
                out.extend_from_slice(&long);
                pad(out);
            }
            out.extend_from_slice(&raw_header(
                &name,
                *typeflag,
                &link,
                *mode,
                size,
                *data_len,
                *bad_checksum,
            ));
            out.extend((0..*data_len).map(|i| (i % 251) as u8));
            pad(out);
        }
        Piece::SymlinkThenWrite { link, target } => {
            let link = subst(link, sb);
            let target = subst(target, sb);
            out.extend_from_slice(&raw_header(
                &link,
                b'2',
                &target,
                0o777,
                &Size::Exact,
                0,
                false,
            ));
            let file = [&link[..], b"/evil"].concat();
            out.extend_from_slice(&raw_header(&file, b'0', b"", 0o644, &Size::Exact, 4, false));
            out.extend_from_slice(b"evil");
            pad(out);
        }
        Piece::Garbage(g) => out.extend_from_slice(g),
        Piece::EndMarker => out.extend_from_slice(&[0u8; 1024]),
    }
}

/// `<tmp>/dest` is the root; `<tmp>/outside` (a file, a subdir, a fifo) must not change.
/// `pre_links` plants symlinks in `dest` that point outside (never to be followed).
struct Sandbox {
    tmp: tempfile::TempDir,
    planted: BTreeSet<u64>,
}

impl Sandbox {
    fn new(pre_links: bool) -> Sandbox {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path();
        fs::create_dir_all(root.join("dest")).expect("dest");
        fs::create_dir_all(root.join("outside/sub")).expect("outside");
        fs::write(root.join("outside/keep"), b"keep").expect("keep");
        fs::write(root.join("outside/sub/file"), b"file").expect("file");
        let mut planted = BTreeSet::new();
        if pre_links {
            fs::create_dir_all(root.join("dest/bp")).expect("bp");
            let links = [
                (root.join("dest/esc"), PathBuf::from("../outside")),
                (root.join("dest/bp/a"), root.join("outside")),
                (root.join("dest/bp/keep"), root.join("outside/keep")),
            ];
            for (at, to) in links {
                std::os::unix::fs::symlink(&to, &at).expect("plant");
                planted.insert(at.symlink_metadata().expect("lstat").ino());
            }
        }
        Sandbox { tmp, planted }
    }

    fn dest(&self) -> PathBuf {
        self.tmp.path().join("dest")
    }

    /// Everything but `dest`, described (types, contents, modes, owners, mtimes, links).
    fn outside(&self) -> (Vec<OsString>, BTreeMap<Vec<u8>, Node>) {
        let mut top: Vec<OsString> = fs::read_dir(self.tmp.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        top.sort();
        (top, describe(&self.tmp.path().join("outside")))
    }
}

fn hostile(
    pieces: &[Piece],
    trailer: bool,
    cut: Option<prop::sample::Index>,
    flags: (bool, bool, bool),
) {
    let (pre_links, allow_symlinks_out, allow_devices) = flags;
    let sb = Sandbox::new(pre_links);
    let mut tar = Vec::new();
    for p in pieces {
        emit(p, &sb, &mut tar);
    }
    if trailer {
        tar.extend_from_slice(&[0u8; 1024]);
    }
    if let Some(cut) = cut {
        tar.truncate(cut.index(tar.len() + 1));
    }
    let before = sb.outside();
    let mut opts = ExtractOptions::new(sb.dest(), "/layers", "test:layer");
    opts.allow_symlinks_out = allow_symlinks_out;
    opts.allow_devices = allow_devices;
    let res = extract(&tar[..], None, &Expected::default(), &opts);
    if let Err(e) = &res {
        let msg = e.to_string();
        assert!(msg.contains("test:layer"), "error names the layer: {msg}");
    }
    assert_eq!(
        sb.outside(),
        before,
        "nothing outside dest changed ({res:?})"
    );
    for (rel, node) in describe(&sb.dest()) {
        let name = String::from_utf8_lossy(&rel).into_owned();
        let base = rel.rsplit(|&b| b == b'/').next().unwrap_or_default();
        assert!(!base.starts_with(b".cnb-tmp"), "temporary left: {name}");
        if !allow_devices {
            assert!(
                !node.what.starts_with("device"),
                "device node {name} ({res:?})"
            );
        }
        if node.what.starts_with("link->") && !allow_symlinks_out && !sb.planted.contains(&node.ino)
        {
            let target =
                fs::read_link(sb.dest().join(OsString::from_vec(rel.clone()))).expect("readlink");
            assert!(
                stays_inside(&rel, target.as_os_str().as_bytes()),
                "symlink {name} -> {target:?} points outside ({res:?})"
            );
        }
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn hostile_archives_never_escape(
        pieces in prop::collection::vec(piece_strategy(), 0..8),
        trailer in any::<bool>(),
        cut in prop::option::weighted(0.2, any::<prop::sample::Index>()),
        flags in (any::<bool>(), any::<bool>(), any::<bool>()),
    ) {
        hostile(&pieces, trailer, cut, flags);
    }
}

/// Fixed regressions for the property above (inputs that once mattered).
#[test]
fn hostile_regressions() {
    let sb_pieces = vec![
        // Write through a symlink planted on disk.
        Piece::Entry {
            name: b"/layers/esc/keep".to_vec(),
            typeflag: b'0',
            link: Vec::new(),
            mode: 0o644,
            size: Size::Exact,
            data_len: 3,
            pax: Vec::new(),
            gnu_long_name: None,
            bad_checksum: false,
        },
        // Hard link to a file outside through the planted symlink.
        Piece::Entry {
            name: b"/layers/h".to_vec(),
            typeflag: b'1',
            link: b"/layers/esc/keep".to_vec(),
            mode: 0o644,
            size: Size::Exact,
            data_len: 0,
            pax: Vec::new(),
            gnu_long_name: None,
            bad_checksum: false,
        },
        // PAX path escaping while the header name looks innocent.
        Piece::Entry {
            name: b"/layers/ok".to_vec(),
            typeflag: b'0',
            link: Vec::new(),
            mode: 0o644,
            size: Size::Exact,
            data_len: 4,
            pax: vec![("path".into(), b"/layers/../outside/keep".to_vec())],
            gnu_long_name: None,
            bad_checksum: false,
        },
        Piece::SymlinkThenWrite {
            link: b"/layers/s".to_vec(),
            target: b"@OUT".to_vec(),
        },
    ];
    for piece in &sb_pieces {
        for flags in [
            (true, true, true),
            (true, false, false),
            (false, true, false),
        ] {
            hostile(std::slice::from_ref(piece), true, None, flags);
        }
    }
}
