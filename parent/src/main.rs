fn main() {
    std::process::exit(parent::run(std::env::args_os().collect()));
}
