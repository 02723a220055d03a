//! The `launcher` binary: the app image entrypoint (`/cnb/lifecycle/launcher`, and
//! `/cnb/process/<type>` symlinks to it).

fn main() {
    lifecycle::launcher::main()
}
