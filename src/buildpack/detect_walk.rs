//! The walk of detection (Go `phase/detector.go` detectOrder/detectGroup): candidate groups
//! in order, composite expansion, target and exec-env checks, and the concurrent,
//! memoized `bin/detect` runs of each candidate group.

use super::descriptor::BuildpackDescriptor;
use super::detect::{Detector, MAX_COMPOSITE_DEPTH, check_api};
use super::detect_run::{DetectInputs, DetectOutputs, run_detect};
use super::group::GroupElement;
use super::order::Order;
use super::resolve::{Failure, key_for, resolve};
use super::target::{OS_RELEASE_INFO, satisfied_for_build, targets_json};
use std::sync::Mutex;

pub(super) type Found = (Vec<GroupElement>, Vec<super::plan::BuildPlanEntry>);

impl Detector<'_> {
    pub(super) fn detect_order(
        &mut self,
        order: &Order,
        done: &[GroupElement],
        next: &[GroupElement],
        optional: bool,
    ) -> Result<Found, Failure> {
        let mut bp_err = false;
        for g in order {
            let mut candidate = g.group.clone();
            candidate.extend(next.iter().cloned());
            match self.detect_group(&candidate, done.to_vec()) {
                Err(Failure::Buildpack) => bp_err = true,
                Err(Failure::FailedDetection) => {}
                other => return other,
            }
        }
        if optional {
            return self.detect_group(next, done.to_vec());
        }
        Err(if bp_err {
            Failure::Buildpack
        } else {
            Failure::FailedDetection
        })
    }

    fn detect_group(
        &mut self,
        group: &[GroupElement],
        mut done: Vec<GroupElement>,
    ) -> Result<Found, Failure> {
        let mut pending: Vec<(String, BuildpackDescriptor)> = Vec::new();
        for (i, el) in group.iter().enumerate() {
            if done.iter().any(|d| d.kind() == el.kind() && d.id == el.id) {
                continue;
            }
            if el.extension {
                return Err(Failure::Other(format!(
                    "image extensions are not supported: {el}"
                )));
            }
            let desc = self
                .cfg
                .store
                .lookup(&el.id, &el.version)
                .map_err(|e| Failure::Other(e.bare()))?;
            if desc.is_composite() {
                if self.depth >= MAX_COMPOSITE_DEPTH {
                    return Err(Failure::Other(format!(
                        "composite buildpack {el} nests more than {MAX_COMPOSITE_DEPTH} orders deep (a cycle?)"
                    )));
                }
                self.depth += 1;
                let r = self.detect_order(&desc.order, &done, &group[i + 1..], el.optional);
                self.depth -= 1;
                return r;
            }
            if let Err(e) = check_api(&desc, el) {
                let msg = e.message.clone();
                self.api_error = Some(e);
                return Err(Failure::Other(msg));
            }
            let marked = GroupElement {
                api: desc.api.clone(),
                homepage: desc.buildpack.homepage.clone(),
                ..el.clone()
            };

            if self.cfg.platform_api.at_least("0.12") && !self.target_matches(&desc) && !el.optional
            {
                let err = format!(
                    "unable to satisfy target os/arch constraints; run image: {}, buildpack: {}",
                    self.target.to_json(),
                    targets_json(&desc.targets)
                );
                self.runs
                    .insert(key_for(&marked), DetectOutputs::error(err));
                done.push(marked);
                continue;
            }

            if self.cfg.platform_api.at_least("0.15") && !self.cfg.exec_env.is_empty() {
                let list: &[String] = if desc.api_at_least("0.12") {
                    &desc.buildpack.exec_env
                } else {
                    &[]
                };
                let ok =
                    list.is_empty() || list.iter().any(|e| e == "*" || *e == self.cfg.exec_env);
                if !ok {
                    crate::debug!(
                        "Skipping {el} due to execution environment mismatch; current: {}, buildpack supports: [{}]",
                        self.cfg.exec_env,
                        list.join(" ")
                    );
                    continue;
                }
            }

            let key = key_for(&marked);
            done.push(marked);
            if !self.runs.contains_key(&key) && !pending.iter().any(|(k, _)| *k == key) {
                pending.push((key, desc));
            }
        }
        self.run_pending(pending);
        resolve(&done, &self.runs, &mut self.log)
    }

    /// True when the run image satisfies one of the descriptor's targets (no targets = any).
    fn target_matches(&mut self, desc: &BuildpackDescriptor) -> bool {
        if desc.targets.is_empty() {
            return true;
        }
        self.complete_target();
        desc.targets.iter().any(|t| {
            crate::debug!("Checking for match against descriptor: {}", go_struct(t));
            satisfied_for_build(&self.target, t)
        })
    }

    /// Fills the run-image target from the build host once (logging that it did).
    fn complete_target(&mut self) {
        if self.target_logged {
            return;
        }
        self.target_logged = true;
        if super::target::complete_from_host(&mut self.target, &self.cfg.os_release) {
            crate::info!("{OS_RELEASE_INFO}");
        }
    }

    /// Runs every pending `bin/detect` at the same time, one thread each.
    fn run_pending(&mut self, pending: Vec<(String, BuildpackDescriptor)>) {
        if pending.is_empty() {
            return;
        }
        self.complete_target();
        let inputs = DetectInputs {
            app_dir: self.cfg.app_dir.clone(),
            platform_dir: self.cfg.platform_dir.clone(),
            target_env: super::target::target_env(&self.target),
            exec_env: self.cfg.exec_env.clone(),
        };
        let env = self.env;
        let results = Mutex::new(Vec::with_capacity(pending.len()));
        std::thread::scope(|s| {
            for (key, desc) in &pending {
                let (inputs, results) = (&inputs, &results);
                s.spawn(move || {
                    let out = match env(desc) {
                        Ok(map) => run_detect(desc, &map, inputs),
                        Err(e) => DetectOutputs::error(e),
                    };
                    if let Ok(mut r) = results.lock() {
                        r.push((key.clone(), out));
                    }
                });
            }
        });
        for (k, out) in results.into_inner().unwrap_or_default() {
            self.runs.insert(k, out);
        }
    }
}

/// Go's `%s` of a `TargetMetadata` value (its String method has a pointer receiver, so fmt
/// prints the struct): `{linux amd64  [{ubuntu 22.04}]}`.
fn go_struct(t: &super::target::TargetMetadata) -> String {
    let distros: Vec<String> = t
        .distros
        .iter()
        .map(|d| format!("{{{} {}}}", d.name, d.version))
        .collect();
    format!(
        "{{{} {} {} [{}]}}",
        t.os,
        t.arch,
        t.arch_variant,
        distros.join(" ")
    )
}
