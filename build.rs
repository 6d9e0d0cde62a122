//! Generates the handler traits and dispatch (`OUT_DIR/handlers.rs`) from `events.chalice`.

fn main() {
    chalice_codegen::build::run();
}
