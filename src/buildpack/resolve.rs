//! Turning the detect results of one candidate group into a group and a build plan (Go
//! `phase/detector.go` DefaultDetectResolver): group verdict, then plan trials over each
//! buildpack's primary sections and `[[or]]` alternatives (depth-first), dropping optional
//! buildpacks with unmet requires or unused provides.

use super::detect_run::{CODE_DETECT_FAIL, CODE_DETECT_PASS, DetectOutputs};
use super::group::GroupElement;
use super::plan::{BuildPlanEntry, PlanSections, Provide, Require};
use crate::log::Level;
use std::collections::BTreeMap;

/// Why a candidate group (or every group) did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No group passed (exit 20).
    FailedDetection,
    /// No group passed and some buildpack errored (exit 21).
    Buildpack,
    /// Anything else (exit 22).
    Other(String),
}

/// Detection's log, kept in memory: printed at the end, all of it when detection failed.
#[derive(Clone, Debug, Default)]
pub struct MemLog {
    pub entries: Vec<(Level, String)>,
}

impl MemLog {
    pub fn debug(&mut self, m: impl Into<String>) {
        self.entries.push((Level::Debug, m.into()));
    }
    pub fn info(&mut self, m: impl Into<String>) {
        self.entries.push((Level::Info, m.into()));
    }
}

/// Memo key of a detect run (Go `keyFor`): `<Kind> <id>@<version>`.
pub fn key_for(el: &GroupElement) -> String {
    format!("{} {el}", el.kind())
}

#[derive(Clone)]
struct Opt {
    el: GroupElement,
    sections: PlanSections,
}

#[derive(Default, Clone)]
struct Dep {
    entry: BuildPlanEntry,
    early_requires: Vec<GroupElement>,
    extra_provides: Vec<GroupElement>,
}

/// Dependencies by name, in order of first mention (Go uses a map; its order is random).
#[derive(Default)]
struct DepMap(Vec<(String, Dep)>);

impl DepMap {
    fn slot(&mut self, name: &str) -> &mut Dep {
        let i = match self.0.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.0.push((name.to_string(), Dep::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }

    fn new(trial: &[Opt]) -> Self {
        let mut m = DepMap::default();
        for o in trial {
            for p in &o.sections.provides {
                m.provide(&o.el, p);
            }
            for r in &o.sections.requires {
                m.require(&o.el, r);
            }
        }
        m
    }

    fn provide(&mut self, el: &GroupElement, p: &Provide) {
        self.slot(&p.name).extra_provides.push(el.clone());
    }

    fn require(&mut self, el: &GroupElement, r: &Require) {
        let d = self.slot(&r.name);
        let extra = std::mem::take(&mut d.extra_provides);
        d.entry.providers.extend(extra);
        if d.entry.providers.is_empty() {
            d.early_requires.push(el.clone());
        } else {
            d.entry.requires.push(r.clone());
        }
    }
}

/// Resolves one candidate group. `done` are the group's elements (api/homepage filled in)
/// in order; `runs` the memoized detect results.
pub fn resolve(
    done: &[GroupElement],
    runs: &BTreeMap<String, DetectOutputs>,
    log: &mut MemLog,
) -> Result<(Vec<GroupElement>, Vec<BuildPlanEntry>), Failure> {
    let mut group_runs = Vec::with_capacity(done.len());
    for el in done {
        let key = key_for(el);
        let Some(run) = runs.get(&key) else {
            return Err(Failure::Other(format!("missing detection of '{key}'")));
        };
        let level = match run.code {
            CODE_DETECT_PASS | CODE_DETECT_FAIL => Level::Debug,
            _ => Level::Info,
        };
        if !run.output.is_empty() {
            log.entries
                .push((level, format!("======== Output: {el} ========")));
            log.entries
                .push((level, String::from_utf8_lossy(&run.output).into_owned()));
        }
        if let Some(err) = &run.err {
            log.entries
                .push((level, format!("======== Error: {el} ========")));
            log.entries.push((level, err.clone()));
        }
        group_runs.push(run);
    }
    log.debug("======== Results ========");

    let mut results: Vec<(GroupElement, &DetectOutputs)> = Vec::new();
    let mut detected = true;
    let mut any_buildpack = false;
    let mut bp_err = false;
    for (el, run) in done.iter().zip(group_runs) {
        match run.code {
            CODE_DETECT_PASS => {
                log.debug(format!("pass: {el}"));
                results.push((el.clone(), run));
                any_buildpack |= !el.extension;
            }
            CODE_DETECT_FAIL => {
                log.debug(format!(
                    "{}: {el}",
                    if el.optional { "skip" } else { "fail" }
                ));
                detected &= el.optional;
            }
            -1 => {
                log.info(format!("err:  {el}"));
                bp_err = true;
                detected &= el.optional;
            }
            code => {
                log.info(format!("err:  {el} ({code})"));
                bp_err = true;
                detected &= el.optional;
            }
        }
    }
    if !detected {
        return Err(if bp_err {
            Failure::Buildpack
        } else {
            Failure::FailedDetection
        });
    }
    if !any_buildpack {
        log.debug("fail: no viable buildpacks in group");
        return Err(Failure::FailedDetection);
    }

    let mut attempt = 0;
    let (deps, trial) = trials_from(&results, Vec::new(), &mut |t| {
        attempt += 1;
        run_trial(attempt, t, log)
    })?;

    if done.len() != trial.len() {
        log.info(format!(
            "{} of {} buildpacks participating",
            trial.len(),
            done.len()
        ));
    }
    let width = trial.iter().map(|o| o.el.id.len()).max().unwrap_or(0);
    for o in &trial {
        log.info(format!("{:<width$} {}", o.el.id, o.el.version));
    }
    let found = trial.iter().map(|o| o.el.clone().no_opt()).collect();
    let plan = deps
        .0
        .into_iter()
        .map(|(_, d)| BuildPlanEntry {
            providers: d
                .entry
                .providers
                .iter()
                .map(GroupElement::as_provider)
                .collect(),
            requires: d.entry.requires,
        })
        .collect();
    Ok((found, plan))
}

/// The alternatives of one passing element: its primary sections, then each `[[or]]`.
/// Only the last alternative keeps the element's `optional` flag.
fn options(el: &GroupElement, run: &DetectOutputs) -> Vec<Opt> {
    let n = run.plan.or.len();
    std::iter::once(&run.plan.sections)
        .chain(run.plan.or.iter())
        .enumerate()
        .map(|(i, s)| {
            let mut e = el.clone();
            e.optional = e.optional && i == n;
            Opt {
                el: e,
                sections: s.clone(),
            }
        })
        .collect()
}

type TrialOk = (DepMap, Vec<Opt>);

fn trials_from(
    rest: &[(GroupElement, &DetectOutputs)],
    prefix: Vec<Opt>,
    f: &mut dyn FnMut(Vec<Opt>) -> Result<TrialOk, Failure>,
) -> Result<TrialOk, Failure> {
    let Some(((el, run), tail)) = rest.split_first() else {
        return f(prefix);
    };
    let mut last = Failure::FailedDetection;
    for o in options(el, run) {
        let mut p = prefix.clone();
        p.push(o);
        match trials_from(tail, p, f) {
            Ok(ok) => return Ok(ok),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn run_trial(i: usize, mut trial: Vec<Opt>, log: &mut MemLog) -> Result<TrialOk, Failure> {
    log.debug(format!("Resolving plan... (try #{i})"));
    loop {
        let deps = DepMap::new(&trial);
        let mut retry = false;
        for (name, d) in &deps.0 {
            for el in &d.early_requires {
                retry = true;
                if !el.optional {
                    log.debug(format!("fail: {el} requires {name}"));
                    return Err(Failure::FailedDetection);
                }
                log.debug(format!("skip: {el} requires {name}"));
                trial.retain(|o| o.el != *el);
            }
        }
        for (name, d) in &deps.0 {
            for el in &d.extra_provides {
                retry = true;
                if !el.optional {
                    log.debug(format!("fail: {el} provides unused {name}"));
                    return Err(Failure::FailedDetection);
                }
                log.debug(format!("skip: {el} provides unused {name}"));
                trial.retain(|o| o.el != *el);
            }
        }
        if !retry {
            if trial.is_empty() {
                log.debug("fail: no viable buildpacks in group");
                return Err(Failure::FailedDetection);
            }
            return Ok((deps, trial));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildpack::plan::DetectPlan;

    fn pass(plan: &str) -> DetectOutputs {
        DetectOutputs {
            code: 0,
            plan: toml::from_str(plan).unwrap(),
            ..Default::default()
        }
    }

    fn el(id: &str, optional: bool) -> GroupElement {
        GroupElement {
            optional,
            ..GroupElement::new(id, "1")
        }
    }

    #[test]
    fn requirer_before_provider_fails_every_trial() {
        let done = vec![el("a", false), el("b", true), el("c", false)];
        let mut runs = BTreeMap::new();
        runs.insert(
            key_for(&done[0]),
            pass("[[requires]]\nname = \"x\"\n[[or]]\n[[or.requires]]\nname = \"y\"\n"),
        );
        runs.insert(key_for(&done[1]), pass("[[provides]]\nname = \"z\"\n"));
        runs.insert(
            key_for(&done[2]),
            pass("[[provides]]\nname = \"y\"\n[[requires]]\nname = \"y\"\n"),
        );
        let mut log = MemLog::default();
        // try #1: a requires x (nobody provides it); try #2: a requires y before c provides it
        assert_eq!(
            resolve(&done, &runs, &mut log).unwrap_err(),
            Failure::FailedDetection
        );
        let lines: Vec<&str> = log.entries.iter().map(|(_, m)| m.as_str()).collect();
        assert!(lines.contains(&"fail: a@1 requires x"), "{lines:?}");
        assert!(lines.contains(&"fail: a@1 requires y"), "{lines:?}");
        assert!(lines.contains(&"Resolving plan... (try #2)"), "{lines:?}");
    }

    #[test]
    fn provider_before_requirer_passes_and_drops_unused_optional() {
        let done = vec![el("c", false), el("b", true), el("a", false)];
        let mut runs = BTreeMap::new();
        runs.insert(key_for(&done[0]), pass("[[provides]]\nname = \"y\"\n"));
        runs.insert(key_for(&done[1]), pass("[[provides]]\nname = \"z\"\n"));
        runs.insert(key_for(&done[2]), pass("[[requires]]\nname = \"x\"\n[[or]]\n[[or.requires]]\nname = \"y\"\n[or.requires.metadata]\nv = 1\n"));
        let mut log = MemLog::default();
        let (found, plan) = resolve(&done, &runs, &mut log).unwrap();
        let ids: Vec<&str> = found.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["c", "a"]);
        assert_eq!(plan.len(), 1);
        assert_eq!(plan[0].providers[0].id, "c");
        assert_eq!(plan[0].requires[0].name, "y");
        let lines: Vec<&str> = log.entries.iter().map(|(_, m)| m.as_str()).collect();
        assert!(lines.contains(&"Resolving plan... (try #2)"), "{lines:?}");
        assert!(lines.contains(&"skip: b@1 provides unused z"), "{lines:?}");
        assert!(
            lines.contains(&"2 of 3 buildpacks participating"),
            "{lines:?}"
        );
        assert!(lines.contains(&"c 1"), "{lines:?}");
    }

    #[test]
    fn verdicts() {
        let done = vec![el("a", false)];
        let mut runs = BTreeMap::new();
        runs.insert(
            key_for(&done[0]),
            DetectOutputs {
                code: 100,
                ..Default::default()
            },
        );
        let mut log = MemLog::default();
        assert_eq!(
            resolve(&done, &runs, &mut log).unwrap_err(),
            Failure::FailedDetection
        );
        runs.insert(
            key_for(&done[0]),
            DetectOutputs {
                code: 3,
                output: b"boom\n".to_vec(),
                ..Default::default()
            },
        );
        let mut log = MemLog::default();
        assert_eq!(
            resolve(&done, &runs, &mut log).unwrap_err(),
            Failure::Buildpack
        );
        assert!(log.entries.contains(&(Level::Info, "err:  a@1 (3)".into())));
        assert!(
            log.entries
                .contains(&(Level::Info, "======== Output: a@1 ========".into()))
        );
        let _ = DetectPlan::default();
    }
}
