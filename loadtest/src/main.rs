//! `kairos-loadtest <scenario> [options]`; see `--help` and README.md.

fn main() {
    std::process::exit(kairos_loadtest::main_with_args(std::env::args().collect()));
}
