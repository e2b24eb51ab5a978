// hello: a Rust program, to check that a non-Go binary with its own panic/unwind tables is never called Go.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    println!("hello from rust, {} args", args.len());
}
