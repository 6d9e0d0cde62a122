//! The example chalice-rs app: one `bootstrap` binary serving every handler `events.chalice` declares.
//!
//! `build.rs` generates the `Handlers` trait from `events.chalice`; [`app::OrdersApp`] implements it
//! and `main` hands it to the generated dispatch, which serves the handler Lambda names in `_HANDLER`.

mod app;
mod orders;

/// The generated `Handlers` trait, `HANDLERS` and dispatch (`run`, `serve`).
mod generated {
    chalice_runtime::include_handlers!();
}

fn main() -> std::process::ExitCode {
    generated::run(app::OrdersApp::default())
}
