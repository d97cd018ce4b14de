//! `make asl`: writes the state machine definition to the path given
//! (statemachine/lifeboat.asl.json), or to standard output.

fn main() -> std::process::ExitCode {
    let text = lifeboat_workflow::render();
    match std::env::args().nth(1) {
        None => {
            print!("{text}");
            std::process::ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(&path, text) {
            Ok(()) => {
                eprintln!("wrote {path}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write {path}: {e}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
