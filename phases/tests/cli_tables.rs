//! The per-phase flag tables at every Platform API from 0.7 to 0.15, including the ones the
//! gate does not accept yet: our rendering of Go's usage for each table must equal the Go
//! lifecycle's (`testdata/cli/usage/<phase>-<api>.txt`, see testdata/cli/README.md).

mod common;

use cnb::api::Version;
use lifecycle::cli::env::Env;
use lifecycle::cli::flags::Flag;
use lifecycle::cli::goflag::usage;
use lifecycle::cli::inputs::LifecycleInputs;
use lifecycle::{analyzer, builder, creator, detector, exporter, rebaser, restorer};

type Table = fn(Version) -> Vec<&'static Flag>;

const PHASES: [(&str, Table); 7] = [
    ("analyze", analyzer::flags),
    ("detect", detector::flags),
    ("restore", restorer::flags),
    ("build", builder::flags),
    ("export", exporter::flags),
    ("rebase", rebaser::flags),
    ("create", creator::flags),
];

#[test]
fn tables_match_go_at_every_api() {
    let mut checked = 0;
    for minor in 7..=15 {
        let api = Version::new(0, minor);
        let defaults = LifecycleInputs::from_env(api, &Env::from_pairs(&[]));
        for (phase, flags) in PHASES {
            let path = common::testdata().join(format!("cli/usage/{phase}-{api}.txt"));
            let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            let got = usage(&flags(api), &|f: &Flag| defaults.display(f.field));
            assert_eq!(got, want, "{phase} at {api}");
            checked += 1;
        }
    }
    assert_eq!(checked, 63);
}
