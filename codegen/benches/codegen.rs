//! Parse + validate + emit (Rust and plan) of generated 200- and 1,000-binding files (target: under
//! 50 ms), and each phase alone.

use std::fmt::Write;

use chalice_codegen::{emit_plan, emit_rust, load};
use criterion::{Criterion, criterion_group, criterion_main};

/// A file with `n` bindings cycling through every kind and most options.
fn big_file(n: usize) -> String {
    let mut s = String::from(
        "app bench\ndefaults { memory = 256, timeout = 30s, env { LOG_LEVEL = \"info\" } }\nstage prod { memory = 512 }\n",
    );
    for i in 0..n {
        let line = match i % 7 {
            0 => format!("schedule h{i} rate({} minutes)\n", i % 50 + 2),
            1 => format!(
                "schedule h{i} cron(0 {} * * ? *) {{ description = \"job {i}\" }}\n",
                i % 24
            ),
            2 => format!(
                "rule h{i} {{ pattern = {{ \"source\": [\"app.{i}\"], \"detail\": {{ \"n\": [{{ \"numeric\": [\">\", {i}] }}] }} }} }}\n"
            ),
            3 => format!(
                "bucket h{i} \"bucket-{i}\" {{ events = [\"s3:ObjectCreated:*\"], prefix = \"in/\" }}\n"
            ),
            4 => format!("topic h{i} \"topic-{i}\"\n"),
            5 => format!("queue h{i} \"queue-{i}\" {{ batch_size = 10, batching_window = 5s }}\n"),
            _ => format!(
                "stream h{i} \"stream-{i}\" {{ starting_position = trim_horizon, memory = 1024 }}\n"
            ),
        };
        s.push_str(&line);
    }
    let _ = writeln!(s, "# {n} bindings");
    s
}

fn bench(c: &mut Criterion) {
    for n in [200, 1000] {
        bench_size(c, n);
    }
}

fn bench_size(c: &mut Criterion, n: usize) {
    let src = big_file(n);
    // Fail loudly rather than benchmark the error path.
    if let Err(diags) = load("bench.chalice", &src) {
        panic!("the bench file must be valid:\n{diags}");
    }
    c.bench_function(&format!("parse+validate+emit {n} bindings"), |b| {
        b.iter(|| {
            let model = load("bench.chalice", &src).expect("valid");
            let code = emit_rust::emit(&model);
            let plan = emit_plan::plan(&model, "prod").expect("stage");
            (code.len(), plan.functions.len())
        })
    });
    c.bench_function(&format!("parse+validate {n} bindings"), |b| {
        b.iter(|| load("bench.chalice", &src).expect("valid").handlers.len())
    });
    let model = load("bench.chalice", &src).expect("valid");
    c.bench_function(&format!("emit_rust {n} bindings"), |b| {
        b.iter(|| emit_rust::emit(&model).len())
    });
    c.bench_function(&format!("emit_plan {n} bindings"), |b| {
        b.iter(|| {
            emit_plan::plan(&model, "prod")
                .expect("stage")
                .functions
                .len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
