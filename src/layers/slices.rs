//! App-dir slicing (Go lifecycle `layers/slices.go` behaviour): one layer per launch.toml
//! `[[slices]]` entry plus a final remainder layer.
//!
//! - The app dir is walked once (lstat, Go walk order).
//! - Each slice pattern is cleaned (`filepath.Clean`) and matched with Go `filepath.Match`
//!   against every path relative to the app dir (the app dir itself excluded).
//! - A matched directory pulls in its whole subtree; paths claimed by an earlier slice are
//!   skipped. Missing parents up to and including the app dir are added; a parent whose
//!   children are now all claimed counts as claimed (it will not appear in the remainder).
//! - A layer is the app dir's ancestors (real ownership, `stat`) then its files sorted by
//!   plain byte-wise path, uid/gid forced. A layer without files is the empty tar.

use super::glob::go_match;
use super::walk::{ancestors, go_abs, go_clean, walk};
use super::{FileEntry, LayerError, LayerSpec};
use crate::archive::Owner;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A launch.toml `[[slices]]` entry: the app-dir globs of one slice layer.
pub use crate::files::launch::Slice;

type Key = Vec<u8>;

struct SliceableDir {
    root: Key,
    infos: BTreeMap<Key, Metadata>,
    walk_order: Vec<Key>,
    sliced: BTreeMap<Key, bool>,
    children: BTreeMap<Key, Vec<Key>>,
    parents: Vec<(PathBuf, Metadata)>,
}

fn parent_of(p: &[u8]) -> &[u8] {
    match p.iter().rposition(|&b| b == b'/') {
        Some(0) => b"/",
        Some(i) => &p[..i],
        None => b".",
    }
}

fn to_path(k: &[u8]) -> PathBuf {
    PathBuf::from(std::ffi::OsStr::from_bytes(k))
}

impl SliceableDir {
    fn new(app_dir: &Path) -> Result<SliceableDir, LayerError> {
        let root = app_dir.as_os_str().as_bytes().to_vec();
        let mut infos = BTreeMap::new();
        let mut walk_order = Vec::new();
        walk(app_dir, &mut |p, meta| {
            let k = p.as_os_str().as_bytes().to_vec();
            walk_order.push(k.clone());
            infos.insert(k, meta.clone());
            Ok(())
        })?;
        let mut children: BTreeMap<Key, Vec<Key>> = BTreeMap::new();
        for k in &walk_order {
            if *k != root {
                children
                    .entry(parent_of(k).to_vec())
                    .or_default()
                    .push(k.clone());
            }
        }
        let sliced = walk_order.iter().map(|k| (k.clone(), false)).collect();
        Ok(SliceableDir {
            parents: ancestors(app_dir)?,
            root,
            infos,
            walk_order,
            sliced,
            children,
        })
    }

    fn rel<'a>(&self, k: &'a [u8]) -> &'a [u8] {
        let r = &k[self.root.len()..];
        r.strip_prefix(b"/").unwrap_or(r)
    }

    fn glob(&self, pattern: &str) -> Result<Vec<Key>, LayerError> {
        let pat = go_clean(pattern.as_bytes());
        let mut out = Vec::new();
        for k in &self.walk_order {
            if *k == self.root {
                continue;
            }
            let rel = self.rel(k);
            match go_match(&pat, rel) {
                Ok(true) => out.push(k.clone()),
                Ok(false) => {}
                Err(_) => {
                    return Err(LayerError::Pattern {
                        path: String::from_utf8_lossy(rel).into_owned(),
                        pattern: String::from_utf8_lossy(&pat).into_owned(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn add_matched(&mut self, out: &mut BTreeSet<Key>, k: &Key) {
        match self.sliced.get(k) {
            Some(false) => {}
            _ => return,
        }
        if let Some(kids) = self.children.get(k).cloned() {
            for c in &kids {
                self.add_matched(out, c);
            }
        }
        out.insert(k.clone());
        self.sliced.insert(k.clone(), true);
    }

    /// The parents of `k` inside the app dir, including the app dir itself.
    fn file_parents(&self, k: &[u8]) -> Vec<Key> {
        let mut out = Vec::new();
        let mut p = parent_of(k);
        loop {
            out.push(p.to_vec());
            if p == self.root.as_slice() || p.len() <= self.root.len() {
                break;
            }
            p = parent_of(p);
        }
        out
    }

    fn slice_files(&mut self, matches: &[Key]) -> Vec<Key> {
        let mut matched = BTreeSet::new();
        for m in matches {
            self.add_matched(&mut matched, m);
        }
        let mut files: Vec<Key> = matched.iter().cloned().collect();
        let mut added_parents = BTreeSet::new();
        for k in &matched {
            for p in self.file_parents(k) {
                if matched.contains(&p) || added_parents.contains(&p) {
                    continue;
                }
                added_parents.insert(p.clone());
                files.push(p);
            }
        }
        // Deepest first, so a directory is judged after its child directories.
        let mut to_check: Vec<Key> = added_parents.into_iter().collect();
        to_check.sort_by_key(|p| std::cmp::Reverse(p.split(|&b| b == b'/').count()));
        for dir in to_check {
            let all = self
                .children
                .get(&dir)
                .is_none_or(|kids| kids.iter().all(|c| self.sliced.get(c) != Some(&false)));
            self.sliced.insert(dir, all);
        }
        files
    }

    fn remaining(&mut self) -> Vec<Key> {
        let mut out = Vec::new();
        for (k, done) in self.sliced.iter_mut() {
            if !*done {
                out.push(k.clone());
                *done = true;
            }
        }
        out
    }

    fn spec(&self, mut files: Vec<Key>, owner: Owner) -> LayerSpec {
        if files.is_empty() {
            return LayerSpec::Files(Vec::new());
        }
        files.sort();
        let mut entries: Vec<FileEntry> = self
            .parents
            .iter()
            .map(|(p, m)| FileEntry {
                path: p.clone(),
                meta: m.clone(),
                owner: None,
            })
            .collect();
        for k in files {
            if let Some(meta) = self.infos.get(&k) {
                entries.push(FileEntry {
                    path: to_path(&k),
                    meta: meta.clone(),
                    owner: Some(owner),
                });
            }
        }
        LayerSpec::Files(entries)
    }
}

/// Divides `app_dir` into `slices.len() + 1` layers: one per slice, then the remainder.
/// Layer ids in the Go lifecycle are `slice-<n>` (1-based) for all of them.
pub fn slice_layers(
    app_dir: &Path,
    slices: &[Slice],
    owner: Owner,
) -> Result<Vec<LayerSpec>, LayerError> {
    let app_dir = go_abs(app_dir)?;
    let mut sdir = SliceableDir::new(&app_dir)?;
    let mut out = Vec::with_capacity(slices.len() + 1);
    for slice in slices {
        let mut matches = Vec::new();
        for pat in &slice.paths {
            matches.extend(sdir.glob(pat)?);
        }
        let files = sdir.slice_files(&matches);
        out.push(sdir.spec(files, owner));
    }
    let rest = sdir.remaining();
    out.push(sdir.spec(rest, owner));
    Ok(out)
}
