//! Compile-time contract of the generated code: an impl of every handler compiles (and the
//! generated items have the expected shape); a missing or mistyped handler is a compile error
//! that names it.
//!
//! The cases implement `tests/ui/app.chalice`. Its generated code is written to
//! `tests/ui/generated/handlers.rs` on every run (only when it changed), so the cases always
//! compile against what the current emitter produces; the file is committed so a change to the
//! generated shape shows up in review. Update the `.stderr` files with `TRYBUILD=overwrite`.

use std::path::Path;

#[test]
fn generated_code() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let source = std::fs::read_to_string(ui.join("app.chalice")).unwrap();
    let model = chalice_codegen::load("app.chalice", &source)
        .unwrap_or_else(|d| panic!("{}", d.render(false)));
    let generated = chalice_codegen::emit_rust::emit(&model);
    let path = ui.join("generated/handlers.rs");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
        std::fs::write(&path, &generated).unwrap();
    }

    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
