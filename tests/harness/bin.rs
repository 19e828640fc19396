fn main() {
    std::process::exit(kairos_shards::cli::main(std::env::args().skip(1).collect()));
}
